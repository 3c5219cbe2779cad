"""Background entry points: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from elicitation import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def values_card_canonicalise(card_id: int) -> int:
    # Idempotent: a card that already has its value keeps it, so a redelivery is harmless.
    return services.values_card_canonicalise(card_id=card_id)
