"""Writes for an interview: its start, the participant's messages, the interviewer's answers and
the claim on the next answer, the card the participant confirms."""

from __future__ import annotations

import uuid
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation

from elicitation.errors import ApplicationError
from elicitation.interview.offline_texts import detect_language
from elicitation.models import (
    CardProposal,
    Interview,
    Message,
    Participant,
    Question,
    Study,
    ValuesCard,
)
from elicitation.schemas import CardProposedFrame, MessageFrame
from elicitation.selectors import (
    ANSWER_STALE_AFTER,
    interview_next_seq,
    message_as_frame,
    proposal_as_frame,
)
from elicitation.services.answer_checkpoints import interview_answer_checkpoint_discard
from elicitation.services.dashboard import dashboard_notify
from elicitation.services.participants import participant_stage_require
from inference.prompts import load_prompt
from inference.schemas import CardShapeError, validate_card


@transaction.atomic
def interview_start(*, participant: Participant, question: Question) -> Interview:
    """The participant's interview about this question, started once."""
    if question.study_id != participant.study_id:
        raise ApplicationError("wrong_study", "That question belongs to another study.")
    study = participant.study
    if participant.stage == Participant.Stage.CONSENTED and study.demographic_questions:
        raise ApplicationError("demographics_first", "Please answer the questions about you first.")
    participant_stage_require(
        participant,
        Participant.Stage.CONSENTED,
        Participant.Stage.DEMOGRAPHICS,
        Participant.Stage.INTERVIEW,
    )
    prompt = load_prompt("interviewer", study.interviewer_prompt_version)
    interview, _ = Interview.objects.get_or_create(
        participant=participant,
        question=question,
        defaults={
            # Without a model server configured, every interview is an offline one.
            "backend": (
                study.interviewer_backend
                if settings.LLM_BASE_URL
                else Study.InterviewerBackend.OFFLINE
            ),
            "model": study.interviewer_model,
            "prompt_version": prompt.version,
            "prompt_hash": prompt.sha256,
        },
    )
    if participant.stage != Participant.Stage.INTERVIEW:
        participant.stage = Participant.Stage.INTERVIEW
        participant.save(update_fields=["stage"])
    dashboard_notify(study_id=participant.study_id, is_preview=participant.is_preview)
    return interview


def _limit_error(interview: Interview, study: Study) -> ApplicationError | None:
    has_card = interview.proposals.exists()
    next_step = (
        "Please confirm a card to go on."
        if has_card
        else "You can go on to the next step without a card."
    )
    if interview.turn_count >= study.max_turns:
        return ApplicationError(
            "turn_limit",
            f"This interview has reached its limit of {study.max_turns} messages. " + next_step,
        )
    if interview.token_count >= study.max_tokens:
        return ApplicationError(
            "token_limit", "This interview has reached its length limit. " + next_step
        )
    return _budget_error(interview, study)


TOKEN_BUDGET_SPENT = "token_budget"


def _tokens_used(**where: Any) -> int:
    on_model = Interview.objects.filter(**where).exclude(backend=Study.InterviewerBackend.OFFLINE)
    return int(on_model.aggregate(total=Sum("token_count"))["total"] or 0)


def _budget_error(interview: Interview, study: Study) -> ApplicationError | None:
    """The study's or the participant's model-token budget, when spent (offline interviews
    cost no model tokens and are never stopped)."""
    if interview.backend == Study.InterviewerBackend.OFFLINE:
        return None
    if study.token_budget and _tokens_used(participant__study=study) >= study.token_budget:
        return ApplicationError(
            TOKEN_BUDGET_SPENT,
            "This study has used its model budget, so the interviewer cannot answer any more "
            "messages. What you have written is saved; you can go on to the next step.",
        )
    budget = study.token_budget_per_participant
    if budget and _tokens_used(participant_id=interview.participant_id) >= budget:
        return ApplicationError(
            TOKEN_BUDGET_SPENT,
            "You have used this study's model budget for one participant, so the interviewer "
            "cannot answer any more messages. What you have written is saved; you can go on "
            "to the next step.",
        )
    return None


