"""Background entry points: they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from elicitation import services
from inference.gateway import LLMTimeout, LLMUnavailable


@shared_task(acks_late=True, reject_on_worker_lost=True)
def values_card_canonicalise(card_id: int) -> int:
    # Idempotent: a card that already has its value keeps it, so a redelivery is harmless.
    return services.values_card_canonicalise(card_id=card_id)


@shared_task(
    autoretry_for=(LLMUnavailable, LLMTimeout),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
)
def contexts_mine(study_id: int, question_id: int, count: int = 5) -> list[int]:
    # Idempotent: contexts are unique per study and text.
    return services.contexts_mine_from_interviews(
        study_id=study_id, question_id=question_id, count=count
    )
