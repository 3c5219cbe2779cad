"""From votes to edges, winners, bootstrap win probabilities and sensitivity (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import numpy as np
from numpy.typing import NDArray

from .rank import IncidenceSpace, support_label
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
    kept_and_likelihood,
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
    context: str
    value_id: int
    score: float
    support: str
    win_probability: float | None  # None when the bootstrap is disabled
    runner_up: RunnerUp | None


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


@dataclass(frozen=True, eq=False)
class GraphResult:
    params: Params
    contexts: list[str]  # sorted context texts seen in the votes
    edges: EdgeTable
    winners: dict[str, Winner]  # contexts with at least one kept edge
    rankings: dict[str, list[RankedValue]]  # same contexts, best first
    # Bootstrap: per context, every value that won at least one replicate → share of replicates.
    win_probabilities: dict[str, dict[int, float]] = field(default_factory=dict)
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


def _bootstrap_wins(
    votes: VoteTable,
    grouping: Grouping,
    vote_context: IndexArray,
    space: IncidenceSpace,
    params: Params,
) -> NDArray[np.int64]:
    """Wins per (context, value index) over `params.bootstrap` participant resamples.

    Counts are aggregated once per (participant, group, choice) cell, so a replicate is a
    weighted bincount by participant multiplicities rather than a re-scan of the votes; its
    kept incidences are a subset of `space`, so ranking them needs no sorting.
    """
    n_groups = grouping.n_groups
    n_contexts = space.n_contexts
    wins = np.zeros((n_contexts, max(grouping.n_values, 1)), dtype=np.int64)
    if params.bootstrap == 0 or len(votes) == 0:
        return wins
    participant_ids, participant = np.unique(votes.participant, return_inverse=True)
    participant = participant.reshape(-1).astype(np.int64)
    n_participants = int(participant_ids.shape[0])
    flat = grouping.vote_group.astype(np.int64) * 3 + votes.choice.astype(np.int64)
    cell_keys, cell_size = np.unique(participant * (3 * n_groups) + flat, return_counts=True)
    cell_participant = cell_keys // (3 * n_groups)
    cell_flat = (cell_keys % (3 * n_groups)).astype(np.intp)
    cell_weight = cell_size.astype(np.float64)

    n_ctx = max(n_contexts, 1)
    space_keys = space.edge.astype(np.int64) * n_ctx + space.context
    reference = grouping.mode == "reference"
    if reference:
        # which participants saw each (group, context): it decides the edge's contexts
        gc_keys, gc_of_vote = np.unique(
            grouping.vote_group.astype(np.int64) * n_ctx + vote_context, return_inverse=True
        )
        n_rows = int(gc_keys.shape[0])
        seen = np.unique(participant * n_rows + gc_of_vote.reshape(-1))
        seen_participant = seen // n_rows
        seen_row = (seen % n_rows).astype(np.intp)
        cand_row, cand_group, cand_context = context_candidates(
            (gc_keys // n_ctx).astype(np.intp), (gc_keys % n_ctx).astype(np.intp), grouping.reverse
        )
        cand_incidence = np.searchsorted(
            space_keys, cand_group.astype(np.int64) * n_ctx + cand_context
        )
    n_incidences = int(space.edge.shape[0])

    rng = np.random.default_rng(params.seed)
    for _ in range(params.bootstrap):
        draw = rng.integers(0, n_participants, size=n_participants)
        multiplicity = np.bincount(draw, minlength=n_participants).astype(np.float64)
        weights = cell_weight * multiplicity[cell_participant]
        per_choice = np.bincount(cell_flat, weights=weights, minlength=3 * n_groups)
        kept, likelihood = kept_and_likelihood(
            per_choice.reshape(n_groups, 3),
            grouping.reverse,
            params.min_wiser,
            params.min_likelihood,
            params.max_entropy,
        )
        if reference:
            present = np.zeros(n_rows, dtype=np.bool_)
            present[seen_row[multiplicity[seen_participant] > 0]] = True
            chosen = present[cand_row] & kept[cand_group]
            mask = np.zeros(n_incidences, dtype=np.bool_)
            mask[cand_incidence[chosen]] = True
            selected = np.flatnonzero(mask).astype(np.intp)
        else:
            selected = np.flatnonzero(kept[space.edge]).astype(np.intp)
        winner = space.winners(selected, likelihood, params.damping)
        has_winner = winner >= 0
        wins[np.flatnonzero(has_winner), winner[has_winner]] += 1
    return wins


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
        winner = space.winners(selected, counts.wiser_likelihood, params.damping)
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
            )
        )
    return cells


def build(votes: VoteTable, params: Params | None = None) -> GraphResult:
    """Aggregate votes into edges (DESIGN §4.4) and rank values per context (§4.5)."""
    params = params or Params()
    contexts, vote_context = _sorted_contexts(votes)
    n_contexts = len(contexts)
    grouping = group_votes(votes.from_value, votes.to_value, vote_context, n_contexts, params.mode)
    per_choice = choice_counts(grouping.vote_group, votes.choice, grouping.n_groups)
    counts = edge_counts(per_choice, grouping.reverse)
    kept = counts.kept(params.min_wiser, params.min_likelihood, params.max_entropy)
    decisive_against = np.asarray(counts.marked_less_wise) + np.asarray(counts.marked_not_wiser)
    low, high = beta_interval(counts.marked_wiser, decisive_against)
    incidence = _all_incidence(grouping, vote_context, n_contexts)
    indptr = np.searchsorted(incidence[0], np.arange(grouping.n_groups + 1)).astype(np.intp)
    value_ids = grouping.value_ids
    edges = EdgeTable(
        contexts=contexts,
        from_value=value_ids[grouping.group_src],
        to_value=value_ids[grouping.group_dst],
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

    space = _incidence_space(grouping, incidence, n_contexts)
    ranking = space.ranking(
        np.flatnonzero(kept[space.edge]).astype(np.intp), counts.wiser_likelihood, params.damping
    )
    wins = _bootstrap_wins(votes, grouping, vote_context, space, params)
    bootstrapped = params.bootstrap > 0

    winners: dict[str, Winner] = {}
    rankings: dict[str, list[RankedValue]] = {}
    win_probabilities: dict[str, dict[int, float]] = {}
    for c, text in enumerate(contexts):
        if bootstrapped:
            won = np.flatnonzero(wins[c])
            if won.shape[0]:
                win_probabilities[text] = {
                    int(value_ids[v]): float(wins[c, v]) / params.bootstrap for v in won
                }
        lo, hi = int(ranking.starts[c]), int(ranking.starts[c + 1])
        if hi == lo:
            continue
        probabilities = win_probabilities.get(text, {})
        ranked = [
            RankedValue(
                value_id=int(value_ids[ranking.value[i]]),
                score=float(ranking.score[i]),
                rank=i - lo + 1,
                win_probability=(
                    probabilities.get(int(value_ids[ranking.value[i]]), 0.0)
                    if bootstrapped
                    else None
                ),
            )
            for i in range(lo, hi)
        ]
        rankings[text] = ranked
        top = ranked[0]
        winners[text] = Winner(
            context=text,
            value_id=top.value_id,
            score=top.score,
            support=support_label(ranking.score[lo:hi]),
            win_probability=top.win_probability,
            runner_up=(
                RunnerUp(value_id=ranked[1].value_id, score=ranked[1].score)
                if len(ranked) > 1
                else None
            ),
        )

    return GraphResult(
        params=params,
        contexts=contexts,
        edges=edges,
        winners=winners,
        rankings=rankings,
        win_probabilities=win_probabilities,
        sensitivity=_sensitivity(grouping, counts, space, contexts, params),
        participants=int(np.unique(votes.participant).shape[0]),
        votes=len(votes),
    )
