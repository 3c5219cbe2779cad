"""Weighted PageRank on each context's subgraph, and the support label.

networkx's `pagerank` needs scipy, which this project does not install, and the bootstrap runs
it thousands of times; so this is the same algorithm as networkx's (uniform personalisation,
dangling rank redistributed uniformly, out-weights normalised per node, stop when the L1 change
is below N * tol, at most max_iter rounds) run on all contexts at once as one block-diagonal
graph. Each block stops on its own criterion, as networkx would on that subgraph alone. The
tests compare it with networkx's pure-Python implementation.

Ties: values whose score lies within `TIE_REL_TOL` (relative) or `TIE_ABS_TOL` (absolute) of
their context's top score share the win (`tied_with_top`); nothing picks one of them by id.
Values that the graph cannot tell apart (mirror images: the same edges in and out, with the
same weights) get the same score up to floating-point rounding, about 1e-16 relative, while
PageRank stops only when a round changes the scores by less than 1e-6 in all, so a tolerance
far below that and far above rounding separates the two. In 200 bootstrap replicates of the
reference study's published sample, the smallest relative gap between a winner and a
runner-up that are not tied is 2.5e-5, and every tie found there (and in the threshold grid)
is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .stats import BoolArray, FloatArray, IndexArray

BROADLY_SUPPORTED = "broadly supported"
SOME_SUPPORT = "some support"
CONTESTED = "contested"
SUPPORT_LABELS = (BROADLY_SUPPORTED, SOME_SUPPORT, CONTESTED)

TIE_REL_TOL = 1e-9
TIE_ABS_TOL = 1e-12


def tied_with_top(score: FloatArray, top: FloatArray) -> BoolArray:
    """Whether each score ties with its context's top score (`math.isclose` with
    `TIE_REL_TOL` and `TIE_ABS_TOL`, elementwise)."""
    scale = np.maximum(np.abs(score), np.abs(top))
    return np.asarray(
        np.abs(top - score) <= np.maximum(TIE_REL_TOL * scale, TIE_ABS_TOL), dtype=np.bool_
    )


def block_pagerank(
    src: IndexArray,
    dst: IndexArray,
    weight: FloatArray,
    block: IndexArray,
    n_blocks: int,
    alpha: float = 0.85,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> FloatArray:
    """PageRank of every node, each block (context) on its own. Edges must stay in a block."""
    n_nodes = int(block.shape[0])
    if n_nodes == 0:
        return np.zeros(0)
    size = np.bincount(block, minlength=n_blocks).astype(np.float64)
    out_weight = np.bincount(src, weights=weight, minlength=n_nodes)
    dangling = (out_weight == 0).astype(np.float64)
    safe_out = np.where(out_weight[src] != 0, out_weight[src], 1.0)
    share = np.where(out_weight[src] != 0, weight / safe_out, 0.0)
    uniform = 1.0 / size[block]
    x = uniform.copy()
    active = size > 0
    for _ in range(max_iter):
        last = x
        dangling_rank = np.bincount(block, weights=last * dangling, minlength=n_blocks)
        flow = np.bincount(dst, weights=last[src] * share, minlength=n_nodes)
        fresh = alpha * (flow + dangling_rank[block] * uniform) + (1.0 - alpha) * uniform
        x = np.where(active[block], fresh, last)
        error = np.bincount(block, weights=np.abs(x - last), minlength=n_blocks)
        active = active & ~(error < size * tol)
        if not bool(active.any()):
            break
    return x


@dataclass(frozen=True, eq=False)
class ContextRanking:
    """Scores of the values in each context's subgraph, sorted by context, then best first;
    the values tied with the top score come first, by value (so the lowest id leads a tie)."""

    context: IndexArray
    value: IndexArray  # index into the value id table
    score: FloatArray
    starts: IndexArray  # first row of each context (len n_contexts + 1)
    is_top: BoolArray  # the row ties with its context's top score (the winners)


@dataclass(frozen=True, eq=False)
class TopValues:
    """Each context's winning values (all of them when tied), sorted by (context, value);
    each has `share` = 1/k of the win, k the number of values tied in its context."""

    context: IndexArray
    value: IndexArray
    share: FloatArray

    def representatives(self, n_contexts: int) -> IndexArray:
        """The lowest value index among each context's winners; -1 where none."""
        result = np.full(n_contexts, -1, dtype=np.intp)
        if self.context.shape[0]:
            first = np.r_[True, self.context[1:] != self.context[:-1]]
            result[self.context[first]] = self.value[first]
        return result


