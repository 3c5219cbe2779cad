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


def _card_text(
    card_id: int, title: str, description: str, policies: list[str], language: str = ""
) -> CardText:
    return CardText(title, description, tuple(str(p) for p in policies), card_id, language)


def _value_assign(*, card_id: int, value_id: int) -> int | None:
    """Write the card's value unless it has one already (the first answer stays), and only
    while the card is visible: a card held or rejected during the model call stays without."""
    ValuesCard.objects.filter(
        pk=card_id, value__isnull=True, screening__in=ValuesCard.VISIBLE
    ).update(value_id=value_id)
    assigned: int | None = ValuesCard.objects.values_list("value_id", flat=True).get(pk=card_id)
    return assigned


def values_card_canonicalise(*, card_id: int) -> int | None:
    """Give a submitted card its canonical value (idempotent: a card that has one keeps it).
    Only a visible card (passed screening or approved) is canonicalised: a pending, held or
    rejected one gets no value, so no other participant is shown it. None for those."""
    card = (
        ValuesCard.objects.filter(pk=card_id)
        .values(
            "value_id",
            "participant__study_id",
            "question_id",
            "title",
            "description",
            "policies",
            "language",
            "screening",
        )
        .first()
    )
    if card is None:
        raise ApplicationError("not_found", "No such card.")
    if card["screening"] not in ValuesCard.VISIBLE:
        return None
    if card["value_id"] is not None:
        return int(card["value_id"])
    result = card_canonicalise(
        study_id=card["participant__study_id"],
        card=_card_text(
            card_id, card["title"], card["description"], card["policies"], card["language"]
        ),
    )
    value_id = _value_assign(card_id=card_id, value_id=result.value_id)
    if value_id is None:  # screening or staff took the card back meanwhile
        return None
    # The graph side decides whether a context of the question is due for stories.
    stories_request_if_due(study_id=card["participant__study_id"], question_id=card["question_id"])
    return value_id


CANONICALISE_TASK = "elicitation.tasks.values_card_canonicalise"
SCREEN_TASK = "elicitation.tasks.values_card_screen"


def _send_each(task: str, card_ids: list[int]) -> None:
    for card_id in card_ids:
        current_app.send_task(task, args=[card_id])


@transaction.atomic
def cards_canonicalise_sweep(*, submitted_before: datetime) -> int:
    """Send again what a lost task missed, for cards of open studies submitted before the
    cut-off: screening for cards still PENDING, canonicalisation for visible cards still
    without a value (both tasks are idempotent). Held and rejected cards wait for staff.
    Returns how many tasks it sent."""
    waiting = ValuesCard.objects.filter(
        value__isnull=True,
        participant__study__status=Study.Status.OPEN,
        participant__is_preview=False,  # a preview's card never becomes a value
        submitted_at__lt=submitted_before,
    ).order_by("id")
    to_screen = list(
        waiting.filter(screening=ValuesCard.Screening.PENDING).values_list("id", flat=True)
    )
    to_canonicalise = list(
        waiting.filter(screening__in=ValuesCard.VISIBLE).values_list("id", flat=True)
    )
    transaction.on_commit(lambda: _send_each(SCREEN_TASK, to_screen), robust=True)
    transaction.on_commit(lambda: _send_each(CANONICALISE_TASK, to_canonicalise), robust=True)
    return len(to_screen) + len(to_canonicalise)


def study_cards_canonicalise(*, study_id: int) -> dict[str, int]:
    """Give every visible card of the study that has no canonical value one (the batch
    command); cards pending screening, held or rejected are left alone."""
    pending = list(
        ValuesCard.objects.filter(
            participant__study_id=study_id,
            participant__is_preview=False,
            value__isnull=True,
            screening__in=ValuesCard.VISIBLE,
        )
        .order_by("submitted_at", "id")
        .values_list("id", "title", "description", "policies", "language")
    )
    cards = [_card_text(*row) for row in pending]
    results = cards_canonicalise_batch(study_id=study_id, cards=cards)
    for card, result in zip(cards, results, strict=True):
        assert card.card_id is not None
        _value_assign(card_id=card.card_id, value_id=result.value_id)  # None if taken back
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
