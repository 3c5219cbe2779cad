"""Ties: values that share a context's top score are reported as a tie (all of them), the
bootstrap and the sensitivity grid count a k-way tie as 1/k to each, a tie is contested; the
snapshot's schema version 2 carries the ties and each context's questions, and every reader
still reads a version 1 document."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from inference.targets import build_targets, load_snapshot
from moralgraph.exports.formats import to_networkx, write_csv
from moralgraph.graph import (
    CONTESTED,
    SCHEMA_VERSION,
    SOME_SUPPORT,
    TIE_REL_TOL,
    Params,
    VoteTable,
    build,
    cell_tied_ids,
    content_hash,
    context_question_ids,
    diff,
    snapshot_document,
    support_label,
    tied_with_top,
    winner_is_tie,
    winner_tied_ids,
)
from moralgraph.web.presenters import diff_rows, winner_rows

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "moralgraph" / "snapshot.schema.json"
GRID: dict[str, Any] = dict(
    grid_min_wiser=(1, 2, 3), grid_min_likelihood=(0.2, 0.5), grid_max_entropy=(1.4, 2.0)
)
BASE, *RIVALS = 10, 21, 22, 23


def tie_votes(k: int, participants: int = 4) -> VoteTable:
    """Every participant finds each of k rivals wiser than BASE in context "X": the rivals are
    mirror images, so they tie in the graph and in every resample of the participants. In
    context "Y" one rival alone is wiser: no tie there."""
    rows: list[tuple[int, int, int, str, str]] = []
    for p in range(participants):
        rows += [(p, BASE, rival, "X", "upgrade") for rival in RIVALS[:k]]
        rows.append((p, BASE, RIVALS[0], "Y", "upgrade"))
    return VoteTable.from_rows(rows)


def document(votes: VoteTable, params: Params, **overrides: Any) -> dict[str, Any]:
    result = build(votes, params)
    ids = sorted({*votes.from_value.tolist(), *votes.to_value.tolist()})
    doc = snapshot_document(
        snapshot_id=overrides.get("snapshot_id", 1),
        created_at="2024-05-01T12:00:00Z",
        study={"slug": "s", "title": "t", "questions": [{"id": 7, "title": "Q", "text": "?"}]},
        contexts=[
            {"id": i + 1, "text": text, "question_ids": [7]}
            for i, text in enumerate(result.contexts)
        ],
        values=[
            {"id": v, "source_id": None, "title": f"Value {v}", "description": "d", "policies": []}
            for v in ids
        ],
        result=result,
        params=params,
        filters={},
        stats={},
        content_hash=content_hash(votes, params),
    )
    round_tripped: dict[str, Any] = json.loads(json.dumps(doc))
    return round_tripped


def as_version_1(doc: dict[str, Any]) -> dict[str, Any]:
    """The same document as version 1 wrote it: no tie keys, no questions per context."""
    old = copy.deepcopy(doc)
    old["schema_version"] = 1
    for winner in old["winners"]:
        for key in ("tied_value_ids", "tie", "tie_probability"):
            del winner[key]
    for cell in old["sensitivity"]["cells"]:
        del cell["ties"]
    for context in old["contexts"]:
        del context["question_ids"]
    return old


def validate(doc: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("k", [2, 3])
def test_a_k_way_tie_is_reported_with_every_tied_value(k: int) -> None:
    result = build(tie_votes(k), Params(bootstrap=0, **GRID))
    winner = result.winners["X"]
    assert winner.tied_value_ids == tuple(RIVALS[:k])
    assert winner.is_tie
    assert winner.value_id == RIVALS[0]  # the representative: the lowest tied id
    assert winner.support == CONTESTED
    assert winner.runner_up is not None
    assert winner.runner_up.score == pytest.approx(winner.score)
    assert [r.value_id for r in result.rankings["X"][:k]] == RIVALS[:k]
    alone = result.winners["Y"]
    assert (alone.tied_value_ids, alone.is_tie) == ((RIVALS[0],), False)


@pytest.mark.parametrize("k", [2, 3])
def test_the_bootstrap_counts_a_tie_as_one_kth_to_each(k: int) -> None:
    result = build(tie_votes(k), Params(bootstrap=50, seed=3, **GRID))
    # Every resample ties the k rivals in X: each wins 1/k of every replicate, where the
    # lowest id used to take them all.
    assert result.win_probabilities["X"] == pytest.approx({r: 1.0 / k for r in RIVALS[:k]})
    assert result.tie_probabilities["X"] == 1.0
    assert "Y" not in result.tie_probabilities
    assert result.winners["X"].win_probability == pytest.approx(1.0 / k)
    assert result.winners["X"].tie_probability == 1.0
    assert result.winners["Y"].tie_probability == 0.0
    assert result.win_probabilities["Y"] == {RIVALS[0]: 1.0}


@pytest.mark.parametrize("k", [2, 3])
def test_the_sensitivity_grid_lists_ties_and_counts_them_one_kth(k: int) -> None:
    params = Params(bootstrap=0, **GRID)
    result = build(tie_votes(k), params)
    assert len(result.sensitivity) == 3 * 2 * 2
    for cell in result.sensitivity:
        # Four participants: every edge passes every setting of this grid.
        assert cell.winners == {"X": RIVALS[0], "Y": RIVALS[0]}
        assert cell.ties == {"X": tuple(RIVALS[:k])}
    doc = document(tie_votes(k), params)
    rows = {row.context: row for row in winner_rows(doc)}
    assert rows["X"].is_tie
    assert [t.title for t in rows["X"].tied] == [f"Value {r}" for r in RIVALS[:k]]
    assert rows["X"].same_winner_cells == pytest.approx(12 / k)
    assert rows["X"].grid_wins == f"{12 / k:.1f}".removesuffix(".0")
    assert (rows["Y"].is_tie, rows["Y"].same_winner_cells, rows["Y"].grid_wins) == (False, 12, "12")


def test_a_tie_needs_scores_within_the_tolerance() -> None:
    top = np.array([0.3, 0.3, 0.3, 0.3])
    score = np.array([0.3, 0.3 * (1 - TIE_REL_TOL / 2), 0.3 * (1 - 10 * TIE_REL_TOL), 0.29])
    assert tied_with_top(score, top).tolist() == [True, True, False, False]
    # Tiny scores: the absolute tolerance.
    assert tied_with_top(np.array([0.0]), np.array([5e-13])).tolist() == [True]


def test_a_tie_is_contested_whatever_the_spread() -> None:
    scores = [0.45, 0.45, 0.02, 0.02, 0.02, 0.02, 0.02]
    s = np.asarray(scores)
    assert s[0] > s.mean() + 1.5 * s.std()  # the SD rule alone would say "some support"
    assert support_label(scores) == CONTESTED
    assert support_label([0.45, 0.45 * (1 - 1e-6), 0.02, 0.02, 0.02, 0.02, 0.02]) == SOME_SUPPORT


def test_the_document_carries_ties_and_questions_in_version_2() -> None:
    doc = document(tie_votes(3), Params(bootstrap=20, **GRID))
    validate(doc)
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    winners = {w["context"]: w for w in doc["winners"]}
    assert winners["X"]["value_id"] == RIVALS[0]
    assert winners["X"]["tied_value_ids"] == RIVALS
    assert winners["X"]["tie"] is True
    assert winners["X"]["tie_probability"] == 1.0
    assert winners["X"]["win_probability"] == pytest.approx(1 / 3)
    assert (winners["Y"]["tied_value_ids"], winners["Y"]["tie"]) == ([RIVALS[0]], False)
    for cell in doc["sensitivity"]["cells"]:
        assert cell["winners"] == {"X": RIVALS[0], "Y": RIVALS[0]}
        assert cell["ties"] == {"X": RIVALS}
        assert cell_tied_ids(cell, "X") == RIVALS
        assert cell_tied_ids(cell, "Y") == [RIVALS[0]]
    assert doc["contexts"] == [
        {"id": 1, "text": "X", "question_ids": [7]},
        {"id": 2, "text": "Y", "question_ids": [7]},
    ]
    assert context_question_ids(doc) == {"X": [7], "Y": [7]}
    # Version 2 must carry the new keys.
    broken = copy.deepcopy(doc)
    del broken["winners"][0]["tied_value_ids"]
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_a_version_1_document_still_reads_as_no_tie_and_no_questions(tmp_path: Path) -> None:
    old = as_version_1(document(tie_votes(2), Params(bootstrap=10, **GRID)))
    validate(old)
    winners = {w["context"]: w for w in old["winners"]}
    assert winner_tied_ids(winners["X"]) == [RIVALS[0]]
    assert not winner_is_tie(winners["X"])
    assert cell_tied_ids(old["sensitivity"]["cells"][0], "X") == [RIVALS[0]]
    assert context_question_ids(old) == {"X": [], "Y": []}
    rows = {row.context: row for row in winner_rows(old)}
    assert not rows["X"].is_tie
    assert rows["X"].same_winner_cells == 12  # v1 cells: the lowest id won them all
    assert rows["X"].tie_percent is None

    folder = write_csv(old, tmp_path / "csv")
    assert any(p.name == "winners.csv" for p in folder)
    assert "winner_of" in to_networkx(old).nodes[RIVALS[0]]

    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    snapshot = load_snapshot(path)
    x = snapshot.winner_for("X")
    assert x is not None
    assert x.tied_value_ids == (RIVALS[0],)
    assert not x.is_tie
    assert snapshot.context_questions == {}
    target = next(c for c in build_targets(snapshot)["contexts"] if c["context"] == "X")
    assert target["tie"] is False
    assert [v["id"] for v in target["tied_values"]] == [RIVALS[0]]

    # A diff from version 1 to version 2 sees the tie that appeared.
    new = document(tie_votes(2), Params(bootstrap=10, **GRID), snapshot_id=2)
    change = diff(old, new)
    assert change["winner_changes"] == [
        {
            "context": "X",
            "before": RIVALS[0],
            "after": RIVALS[0],
            "before_tied": [RIVALS[0]],
            "after_tied": RIVALS[:2],
        }
    ]
    shown = diff_rows(change, old, new).winner_changes[0]
    assert (shown.before, shown.after) == ("Value 21", "tie: Value 21 = Value 22")


def test_exports_and_targets_name_every_tied_value(tmp_path: Path) -> None:
    doc = document(tie_votes(2), Params(bootstrap=10, **GRID))
    write_csv(doc, tmp_path / "csv")
    text = (tmp_path / "csv" / "winners.csv").read_text()
    assert text.splitlines()[0].endswith(",tied_value_ids,tie")
    assert '"[21, 22]",true' in text
    graph = to_networkx(doc)
    assert json.loads(graph.nodes[21]["winner_of"]) == ["X", "Y"]
    assert json.loads(graph.nodes[22]["winner_of"]) == ["X"]  # a tied value is a winner too

    path = tmp_path / "tie.json"
    path.write_text(json.dumps(doc))
    snapshot = load_snapshot(path)
    assert snapshot.context_questions == {"X": (7,), "Y": (7,)}
    targets = build_targets(snapshot)
    x = next(c for c in targets["contexts"] if c["context"] == "X")
    assert x["tie"] is True
    assert [v["id"] for v in x["tied_values"]] == RIVALS[:2]
    assert [v["win_probability"] for v in x["tied_values"]] == pytest.approx([0.5, 0.5])
    assert x["support"] == CONTESTED
    assert "a tie between 2 values" in x["system_prompt"]
    assert "**Value 21**" in x["system_prompt"]
    assert "**Value 22**" in x["system_prompt"]
    y = next(c for c in targets["contexts"] if c["context"] == "Y")
    assert (y["tie"], [v["id"] for v in y["tied_values"]]) == (False, [RIVALS[0]])
