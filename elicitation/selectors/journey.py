"""Reads for the steps after the card: the values to judge, the next story, the graph position.

What these steps show of the graph comes through `moralgraph.selectors`, as ids and small
frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from elicitation.models import Participant, ValuesCard
from elicitation.selectors.participants import participant_card
from moralgraph import selectors as graph
from moralgraph.selectors import GraphPosition, ValueCard


def wise_value_candidates(*, participant: Participant) -> list[int]:
    """Canonical values of the participant's question from other people: values other
    participants' cards on that question became, and values the study seeded or imported for
    the question's contexts. Never the participant's own."""
    card = participant_card(participant=participant)
    if card is None or card.question_id is None:
        return []
    from_cards = set(
        ValuesCard.objects.filter(
            # Only cards other participants may see (a held card has no value anyway).
            question_id=card.question_id,
            value__isnull=False,
            screening__in=ValuesCard.VISIBLE,
        )
        .exclude(participant=participant)
        .values_list("value_id", flat=True)
    )
    seeded = graph.question_story_value_ids(
        study_id=participant.study_id, question_id=card.question_id
    )
    own = set(
        ValuesCard.objects.filter(participant=participant, value__isnull=False).values_list(
            "value_id", flat=True
        )
    )
    return graph.active_value_ids(
        study_id=participant.study_id, value_ids=(from_cards | seeded) - own
    )


def values_in_order(*, value_ids: list[int], language: str | None = None) -> list[ValueCard]:
    """The values in this order; with `language` (the page's), each in the reader's language
    where a translation of its wording exists, the original kept beside it."""
    return graph.value_cards(value_ids=value_ids, language=language)


@dataclass(frozen=True)
class UpgradeScreen:
    """One "did this person become wiser?" screen."""

    hypothesis_id: int
    position: int
    total: int
    context: str
    story: str
    from_value: ValueCard
    to_value: ValueCard

    @property
    def from_card_id(self) -> str:  # ids unique on a page that shows several stories
        return f"from-{self.hypothesis_id}"

    @property
    def to_card_id(self) -> str:
        return f"to-{self.hypothesis_id}"


def upgrade_screen_next(
    *, participant: Participant, language: str | None = None
) -> UpgradeScreen | None:
    """The first story drawn for the participant that they have not judged yet."""
    screens = upgrade_screens_remaining(participant=participant, limit=1, language=language)
    return next(iter(screens), None)


def upgrade_screens_remaining(
    *, participant: Participant, limit: int | None = None, language: str | None = None
) -> list[UpgradeScreen]:
    """The stories drawn for the participant that they have not judged yet, in order (a
    story since removed from the graph is left out). With `language` (the page's), the
    values come in the reader's language where translated, as `values_in_order`."""
    drawn: list[int] = list(participant.upgrade_hypothesis_ids or [])
    judged = graph.hypotheses_judged(participant_id=participant.pk, hypothesis_ids=drawn)
    remaining = [h for h in drawn if h not in judged]
    found = graph.story_screens(
        study_id=participant.study_id, hypothesis_ids=remaining, language=language
    )
    screens: list[UpgradeScreen] = []
    for position, hypothesis_id in enumerate(drawn, start=1):
        if hypothesis_id in judged or (limit is not None and len(screens) >= limit):
            continue
        screen = found.get(hypothesis_id)
        if screen is None:
            continue
        screens.append(
            UpgradeScreen(
                hypothesis_id=screen.hypothesis_id,
                position=position,
                total=len(drawn),
                context=screen.context,
                story=screen.story,
                from_value=screen.from_value,
                to_value=screen.to_value,
            )
        )
    return screens


def participant_graph_position(*, participant: Participant) -> GraphPosition | None:
    """Only for participants who have voted (no graph before voting), once their card has
    a canonical value and the study has a snapshot."""
    if not graph.participant_has_voted(participant_id=participant.pk):
        return None
    card = participant_card(participant=participant)
    if card is None or card.value_id is None:
        return None
    return graph.graph_position(study_id=participant.study_id, value_id=card.value_id)
