"""The graph engine: pure scoring of upgrade votes. No Django here.

`build(votes, params)` turns a columnar `VoteTable` into edges, winners per context, bootstrap
win probabilities and a sensitivity grid; `snapshot_document` renders a `GraphResult` as the
snapshot JSON (`moralgraph/snapshot.schema.json`); `diff` compares two snapshots.
"""

from .build import (
    Edge,
    EdgeTable,
    GraphResult,
    RankedValue,
    RunnerUp,
    SensitivityCell,
    Winner,
    build,
)
from .rank import (
    BROADLY_SUPPORTED,
    CONTESTED,
    SOME_SUPPORT,
    SUPPORT_LABELS,
    TIE_ABS_TOL,
    TIE_REL_TOL,
    block_pagerank,
    support_label,
    tied_with_top,
)
from .snapshot import (
    SCHEMA_VERSION,
    SCORING_VERSION,
    cell_tied_ids,
    content_hash,
    context_question_ids,
    diff,
    snapshot_document,
    value_language,
    value_translations,
    winner_is_tie,
    winner_tied_ids,
)
from .stats import beta_interval, beta_quantile, regularized_beta, summarise
from .votes import CHOICES, NO_UPGRADE, NOT_SURE, UPGRADE, Mode, Params, VoteRow, VoteTable

__all__ = [
    "BROADLY_SUPPORTED",
    "CHOICES",
    "CONTESTED",
    "NO_UPGRADE",
    "NOT_SURE",
    "SCHEMA_VERSION",
    "SCORING_VERSION",
    "SOME_SUPPORT",
    "SUPPORT_LABELS",
    "TIE_ABS_TOL",
    "TIE_REL_TOL",
    "UPGRADE",
    "Edge",
    "EdgeTable",
    "GraphResult",
    "Mode",
    "Params",
    "RankedValue",
    "RunnerUp",
    "SensitivityCell",
    "VoteRow",
    "VoteTable",
    "Winner",
    "beta_interval",
    "beta_quantile",
    "block_pagerank",
    "build",
    "cell_tied_ids",
    "content_hash",
    "context_question_ids",
    "diff",
    "regularized_beta",
    "snapshot_document",
    "summarise",
    "support_label",
    "value_language",
    "value_translations",
    "tied_with_top",
    "winner_is_tie",
    "winner_tied_ids",
]
