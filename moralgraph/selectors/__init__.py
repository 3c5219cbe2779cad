"""Reads of the graph's tables; nothing here writes. Each concern has its module. This package
is the door elicitation reads through: the names below are the whole of it."""

from moralgraph.selectors.contexts import ContextItem, context_item, question_contexts
from moralgraph.selectors.exports import (
    PickExportRow,
    ValueExportRow,
    pick_export_rows,
    value_export_rows,
)
from moralgraph.selectors.hypotheses import DrawnHypothesis, hypotheses_draw
from moralgraph.selectors.integrity import (
    VotePattern,
    participant_vote_patterns,
    quarantined_participant_ids,
)
from moralgraph.selectors.participation import (
    VOTE_CHOICES,
    GraphPosition,
    StoryJudgement,
    StoryScreen,
    ValueCard,
    active_value_ids,
    graph_position,
    hypotheses_judged,
    participant_has_voted,
    question_story_value_ids,
    story_judgements,
    story_screen,
    story_screens,
    value_cards,
)
from moralgraph.selectors.ratification import (
    DrawnPair,
    RatificationProgress,
    ratification_open_round,
    ratification_progress,
)
from moralgraph.selectors.snapshot_changes import (
    SnapshotChange,
    WinnerChange,
    live_snapshot_id,
    snapshot_changes_since,
)

__all__ = [
    "VOTE_CHOICES",
    "ContextItem",
    "DrawnHypothesis",
    "DrawnPair",
    "GraphPosition",
    "PickExportRow",
    "RatificationProgress",
    "SnapshotChange",
    "StoryJudgement",
    "StoryScreen",
    "ValueCard",
    "ValueExportRow",
    "VotePattern",
    "WinnerChange",
    "active_value_ids",
    "context_item",
    "graph_position",
    "hypotheses_draw",
    "hypotheses_judged",
    "live_snapshot_id",
    "participant_has_voted",
    "participant_vote_patterns",
    "pick_export_rows",
    "quarantined_participant_ids",
    "question_contexts",
    "question_story_value_ids",
    "ratification_open_round",
    "ratification_progress",
    "snapshot_changes_since",
    "story_judgements",
    "story_screen",
    "story_screens",
    "value_cards",
    "value_export_rows",
]
