"""The graph's inputs and outputs. Study, question and participant are referenced lazily:
this app never imports `elicitation` (ARCHITECTURE.md; reads go through `moralgraph.studies`)."""

from moralgraph.models.graph import (
    CanonicalisationDecision,
    Context,
    ParticipantExclusion,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)
from moralgraph.models.snapshots import (
    MAX_SNAPSHOT_NAME,
    GraphRebuildState,
    GraphSnapshot,
    InferenceJob,
    SnapshotSupersession,
)

__all__ = [
    "CanonicalisationDecision",
    "Context",
    "GraphRebuildState",
    "GraphSnapshot",
    "InferenceJob",
    "MAX_SNAPSHOT_NAME",
    "ParticipantExclusion",
    "Selection",
    "SnapshotSupersession",
    "UpgradeHypothesis",
    "UpgradeVote",
    "Value",
]
