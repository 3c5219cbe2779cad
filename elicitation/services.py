"""Writes for the participant journey: one transaction each, keyword-only arguments."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from elicitation.errors import ApplicationError
from elicitation.models import Interview, Message, Participant, Question, Study, ValuesCard
from elicitation.selectors import message_as_frame
from inference.prompts import load_prompt


def hash_external_id(*, study: Study, external_id: str) -> str:
    return hashlib.sha256(f"{study.pk}:{external_id}".encode()).hexdigest()


@transaction.atomic
def participant_consent(*, study: Study, external_id: str = "") -> Participant:
    """A participant agrees to the study's consent text and enters it."""
    if not study.is_open:
        raise ApplicationError("study_closed", "This study is not open for participation.")
    if study.quota is not None and study.participants.count() >= study.quota:
        raise ApplicationError("study_full", "This study has reached its number of participants.")
    external_hash = hash_external_id(study=study, external_id=external_id) if external_id else ""
    if (
        external_hash
        and Participant.objects.filter(study=study, external_id_hash=external_hash).exists()
    ):
        raise ApplicationError("already_entered", "This panel id has already taken part.")
    return Participant.objects.create(
        study=study,
        external_id_hash=external_hash,
        consented_at=timezone.now(),
        consent_version=study.consent_version,
    )


@transaction.atomic
def interview_start(*, participant: Participant, question: Question) -> Interview:
    """The participant's interview about this question, started once."""
    if question.study_id != participant.study_id:
        raise ApplicationError("wrong_study", "That question belongs to another study.")
    study = participant.study
    prompt = load_prompt("interviewer", study.interviewer_prompt_version)
    interview, _ = Interview.objects.get_or_create(
        participant=participant,
        question=question,
        defaults={
            "backend": study.interviewer_backend,
            "model": study.interviewer_model,
            "prompt_version": prompt.version,
            "prompt_hash": prompt.sha256,
        },
    )
    if participant.stage == Participant.Stage.CONSENTED:
        participant.stage = Participant.Stage.INTERVIEW
        participant.save(update_fields=["stage"])
    return interview


def _next_seq(interview: Interview) -> int:
    last = Message.objects.filter(interview=interview).aggregate(m=Max("seq"))["m"]
    return (last or 0) + 1


def interview_message_add_user(
    *, interview_id: int, client_id: uuid.UUID, text: str
) -> tuple[dict[str, Any], bool]:
    """Store the participant's message once per client id; return its frame and whether it
    is new (a resent message returns the stored one)."""
    existing = Message.objects.filter(interview_id=interview_id, client_id=client_id).first()
    if existing is not None:
        return message_as_frame(existing), False
    try:
        with transaction.atomic():
            interview = (
                Interview.objects.select_for_update()
                .select_related("participant__study")
                .get(pk=interview_id)
            )
            if interview.status != Interview.Status.ACTIVE:
                raise ApplicationError(
                    "interview_closed", "This interview is finished; your card was submitted."
                )
            study = interview.participant.study
            if interview.turn_count >= study.max_turns:
                raise ApplicationError(
                    "turn_limit",
                    "This interview has reached its length limit. Please confirm a card to go on.",
                )
            message = Message.objects.create(
                interview=interview,
                seq=_next_seq(interview),
                role=Message.Role.USER,
                text=text,
                client_id=client_id,
            )
            interview.turn_count += 1
            interview.save(update_fields=["turn_count", "updated_at"])
    except IntegrityError:
        # The same client id raced in from another connection: the first one won.
        existing = Message.objects.get(interview_id=interview_id, client_id=client_id)
        return message_as_frame(existing), False
    return message_as_frame(message), True


@transaction.atomic
def interview_message_add_assistant(
    *,
    interview_id: int,
    text: str,
    is_stopped: bool = False,
    tool_calls: list[dict[str, Any]] | None = None,
    duration_ms: int | None = None,
    tokens: int = 0,
) -> dict[str, Any]:
    interview = Interview.objects.select_for_update().get(pk=interview_id)
    message = Message.objects.create(
        interview=interview,
        seq=_next_seq(interview),
        role=Message.Role.ASSISTANT,
        text=text,
        tool_calls=tool_calls or [],
        is_stopped=is_stopped,
        duration_ms=duration_ms,
    )
    interview.token_count += tokens
    interview.save(update_fields=["token_count", "updated_at"])
    return message_as_frame(message)


@transaction.atomic
def values_card_submit(*, interview_id: int, proposal_id: int) -> ValuesCard:
    """The participant confirms one of the interviewer's proposals: the only way a card is
    submitted. Canonicalisation runs after commit."""
    from elicitation import tasks

    interview = (
        Interview.objects.select_for_update()
        .select_related("participant__study")
        .get(pk=interview_id)
    )
    proposal = interview.proposals.filter(pk=proposal_id).first()
    if proposal is None:
        raise ApplicationError("unknown_proposal", "That card was not proposed in this interview.")
    if interview.status == Interview.Status.SUBMITTED or hasattr(interview, "card"):
        raise ApplicationError("already_submitted", "You have already submitted a card here.")
    card = ValuesCard.objects.create(
        interview=interview,
        proposal=proposal,
        participant=interview.participant,
        question_id=interview.question_id,
        title=proposal.title,
        description=proposal.description,
        policies=proposal.policies,
        submitted_at=timezone.now(),
    )
    interview.status = Interview.Status.SUBMITTED
    interview.save(update_fields=["status", "updated_at"])
    participant = interview.participant
    participant.stage = Participant.Stage.PICKS
    participant.save(update_fields=["stage"])
    transaction.on_commit(lambda: tasks.values_card_canonicalise.delay(card.pk))
    return card


@transaction.atomic
def values_card_canonicalise(*, card_id: int) -> int:
    """Give a submitted card its canonical value (idempotent: a card that has one keeps it)."""
    from moralgraph.services import value_for_card

    card = ValuesCard.objects.select_for_update().select_related("participant").get(pk=card_id)
    if card.value_id is not None:
        return card.value_id
    value_id = value_for_card(
        study_id=card.participant.study_id,
        title=card.title,
        description=card.description,
        policies=list(card.policies),
    )
    card.value_id = value_id
    card.save(update_fields=["value"])
    return value_id


@transaction.atomic
def demo_study_seed() -> Study:
    """Create or bring up to date the demo study; running it twice changes nothing."""
    from elicitation.demo import DEMO_QUESTIONS, DEMO_SLUG, DEMO_STUDY
    from moralgraph.services import context_ensure, demo_graph_seed

    study, _ = Study.objects.update_or_create(
        slug=DEMO_SLUG,
        defaults={
            **DEMO_STUDY,
            "status": Study.Status.OPEN,
            "visibility": Study.Visibility.PUBLIC,
        },
    )
    for order, spec in enumerate(DEMO_QUESTIONS):
        question, _ = Question.objects.update_or_create(
            study=study,
            source_id=f"demo-{order}",
            defaults={
                "title": spec["title"],
                "text": spec["text"],
                "seed_message": spec["seed_message"],
                "order": order,
            },
        )
        for text in spec["contexts"]:
            context_ensure(study_id=study.pk, text=text, question_ids=[question.pk])
    demo_graph_seed(study_id=study.pk)
    return study
