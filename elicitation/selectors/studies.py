"""Reads of studies and their questions."""

from __future__ import annotations

from elicitation.models import Question, Study
from elicitation.schemas import DemographicQuestion, demographic_questions_adapter


def study_open_get(*, slug: str) -> Study | None:
    return Study.objects.filter(slug=slug, status=Study.Status.OPEN).first()


def study_public_list() -> list[Study]:
    return list(Study.objects.filter(status=Study.Status.OPEN, visibility=Study.Visibility.PUBLIC))


def study_questions(*, study: Study) -> list[Question]:
    return list(study.questions.order_by("order", "id"))


def study_demographic_questions(*, study: Study) -> list[DemographicQuestion]:
    return demographic_questions_adapter.validate_python(study.demographic_questions or [])
