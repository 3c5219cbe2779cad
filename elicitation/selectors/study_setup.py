"""Reads for the staff set-up pages: the study list, a study's questions with their use."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from elicitation.models import Question, Study
from elicitation.schemas import demographic_questions_usable


@dataclass(frozen=True)
class StaffStudyRow:
    pk: int
    slug: str
    title: str
    status: str
    status_label: str
    mode_label: str
    participants: int


@dataclass(frozen=True)
class StaffQuestionRow:
    pk: int
    title: str
    text: str
    interviews: int


def staff_study_list() -> list[StaffStudyRow]:
    studies = Study.objects.annotate(
        participant_count=Count("participants", filter=Q(participants__is_preview=False))
    ).order_by("-created_at")
    return [
        StaffStudyRow(
            pk=s.pk,
            slug=s.slug,
            title=s.title,
            status=s.status,
            status_label=s.get_status_display(),
            mode_label=s.get_participation_mode_display(),
            participants=s.participant_count,
        )
        for s in studies
    ]


def staff_study_questions(*, study: Study) -> list[StaffQuestionRow]:
    questions = study.questions.annotate(interview_count=Count("interviews")).order_by(
        "order", "id"
    )
    return [
        StaffQuestionRow(pk=q.pk, title=q.title, text=q.text, interviews=q.interview_count)
        for q in questions
    ]


def staff_question_get(*, study: Study, question_id: int) -> Question | None:
    return study.questions.filter(pk=question_id).first()


def study_demographic_skipped(*, study: Study) -> int:
    """How many stored demographic definitions participants are not asked, being invalid (a
    list typed into the admin, say); the next save in the builder drops them."""
    raw = study.demographic_questions
    stored = len(raw) if isinstance(raw, list) else (0 if not raw else 1)
    return stored - len(demographic_questions_usable(raw))
