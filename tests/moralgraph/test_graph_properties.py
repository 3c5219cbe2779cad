"""Property tests for the graph maths (hypothesis)."""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moralgraph.graph import Params, VoteTable, block_pagerank, build, content_hash

CONTEXTS = ["When in distress", "When parenting", "When seeking clarity"]
CHOICE_NAMES = ["upgrade", "no_upgrade", "not_sure"]
NO_EXTRAS: dict[str, Any] = dict(
    bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=()
)
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)

vote = st.tuples(
    st.integers(0, 12),  # participant
    st.integers(0, 5),  # from
    st.integers(0, 5),  # to
    st.sampled_from(CONTEXTS),
    st.sampled_from(CHOICE_NAMES),
).filter(lambda v: v[1] != v[2])
votes_strategy = st.lists(vote, min_size=0, max_size=60)
modes = st.sampled_from(["reference", "context"])


def edge_map(votes: VoteTable, params: Params) -> dict[tuple[Any, ...], Any]:
    return {
        (e.from_value, e.to_value, e.contexts if params.mode == "context" else ()): e
        for e in build(votes, params).edges.rows()
    }


@PROPERTY_SETTINGS
@given(votes_strategy, vote, modes)
def test_an_upgrade_vote_never_lowers_its_likelihood(
    rows: list[Any], extra: tuple[Any, ...], mode: str
) -> None:
    params = Params(mode=mode, **NO_EXTRAS)  # type: ignore[arg-type]
    _, a, b, context, _ = extra
    before = edge_map(VoteTable.from_rows(rows, contexts=CONTEXTS), params)
    after = edge_map(
        VoteTable.from_rows([*rows, (99, a, b, context, "upgrade")], contexts=CONTEXTS), params
    )
    scope = (context,) if mode == "context" else ()
    forward_after = after[(a, b, scope)]
    if (a, b, scope) in before:
        assert forward_after.wiser_likelihood >= before[(a, b, scope)].wiser_likelihood - 1e-12
    if (b, a, scope) in before:
        assert after[(b, a, scope)].wiser_likelihood <= (
            before[(b, a, scope)].wiser_likelihood + 1e-12
        )


@PROPERTY_SETTINGS
@given(votes_strategy, st.randoms(use_true_random=False))
def test_content_hash_ignores_vote_order_but_not_votes(rows: list[Any], rng: random.Random) -> None:
    params = Params()
    shuffled = rows[:]
    rng.shuffle(shuffled)
    contexts = CONTEXTS[:]
    rng.shuffle(contexts)
    a = content_hash(VoteTable.from_rows(rows, contexts=CONTEXTS), params)
    b = content_hash(VoteTable.from_rows(shuffled, contexts=contexts), params)
    assert a == b
    assert len(a) == 64
    if rows:
        p, x, y, c, choice = rows[0]
        other = CHOICE_NAMES[(CHOICE_NAMES.index(choice) + 1) % 3]
        changed = [(p, x, y, c, other), *rows[1:]]
        assert content_hash(VoteTable.from_rows(changed, contexts=CONTEXTS), params) != a
    assert content_hash(VoteTable.from_rows(rows), Params(seed=1)) != a
    assert content_hash(VoteTable.from_rows(rows), params, code_version="other") != a


@PROPERTY_SETTINGS
@given(votes_strategy, modes)
def test_kept_graph_is_the_thresholded_subgraph(rows: list[Any], mode: str) -> None:
    votes = VoteTable.from_rows(rows, contexts=CONTEXTS)
    params = Params(mode=mode, **NO_EXTRAS)  # type: ignore[arg-type]
    result = build(votes, params)
    edges = result.edges.rows()
    voted = {(r[1], r[2]) for r in rows}
    assert {(e.from_value, e.to_value) for e in edges} == voted
    kept = [e for e in edges if e.kept]
    for e in edges:
        expected = (
            e.marked_wiser >= max(params.min_wiser, 1)
            and e.wiser_likelihood >= params.min_likelihood
            and e.entropy <= params.max_entropy
        )
        assert e.kept == expected
        assert e.impressions >= e.marked_wiser + e.marked_not_wiser + e.marked_unsure
        assert 0.0 <= e.interval[0] < e.interval[1] <= 1.0
    looser = build(
        votes,
        Params(
            mode=mode,  # type: ignore[arg-type]
            min_wiser=1,
            min_likelihood=0.0,
            max_entropy=3.0,
            **NO_EXTRAS,
        ),
    )
    looser_kept = {
        (e.from_value, e.to_value, e.contexts) for e in looser.edges.rows(kept_only=True)
    }
    assert {(e.from_value, e.to_value, e.contexts) for e in kept} <= looser_kept
    ranked_values = {r.value_id for ranking in result.rankings.values() for r in ranking}
    assert ranked_values <= {v for e in kept for v in (e.from_value, e.to_value)}


