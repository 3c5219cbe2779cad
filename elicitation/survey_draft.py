"""The survey's unfinished answers, kept in the browser session while the participant goes
back to the stories (`Back to the stories`), so the survey is filled in again on their return.
Nothing here is checked or stored in the database: the survey's submit does that."""

from __future__ import annotations

from django.http import HttpRequest

from elicitation.models import Participant
from elicitation.schemas import MAX_SURVEY_COMMENT_CHARS, SURVEY_ITEMS


def _key(participant: Participant) -> str:
    return f"survey_draft:{participant.pk}"


def survey_draft_keep(
    request: HttpRequest, participant: Participant, answers: dict[str, int], comment: str
) -> None:
    request.session[_key(participant)] = {
        "answers": {item.key: answers[item.key] for item in SURVEY_ITEMS if item.key in answers},
        "comment": comment[:MAX_SURVEY_COMMENT_CHARS],
    }


def survey_draft(request: HttpRequest, participant: Participant) -> tuple[dict[str, int], str]:
    """The answers and comment kept for the participant (none kept: nothing answered)."""
    draft = request.session.get(_key(participant))
    if not isinstance(draft, dict):
        return {}, ""
    saved = draft.get("answers")
    saved = saved if isinstance(saved, dict) else {}
    answers = {
        item.key: saved[item.key] for item in SURVEY_ITEMS if isinstance(saved.get(item.key), int)
    }
    return answers, str(draft.get("comment", ""))


def survey_draft_clear(request: HttpRequest, participant: Participant) -> None:
    request.session.pop(_key(participant), None)
