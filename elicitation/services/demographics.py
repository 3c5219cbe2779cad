"""Writes of a participant's answers to the study's questions about them."""

from __future__ import annotations

from django.db import transaction

from elicitation import selectors
from elicitation.errors import ApplicationError
from elicitation.models import Participant
from elicitation.schemas import MAX_DEMOGRAPHIC_ANSWER_CHARS
from elicitation.services.participants import participant_stage_require


@transaction.atomic
def participant_demographics_save(
    *, participant: Participant, answers: dict[str, str]
) -> Participant:
    """Store the answers to the study's demographic questions (validated against them)."""
    participant_stage_require(
        participant, Participant.Stage.CONSENTED, Participant.Stage.DEMOGRAPHICS
    )
    questions = selectors.study_demographic_questions(study=participant.study)
    stored: dict[str, str] = {}
    for question in questions:
        answer = " ".join(str(answers.get(question.key, "")).split())
        if not answer:
            if question.is_required:
                raise ApplicationError("answer_required", f"Please answer “{question.label}”.")
            continue
        if question.kind == "choice" and answer not in question.choices:
            raise ApplicationError(
                "bad_choice", f"Please choose one of the answers to “{question.label}”."
            )
        if len(answer) > MAX_DEMOGRAPHIC_ANSWER_CHARS:
            raise ApplicationError(
                "answer_too_long",
                f"Please keep “{question.label}” under {MAX_DEMOGRAPHIC_ANSWER_CHARS} characters.",
            )
        stored[question.key] = answer
    participant.demographics = stored
    participant.stage = Participant.Stage.DEMOGRAPHICS
    participant.save(update_fields=["demographics", "stage"])
    return participant
