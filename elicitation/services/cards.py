"""Writes that give confirmed cards their canonical values, and contexts mined from interviews.

The graph's canonicaliser decides which value a card expresses; the assignment is written
here, by the app that owns cards. No model call runs inside a transaction: the canonicaliser
answers first, then one short update writes the card's value.
"""

from __future__ import annotations

from datetime import datetime

from celery import current_app
from django.db import transaction

from elicitation.errors import ApplicationError
from elicitation.models import Study, ValuesCard
from elicitation.selectors import interview_excerpts
from moralgraph.services import (
    CardText,
    card_canonicalise,
    cards_canonicalise_batch,
    contexts_generate_request,
    contexts_mine,
    stories_request_if_due,
)


def _card_text(card_id: int, title: str, description: str, policies: list[str]) -> CardText:
    return CardText(title, description, tuple(str(p) for p in policies), card_id)


def _value_assign(*, card_id: int, value_id: int) -> int:
    """Write the card's value unless it has one already (the first answer stays)."""
    ValuesCard.objects.filter(pk=card_id, value__isnull=True).update(value_id=value_id)
    assigned: int = ValuesCard.objects.values_list("value_id", flat=True).get(pk=card_id)
    return assigned


def values_card_canonicalise(*, card_id: int) -> int:
    """Give a submitted card its canonical value (idempotent: a card that has one keeps it)."""
    card = (
        ValuesCard.objects.filter(pk=card_id)
        .values(
            "value_id", "participant__study_id", "question_id", "title", "description", "policies"
        )
        .first()
    )
    if card is None:
        raise ApplicationError("not_found", "No such card.")
    if card["value_id"] is not None:
        return int(card["value_id"])
    result = card_canonicalise(
        study_id=card["participant__study_id"],
        card=_card_text(card_id, card["title"], card["description"], card["policies"]),
    )
    value_id = _value_assign(card_id=card_id, value_id=result.value_id)
    # The graph side decides whether a context of the question is due for stories.
    stories_request_if_due(study_id=card["participant__study_id"], question_id=card["question_id"])
    return value_id


CANONICALISE_TASK = "elicitation.tasks.values_card_canonicalise"


def _canonicalise_send(card_ids: list[int]) -> None:
    for card_id in card_ids:
        current_app.send_task(CANONICALISE_TASK, args=[card_id])


@transaction.atomic
def cards_canonicalise_sweep(*, submitted_before: datetime) -> int:
    """Send canonicalisation again for cards of open studies, submitted before the cut-off,
    that still have no value (a lost task); the task is idempotent. Returns how many."""
    card_ids = list(
        ValuesCard.objects.filter(
            value__isnull=True,
            participant__study__status=Study.Status.OPEN,
            participant__is_preview=False,  # a preview's card never becomes a value
            submitted_at__lt=submitted_before,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    transaction.on_commit(lambda: _canonicalise_send(card_ids))
    return len(card_ids)


def study_cards_canonicalise(*, study_id: int) -> dict[str, int]:
    """Give every card of the study that has no canonical value one (the batch command)."""
    pending = list(
        ValuesCard.objects.filter(
            participant__study_id=study_id, participant__is_preview=False, value__isnull=True
        )
        .order_by("submitted_at", "id")
        .values_list("id", "title", "description", "policies")
    )
    cards = [_card_text(*row) for row in pending]
    results = cards_canonicalise_batch(study_id=study_id, cards=cards)
    for card, result in zip(cards, results, strict=True):
        assert card.card_id is not None
        _value_assign(card_id=card.card_id, value_id=result.value_id)
    questions = ValuesCard.objects.filter(pk__in=[c.card_id for c in cards]).values_list(
        "question_id", flat=True
    )
    for question_id in set(questions):
        stories_request_if_due(study_id=study_id, question_id=question_id)
    return {
        "cards": len(cards),
        "merged": sum(r.is_merged for r in results),
        "new_values": sum(not r.is_merged for r in results),
    }


def contexts_mine_from_interviews(*, study_id: int, question_id: int, count: int = 5) -> list[int]:
    """Contexts mined from what participants said about a question; the model call happens
    before any write, so a failure stores nothing."""
    excerpts = interview_excerpts(study_id=study_id, question_id=question_id)
    return contexts_mine(study_id=study_id, question_id=question_id, excerpts=excerpts, count=count)


MIN_EXCERPTS = 2


def contexts_mine_request(*, study_id: int, question_id: int) -> None:
    """Staff ask for contexts mined from the question's interviews, in the background (they
    arrive proposed); refused clearly before there are two answers to mine, or without a
    model."""
    excerpts = interview_excerpts(study_id=study_id, question_id=question_id)
    if len(excerpts) < MIN_EXCERPTS:
        raise ApplicationError(
            "too_few_interviews",
            "Mining needs at least two participants' answers to this question; there are "
            f"{len(excerpts)} so far.",
        )
    contexts_generate_request(study_id=study_id, question_id=question_id, mined=True)
