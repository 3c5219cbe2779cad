"""From votes to edges, winners, bootstrap win probabilities and sensitivity (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import numpy as np
from numpy.typing import NDArray

from .bootstrap import bootstrap_wins
from .rank import ContextRanking, IncidenceSpace, support_label
from .stats import (
    BoolArray,
    EdgeCounts,
    FloatArray,
    Grouping,
    IndexArray,
    IntArray,
    beta_interval,
    choice_counts,
    context_candidates,
    edge_counts,
    group_votes,
    unique_incidence,
)
from .votes import Params, VoteTable


@dataclass(frozen=True)
class Edge:
    """One ordered pair (in one context, in context mode): from_value → to_value (wiser)."""

    from_value: int
    to_value: int
    contexts: tuple[str, ...]
    marked_wiser: int
    marked_not_wiser: int
    marked_unsure: int
    marked_less_wise: int
    impressions: int
    wiser_likelihood: float
    entropy: float
    interval: tuple[float, float]
    kept: bool


@dataclass(frozen=True, eq=False)
class EdgeTable:
    """All edges as columns (sorted by from id, to id, then context). `context_indptr` and
    `context_index` list each edge's contexts (indices into `contexts`, CSR style)."""

    contexts: list[str]
    from_value: IntArray
    to_value: IntArray
    marked_wiser: IntArray
    marked_not_wiser: IntArray
    marked_unsure: IntArray
    marked_less_wise: IntArray
    impressions: IntArray
    wiser_likelihood: FloatArray
    entropy: FloatArray
    interval_low: FloatArray
    interval_high: FloatArray
    kept: BoolArray
    context_indptr: IndexArray
    context_index: IndexArray

    def __len__(self) -> int:
        return int(self.from_value.shape[0])

    def edge_contexts(self, i: int) -> tuple[str, ...]:
        lo, hi = int(self.context_indptr[i]), int(self.context_indptr[i + 1])
        return tuple(self.contexts[int(c)] for c in self.context_index[lo:hi])

    def row(self, i: int) -> Edge:
        return Edge(
            from_value=int(self.from_value[i]),
            to_value=int(self.to_value[i]),
            contexts=self.edge_contexts(i),
            marked_wiser=int(self.marked_wiser[i]),
            marked_not_wiser=int(self.marked_not_wiser[i]),
            marked_unsure=int(self.marked_unsure[i]),
            marked_less_wise=int(self.marked_less_wise[i]),
            impressions=int(self.impressions[i]),
            wiser_likelihood=float(self.wiser_likelihood[i]),
            entropy=float(self.entropy[i]),
            interval=(float(self.interval_low[i]), float(self.interval_high[i])),
            kept=bool(self.kept[i]),
        )

    def rows(self, *, kept_only: bool = False) -> list[Edge]:
        indices = np.flatnonzero(self.kept) if kept_only else range(len(self))
        return [self.row(int(i)) for i in indices]


@dataclass(frozen=True)
class RunnerUp:
    value_id: int
    score: float


@dataclass(frozen=True)
class Winner:
    """A context's winner. `value_id` is the lowest id among `tied_value_ids`, the values whose
    score ties with the top score (`rank.tied_with_top`); one value when there is no tie. In a
    tie the runner-up is the second tied value, and the support label is "contested"."""

    context: str
    value_id: int
    score: float
    support: str
    win_probability: float | None  # None when the bootstrap is disabled
    runner_up: RunnerUp | None
    tied_value_ids: tuple[int, ...]  # sorted, value_id included
    # Share of bootstrap replicates in which the context's top was tied (None: no bootstrap).
    tie_probability: float | None = None

    @property
    def is_tie(self) -> bool:
        return len(self.tied_value_ids) > 1


@dataclass(frozen=True)
class RankedValue:
    value_id: int
    score: float
    rank: int  # 1 = winner
    win_probability: float | None


@dataclass(frozen=True)
class SensitivityCell:
    min_wiser: int
    min_likelihood: float
    max_entropy: float
    kept_edges: int
    winners: dict[str, int | None]  # every context in the votes; None: no kept edge there
    # Contexts whose top score is tied: all the tied values, sorted (winners holds the first).
    ties: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class GraphResult:
    params: Params
    contexts: list[str]  # sorted context texts seen in the votes
    edges: EdgeTable
    winners: dict[str, Winner]  # contexts with at least one kept edge
    rankings: dict[str, list[RankedValue]]  # same contexts, best first
    # Bootstrap: per context, every value that won at least one replicate → share of replicates
    # (a k-way tie in a replicate counts 1/k to each tied value).
    win_probabilities: dict[str, dict[int, float]] = field(default_factory=dict)
    # Bootstrap: per context with a tie in some replicate → the share of replicates tied.
    tie_probabilities: dict[str, float] = field(default_factory=dict)
    sensitivity: list[SensitivityCell] = field(default_factory=list)
    participants: int = 0
    votes: int = 0


