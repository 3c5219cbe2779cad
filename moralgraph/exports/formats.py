"""The export formats of a snapshot document: the published reference file's JSON shape,
GraphML and GEXF (through networkx), and CSV tables. Pure: a snapshot dict in, files or plain
data out. Every CSV cell goes through `cells.safe_row` (text that could start a spreadsheet
formula gets a leading apostrophe). Exports never contain emails, names or external ids (snapshots do not hold any);
participants appear only under pseudonymous ids (votes.csv, written by `exports.files`).

Languages: values.csv and the GraphML/GEXF nodes carry each value's `language` (its wording's;
empty when not recorded) and `translations` (JSON: language → {title, description, policies},
`{}` when none). The reference JSON keeps the published shape: original wording only."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from moralgraph.exports.cells import safe_row
from moralgraph.graph import (
    value_language,
    value_translations,
    winner_is_tie,
    winner_tied_ids,
)

VOTES_CSV_HEADER = ("participant", "from", "to", "context", "choice", "created_at")


def _json(data: Any) -> str:
    """JSON for a cell or attribute, with text as written (Spanish and Arabic stay readable
    in a spreadsheet; any JSON reader gets the same data)."""
    return json.dumps(data, ensure_ascii=False)


def _public_id(value: Mapping[str, Any]) -> Any:
    source_id = value.get("source_id")
    return source_id if source_id is not None else value["id"]


def _values_by_id(doc: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    return {int(v["id"]): v for v in doc["values"]}


def to_reference_json(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The published reference file's shape: kept edges only, values touched by them, ids
    replaced by `source_id` where a value has one."""
    values = _values_by_id(doc)

    def public(value_id: int) -> Any:
        value = values.get(int(value_id))
        return _public_id(value) if value is not None else value_id

    kept = [e for e in doc["edges"] if e["kept"]]
    edges = [
        {
            "sourceValueId": public(e["from"]),
            "wiserValueId": public(e["to"]),
            "contexts": list(e["contexts"]),
            "counts": {
                "markedWiser": e["counts"]["markedWiser"],
                "markedNotWiser": e["counts"]["markedNotWiser"],
                "markedLessWise": e["counts"]["markedLessWise"],
                "markedUnsure": e["counts"]["markedUnsure"],
                "impressions": e["counts"]["impressions"],
            },
            "summary": {"wiserLikelihood": e["wiser_likelihood"], "entropy": e["entropy"]},
        }
        for e in kept
    ]
    touched = sorted({int(e["from"]) for e in kept} | {int(e["to"]) for e in kept})
    missing = [value_id for value_id in touched if value_id not in values]
    if missing:
        raise ValueError(f"kept edges touch values missing from the snapshot: {missing[:5]}")
    reference_values = [
        {
            "id": _public_id(values[value_id]),
            "title": values[value_id]["title"],
            "instructionsShort": values[value_id].get("instructions_short")
            or values[value_id]["description"],
            "instructionsDetailed": values[value_id].get("instructions_detailed")
            or values[value_id]["description"],
            "evaluationCriteria": list(values[value_id]["policies"]),
        }
        for value_id in touched
    ]
    return {"values": reference_values, "edges": edges}


def _winning_contexts(doc: Mapping[str, Any]) -> dict[int, list[str]]:
    won: dict[int, list[str]] = {}
    for winner in doc["winners"]:
        for value_id in winner_tied_ids(winner):  # every tied value is a winner
            won.setdefault(value_id, []).append(winner["context"])
    return won


def to_networkx(doc: Mapping[str, Any], *, kept_only: bool = True) -> nx.DiGraph:
    """The graph with GraphML/GEXF-safe attributes (lists serialised as JSON strings).

    Edges point from the less wise to the wiser value. In context mode the same pair can have
    an edge per context, so the result is then a MultiDiGraph (keyed by context text).
    """
    multi = doc["parameters"]["mode"] == "context"
    graph: nx.DiGraph = nx.MultiDiGraph() if multi else nx.DiGraph()
    graph.graph.update(
        {
            "snapshot_id": str(doc["snapshot_id"]),
            "content_hash": doc["content_hash"],
            "study": doc["study"]["slug"],
            "mode": doc["parameters"]["mode"],
        }
    )
    values = _values_by_id(doc)
    won = _winning_contexts(doc)
    edges = [e for e in doc["edges"] if e["kept"] or not kept_only]
    touched = {int(e["from"]) for e in edges} | {int(e["to"]) for e in edges}
    for value_id in sorted(touched):
        value = values.get(value_id, {})
        source_id = value.get("source_id")
        graph.add_node(
            value_id,
            label=str(value.get("title", value_id)),
            title=str(value.get("title", "")),
            description=str(value.get("description", "")),
            policies=_json(list(value.get("policies", []))),
            source_id="" if source_id is None else str(source_id),
            winner_of=_json(won.get(value_id, [])),
            language=value_language(value),
            translations=_json(value_translations(value)),
        )
    for e in edges:
        attributes = {
            "contexts": _json(list(e["contexts"])),
            "markedWiser": int(e["counts"]["markedWiser"]),
            "markedNotWiser": int(e["counts"]["markedNotWiser"]),
            "markedUnsure": int(e["counts"]["markedUnsure"]),
            "markedLessWise": int(e["counts"]["markedLessWise"]),
            "impressions": int(e["counts"]["impressions"]),
            "wiser_likelihood": float(e["wiser_likelihood"]),
            "weight": float(e["wiser_likelihood"]),
            "entropy": float(e["entropy"]),
            "interval_low": float(e["interval"][0]),
            "interval_high": float(e["interval"][1]),
            "kept": bool(e["kept"]),
        }
        if multi:
            graph.add_edge(int(e["from"]), int(e["to"]), key=e["contexts"][0], **attributes)
        else:
            graph.add_edge(int(e["from"]), int(e["to"]), **attributes)
    return graph