@PROPERTY_SETTINGS
@given(votes_strategy, modes)
def test_pagerank_scores_sum_to_one_per_context(rows: list[Any], mode: str) -> None:
    params = Params(mode=mode, min_wiser=1, min_likelihood=0.0, max_entropy=3.0, **NO_EXTRAS)  # type: ignore[arg-type]
    result = build(VoteTable.from_rows(rows, contexts=CONTEXTS), params)
    for text, ranking in result.rankings.items():
        assert sum(r.score for r in ranking) == pytest.approx(1.0, abs=1e-9)
        assert [r.rank for r in ranking] == list(range(1, len(ranking) + 1))
        assert all(x.score >= y.score for x, y in zip(ranking, ranking[1:], strict=False))
        assert result.winners[text].value_id == ranking[0].value_id


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 7), st.floats(0.05, 1.0)),
        min_size=1,
        max_size=25,
        unique_by=lambda e: (e[0], e[1]),
    )
)
def test_block_pagerank_matches_networkx(edges: list[tuple[int, int, float]]) -> None:
    from networkx.algorithms.link_analysis.pagerank_alg import _pagerank_python

    graph = nx.DiGraph()
    graph.add_weighted_edges_from(edges)
    nodes = sorted(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    scores = block_pagerank(
        np.array([index[a] for a, _, _ in edges]),
        np.array([index[b] for _, b, _ in edges]),
        np.array([w for _, _, w in edges]),
        np.zeros(len(nodes), dtype=np.intp),
        1,
    )
    expected = _pagerank_python(graph, alpha=0.85, weight="weight")
    for node in nodes:
        assert scores[index[node]] == pytest.approx(expected[node], abs=1e-9)


def _busy_votes(seed: int) -> VoteTable:
    """Nontrivial data: 60 participants, 8 values, hypotheses pointing mostly upwards."""
    rng = np.random.default_rng(seed)
    rows = []
    for participant in range(60):
        for _ in range(6):
            a, b = (int(x) for x in rng.choice(8, size=2, replace=False))
            context = CONTEXTS[int(rng.integers(0, 2))]
            upward = b > a
            p = [0.7, 0.15, 0.15] if upward else [0.35, 0.4, 0.25]
            rows.append((participant, a, b, context, CHOICE_NAMES[int(rng.choice(3, p=p))]))
    return VoteTable.from_rows(rows, contexts=CONTEXTS)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31), modes)
def test_bootstrap_is_reproducible_from_its_seed(seed: int, mode: str) -> None:
    votes = _busy_votes(3)
    params = Params(mode=mode, bootstrap=25, seed=seed, grid_min_wiser=())  # type: ignore[arg-type]
    first = build(votes, params)
    second = build(votes, params)
    assert first.win_probabilities == second.win_probabilities
    for text, probabilities in first.win_probabilities.items():
        assert sum(probabilities.values()) <= 1.0 + 1e-12
        assert all(0.0 < p <= 1.0 for p in probabilities.values())
        assert text in CONTEXTS


def test_bootstrap_differs_for_another_seed() -> None:
    votes = _busy_votes(3)
    a = build(votes, Params(bootstrap=50, seed=1))
    b = build(votes, Params(bootstrap=50, seed=2))
    assert a.win_probabilities
    assert a.win_probabilities != b.win_probabilities
    for text, winner in a.winners.items():
        assert winner.win_probability == a.win_probabilities[text].get(winner.value_id, 0.0)


def test_bootstrap_is_independent_of_vote_order() -> None:
    votes = _busy_votes(4)
    order = np.random.default_rng(0).permutation(len(votes))
    params = Params(bootstrap=30, seed=5, grid_min_wiser=())
    assert (
        build(votes, params).win_probabilities == build(votes.take(order), params).win_probabilities
    )


@PROPERTY_SETTINGS
@given(
    votes_strategy,
    modes,
    st.integers(1, 3),
    st.sampled_from([0.0, 0.33, 0.5]),
    st.sampled_from([1.0, 1.69, 2.2]),
)
def test_the_bootstraps_fast_filter_matches_the_edge_table(
    rows: list[Any], mode: str, min_wiser: int, min_likelihood: float, max_entropy: float
) -> None:
    from moralgraph.graph.stats import (
        choice_counts,
        edge_counts,
        group_votes,
        kept_and_likelihood,
    )

    votes = VoteTable.from_rows(rows, contexts=CONTEXTS)
    grouping = group_votes(
        votes.from_value,
        votes.to_value,
        votes.context.astype(np.intp),
        len(CONTEXTS),
        mode,  # type: ignore[arg-type]
    )
    per_choice = choice_counts(grouping.vote_group, votes.choice, grouping.n_groups)
    counts = edge_counts(per_choice.astype(np.float64), grouping.reverse)
    kept, likelihood = kept_and_likelihood(
        per_choice.astype(np.float64), grouping.reverse, min_wiser, min_likelihood, max_entropy
    )
    assert np.array_equal(kept, counts.kept(min_wiser, min_likelihood, max_entropy))
    assert np.array_equal(likelihood[kept], counts.wiser_likelihood[kept])
