"""Reads for going back from the survey to the stories: what the participant judged, as they
judged it, so they can change a judgement before they finish."""

from __future__ import annotations

from dataclasses import dataclass

from elicitation.models import Participant
from moralgraph import selectors as graph
from moralgraph.selectors import ValueCard


@dataclass(frozen=True)
class JudgedStory:
    """One story the participant judged, with their current choice and reason."""

    hypothesis_id: int
    position: int  # among the stories drawn for the participant, from 1
    total: int
    context: str
    story: str
    from_value: ValueCard
    to_value: ValueCard
    choice: str
    reason: str

    @property
    def from_card_id(self) -> str:  # ids unique on a page that shows several stories
        return f"from-{self.hypothesis_id}"

    @property
    def to_card_id(self) -> str:
        return f"to-{self.hypothesis_id}"


def stories_judged(*, participant: Participant, language: str | None = None) -> list[JudgedStory]:
    """The stories drawn for the participant that they judged, in the order they were shown
    (a story since removed from the graph is left out); with `language` (the page's), the
    values in the reader's language where translated."""
    drawn = [int(i) for i in participant.upgrade_hypothesis_ids or []]
    judgements = graph.story_judgements(participant_id=participant.pk, hypothesis_ids=drawn)
    screens = graph.story_screens(
        study_id=participant.study_id, hypothesis_ids=judgements, language=language
    )
    judged: list[JudgedStory] = []
    for position, hypothesis_id in enumerate(drawn, start=1):
        judgement, screen = judgements.get(hypothesis_id), screens.get(hypothesis_id)
        if judgement is None or screen is None:
            continue
        judged.append(
            JudgedStory(
                hypothesis_id=hypothesis_id,
                position=position,
                total=len(drawn),
                context=screen.context,
                story=screen.story,
                from_value=screen.from_value,
                to_value=screen.to_value,
                choice=judgement.choice,
                reason=judgement.reason,
            )
        )
    return judged


def has_judged_stories(*, participant: Participant) -> bool:
    """Whether the participant judged at least one of the stories drawn for them."""
    drawn = [int(i) for i in participant.upgrade_hypothesis_ids or []]
    return bool(drawn) and bool(
        graph.hypotheses_judged(participant_id=participant.pk, hypothesis_ids=drawn)
    )