@dataclass(frozen=True, eq=False)
class IncidenceSpace:
    """Every (edge, context) incidence that can occur, each with its two nodes; a node is a
    (context, value) pair. Built once per vote set, so that ranking any subset of incidences
    (a threshold setting, a bootstrap replicate) needs no sorting."""

    edge: IndexArray  # sorted by (edge, context)
    context: IndexArray
    src_node: IndexArray
    dst_node: IndexArray
    node_context: IndexArray  # nodes sorted by (context, value index)
    node_value: IndexArray
    n_contexts: int

    @classmethod
    def build(
        cls,
        incidence_edge: IndexArray,
        incidence_context: IndexArray,
        edge_src: IndexArray,
        edge_dst: IndexArray,
        n_values: int,
        n_contexts: int,
    ) -> IncidenceSpace:
        n_values = max(n_values, 1)
        n_inc = int(incidence_edge.shape[0])
        ctx = incidence_context.astype(np.int64)
        node_keys = np.concatenate(
            [ctx * n_values + edge_src[incidence_edge], ctx * n_values + edge_dst[incidence_edge]]
        )
        keys, node_of = np.unique(node_keys, return_inverse=True)
        node_of = node_of.reshape(-1).astype(np.intp)
        return cls(
            edge=incidence_edge,
            context=incidence_context,
            src_node=node_of[:n_inc],
            dst_node=node_of[n_inc:],
            node_context=(keys // n_values).astype(np.intp),
            node_value=(keys % n_values).astype(np.intp),
            n_contexts=n_contexts,
        )

    def scores(
        self, selected: IndexArray, edge_weight: FloatArray, alpha: float
    ) -> tuple[IndexArray, FloatArray]:
        """PageRank per context over the selected incidences: (touched nodes, their scores),
        nodes in (context, value) order."""
        n_nodes = int(self.node_context.shape[0])
        touched = np.zeros(n_nodes, dtype=np.bool_)
        src = self.src_node[selected]
        dst = self.dst_node[selected]
        touched[src] = True
        touched[dst] = True
        nodes = np.flatnonzero(touched).astype(np.intp)
        compact = np.cumsum(touched, dtype=np.intp) - 1
        score = block_pagerank(
            compact[src],
            compact[dst],
            edge_weight[self.edge[selected]],
            self.node_context[nodes],
            self.n_contexts,
            alpha=alpha,
        )
        return nodes, score

    def ranking(
        self, selected: IndexArray, edge_weight: FloatArray, alpha: float
    ) -> ContextRanking:
        nodes, score = self.scores(selected, edge_weight, alpha)
        context = self.node_context[nodes]
        value = self.node_value[nodes]
        top = _top_score(context, score)
        is_top = tied_with_top(score, top)
        # Tied winners sort as equals (by value); the rest by score, then value.
        order = np.lexsort((value, -np.where(is_top, top, score), context))
        sorted_context = context[order]
        starts = np.searchsorted(sorted_context, np.arange(self.n_contexts + 1)).astype(np.intp)
        return ContextRanking(
            context=sorted_context,
            value=value[order],
            score=score[order],
            starts=starts,
            is_top=is_top[order],
        )

    def top_values(self, selected: IndexArray, edge_weight: FloatArray, alpha: float) -> TopValues:
        """Every context's winning values (those tied with its top score). Linear time: no
        sort (nodes come in (context, value) order)."""
        nodes, score = self.scores(selected, edge_weight, alpha)
        context = self.node_context[nodes]
        is_top = tied_with_top(score, _top_score(context, score))
        top_context = context[is_top]
        tied = np.bincount(top_context, minlength=self.n_contexts)
        return TopValues(
            context=top_context,
            value=self.node_value[nodes[is_top]],
            share=1.0 / tied[top_context],
        )

    def winners(self, selected: IndexArray, edge_weight: FloatArray, alpha: float) -> IndexArray:
        """Winning value index per context (the lowest among tied values); -1 where the
        context has no selected incidence."""
        return self.top_values(selected, edge_weight, alpha).representatives(self.n_contexts)


def _top_score(context: IndexArray, score: FloatArray) -> FloatArray:
    """Each row's context's highest score (rows grouped by context)."""
    if score.shape[0] == 0:
        return score
    change = np.r_[True, context[1:] != context[:-1]]
    starts = np.flatnonzero(change)
    block = np.cumsum(change, dtype=np.intp) - 1
    return np.maximum.reduceat(score, starts)[block]


def support_label(scores: Sequence[float] | FloatArray) -> str:
    """The support label: "broadly supported" when the top score is more than 2.5 SD above the mean
    and more than twice the runner-up; "some support" when more than 1.5 SD above the mean or
    more than 1.5x the runner-up; otherwise "contested". SD is the population SD of the
    context's scores; a missing runner-up counts as 0. A tie (the runner-up within the tie
    tolerance of the top) is "contested" whatever the SD says: the graph does not single out
    one value, so no one value has its support."""
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if s.shape[0] == 0:
        return CONTESTED
    top = float(s[0])
    runner_up = float(s[1]) if s.shape[0] > 1 else 0.0
    if s.shape[0] > 1 and bool(tied_with_top(s[1:2], s[0:1])[0]):
        return CONTESTED
    mean = float(s.mean())
    sd = float(s.std())
    if top > mean + 2.5 * sd and top > 2.0 * runner_up:
        return BROADLY_SUPPORTED
    if top > mean + 1.5 * sd or top > 1.5 * runner_up:
        return SOME_SUPPORT
    return CONTESTED
