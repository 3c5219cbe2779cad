"""Weighted PageRank on each context's subgraph, and the support label.

networkx's `pagerank` needs scipy, which this project does not install, and the bootstrap runs
it thousands of times; so this is the same algorithm as networkx's (uniform personalisation,
dangling rank redistributed uniformly, out-weights normalised per node, stop when the L1 change
is below N * tol, at most max_iter rounds) run on all contexts at once as one block-diagonal
graph. Each block stops on its own criterion, as networkx would on that subgraph alone. The
tests compare it with networkx's pure-Python implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .stats import FloatArray, IndexArray

BROADLY_SUPPORTED = "broadly supported"
SOME_SUPPORT = "some support"
CONTESTED = "contested"
SUPPORT_LABELS = (BROADLY_SUPPORTED, SOME_SUPPORT, CONTESTED)


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
    """Scores of the values in each context's subgraph, sorted by (context, -score, value)."""

    context: IndexArray
    value: IndexArray  # index into the value id table
    score: FloatArray
    starts: IndexArray  # first row of each context (len n_contexts + 1)


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
        order = np.lexsort((value, -score, context))
        sorted_context = context[order]
        starts = np.searchsorted(sorted_context, np.arange(self.n_contexts + 1)).astype(np.intp)
        return ContextRanking(
            context=sorted_context, value=value[order], score=score[order], starts=starts
        )

    def winners(self, selected: IndexArray, edge_weight: FloatArray, alpha: float) -> IndexArray:
        """Winning value index per context (highest score, then lowest value id); -1 where the
        context has no selected incidence. Linear time: no sort."""
        nodes, score = self.scores(selected, edge_weight, alpha)
        result = np.full(self.n_contexts, -1, dtype=np.intp)
        if nodes.shape[0] == 0:
            return result
        context = self.node_context[nodes]
        starts = np.flatnonzero(np.r_[True, context[1:] != context[:-1]])
        best = np.maximum.reduceat(score, starts)
        block = np.cumsum(np.r_[False, context[1:] != context[:-1]], dtype=np.intp)
        position = np.arange(nodes.shape[0], dtype=np.intp)
        candidate = np.where(score == best[block], position, nodes.shape[0])
        first = np.minimum.reduceat(candidate, starts)
        result[context[starts]] = self.node_value[nodes[first]]
        return result


def support_label(scores: Sequence[float] | FloatArray) -> str:
    """The support label: "broadly supported" when the top score is more than 2.5 SD above the mean
    and more than twice the runner-up; "some support" when more than 1.5 SD above the mean or
    more than 1.5x the runner-up; otherwise "contested". SD is the population SD of the
    context's scores; a missing runner-up counts as 0."""
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if s.shape[0] == 0:
        return CONTESTED
    top = float(s[0])
    runner_up = float(s[1]) if s.shape[0] > 1 else 0.0
    mean = float(s.mean())
    sd = float(s.std())
    if top > mean + 2.5 * sd and top > 2.0 * runner_up:
        return BROADLY_SUPPORTED
    if top > mean + 1.5 * sd or top > 1.5 * runner_up:
        return SOME_SUPPORT
    return CONTESTED
