"""The graph's inputs and outputs. Study, question and participant are referenced lazily:
this app never imports `elicitation` (ARCHITECTURE.md; reads go through `moralgraph.studies`)."""

from moralgraph.models.api import MAX_TOKEN_NAME, ApiToken
from moralgraph.models.graph import (
    CanonicalisationDecision,
    Context,
    ParticipantExclusion,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
    ValueTranslation,
)
from moralgraph.models.ratification import (
    RatificationJudgement,
    RatificationPair,
    RatificationRound,
)
from moralgraph.models.snapshots import (
    MAX_SNAPSHOT_NAME,
    GraphRebuildState,
    GraphSnapshot,
    InferenceJob,
    SnapshotSupersession,
)

__all__ = [
    "ApiToken",
    "CanonicalisationDecision",
    "Context",
    "GraphRebuildState",
    "GraphSnapshot",
    "InferenceJob",
    "MAX_SNAPSHOT_NAME",
    "MAX_TOKEN_NAME",
    "ParticipantExclusion",
    "RatificationJudgement",
    "RatificationPair",
    "RatificationRound",
    "Selection",
    "SnapshotSupersession",
    "UpgradeHypothesis",
    "UpgradeVote",
    "Value",
    "ValueTranslation",
]
