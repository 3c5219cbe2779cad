"""Reads of the graph's tables; nothing here writes. Each concern has its module. This package
is the door elicitation reads through: the names below are the whole of it."""

from moralgraph.selectors.contexts import ContextItem, context_item, question_contexts
from moralgraph.selectors.hypotheses import DrawnHypothesis, hypotheses_draw
from moralgraph.selectors.participation import (
    VOTE_CHOICES,
    GraphPosition,
    StoryScreen,
    ValueCard,
    active_value_ids,
    graph_position,
    hypotheses_judged,
    participant_has_voted,
    question_story_value_ids,
    story_screen,
    value_cards,
)

__all__ = [
    "VOTE_CHOICES",
    "ContextItem",
    "DrawnHypothesis",
    "GraphPosition",
    "StoryScreen",
    "ValueCard",
    "active_value_ids",
    "context_item",
    "graph_position",
    "hypotheses_draw",
    "hypotheses_judged",
    "participant_has_voted",
    "question_contexts",
    "question_story_value_ids",
    "story_screen",
    "value_cards",
]