def _sorted_contexts(votes: VoteTable) -> tuple[list[str], IndexArray]:
    """Context texts in sorted order, and each vote's index into that order."""
    order = sorted(range(len(votes.contexts)), key=lambda i: votes.contexts[i])
    rank_of = np.empty(len(order), dtype=np.intp)
    rank_of[np.asarray(order, dtype=np.intp)] = np.arange(len(order), dtype=np.intp)
    names = [votes.contexts[i] for i in order]
    context = rank_of[votes.context] if len(votes) else np.zeros(0, dtype=np.intp)
    return names, context


def _all_incidence(
    grouping: Grouping, vote_context: IndexArray, n_contexts: int
) -> tuple[IndexArray, IndexArray]:
    """Every edge's contexts: in reference mode those seen on A→B or B→A."""
    if grouping.mode == "context":
        return np.arange(grouping.n_groups, dtype=np.intp), grouping.group_context
    g, c = unique_incidence(grouping.vote_group, vote_context, n_contexts)
    cand_row, cand_group, cand_context = context_candidates(g, c, grouping.reverse)
    del cand_row
    return unique_incidence(cand_group, cand_context, n_contexts)


def _incidence_space(
    grouping: Grouping, incidence: tuple[IndexArray, IndexArray], n_contexts: int
) -> IncidenceSpace:
    return IncidenceSpace.build(
        incidence[0],
        incidence[1],
        grouping.group_src,
        grouping.group_dst,
        grouping.n_values,
        n_contexts,
    )


def _sensitivity(
    grouping: Grouping,
    counts: EdgeCounts,
    space: IncidenceSpace,
    contexts: list[str],
    params: Params,
) -> list[SensitivityCell]:
    cells: list[SensitivityCell] = []
    for min_wiser, min_likelihood, max_entropy in product(
        params.grid_min_wiser, params.grid_min_likelihood, params.grid_max_entropy
    ):
        kept = counts.kept(min_wiser, min_likelihood, max_entropy)
        selected = np.flatnonzero(kept[space.edge]).astype(np.intp)
        top = space.top_values(selected, counts.wiser_likelihood, params.damping)
        winner = top.representatives(space.n_contexts)
        tied: dict[str, list[int]] = {}
        for c, v, share in zip(top.context, top.value, top.share, strict=True):
            if share < 1.0:
                tied.setdefault(contexts[int(c)], []).append(int(grouping.value_ids[v]))
        cells.append(
            SensitivityCell(
                min_wiser=min_wiser,
                min_likelihood=min_likelihood,
                max_entropy=max_entropy,
                kept_edges=int(kept.sum()),
                winners={
                    text: (int(grouping.value_ids[w]) if w >= 0 else None)
                    for text, w in zip(contexts, winner, strict=True)
                },
                ties={text: tuple(sorted(ids)) for text, ids in tied.items()},
            )
        )
    return cells


def _edge_table(
    contexts: list[str],
    grouping: Grouping,
    counts: EdgeCounts,
    kept: BoolArray,
    incidence: tuple[IndexArray, IndexArray],
) -> EdgeTable:
    decisive_against = np.asarray(counts.marked_less_wise) + np.asarray(counts.marked_not_wiser)
    low, high = beta_interval(counts.marked_wiser, decisive_against)
    indptr = np.searchsorted(incidence[0], np.arange(grouping.n_groups + 1)).astype(np.intp)
    return EdgeTable(
        contexts=contexts,
        from_value=grouping.value_ids[grouping.group_src],
        to_value=grouping.value_ids[grouping.group_dst],
        marked_wiser=np.asarray(counts.marked_wiser, dtype=np.int64),
        marked_not_wiser=np.asarray(counts.marked_not_wiser, dtype=np.int64),
        marked_unsure=np.asarray(counts.marked_unsure, dtype=np.int64),
        marked_less_wise=np.asarray(counts.marked_less_wise, dtype=np.int64),
        impressions=np.asarray(counts.impressions, dtype=np.int64),
        wiser_likelihood=counts.wiser_likelihood,
        entropy=counts.entropy,
        interval_low=low,
        interval_high=high,
        kept=kept,
        context_indptr=indptr,
        context_index=incidence[1],
    )


