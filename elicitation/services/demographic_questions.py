"""Writes of a study's demographic questions, as the staff form builder edits them: each
change re-validates the whole list, so what is stored is always a list participants can be
asked (`elicitation.schemas.DemographicQuestion`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from elicitation.errors import ApplicationError
from elicitation.models import Study
from elicitation.schemas import (
    DemographicQuestion,
    demographic_questions_adapter,
    demographic_questions_usable,
)


class DemographicDefinitionError(ApplicationError):
    """A refused definition, naming the field it is about (`field`: a form field's name, or
    "" for the question as a whole)."""

    def __init__(self, code: str, message: str, *, field: str = "") -> None:
        super().__init__(code, message)
        self.field = field


def _field_named_in(message: str) -> str:
    """The field a whole-question error is about (for the form to show it next to)."""
    for word, field in (("choice", "choices"), ("minimum", "minimum"), ("maximum", "maximum")):
        if word in message:
            return field
    return ""


def demographic_question_validate(data: dict[str, Any]) -> DemographicQuestion:
    """One question from the builder's fields, or DemographicDefinitionError on the first
    problem (with the field it belongs to)."""
    try:
        return DemographicQuestion.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        field = str(first["loc"][0]) if first["loc"] else _field_named_in(message)
        raise DemographicDefinitionError(
            "bad_definition", message[:1].upper() + message[1:] + ".", field=field
        ) from exc


def _edit(
    study_id: int, change: Callable[[list[DemographicQuestion]], list[DemographicQuestion]]
) -> Study:
    study = Study.objects.select_for_update().get(pk=study_id)
    questions = change(demographic_questions_usable(study.demographic_questions))
    try:
        demographic_questions_adapter.validate_python([q.model_dump() for q in questions])
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        field = "key" if "key" in message else ""
        raise DemographicDefinitionError("bad_definition", message + ".", field=field) from exc
    study.demographic_questions = [q.model_dump(mode="json") for q in questions]
    study.save(update_fields=["demographic_questions", "updated_at"])
    return study


def _index(questions: list[DemographicQuestion], key: str) -> int:
    for i, question in enumerate(questions):
        if question.key == key:
            return i
    raise ApplicationError("no_such_question", "That question is no longer in the study.")


def _key_free(questions: list[DemographicQuestion], key: str) -> None:
    if any(q.key == key for q in questions):
        raise DemographicDefinitionError(
            "duplicate_key", f"Another question already uses the key “{key}”.", field="key"
        )


@transaction.atomic
def demographic_question_add(*, study_id: int, data: dict[str, Any]) -> Study:
    """Add a question at the end of the study's list."""
    question = demographic_question_validate(data)

    def change(questions: list[DemographicQuestion]) -> list[DemographicQuestion]:
        _key_free(questions, question.key)
        return [*questions, question]

    return _edit(study_id, change)


@transaction.atomic
def demographic_question_update(*, study_id: int, key: str, data: dict[str, Any]) -> Study:
    """Replace the question stored under `key` (its key may change too)."""
    question = demographic_question_validate(data)

    def change(questions: list[DemographicQuestion]) -> list[DemographicQuestion]:
        index = _index(questions, key)
        _key_free(questions[:index] + questions[index + 1 :], question.key)
        return [*questions[:index], question, *questions[index + 1 :]]

    return _edit(study_id, change)


@transaction.atomic
def demographic_question_move(*, study_id: int, key: str, offset: int) -> Study:
    """Move the question `offset` places (-1: up, 1: down); at either end it stays put."""

    def change(questions: list[DemographicQuestion]) -> list[DemographicQuestion]:
        index = _index(questions, key)
        target = max(0, min(len(questions) - 1, index + offset))
        questions.insert(target, questions.pop(index))
        return questions

    return _edit(study_id, change)


@transaction.atomic
def demographic_question_remove(*, study_id: int, key: str) -> Study:
    """Remove the question; answers already given to it stay with the participants."""

    def change(questions: list[DemographicQuestion]) -> list[DemographicQuestion]:
        index = _index(questions, key)
        return questions[:index] + questions[index + 1 :]

    return _edit(study_id, change)
