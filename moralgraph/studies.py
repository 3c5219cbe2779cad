"""Read-only views of the elicitation rows that the graph's tables point at (and of the cards
that point at its values).

moralgraph never imports `elicitation`, yet its models reference the study, its questions and
its participants through lazy string foreign keys ("elicitation.Study", …). This module is the
one place allowed to reach those models, through `related_model` (a test holds every other
module to that); it only reads, and it hands out small frozen dataclasses, never model
instances. Writes to those tables belong to elicitation's services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count

from moralgraph.models import Context, UpgradeVote, Value

_Study: Any = Value._meta.get_field("study").related_model
_Question: Any = Context._meta.get_field("questions").related_model
_Participant: Any = UpgradeVote._meta.get_field("participant").related_model
_Card: Any = Value._meta.get_field("cards").related_model
_Membership: Any = _Study._meta.get_field("memberships").related_model
_Interview: Any = _Card._meta.get_field("interview").related_model


@dataclass(frozen=True)
class StudyRef:
    id: int
    slug: str
    title: str
    status: str
    visibility: str
    created_at: datetime


@dataclass(frozen=True)
class QuestionRef:
    id: int
    study_id: int
    title: str
    text: str


_STUDY_FIELDS = ("id", "slug", "title", "status", "visibility", "created_at")
_QUESTION_FIELDS = ("id", "study_id", "title", "text")


def study_ref(*, study_id: int) -> StudyRef | None:
    row = _Study.objects.filter(pk=study_id).values(*_STUDY_FIELDS).first()
    return StudyRef(**row) if row else None


def study_ref_by_slug(*, slug: str) -> StudyRef | None:
    row = _Study.objects.filter(slug=slug).values(*_STUDY_FIELDS).first()
    return StudyRef(**row) if row else None


def study_id_for_slug(*, slug: str) -> int | None:
    study_id: int | None = _Study.objects.filter(slug=slug).values_list("id", flat=True).first()
    return study_id


def study_refs() -> list[StudyRef]:
    """Every study, newest first."""
    rows = _Study.objects.order_by("-created_at", "-id").values(*_STUDY_FIELDS)
    return [StudyRef(**row) for row in rows]


def study_questions(*, study_id: int) -> list[QuestionRef]:
    """The study's questions in their order."""
    rows = _Question.objects.filter(study_id=study_id).order_by("order", "id")
    return [QuestionRef(**row) for row in rows.values(*_QUESTION_FIELDS)]


def question_ref(*, study_id: int, question_id: int) -> QuestionRef | None:
    row = (
        _Question.objects.filter(pk=question_id, study_id=study_id)
        .values(*_QUESTION_FIELDS)
        .first()
    )
    return QuestionRef(**row) if row else None


def context_question_ids(*, context_ids: Iterable[int]) -> dict[int, list[int]]:
    """The questions each context belongs to (sorted ids; a context with none is absent)."""
    links = Context.questions.through.objects.filter(context_id__in=set(context_ids))
    result: dict[int, list[int]] = {}
    for context_id, question_id in links.order_by("context_id", "question_id").values_list(
        "context_id", "question_id"
    ):
        result.setdefault(context_id, []).append(question_id)
    return result


def participant_study_id(*, participant_id: int) -> int | None:
    study_id: int | None = (
        _Participant.objects.filter(pk=participant_id).values_list("study_id", flat=True).first()
    )
    return study_id


def participant_question_ids(*, participant_id: int) -> set[int]:
    """The questions a participant took up: those of their interviews and of their cards."""
    interviews = _Interview.objects.filter(participant_id=participant_id)
    cards = _Card.objects.filter(participant_id=participant_id, question_id__isnull=False)
    return set(interviews.values_list("question_id", flat=True)) | set(
        cards.values_list("question_id", flat=True)
    )


def participant_public_ids(*, participant_ids: Iterable[int]) -> dict[int, str]:
    """Participants' pseudonymous public ids (what exports show; never an external id)."""
    rows = _Participant.objects.filter(pk__in=set(participant_ids)).values_list("id", "public_id")
    return {pk: str(public_id) for pk, public_id in rows}


def preview_participant_ids(*, study_id: int | None = None) -> list[int]:
    """Staff previews' participants (of one study, or of all): nothing they do counts, so
    snapshots and counts leave them out."""
    rows = _Participant.objects.filter(is_preview=True)
    if study_id is not None:
        rows = rows.filter(study_id=study_id)
    return list(rows.order_by("id").values_list("id", flat=True))


def participant_and_card_counts() -> tuple[dict[int, int], dict[int, int]]:
    """Participants and confirmed cards per study id (the study list's counts), staff
    previews left out."""
    counted = _Participant.objects.filter(is_preview=False)
    participants = dict(
        counted.values("study_id").annotate(n=Count("id")).values_list("study_id", "n").order_by()
    )
    cards = dict(
        counted.filter(cards__isnull=False)
        .values("study_id")
        .annotate(n=Count("cards"))
        .values_list("study_id", "n")
        .order_by()
    )
    return participants, cards


def card_value_ids(*, question_ids: Iterable[int]) -> set[int]:
    """The values that participants' cards on these questions became."""
    rows = _Card.objects.filter(question_id__in=set(question_ids), value__isnull=False)
    rows = rows.filter(screening__in=_Card.VISIBLE)  # held or rejected cards count for nothing
    return set(rows.values_list("value_id", flat=True))


def cards_without_value_count(*, study_id: int) -> int:
    """Confirmed cards of the study still waiting for their canonical value (the pipeline's
    progress on the researcher page)."""
    pending = _Card.objects.filter(participant__study_id=study_id, value__isnull=True)
    # A card held for staff review or rejected is not waiting for a value either.
    pending = pending.exclude(screening__in=("held", "rejected"))
    # A staff preview's card is never canonicalised: it is not waiting.
    count: int = pending.exclude(participant__is_preview=True).count()
    return count


def study_ids_for_user(*, user_id: int) -> set[int] | None:
    """The ids of the studies a user may see on the research pages: None means every study (an
    admin, i.e. a superuser); otherwise the studies they are a researcher of."""
    user = get_user_model().objects.filter(pk=user_id).values("is_superuser").first()
    if user is None:
        return set()
    if user["is_superuser"]:
        return None
    return set(_Membership.objects.filter(user_id=user_id).values_list("study_id", flat=True))
