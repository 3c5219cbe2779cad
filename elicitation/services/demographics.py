"""Writes of a participant's answers to the study's questions about them.

Stored in `Participant.demographics` by question key: a text or single-choice answer as a
string, a number as a JSON number, a multiple-choice answer as the list of chosen choices (in
the order the question lists them). Unanswered optional questions are left out."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from elicitation import selectors
from elicitation.errors import ApplicationError
from elicitation.hygiene import text_require_clean
from elicitation.models import Participant
from elicitation.schemas import MAX_DEMOGRAPHIC_ANSWER_CHARS, DemographicQuestion
from elicitation.services.participants import participant_stage_require

DemographicAnswer = str | int | float | list[str]
# Plain decimal notation only: no exponents, no "nan" or "inf", nothing float() would round
# into a different number.
_NUMBER = re.compile(r"^-?\d{1,13}([.,]\d{1,6})?$", re.ASCII)


class DemographicAnswerError(ApplicationError):
    """A refused answer, naming the question it belongs to (`key`)."""

    def __init__(self, code: str, message: str, *, key: str) -> None:
        super().__init__(code, message)
        self.key = key


def _clean(text: object) -> str:
    """One line of printable text, whitespace collapsed."""
    kept = "".join(ch for ch in str(text) if ch.isprintable() or ch.isspace())
    return " ".join(kept.split())


def _as_list(raw: object) -> list[str]:
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [c for c in (_clean(item) for item in items) if c]


def _number(question: DemographicQuestion, answer: str) -> int | float:
    if not _NUMBER.match(answer):
        raise ApplicationError(
            "bad_number",
            _("Please give a number for “%(question)s”.") % {"question": question.label},
        )
    number = float(answer.replace(",", "."))
    value: int | float = int(number) if number.is_integer() else number
    low, high = question.minimum, question.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        names = {"question": question.label, "low": f"{low:g}" if low is not None else ""}
        names["high"] = f"{high:g}" if high is not None else ""
        if low is not None and high is not None:
            message = _("Please give a number between %(low)s and %(high)s for “%(question)s”.")
        elif low is not None:
            message = _("Please give a number of at least %(low)s for “%(question)s”.")
        else:
            message = _("Please give a number of at most %(high)s for “%(question)s”.")
        raise ApplicationError("number_out_of_range", message % names)
    return value


def demographic_answer_clean(
    question: DemographicQuestion, raw: object
) -> DemographicAnswer | None:
    """The answer as stored, or None when unanswered; ApplicationError when it cannot be."""
    text_require_clean(raw)
    if question.kind == "multiple_choice":
        chosen = set(_as_list(raw))
        if chosen - set(question.choices):
            raise ApplicationError(
                "bad_choice",
                _("Please choose among the answers to “%(question)s”.")
                % {"question": question.label},
            )
        return [c for c in question.choices if c in chosen] or None
    answer = _clean(raw[0] if isinstance(raw, list | tuple) and raw else raw or "")
    if not answer:
        return None
    if len(answer) > MAX_DEMOGRAPHIC_ANSWER_CHARS:
        raise ApplicationError(
            "answer_too_long",
            _("Please keep “%(question)s” under %(count)d characters.")
            % {"question": question.label, "count": MAX_DEMOGRAPHIC_ANSWER_CHARS},
        )
    if question.kind == "single_choice" and answer not in question.choices:
        raise ApplicationError(
            "bad_choice",
            _("Please choose one of the answers to “%(question)s”.") % {"question": question.label},
        )
    if question.kind == "number":
        return _number(question, answer)
    return answer


@transaction.atomic
def participant_demographics_save(
    *, participant: Participant, answers: Mapping[str, object]
) -> Participant:
    """Store the answers to the study's demographic questions (validated against them). A
    multiple-choice answer is a list of choices; every other answer a string."""
    participant_stage_require(
        participant, Participant.Stage.CONSENTED, Participant.Stage.DEMOGRAPHICS
    )
    questions = selectors.study_demographic_questions(study=participant.study)
    stored: dict[str, DemographicAnswer] = {}
    for question in questions:
        try:
            answer = demographic_answer_clean(question, answers.get(question.key))
            if answer is None and question.is_required:
                raise ApplicationError(
                    "answer_required",
                    _("Please answer “%(question)s”.") % {"question": question.label},
                )
        except ApplicationError as exc:
            raise DemographicAnswerError(exc.code, exc.message, key=question.key) from exc
        if answer is not None:
            stored[question.key] = answer
    participant.demographics = stored
    participant.stage = Participant.Stage.DEMOGRAPHICS
    participant.save(update_fields=["demographics", "stage"])
    return participant