def interview_message_add_user(
    *, interview_id: int, client_id: uuid.UUID, text: str
) -> tuple[MessageFrame, bool]:
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
                    "interview_closed", "This interview is finished; you cannot add to it."
                )
            limit = _limit_error(interview, interview.participant.study)
            if limit is not None:
                raise limit
            message = Message.objects.create(
                interview=interview,
                seq=interview_next_seq(interview_id=interview.pk),
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
def interview_answer_store(
    *,
    interview_id: int,
    text: str,
    is_stopped: bool = False,
    card: dict[str, Any] | None = None,
    tool_call: dict[str, Any] | None = None,
    duration_ms: int | None = None,
    tokens: int = 0,
) -> tuple[MessageFrame, CardProposedFrame | None]:
    """Store the interviewer's answer, and the card it proposed (kept, never overwritten);
    return the message frame and the `card_proposed` frame. A card is validated again here:
    nothing that breaks the card shape is ever stored as a proposal."""
    interview = Interview.objects.select_for_update().get(pk=interview_id)
    interview_answer_checkpoint_discard(interview=interview)
    proposed = None
    if card is not None:
        try:
            proposed = validate_card(card)
        except CardShapeError as exc:
            raise ApplicationError("card_invalid", str(exc)) from exc
    message = Message.objects.create(
        interview=interview,
        seq=interview_next_seq(interview_id=interview.pk),
        role=Message.Role.ASSISTANT,
        text=text,
        tool_calls=[tool_call] if tool_call else [],
        is_stopped=is_stopped,
        duration_ms=duration_ms,
    )
    interview.token_count += tokens
    interview.save(update_fields=["token_count", "updated_at"])
    proposal_frame = None
    if proposed is not None:
        proposal = CardProposal.objects.create(
            interview=interview,
            message=message,
            title=proposed.title,
            description=proposed.description,
            policies=list(proposed.policies),
        )
        proposal_frame = proposal_as_frame(proposal)
    if interview.backend != Study.InterviewerBackend.OFFLINE:  # a model call: its count moved
        _dashboard_notify_interview(interview.pk)
    return message_as_frame(message), proposal_frame


@transaction.atomic
def values_card_submit(*, interview_id: int, proposal_id: int) -> ValuesCard:
    """The participant confirms one of the interviewer's proposals: the only way a card is
    submitted. It starts PENDING: screening runs after commit, and only a card that passes
    (or that staff approve) is canonicalised and so shown to other participants."""
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
    if interview.status != Interview.Status.ACTIVE:
        raise ApplicationError("interview_closed", "This interview is closed.")
    card = ValuesCard.objects.create(
        interview=interview,
        proposal=proposal,
        participant=interview.participant,
        question_id=interview.question_id,
        title=proposal.title,
        description=proposal.description,
        policies=proposal.policies,
        # The language the card's own words are in; the page's language when they do not say.
        language=detect_language(
            [proposal.title, proposal.description, *map(str, proposal.policies)],
            fallback=translation.get_language(),
        ),
        submitted_at=timezone.now(),
        screening=ValuesCard.Screening.PENDING,
    )
    interview.status = Interview.Status.SUBMITTED
    interview.save(update_fields=["status", "updated_at"])
    participant = interview.participant
    participant.stage = Participant.Stage.PICKS
    participant.save(update_fields=["stage"])
    dashboard_notify(study_id=participant.study_id, is_preview=participant.is_preview)
    if participant.is_preview:
        # A preview's card never becomes a value: nobody else is shown it, nothing counts it.
        return card
    # Sent by name: importing the tasks module here would make services and tasks import
    # each other. Screening sends canonicalisation itself once the card may be shown.
    screen_task = "elicitation.tasks.values_card_screen"
    transaction.on_commit(lambda: current_app.send_task(screen_task, args=[card.pk]), robust=True)
    return card


@transaction.atomic
def interview_leave_without_card(*, participant: Participant, interview_id: int) -> Interview:
    """At the interview's length limit with no card to confirm, the participant goes on to
    the survey (no card: nothing of others to judge)."""
    interview = (
        Interview.objects.select_for_update()
        .select_related("participant__study")
        .filter(pk=interview_id, participant=participant)
        .first()
    )
    if interview is None:
        raise ApplicationError("not_found", "No such interview.")
    if interview.status != Interview.Status.ACTIVE:
        raise ApplicationError("interview_closed", "This interview is already closed.")
    if _limit_error(interview, participant.study) is None:
        raise ApplicationError(
            "not_at_limit",
            "You can leave without a card only when the interview reaches its limit.",
        )
    interview.status = Interview.Status.ABANDONED
    interview.save(update_fields=["status", "updated_at"])
    participant.stage = Participant.Stage.SURVEY
    participant.save(update_fields=["stage"])
    dashboard_notify(study_id=participant.study_id, is_preview=participant.is_preview)
    return interview


def interview_answer_claim(*, interview_id: int) -> bool:
    """Claim the right to write this interview's next answer (compare-and-set): False when
    another answer is being written, in this process or another."""
    now = timezone.now()
    free = Q(answer_started_at__isnull=True) | Q(answer_started_at__lt=now - ANSWER_STALE_AFTER)
    claimed = Interview.objects.filter(free, pk=interview_id).update(answer_started_at=now) == 1
    if claimed:  # "answers being written" moved
        _dashboard_notify_interview(interview_id)
    return claimed


def interview_answer_release(*, interview_id: int) -> None:
    if Interview.objects.filter(pk=interview_id).update(answer_started_at=None):
        _dashboard_notify_interview(interview_id)


def _dashboard_notify_interview(interview_id: int) -> None:
    study_id, is_preview = Interview.objects.values_list(
        "participant__study_id", "participant__is_preview"
    ).get(pk=interview_id)
    dashboard_notify(study_id=study_id, is_preview=is_preview)
