"""The study and question a staff URL names, or a 404 (shared by the staff pages)."""

from __future__ import annotations

from django.http import Http404

from elicitation import selectors
from elicitation.models import Question, Study


def study_or_404(slug: str) -> Study:
    study = selectors.study_get(slug=slug)
    if study is None:
        raise Http404("No such study.")
    return study


def question_or_404(study: Study, question_id: int) -> Question:
    question = selectors.staff_question_get(study=study, question_id=question_id)
    if question is None:
        raise Http404("No such question in this study.")
    return question
