"""Background entry points: they take ids and call one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from elicitation import services
from inference.gateway import LLM_TASK_RETRY

_retry: Any = LLM_TASK_RETRY


@shared_task(acks_late=True, reject_on_worker_lost=True)
def values_card_canonicalise(card_id: int) -> int:
    # Idempotent: a card that already has its value keeps it, and the canonicaliser answers
    # a card it has decided with its recorded decision, so a redelivery is harmless.
    return services.values_card_canonicalise(card_id=card_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def study_cards_canonicalise(study_id: int) -> dict[str, int]:
    # Idempotent: only cards without a value are touched.
    return services.study_cards_canonicalise(study_id=study_id)


@shared_task(**_retry)
def contexts_mine(study_id: int, question_id: int, count: int = 5) -> list[int]:
    # Idempotent: contexts are unique per study and text.
    return services.contexts_mine_from_interviews(
        study_id=study_id, question_id=question_id, count=count
    )
