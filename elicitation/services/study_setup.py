"""Writes of a study's set-up from the staff pages: the study's settings and its questions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Max

from elicitation.errors import ApplicationError
from elicitation.models import Question, Study

# What the staff study form sets; status and participation belong to the participation page.
STUDY_SETTING_FIELDS = (
    "title",
    "welcome_text",
    "consent_text",
    "interviewer_backend",
    "interviewer_model",
    "interviewer_prompt_version",
    "wise_values_shown",
    "wise_values_required",
    "upgrade_votes",
    "max_turns",
    "max_tokens",
    "token_budget_per_participant",
    "token_budget",
    "quota",
    "card_review",
)
QUESTION_FIELDS = ("title", "text", "seed_message")
# The most values "which of these are wise?" may show at once.
WISE_VALUES_MAX = 20


def _only(values: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ApplicationError("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    return dict(values)


def _next_version(version: str) -> str:
    return str(int(version) + 1) if version.isascii() and version.isdigit() else f"{version}.1"


def _wise_values_check(shown: int, required: int) -> None:
    if not 1 <= required <= shown <= WISE_VALUES_MAX:
        raise ApplicationError(
            "wise_values",
            f"Values to pick must be at least 1 and at most the values shown "
            f"(at most {WISE_VALUES_MAX}).",
        )


@transaction.atomic
def study_create(*, slug: str, values: Mapping[str, Any]) -> Study:
    """A new study, in draft, with the given settings."""
    if Study.objects.filter(slug=slug).exists():
        raise ApplicationError("slug_taken", "Another study already uses this address.")
    study = Study(slug=slug, **_only(values, STUDY_SETTING_FIELDS))
    _wise_values_check(study.wise_values_shown, study.wise_values_required)
    study.save()
    return study


@transaction.atomic
def study_settings_update(*, study_id: int, values: Mapping[str, Any]) -> Study:
    """Change the study's settings (not its address, status or participation mode). A new
    consent text gets a new consent version, so each participant's consent names the text
    they agreed to."""
    study = Study.objects.select_for_update().get(pk=study_id)
    fields = _only(values, STUDY_SETTING_FIELDS)
    if "consent_text" in fields and fields["consent_text"] != study.consent_text:
        fields["consent_version"] = _next_version(study.consent_version)
    for name, value in fields.items():
        setattr(study, name, value)
    _wise_values_check(study.wise_values_shown, study.wise_values_required)
    study.save(update_fields=[*fields, "updated_at"])
    return study


@transaction.atomic
def question_add(*, study_id: int, values: Mapping[str, Any]) -> Question:
    """A question at the end of the study's list."""
    study = Study.objects.select_for_update().get(pk=study_id)
    last = study.questions.aggregate(last=Max("order"))["last"]
    return Question.objects.create(
        study=study, order=0 if last is None else last + 1, **_only(values, QUESTION_FIELDS)
    )


@transaction.atomic
def question_update(*, question_id: int, values: Mapping[str, Any]) -> Question:
    question = Question.objects.select_for_update().get(pk=question_id)
    fields = _only(values, QUESTION_FIELDS)
    for name, value in fields.items():
        setattr(question, name, value)
    question.save(update_fields=list(fields))
    return question


@transaction.atomic
def question_move(*, question_id: int, offset: int) -> list[Question]:
    """Move the question `offset` places (-1: up, 1: down) among its study's questions, and
    number them all 0, 1, 2…; at either end it stays put. Returns the questions in order."""
    question = Question.objects.select_related("study").get(pk=question_id)
    Study.objects.select_for_update().get(pk=question.study_id)
    ordered = list(question.study.questions.order_by("order", "id"))
    index = next(i for i, q in enumerate(ordered) if q.pk == question.pk)
    target = max(0, min(len(ordered) - 1, index + offset))
    ordered.insert(target, ordered.pop(index))
    for position, item in enumerate(ordered):
        if item.order != position:
            item.order = position
            item.save(update_fields=["order"])
    return ordered


@transaction.atomic
def question_delete(*, question_id: int) -> None:
    """Delete a question no interview has used; one that has is kept with its interviews."""
    question = Question.objects.select_for_update().get(pk=question_id)
    if question.interviews.exists():
        raise ApplicationError(
            "question_in_use",
            "This question has interviews, so it stays: its cards depend on it.",
        )
    question.study.questions.filter(order__gt=question.order).update(order=F("order") - 1)
    question.delete()
