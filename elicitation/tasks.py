"""Background entry points: they take ids and call one service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from elicitation import services
from elicitation.services import cards
from inference.gateway import LLM_TASK_RETRY

_retry: Any = LLM_TASK_RETRY


@shared_task(acks_late=True, reject_on_worker_lost=True)
def values_card_screen(card_id: int) -> str:
    # Idempotent: only a card still PENDING takes a verdict (written under a row lock), so a
    # redelivery returns the verdict already written.
    return services.values_card_screen(card_id=card_id).screening


@shared_task(acks_late=True, reject_on_worker_lost=True)
def values_card_canonicalise(card_id: int) -> int | None:
    # Idempotent: a card that already has its value keeps it, and the canonicaliser answers
    # a card it has decided with its recorded decision, so a redelivery is harmless. A card
    # that is not visible (pending, held, rejected) is left without a value.
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


@shared_task
def cards_canonicalise_sweep() -> int:
    # Idempotent: it only re-sends canonicalisation, itself idempotent, for cards still without
    # a value a sweep interval after they were submitted (younger ones may still be queued).
    cutoff = timezone.now() - timedelta(seconds=settings.MGE_SWEEP_SECONDS)
    return cards.cards_canonicalise_sweep(submitted_before=cutoff)
