"""Reads for the legitimacy checks on the finish page: the participant's own answers, and
whether their card was merged into a value worth checking ("is this the same value?")."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import get_language

from elicitation.models import DedupVerification, Participant, PositionVerification, ValuesCard
from elicitation.selectors.participants import participant_card
from moralgraph import selectors as graph
from moralgraph.selectors import ValueCard


@dataclass(frozen=True)
class DedupCheck:
    """The canonical value the participant's card became, to be checked against the card."""

    card_id: int
    value: ValueCard
    answer: str  # DedupVerification.Option, or "" before they answer


@dataclass(frozen=True)
class PositionAnswer:
    is_fair: bool
    comment: str


def _is_reworded(card: ValuesCard, value: ValueCard) -> bool:
    mine = (card.title.strip(), card.description.strip(), tuple(str(p) for p in card.policies))
    return mine != (value.title.strip(), value.description.strip(), value.policies)


def dedup_check(*, participant: Participant) -> DedupCheck | None:
    """The check, when the participant's card was merged: its value words it differently, or
    other cards became the same value. None when the card has no value or is the value."""
    card = participant_card(participant=participant)
    if card is None or card.value_id is None:
        return None
    # In the reader's language where translated (a card merged into a value worded in another
    # language), the value's own wording one click away.
    found = graph.value_cards(value_ids=[card.value_id], language=get_language())
    if not found:
        return None
    value = found[0]
    is_shared = ValuesCard.objects.filter(value_id=card.value_id).exclude(pk=card.pk).exists()
    if not (is_shared or _is_reworded(card, value.original or value)):
        return None
    answer = (
        DedupVerification.objects.filter(participant=participant, card=card, value_id=value.id)
        .values_list("option", flat=True)
        .first()
    )
    return DedupCheck(card_id=card.pk, value=value, answer=answer or "")


def position_answer(*, participant: Participant) -> PositionAnswer | None:
    """The participant's answer about their current value's position, if they gave one."""
    card = participant_card(participant=participant)
    if card is None or card.value_id is None:
        return None
    row = PositionVerification.objects.filter(
        participant=participant, value_id=card.value_id
    ).first()
    return PositionAnswer(is_fair=row.is_fair, comment=row.comment) if row else None
