"""Screening a confirmed card before other participants see it.

A card is confirmed PENDING. `values_card_screen` runs the offline rules
(`screening_rules`), then, for a study whose interviewer is the model and with
`MGE_SCREENING_JUDGE` on, the rubric judge (`inference.moderation`), outside any transaction;
then one short transaction writes the verdict: SHOWN (and canonicalisation is sent after
commit) or HELD for staff, with a `ModerationAction` naming the rules that fired. A study
with `card_review = STAFF_APPROVAL` holds every card until staff approve it.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from elicitation.errors import ApplicationError
from elicitation.models import Message, ModerationAction, Study, ValuesCard
from elicitation.services.cards import CANONICALISE_TASK
from elicitation.services.dashboard import dashboard_notify
from elicitation.services.screening_rules import CardToScreen, card_screen
from inference.gateway import LLMError, gateway_from_settings
from inference.moderation import moderation_judge

logger = logging.getLogger(__name__)

JUDGE_UNAVAILABLE = "judge unavailable"
STAFF_APPROVAL_REQUIRED = "staff approval required"
_PASSED = "passed screening"


def _participant_messages(interview_id: int | None) -> tuple[str, ...]:
    if interview_id is None:
        return ()
    rows = Message.objects.filter(interview_id=interview_id, role=Message.Role.USER)
    return tuple(rows.order_by("seq").values_list("text", flat=True))


def _judge_reasons(study: Study, card: CardToScreen) -> list[str]:
    """The judge's reasons to hold the card; `JUDGE_UNAVAILABLE` when it gave no verdict, so
    a card is never shown unjudged. A model call: never inside a transaction."""
    model = settings.MGE_SCREENING_MODEL or study.interviewer_model
    gateway = gateway_from_settings(settings, backend="openai", model=model)
    try:
        verdict = moderation_judge(
            gateway,
            title=card.title,
            description=card.description,
            policies=card.policies,
            participant_messages=card.messages,
        )
    except LLMError as error:
        logger.warning("screening judge failed: %s", error)
        return [JUDGE_UNAVAILABLE]
    return verdict.reasons()


def _judge_applies(study: Study) -> bool:
    return (
        bool(settings.MGE_SCREENING_JUDGE)
        and bool(getattr(settings, "LLM_BASE_URL", ""))
        and study.interviewer_backend == Study.InterviewerBackend.OPENAI
        and study.card_review == Study.CardReview.AFTER_SCREENING
    )


def values_card_screen(*, card_id: int) -> ValuesCard:
    """Screen a PENDING card and write the verdict; a card already screened is returned as
    it is (idempotent: a redelivered task changes nothing)."""
    card = ValuesCard.objects.select_related("participant__study").filter(pk=card_id).first()
    if card is None:
        raise ApplicationError("not_found", "No such card.")
    if card.screening != ValuesCard.Screening.PENDING:
        return card
    study = card.participant.study
    text = CardToScreen(
        title=card.title,
        description=card.description,
        policies=tuple(str(p) for p in card.policies),
        messages=_participant_messages(card.interview_id),
    )
    reasons = card_screen(text)
    if not reasons and _judge_applies(study):
        reasons = _judge_reasons(study, text)
    if study.card_review == Study.CardReview.STAFF_APPROVAL:
        reasons = [STAFF_APPROVAL_REQUIRED, *reasons]
    return _verdict_write(card_id=card_id, study_id=study.pk, reasons=reasons)


@transaction.atomic
def _verdict_write(*, card_id: int, study_id: int, reasons: list[str]) -> ValuesCard:
    """The short write after the checks: re-read under a lock, and only a card still PENDING
    takes the verdict (another delivery of the task may have written it meanwhile)."""
    card = ValuesCard.objects.select_for_update().get(pk=card_id)
    if card.screening != ValuesCard.Screening.PENDING:
        return card
    is_held = bool(reasons)
    card.screening = ValuesCard.Screening.HELD if is_held else ValuesCard.Screening.SHOWN
    card.screening_reasons = reasons
    card.screened_at = timezone.now()
    card.save(update_fields=["screening", "screening_reasons", "screened_at"])
    ModerationAction.objects.create(
        study_id=study_id,
        card=card,
        participant_id=card.participant_id,
        action=ModerationAction.Action.HELD if is_held else ModerationAction.Action.SCREENED,
        actor=None,
        reason="; ".join(reasons) if is_held else _PASSED,
    )
    dashboard_notify(study_id=study_id)
    if not is_held:
        transaction.on_commit(
            lambda: current_app.send_task(CANONICALISE_TASK, args=[card_id]), robust=True
        )
    return card
