"""Golden tests: the reference study's judgements reproduce the published moral graph."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from moralgraph.graph import Params, VoteTable, build
from moralgraph.graph.rank import block_pagerank
from tests.support.reference import CUTOFF, load_reference


@cache
def judgements() -> list[dict[str, Any]]:
    return list(load_reference("db-dump/edge.json"))


@cache
def published() -> dict[str, Any]:
    return dict(load_reference("published/moral-graph-all-participants.json"))


def reference_votes(before: str | None = CUTOFF) -> VoteTable:
    return VoteTable.from_rows(
        (j["userId"], j["fromId"], j["toId"], j["contextId"], j["relationship"])
        for j in judgements()
        if before is None or j["createdAt"] < before
    )


FAST = Params(bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=())


def test_votes_before_the_cutoff_are_the_published_sample() -> None:
    votes = reference_votes()
    assert len(votes) == 1540
    assert len(np.unique(votes.participant)) == 506


def test_reference_mode_reproduces_the_published_edges_exactly() -> None:
    result = build(reference_votes(), FAST)
    kept = result.edges.rows(kept_only=True)
    expected = {(e["sourceValueId"], e["wiserValueId"]): e for e in published()["edges"]}
    assert len(kept) == len(expected) == 69
    for edge in kept:
        reference = expected[(edge.from_value, edge.to_value)]
        counts = reference["counts"]
        assert (
            edge.marked_wiser,
            edge.marked_not_wiser,
            edge.marked_less_wise,
            edge.marked_unsure,
            edge.impressions,
        ) == (
            counts["markedWiser"],
            counts["markedNotWiser"],
            counts["markedLessWise"],
            counts["markedUnsure"],
            counts["impressions"],
        )
        assert list(edge.contexts) == sorted(reference["contexts"])
        assert edge.wiser_likelihood == pytest.approx(
            reference["summary"]["wiserLikelihood"], abs=1e-12
        )
        assert edge.entropy == pytest.approx(reference["summary"]["entropy"], abs=1e-12)
    touched = {e.from_value for e in kept} | {e.to_value for e in kept}
    assert touched == {v["id"] for v in published()["values"]}
    assert len(touched) == 60


def test_whole_dump_keeps_71_edges() -> None:
    result = build(reference_votes(before=None), FAST)
    assert int(result.edges.kept.sum()) == 71
    assert result.votes == 1592
    assert result.participants == 522


def test_edges_are_the_ordered_pairs_voted_on() -> None:
    votes = reference_votes()
    result = build(votes, FAST)
    voted = set(zip(votes.from_value.tolist(), votes.to_value.tolist(), strict=True))
    assert (
        set(zip(result.edges.from_value.tolist(), result.edges.to_value.tolist(), strict=True))
        == voted
    )


def test_every_published_context_has_a_winner() -> None:
    result = build(reference_votes(), FAST)
    published_contexts = {c for e in published()["edges"] for c in e["contexts"]}
    assert set(result.winners) == published_contexts
    assert len(published_contexts) == 11
    for text, ranking in result.rankings.items():
        assert sum(r.score for r in ranking) == pytest.approx(1.0, abs=1e-9)
        assert result.winners[text].value_id == ranking[0].value_id


def test_pagerank_agrees_with_networkx_on_the_reference_contexts() -> None:
    nx_pagerank = pytest.importorskip("networkx.algorithms.link_analysis.pagerank_alg")
    import networkx as nx

    result = build(reference_votes(), FAST)
    for text, ranking in result.rankings.items():
        graph = nx.DiGraph()
        for edge in result.edges.rows(kept_only=True):
            if text in edge.contexts:
                graph.add_edge(edge.from_value, edge.to_value, weight=edge.wiser_likelihood)
        expected = nx_pagerank._pagerank_python(graph, alpha=0.85, weight="weight")
        for ranked in ranking:
            assert ranked.score == pytest.approx(expected[ranked.value_id], abs=1e-9)


def test_block_pagerank_handles_an_isolated_block() -> None:
    # block 0: 0 → 1; block 1: the lone node 2 (a self-loop)
    scores = block_pagerank(
        np.array([0, 2]), np.array([1, 2]), np.array([1.0, 1.0]), np.array([0, 0, 1]), 2
    )
    assert scores[2] == pytest.approx(1.0)
    assert scores[0] + scores[1] == pytest.approx(1.0)
    assert scores[1] > scores[0]
