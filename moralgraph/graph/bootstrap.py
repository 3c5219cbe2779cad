"""Win counts under a bootstrap over participants (pure).

Each replicate resamples participants with replacement, re-aggregates their votes, keeps the
edges that pass the thresholds and ranks each context again. Counts are aggregated once per
(participant, group, choice) cell, so a replicate is a weighted bincount by participant
multiplicities rather than a re-scan of the votes; its kept incidences are a subset of the
`IncidenceSpace`, so ranking them needs no sorting.

A replicate in which k values tie for a context's top score counts 1/k of a win to each
(`rank.tied_with_top`), so a context's win probabilities still sum to the share of replicates
in which it has a winner, and no tied value is favoured by its id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .rank import IncidenceSpace
from .stats import (
    BoolArray,
    FloatArray,
    Grouping,
    IndexArray,
    IntArray,
    context_candidates,
    kept_and_likelihood,
)
from .votes import Params, VoteTable


@dataclass(frozen=True, eq=False)
class _Cells:
    """The votes counted once per (participant, group, choice) cell."""

    participant: IntArray  # each cell's participant index
    flat: IndexArray  # each cell's group * 3 + choice
    size: FloatArray  # votes in the cell
    n_groups: int

    @classmethod
    def count(cls, participant: IntArray, votes: VoteTable, grouping: Grouping) -> _Cells:
        width = 3 * grouping.n_groups
        flat = grouping.vote_group.astype(np.int64) * 3 + votes.choice.astype(np.int64)
        keys, size = np.unique(participant * width + flat, return_counts=True)
        return cls(
            participant=keys // width,
            flat=(keys % width).astype(np.intp),
            size=size.astype(np.float64),
            n_groups=grouping.n_groups,
        )

    def per_choice(self, multiplicity: FloatArray) -> FloatArray:
        """Choice counts per group when each participant counts `multiplicity` times."""
        weights = self.size * multiplicity[self.participant]
        counts = np.bincount(self.flat, weights=weights, minlength=3 * self.n_groups)
        return counts.reshape(self.n_groups, 3)


@dataclass(frozen=True, eq=False)
class _ReferenceContexts:
    """Reference mode: an edge's contexts are those in which a resampled participant voted on
    it in either direction, so which incidences a replicate keeps depends on who was drawn."""

    seen_participant: IntArray  # per (participant, group-context row) seen: the participant
    seen_row: IndexArray  # … and the row
    n_rows: int
    cand_row: IndexArray  # each candidate incidence's source row
    cand_group: IndexArray
    cand_incidence: IndexArray  # its position in the incidence space
    n_incidences: int

    @classmethod
    def index(
        cls,
        participant: IntArray,
        grouping: Grouping,
        vote_context: IndexArray,
        space: IncidenceSpace,
    ) -> _ReferenceContexts:
        n_ctx = max(space.n_contexts, 1)
        space_keys = space.edge.astype(np.int64) * n_ctx + space.context
        gc_keys, gc_of_vote = np.unique(
            grouping.vote_group.astype(np.int64) * n_ctx + vote_context, return_inverse=True
        )
        n_rows = int(gc_keys.shape[0])
        seen = np.unique(participant * n_rows + gc_of_vote.reshape(-1))
        cand_row, cand_group, cand_context = context_candidates(
            (gc_keys // n_ctx).astype(np.intp), (gc_keys % n_ctx).astype(np.intp), grouping.reverse
        )
        return cls(
            seen_participant=seen // n_rows,
            seen_row=(seen % n_rows).astype(np.intp),
            n_rows=n_rows,
            cand_row=cand_row,
            cand_group=cand_group,
            cand_incidence=np.searchsorted(
                space_keys, cand_group.astype(np.int64) * n_ctx + cand_context
            ),
            n_incidences=int(space.edge.shape[0]),
        )

    def selected(self, multiplicity: FloatArray, kept: BoolArray) -> IndexArray:
        """The incidences a replicate keeps: a kept edge in a context its draw saw."""
        present = np.zeros(self.n_rows, dtype=np.bool_)
        present[self.seen_row[multiplicity[self.seen_participant] > 0]] = True
        chosen = present[self.cand_row] & kept[self.cand_group]
        mask = np.zeros(self.n_incidences, dtype=np.bool_)
        mask[self.cand_incidence[chosen]] = True
        return np.flatnonzero(mask).astype(np.intp)


@dataclass(frozen=True, eq=False)
class BootstrapWins:
    """Over `params.bootstrap` participant resamples: wins per (context, value index), a k-way
    tie counting 1/k to each tied value; and per context, the replicates whose top was tied."""

    wins: NDArray[np.float64]
    ties: NDArray[np.int64]


def bootstrap_wins(
    votes: VoteTable,
    grouping: Grouping,
    vote_context: IndexArray,
    space: IncidenceSpace,
    params: Params,
) -> BootstrapWins:
    """Win shares and tie counts per context over `params.bootstrap` participant resamples."""
    wins = np.zeros((space.n_contexts, max(grouping.n_values, 1)), dtype=np.float64)
    ties = np.zeros(space.n_contexts, dtype=np.int64)
    if params.bootstrap == 0 or len(votes) == 0:
        return BootstrapWins(wins=wins, ties=ties)
    participant_ids, inverse = np.unique(votes.participant, return_inverse=True)
    participant = inverse.reshape(-1).astype(np.int64)
    n_participants = int(participant_ids.shape[0])
    cells = _Cells.count(participant, votes, grouping)
    reference = (
        _ReferenceContexts.index(participant, grouping, vote_context, space)
        if grouping.mode == "reference"
        else None
    )
    rng = np.random.default_rng(params.seed)
    for _ in range(params.bootstrap):
        draw = rng.integers(0, n_participants, size=n_participants)
        multiplicity = np.bincount(draw, minlength=n_participants).astype(np.float64)
        kept, likelihood = kept_and_likelihood(
            cells.per_choice(multiplicity),
            grouping.reverse,
            params.min_wiser,
            params.min_likelihood,
            params.max_entropy,
        )
        if reference is not None:
            selected = reference.selected(multiplicity, kept)
        else:
            selected = np.flatnonzero(kept[space.edge]).astype(np.intp)
        top = space.top_values(selected, likelihood, params.damping)
        # (context, value) pairs are distinct within a replicate: plain indexing adds once each.
        wins[top.context, top.value] += top.share
        ties[np.unique(top.context[top.share < 1.0])] += 1
    return BootstrapWins(wins=wins, ties=ties)
