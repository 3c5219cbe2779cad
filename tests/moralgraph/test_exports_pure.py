"""Exports from a snapshot document: the reference JSON shape (golden), GraphML, GEXF, CSV."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import pytest

from moralgraph.exports.formats import (
    to_networkx,
    to_reference_json,
    write_csv,
    write_gexf,
    write_graphml,
    write_votes_csv,
)
from tests.support.reference import load_reference, reference_snapshot_document


@cache
def reference_snapshot(mode: Literal["reference", "context"] = "reference") -> dict[str, Any]:
    return reference_snapshot_document(mode=mode)


def _canonical_edges(edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({**e, "contexts": sorted(e["contexts"])} for e in edges),
        key=lambda e: (e["sourceValueId"], e["wiserValueId"]),
    )


def test_reference_json_equals_the_published_file() -> None:
    exported = to_reference_json(reference_snapshot())
    expected = load_reference("published/moral-graph-all-participants.json")
    published_values = sorted(
        (
            {k: v for k, v in value.items() if k not in ("createdAt", "updatedAt")}
            for value in expected["values"]
        ),
        key=lambda v: v["id"],
    )
    assert sorted(exported["values"], key=lambda v: v["id"]) == published_values
    assert _canonical_edges(exported["edges"]) == _canonical_edges(expected["edges"])
    assert set(exported) == {"values", "edges"}


def test_reference_json_uses_source_ids() -> None:
    doc = json.loads(json.dumps(reference_snapshot()))
    for value in doc["values"]:
        value["source_id"] = f"src-{value['id']}"
    exported = to_reference_json(doc)
    assert all(str(v["id"]).startswith("src-") for v in exported["values"])
    assert all(str(e["wiserValueId"]).startswith("src-") for e in exported["edges"])


def _edge_set(graph: nx.DiGraph) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in graph.edges()}


@pytest.mark.parametrize("mode", ["reference", "context"])
def test_graphml_and_gexf_round_trip(tmp_path: Path, mode: str) -> None:
    doc = reference_snapshot(mode)
    graph = to_networkx(doc)
    assert graph.number_of_edges() == sum(1 for e in doc["edges"] if e["kept"])
    write_graphml(doc, tmp_path / "graph.graphml")
    write_gexf(doc, tmp_path / "graph.gexf")
    from_graphml = nx.read_graphml(tmp_path / "graph.graphml", node_type=int)
    from_gexf = nx.read_gexf(tmp_path / "graph.gexf", node_type=int)
    for loaded in (from_graphml, from_gexf):
        assert {int(n) for n in loaded.nodes} == set(graph.nodes)
        assert _edge_set(loaded) == _edge_set(graph)
        assert loaded.number_of_edges() == graph.number_of_edges()
    some_edge = next(iter(from_graphml.edges(data=True)))
    assert json.loads(some_edge[2]["contexts"])
    assert isinstance(some_edge[2]["markedWiser"], int)
    winner = doc["winners"][0]["value_id"]
    assert doc["winners"][0]["context"] in json.loads(from_graphml.nodes[winner]["winner_of"])


def test_csv_tables(tmp_path: Path) -> None:
    doc = reference_snapshot()
    paths = write_csv(doc, tmp_path / "export")
    assert [p.name for p in paths] == ["values.csv", "edges.csv", "winners.csv"]
    with paths[1].open() as handle:
        edges = list(csv.DictReader(handle))
    assert len(edges) == len(doc["edges"])
    assert sum(e["kept"] == "true" for e in edges) == 69
    first = doc["edges"][0]
    assert float(edges[0]["entropy"]) == first["entropy"]
    assert json.loads(edges[0]["contexts"]) == first["contexts"]
    with paths[2].open() as handle:
        winners = list(csv.DictReader(handle))
    assert [w["context"] for w in winners] == [w["context"] for w in doc["winners"]]
    with paths[0].open() as handle:
        assert len(list(csv.DictReader(handle))) == len(doc["values"])


def test_votes_csv(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    count = write_votes_csv(
        [
            ("p-1", 1, 2, "When in distress", "upgrade", "2024-01-01T00:00:00Z"),
            {
                "participant": "p-2",
                "from": 2,
                "to": 1,
                "context": "When in distress",
                "choice": "not_sure",
                "created_at": "2024-01-02T00:00:00Z",
            },
        ],
        path,
    )
    assert count == 2
    with path.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["participant", "from", "to", "context", "choice", "created_at"]
    assert rows[2][0] == "p-2"
    assert rows[2][4] == "not_sure"
    with pytest.raises(ValueError, match="a vote row needs 6 fields"):
        write_votes_csv([("p-1", 1, 2)], path)


@pytest.mark.parametrize("mode", ["reference", "context"])
def test_golden_snapshots_validate_against_the_schema(mode: str) -> None:
    import jsonschema

    schema_path = Path(__file__).resolve().parents[2] / "moralgraph" / "snapshot.schema.json"
    validator = jsonschema.Draft202012Validator(
        json.loads(schema_path.read_text()),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    doc = reference_snapshot(mode)
    validator.validate(doc)
    assert doc["winners"]
    assert doc["stats"] == {"participants": 506, "votes": 1540}