def _win_probabilities(
    contexts: list[str], value_ids: IntArray, wins: NDArray[np.float64], bootstrap: int
) -> dict[str, dict[int, float]]:
    """Per context, every value that won at least one replicate (or a share of one, in a tie)
    → its share of replicates."""
    probabilities: dict[str, dict[int, float]] = {}
    if bootstrap == 0:
        return probabilities
    for c, text in enumerate(contexts):
        won = np.flatnonzero(wins[c])
        if won.shape[0]:
            probabilities[text] = {int(value_ids[v]): float(wins[c, v]) / bootstrap for v in won}
    return probabilities


def _ranked_values(
    ranking: ContextRanking,
    lo: int,
    hi: int,
    value_ids: IntArray,
    probabilities: dict[int, float] | None,
) -> list[RankedValue]:
    """One context's slice of the ranking; `probabilities` None: no bootstrap."""
    return [
        RankedValue(
            value_id=int(value_ids[ranking.value[i]]),
            score=float(ranking.score[i]),
            rank=i - lo + 1,
            win_probability=(
                probabilities.get(int(value_ids[ranking.value[i]]), 0.0)
                if probabilities is not None
                else None
            ),
        )
        for i in range(lo, hi)
    ]


def _winner(
    text: str,
    ranked: list[RankedValue],
    scores: FloatArray,
    tied: int,
    tie_probability: float | None,
) -> Winner:
    """`ranked` best first, the `tied` winners first by id (`ContextRanking`)."""
    top = ranked[0]
    return Winner(
        context=text,
        value_id=top.value_id,
        score=top.score,
        support=support_label(scores),
        win_probability=top.win_probability,
        runner_up=(
            RunnerUp(value_id=ranked[1].value_id, score=ranked[1].score)
            if len(ranked) > 1
            else None
        ),
        tied_value_ids=tuple(sorted(r.value_id for r in ranked[:tied])),
        tie_probability=tie_probability,
    )


def build(votes: VoteTable, params: Params | None = None) -> GraphResult:
    """Aggregate votes into edges and rank values per context.

    Edge counts, likelihood, entropy and the keep rule follow the reference implementation;
    values are ranked by weighted PageRank over each context's kept edges (see `rank`).
    """
    params = params or Params()
    contexts, vote_context = _sorted_contexts(votes)
    n_contexts = len(contexts)
    grouping = group_votes(votes.from_value, votes.to_value, vote_context, n_contexts, params.mode)
    per_choice = choice_counts(grouping.vote_group, votes.choice, grouping.n_groups)
    counts = edge_counts(per_choice, grouping.reverse)
    kept = counts.kept(params.min_wiser, params.min_likelihood, params.max_entropy)
    incidence = _all_incidence(grouping, vote_context, n_contexts)
    space = _incidence_space(grouping, incidence, n_contexts)
    ranking = space.ranking(
        np.flatnonzero(kept[space.edge]).astype(np.intp), counts.wiser_likelihood, params.damping
    )
    replicates = bootstrap_wins(votes, grouping, vote_context, space, params)
    value_ids = grouping.value_ids
    win_probabilities = _win_probabilities(contexts, value_ids, replicates.wins, params.bootstrap)
    tie_probabilities = {
        contexts[int(c)]: float(replicates.ties[c]) / params.bootstrap
        for c in np.flatnonzero(replicates.ties)
    }

    winners: dict[str, Winner] = {}
    rankings: dict[str, list[RankedValue]] = {}
    for c, text in enumerate(contexts):
        lo, hi = int(ranking.starts[c]), int(ranking.starts[c + 1])
        if hi == lo:
            continue
        probabilities = win_probabilities.get(text, {}) if params.bootstrap > 0 else None
        rankings[text] = _ranked_values(ranking, lo, hi, value_ids, probabilities)
        tied = int(ranking.is_top[lo:hi].sum())
        tie_probability = tie_probabilities.get(text, 0.0) if params.bootstrap > 0 else None
        winners[text] = _winner(text, rankings[text], ranking.score[lo:hi], tied, tie_probability)

    return GraphResult(
        params=params,
        contexts=contexts,
        edges=_edge_table(contexts, grouping, counts, kept, incidence),
        winners=winners,
        rankings=rankings,
        win_probabilities=win_probabilities,
        tie_probabilities=tie_probabilities,
        sensitivity=_sensitivity(grouping, counts, space, contexts, params),
        participants=int(np.unique(votes.participant).shape[0]),
        votes=len(votes),
    )
