"""Hand-made examples for the graph engine: modes, support labels, intervals, snapshots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from moralgraph.graph import (
    BROADLY_SUPPORTED,
    CONTESTED,
    SOME_SUPPORT,
    SUPPORT_LABELS,
    Params,
    VoteTable,
    beta_interval,
    beta_quantile,
    build,
    content_hash,
    diff,
    regularized_beta,
    snapshot_document,
    support_label,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "moralgraph" / "snapshot.schema.json"
NO_EXTRAS: dict[str, Any] = dict(
    bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=()
)

TINY = [
    (1, 1, 2, "X", "upgrade"),
    (2, 1, 2, "X", "upgrade"),
    (3, 1, 2, "Y", "no_upgrade"),
    (4, 2, 1, "Y", "upgrade"),
]


def edges_by_key(votes: VoteTable, params: Params) -> dict[tuple[Any, ...], Any]:
    result = build(votes, params)
    return {(e.from_value, e.to_value, e.contexts): e for e in result.edges.rows()}


def test_reference_mode_groups_across_contexts() -> None:
    edges = edges_by_key(VoteTable.from_rows(TINY), Params(**NO_EXTRAS))
    forward = edges[(1, 2, ("X", "Y"))]
    assert (
        forward.marked_wiser,
        forward.marked_not_wiser,
        forward.marked_unsure,
        forward.marked_less_wise,
        forward.impressions,
    ) == (2, 1, 0, 1, 4)
    assert forward.wiser_likelihood == pytest.approx(0.25)
    assert not forward.kept
    backward = edges[(2, 1, ("X", "Y"))]
    assert (backward.marked_wiser, backward.marked_less_wise, backward.impressions) == (1, 2, 4)
    assert backward.wiser_likelihood == pytest.approx(-1 / 3)
    assert len(edges) == 2


def test_context_mode_groups_by_pair_and_context() -> None:
    params = Params(mode="context", **NO_EXTRAS)
    votes = VoteTable.from_rows(TINY)
    edges = edges_by_key(votes, params)
    assert set(edges) == {(1, 2, ("X",)), (1, 2, ("Y",)), (2, 1, ("Y",))}
    in_x = edges[(1, 2, ("X",))]
    assert (in_x.marked_wiser, in_x.marked_less_wise, in_x.impressions) == (2, 0, 2)
    assert in_x.wiser_likelihood == 1.0
    assert in_x.entropy == pytest.approx(1.0)
    assert in_x.kept
    in_y = edges[(1, 2, ("Y",))]
    assert (in_y.marked_not_wiser, in_y.marked_less_wise, in_y.impressions) == (1, 1, 2)
    assert in_y.wiser_likelihood == -0.5
    back_y = edges[(2, 1, ("Y",))]
    assert back_y.entropy == pytest.approx(-(1 / 3) * math.log2(1 / 3) - (2 / 3) * math.log2(2 / 3))
    assert not back_y.kept  # only one upgrade vote
    result = build(votes, params)
    assert set(result.winners) == {"X"}
    assert result.winners["X"].value_id == 2
    assert result.winners["X"].runner_up is not None
    assert result.winners["X"].runner_up.value_id == 1


def test_contexts_list_order_does_not_change_the_result() -> None:
    a = VoteTable.from_rows(TINY, contexts=["X", "Y"])
    b = VoteTable.from_rows(TINY, contexts=["Y", "X"])
    params = Params(mode="context", **NO_EXTRAS)
    assert edges_by_key(a, params) == edges_by_key(b, params)
    assert content_hash(a, params) == content_hash(b, params)


def test_vote_table_from_dicts_and_validation() -> None:
    votes = VoteTable.from_rows(
        [{"participant": 7, "from": 1, "to": 2, "context": "X", "choice": "not_sure"}]
    )
    assert votes.rows() == [(7, 1, 2, "X", "not_sure")]
    with pytest.raises(ValueError, match="unknown choice 'maybe'"):
        VoteTable.from_rows([(1, 1, 2, "X", "maybe")])
    with pytest.raises(ValueError, match="context 'Z' is not in contexts"):
        VoteTable.from_rows([(1, 1, 2, "Z", "upgrade")], contexts=["X"])
    with pytest.raises(ValueError, match="columns must be 1-d and of equal length"):
        VoteTable(
            participant=np.array([1, 2]),
            from_value=np.array([1]),
            to_value=np.array([2]),
            context=np.array([0]),
            choice=np.array([0]),
            contexts=["X"],
        )


def test_empty_votes_build_an_empty_graph() -> None:
    result = build(VoteTable.empty(), Params())
    assert len(result.edges) == 0
    assert result.winners == {}
    assert result.participants == 0


@pytest.mark.parametrize(
    ("scores", "label"),
    [
        ([0.9] + [0.01] * 10, BROADLY_SUPPORTED),  # far above the rest and > 2x runner-up
        (
            [0.4, 0.3, 0.1, 0.1, 0.1],
            SOME_SUPPORT,
        ),  # 1.58 SD above the mean, only 1.33x the runner-up
        ([0.3, 0.28, 0.27, 0.15], CONTESTED),
        ([0.5, 0.5], CONTESTED),
        ([0.7, 0.3], SOME_SUPPORT),  # > 1.5x the runner-up
        ([], CONTESTED),
    ],
)
def test_support_labels(scores: list[float], label: str) -> None:
    assert support_label(scores) == label


def test_support_label_needs_both_conditions_for_broad_support() -> None:
    # 2.1x the runner-up, yet only ~2.2 SD above the mean: not broadly supported
    scores = [0.3, 0.14, 0.14, 0.14, 0.14, 0.14]
    s = np.asarray(scores)
    assert s[0] > 2 * s[1]
    assert s[0] < s.mean() + 2.5 * s.std()
    assert support_label(scores) == SOME_SUPPORT
    assert set(SUPPORT_LABELS) == {BROADLY_SUPPORTED, SOME_SUPPORT, CONTESTED}


def test_beta_interval_with_no_votes_is_the_uniform_prior() -> None:
    low, high = beta_interval(np.array([0]), np.array([0]))
    assert low[0] == pytest.approx(0.025, abs=1e-12)
    assert high[0] == pytest.approx(0.975, abs=1e-12)


def test_beta_quantiles_match_closed_forms() -> None:
    q = np.array([0.025, 0.5, 0.975])
    # Beta(2, 1): CDF x^2;  Beta(1, 3): CDF 1 - (1 - x)^3
    for p in q:
        assert beta_quantile(float(p), np.array([2.0]), np.array([1.0]))[0] == pytest.approx(
            math.sqrt(p), abs=1e-12
        )
        assert beta_quantile(float(p), np.array([1.0]), np.array([3.0]))[0] == pytest.approx(
            1 - (1 - p) ** (1 / 3), abs=1e-12
        )
    # symmetric: Beta(a, a) has median 1/2
    assert beta_quantile(0.5, np.array([50.0]), np.array([50.0]))[0] == pytest.approx(0.5)
    x = np.linspace(0.0, 1.0, 11)
    assert np.allclose(regularized_beta(np.ones(11), np.ones(11), x), x)


def test_beta_interval_narrows_and_moves_with_votes() -> None:
    low, high = beta_interval(np.array([2, 20, 200, 0]), np.array([0, 0, 0, 200]))
    assert np.all(high - low > 0)
    assert high[0] - low[0] > high[1] - low[1] > high[2] - low[2]
    assert low[2] > 0.98
    assert high[3] < 0.02


def _doc(result: Any, params: Params, votes: VoteTable, snapshot_id: int = 1) -> dict[str, Any]:
    contexts = [{"id": i + 1, "text": t} for i, t in enumerate(result.contexts)]
    value_ids = sorted(set(votes.from_value.tolist()) | set(votes.to_value.tolist()))
    values = [
        {
            "id": v,
            "source_id": None,
            "title": f"Value {v}",
            "description": "A value.",
            "policies": ["MOMENTS when it matters"],
            "embedding_model": "hash-v1",
        }
        for v in value_ids
    ]
    return snapshot_document(
        snapshot_id=snapshot_id,
        created_at="2024-05-01T12:00:00Z",
        study={
            "slug": "demo",
            "title": "Demo",
            "questions": [{"id": 1, "title": "Q", "text": "?"}],
        },
        contexts=contexts,
        values=values,
        result=result,
        params=params,
        filters={"created_before": "2024-05-01T00:00:00Z", "question_ids": [1]},
        stats={"participants": result.participants, "votes": result.votes},
        content_hash=content_hash(votes, params),
    )


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize("mode", ["reference", "context"])
def test_snapshot_document_validates_against_the_schema(mode: str) -> None:
    votes = VoteTable.from_rows(TINY * 3)
    params = Params(mode=mode, bootstrap=10)  # type: ignore[arg-type]
    doc = _doc(build(votes, params), params, votes)
    _validator().validate(doc)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["values"][0]["extra"] == {"embedding_model": "hash-v1"}


def test_schema_rejects_unknown_fields() -> None:
    votes = VoteTable.from_rows(TINY)
    params = Params(**NO_EXTRAS)
    doc = _doc(build(votes, params), params, votes)
    doc["edges"][0]["email"] = "someone@example.org"
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(doc)


def test_snapshot_requires_every_context_listed() -> None:
    votes = VoteTable.from_rows(TINY)
    params = Params(**NO_EXTRAS)
    result = build(votes, params)
    with pytest.raises(ValueError, match="contexts missing from the contexts list"):
        snapshot_document(
            snapshot_id=1,
            created_at="2024-05-01T12:00:00Z",
            study={"slug": "s", "title": "t", "questions": []},
            contexts=[{"id": 1, "text": "X"}],
            values=[],
            result=result,
            params=params,
            filters={},
            stats={},
            content_hash="0" * 64,
        )


def test_diff_reports_gained_edges_and_changed_winners() -> None:
    params = Params(mode="context", **NO_EXTRAS)
    before_votes = VoteTable.from_rows(TINY)
    after_votes = VoteTable.from_rows(
        [*TINY, (5, 2, 1, "Y", "upgrade"), (6, 3, 1, "X", "upgrade"), (7, 3, 1, "X", "upgrade")]
    )
    a = _doc(build(before_votes, params), params, before_votes, snapshot_id=1)
    b = _doc(build(after_votes, params), params, after_votes, snapshot_id=2)
    change = diff(a, b)
    assert change["from_snapshot"] == 1
    assert change["to_snapshot"] == 2
    gained = {(e["from"], e["to"], tuple(e["contexts"])) for e in change["edges_gained"]}
    assert gained == {(2, 1, ("Y",)), (3, 1, ("X",))}
    assert change["edges_lost"] == []
    assert {
        "context": "Y",
        "before": None,
        "after": 1,
        "before_tied": [],
        "after_tied": [1],
    } in change["winner_changes"]
    assert "X" in change["rank_changes"]  # value 3 enters X's ranking
    assert diff(a, a) == {
        "from_snapshot": 1,
        "to_snapshot": 1,
        "edges_gained": [],
        "edges_lost": [],
        "winner_changes": [],
        "rank_changes": {},
    }


def test_sensitivity_grid_covers_every_combination() -> None:
    votes = VoteTable.from_rows(TINY * 2)
    params = Params(bootstrap=0)
    result = build(votes, params)
    assert len(result.sensitivity) == 3 * 4 * 4
    looser = [c for c in result.sensitivity if c.min_wiser == 1 and c.max_entropy == 2.0]
    assert all(set(c.winners) == {"X", "Y"} for c in looser)


def test_content_hash_changes_with_the_scoring_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from moralgraph.graph import snapshot

    votes = VoteTable.from_rows(TINY)
    before = content_hash(votes, Params())
    monkeypatch.setattr(snapshot, "SCORING_VERSION", "next")
    assert snapshot.content_hash(votes, Params()) != before
