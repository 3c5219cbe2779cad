"""Staff decisions on cards in the moderation queue: approve a held card (it is then
canonicalised and shown to others) or reject a card (it is never shown; a value it alone
supported is hidden from the graph). Every decision is logged with the staff member and why.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction
from django.utils import timezone

from elicitation.errors import ApplicationError
from elicitation.models import ModerationAction, ValuesCard
from elicitation.services.cards import CANONICALISE_TASK
from elicitation.services.dashboard import dashboard_notify
from moralgraph.services import values_status_set

_APPROVABLE = (ValuesCard.Screening.PENDING, ValuesCard.Screening.HELD)
_REJECTABLE = (
    ValuesCard.Screening.PENDING,
    ValuesCard.Screening.HELD,
    ValuesCard.Screening.SHOWN,
    ValuesCard.Screening.APPROVED,
)
MAX_REASON_CHARS = 500


def _card_locked(*, study_id: int, card_id: int) -> ValuesCard:
    card = (
        ValuesCard.objects.select_for_update()
        .filter(pk=card_id, participant__study_id=study_id, participant__is_preview=False)
        .first()
    )
    if card is None:
        raise ApplicationError("not_found", "No such card in this study.")
    return card


@transaction.atomic
def values_card_approve(*, study_id: int, card_id: int, actor_id: int) -> ValuesCard:
    """Staff approve a held (or still pending) card: it becomes APPROVED and is canonicalised
    after commit, so other participants can be shown its value."""
    card = _card_locked(study_id=study_id, card_id=card_id)
    if card.screening not in _APPROVABLE:
        raise ApplicationError(
            "not_held",
            f"This card is not waiting for review (it is {card.get_screening_display()}).",
        )
    card.screening = ValuesCard.Screening.APPROVED
    card.screened_at = timezone.now()
    card.save(update_fields=["screening", "screened_at"])
    ModerationAction.objects.create(
        study_id=study_id,
        card=card,
        participant_id=card.participant_id,
        action=ModerationAction.Action.APPROVED,
        actor_id=actor_id,
        reason="approved by staff",
    )
    dashboard_notify(study_id=study_id)
    transaction.on_commit(
        lambda: current_app.send_task(CANONICALISE_TASK, args=[card_id]), robust=True
    )
    return card


@transaction.atomic
def values_card_reject(*, study_id: int, card_id: int, actor_id: int, reason: str) -> ValuesCard:
    """Staff reject a card (held, or already shown): it becomes REJECTED and loses its value;
    when no other visible card supports that value, the value is hidden from the graph (the
    graph is rebuilt). The reason is required and is the staff member's own words."""
    reason = " ".join(reason.split())[:MAX_REASON_CHARS]
    if not reason:
        raise ApplicationError("reason_required", "Say why the card is rejected.")
    card = _card_locked(study_id=study_id, card_id=card_id)
    if card.screening not in _REJECTABLE:
        raise ApplicationError("already_rejected", "This card is already rejected.")
    value_id = card.value_id
    card.screening = ValuesCard.Screening.REJECTED
    card.screened_at = timezone.now()
    card.value = None
    card.save(update_fields=["screening", "screened_at", "value"])
    if value_id is not None:
        supported = (
            ValuesCard.objects.filter(value_id=value_id, screening__in=ValuesCard.VISIBLE)
            .exclude(pk=card.pk)
            .exists()
        )
        if not supported:
            values_status_set(value_ids=[value_id], status="hidden")
    ModerationAction.objects.create(
        study_id=study_id,
        card=card,
        participant_id=card.participant_id,
        action=ModerationAction.Action.REJECTED,
        actor_id=actor_id,
        reason=reason,
    )
    dashboard_notify(study_id=study_id)
    return card
