"""Reads of studies: by state, their questions, and where a panel participant returns."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

from django.db.models import Q

from elicitation.models import Interview, Participant, Question, Study
from elicitation.schemas import DemographicQuestion, demographic_questions_usable


def study_public_list() -> list[Study]:
    return list(Study.objects.filter(status=Study.Status.OPEN, visibility=Study.Visibility.PUBLIC))


def study_questions(*, study: Study) -> list[Question]:
    return list(study.questions.order_by("order", "id"))


def study_demographic_questions(*, study: Study) -> list[DemographicQuestion]:
    return demographic_questions_usable(study.demographic_questions)


def study_get(*, slug: str) -> Study | None:
    """The study at `slug` whatever its state (participant pages say when it is not open)."""
    return Study.objects.filter(slug=slug).first()


def interview_study_is_open(*, interview_id: int) -> bool:
    """Whether the interview may take answers: its study is open, or it is a staff preview."""
    return (
        Interview.objects.filter(pk=interview_id)
        .filter(Q(participant__study__status=Study.Status.OPEN) | Q(participant__is_preview=True))
        .exists()
    )


def study_participant_count(*, study: Study) -> int:
    """Participants who count (staff previews do not)."""
    return study.participants.filter(is_preview=False).count()


@dataclass(frozen=True)
class PanelReturn:
    code: str
    url: str


def panel_return(*, study: Study, participant: Participant) -> PanelReturn:
    """The completion code and return address a panel participant is given at the end.

    The panel's own code, when staff entered it, else the one in the panel's URL, else the
    participant's own. The address is the panel's URL exactly as given when it already
    carries a code (Prolific's `…/complete?cc=XXXX`); `{code}` in it is replaced; otherwise
    the code is added as `cc`."""
    url = study.completion_redirect_url
    query = parse_qs(urlsplit(url).query)
    code = study.panel_completion_code or (query.get("cc") or [""])[0]
    code = code or participant.completion_code
    if not url:
        return PanelReturn(code=code, url="")
    if "{code}" in url:
        return PanelReturn(code=code, url=url.replace("{code}", quote(code)))
    if "cc" in query:
        return PanelReturn(code=code, url=url)
    parts = urlsplit(url)
    joined = f"{parts.query}&" if parts.query else ""
    return PanelReturn(
        code=code, url=urlunsplit(parts._replace(query=joined + urlencode({"cc": code})))
    )