def write_graphml(doc: Mapping[str, Any], path: str | Path, *, kept_only: bool = True) -> None:
    nx.write_graphml(to_networkx(doc, kept_only=kept_only), str(path))


def write_gexf(doc: Mapping[str, Any], path: str | Path, *, kept_only: bool = True) -> None:
    nx.write_gexf(to_networkx(doc, kept_only=kept_only), str(path))


def _write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(safe_row(row) for row in rows)


VALUES_CSV_HEADER = (
    "id",
    "source_id",
    "title",
    "description",
    "policies",
    "instructions_short",
    "instructions_detailed",
    "language",  # the wording's language ("" when not recorded)
    "translations",  # JSON: language → {"title", "description", "policies"}; {} when none
)
EDGES_CSV_HEADER = (
    "from",
    "to",
    "contexts",
    "markedWiser",
    "markedNotWiser",
    "markedUnsure",
    "markedLessWise",
    "impressions",
    "wiser_likelihood",
    "entropy",
    "interval_low",
    "interval_high",
    "kept",
)
WINNERS_CSV_HEADER = (
    "context_id",
    "context",
    "value_id",
    "title",
    "score",
    "support",
    "win_probability",
    "runner_up_id",
    "runner_up_score",
    "tied_value_ids",  # JSON list: every value tied for the top (one when no tie)
    "tie",
)


def _number(x: Any) -> float:
    """A float, which csv writes in full (repr), so the tables round-trip the snapshot exactly;
    kept a number (not text) so the formula guard leaves a negative value alone."""
    return float(x)


def _value_row(v: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        v["id"],
        "" if v.get("source_id") is None else v["source_id"],
        v["title"],
        v["description"],
        _json(list(v["policies"])),
        v.get("instructions_short", ""),
        v.get("instructions_detailed", ""),
        value_language(v),
        _json(value_translations(v)),
    )


def _edge_row(e: Mapping[str, Any]) -> tuple[Any, ...]:
    counts = e["counts"]
    return (
        e["from"],
        e["to"],
        _json(list(e["contexts"])),
        counts["markedWiser"],
        counts["markedNotWiser"],
        counts["markedUnsure"],
        counts["markedLessWise"],
        counts["impressions"],
        _number(e["wiser_likelihood"]),
        _number(e["entropy"]),
        _number(e["interval"][0]),
        _number(e["interval"][1]),
        "true" if e["kept"] else "false",
    )


def _winner_row(w: Mapping[str, Any], titles: Mapping[int, str]) -> tuple[Any, ...]:
    runner_up = w["runner_up"]
    return (
        w["context_id"],
        w["context"],
        w["value_id"],
        titles.get(int(w["value_id"]), ""),
        _number(w["score"]),
        w["support"],
        "" if w["win_probability"] is None else _number(w["win_probability"]),
        "" if runner_up is None else runner_up["value_id"],
        "" if runner_up is None else _number(runner_up["score"]),
        json.dumps(winner_tied_ids(w)),
        "true" if winner_is_tie(w) else "false",
    )


def write_csv(doc: Mapping[str, Any], folder: str | Path) -> list[Path]:
    """values.csv, edges.csv (all edges, with `kept`) and winners.csv in `folder`; lists are
    JSON-encoded. votes.csv comes from the database layer via `write_votes_csv`."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    titles = {value_id: v["title"] for value_id, v in _values_by_id(doc).items()}
    tables = (
        ("values.csv", VALUES_CSV_HEADER, [_value_row(v) for v in doc["values"]]),
        ("edges.csv", EDGES_CSV_HEADER, [_edge_row(e) for e in doc["edges"]]),
        ("winners.csv", WINNERS_CSV_HEADER, [_winner_row(w, titles) for w in doc["winners"]]),
    )
    written = []
    for name, header, rows in tables:
        _write_table(target / name, header, rows)
        written.append(target / name)
    return written


def write_votes_csv(rows: Iterable[Sequence[Any] | Mapping[str, Any]], path: str | Path) -> int:
    """votes.csv: (pseudonymous participant id, from, to, context, choice, created_at) per row,
    as tuples in that order or dicts with those keys. Returns the number of rows written."""
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(VOTES_CSV_HEADER)
        for row in rows:
            if isinstance(row, Mapping):
                values = [row[key] for key in VOTES_CSV_HEADER]
            else:
                values = list(row)
                if len(values) != len(VOTES_CSV_HEADER):
                    raise ValueError(f"a vote row needs {len(VOTES_CSV_HEADER)} fields: {row!r}")
            writer.writerow(safe_row(values))
            count += 1
    return count
