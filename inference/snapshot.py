"""The typed view of a snapshot file: what everything in ``inference`` reads.

Everything downstream of the graph (targets, scenarios, datasets, evaluations) reads one
exported snapshot JSON through ``load_snapshot``: never the database, never Django, never
``moralgraph`` at runtime, so it runs on a GPU host with only that file. The file is
validated against ``moralgraph/snapshot.schema.json`` (read as JSON by path).

Schema version 2 added ties and each context's questions; a version 1 file reads as "no tie"
(each winner's ``tied_value_ids`` is just its ``value_id``) and "no questions known" (empty
``context_questions``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema

SNAPSHOT_SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent / "moralgraph" / "snapshot.schema.json"
)


class SnapshotError(ValueError):
    """The snapshot file is missing, unreadable, not JSON or not a valid snapshot."""


# -- the snapshot, as plain typed data ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueCard:
    id: int
    source_id: int | str | None
    title: str
    description: str
    policies: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_id": self.source_id,
            "title": self.title,
            "description": self.description,
            "policies": list(self.policies),
        }


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """An edge of the snapshot: ``to`` is the wiser value."""

    from_id: int
    to_id: int
    contexts: tuple[str, ...]
    counts: Mapping[str, int]
    wiser_likelihood: float
    entropy: float
    interval: tuple[float, float]
    is_kept: bool

    def evidence(self) -> dict[str, Any]:
        """What a dataset example records about the edge that justifies it."""
        return {
            "from": self.from_id,
            "to": self.to_id,
            "counts": dict(self.counts),
            "wiser_likelihood": self.wiser_likelihood,
            "entropy": self.entropy,
            "interval": list(self.interval),
        }


@dataclass(frozen=True, slots=True)
class ContextWinner:
    context: str
    context_id: int | str
    value_id: int
    score: float
    support: str
    win_probability: float | None
    runner_up_id: int | None
    runner_up_score: float | None
    # Every value tied for the top score, sorted, value_id (the lowest) included; a version 1
    # snapshot reads as (value_id,).
    tied_value_ids: tuple[int, ...] = ()
    # Share of bootstrap resamples in which the context's top was tied (None: unknown).
    tie_probability: float | None = None

    @property
    def is_tie(self) -> bool:
        return len(self.tied_value_ids) > 1


@dataclass(frozen=True)
class Snapshot:
    path: Path
    document: Mapping[str, Any]
    content_hash: str
    snapshot_id: int | str
    values: Mapping[int, ValueCard]
    edges: tuple[GraphEdge, ...]
    winners: tuple[ContextWinner, ...]
    context_ids: Mapping[str, int | str]
    rankings: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    # Context text → the ids of the study questions it belongs to (absent: none known).
    context_questions: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def study(self) -> Mapping[str, Any]:
        study: Mapping[str, Any] = self.document["study"]
        return study

    @property
    def questions(self) -> list[str]:
        return [str(q["text"]) for q in self.study["questions"]]

    def summary(self) -> dict[str, Any]:
        """What every output records about the snapshot it came from."""
        return {
            "content_hash": self.content_hash,
            "snapshot_id": self.snapshot_id,
            "schema_version": self.document["schema_version"],
            "scoring_version": self.document["scoring_version"],
            "created_at": self.document["created_at"],
            "mode": self.document["parameters"]["mode"],
            "study": {"slug": self.study["slug"], "title": self.study["title"]},
        }

    def kept_edges_in(self, context: str) -> list[GraphEdge]:
        return list(self._kept_by_context.get(context, ()))

    @cached_property
    def _kept_by_context(self) -> dict[str, tuple[GraphEdge, ...]]:
        by_context: dict[str, list[GraphEdge]] = {}
        for edge in self.edges:
            if edge.is_kept:
                for context in edge.contexts:
                    by_context.setdefault(context, []).append(edge)
        return {context: tuple(edges) for context, edges in by_context.items()}

    def winner_for(self, context: str) -> ContextWinner | None:
        return next((w for w in self.winners if w.context == context), None)


def load_snapshot(path: str | os.PathLike[str], *, schema_path: Path | None = None) -> Snapshot:
    """Read and validate a snapshot JSON file; ``SnapshotError`` says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise SnapshotError(f"snapshot file not found: {path}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{path} is not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{path} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from exc
    validate_snapshot(document, source=str(path), schema_path=schema_path)
    return _snapshot(path, document)


def validate_snapshot(
    document: Any, *, source: str = "snapshot", schema_path: Path | None = None
) -> None:
    schema_path = schema_path or SNAPSHOT_SCHEMA_PATH
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SnapshotError(
            f"cannot read the snapshot schema at {schema_path} ({exc}); it ships with the "
            "repository as moralgraph/snapshot.schema.json"
        ) from exc
    if not isinstance(document, dict):
        raise SnapshotError(f"{source} is not a snapshot: expected a JSON object")
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(
        validator_class(schema).iter_errors(document), key=lambda e: list(e.absolute_path)
    )
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise SnapshotError(
            f"{source} is not a valid snapshot (moralgraph/snapshot.schema.json): at {where}: "
            f"{first.message}{more}"
        )
    value_ids = {v["id"] for v in document["values"]}
    referenced = (
        {e["from"] for e in document["edges"]}
        | {e["to"] for e in document["edges"]}
        | {w["value_id"] for w in document["winners"]}
        | {v for w in document["winners"] for v in w.get("tied_value_ids", ())}
    )
    dangling = sorted(referenced - value_ids)
    if dangling:
        raise SnapshotError(f"{source} refers to values it does not list: {dangling[:10]}")


def _snapshot(path: Path, document: dict[str, Any]) -> Snapshot:
    values = {
        int(v["id"]): ValueCard(
            id=int(v["id"]),
            source_id=v["source_id"],
            title=str(v["title"]),
            description=str(v["description"]),
            policies=tuple(str(p) for p in v["policies"]),
        )
        for v in document["values"]
    }
    edges = tuple(
        GraphEdge(
            from_id=int(e["from"]),
            to_id=int(e["to"]),
            contexts=tuple(e["contexts"]),
            counts={k: int(n) for k, n in e["counts"].items()},
            wiser_likelihood=float(e["wiser_likelihood"]),
            entropy=float(e["entropy"]),
            interval=(float(e["interval"][0]), float(e["interval"][1])),
            is_kept=bool(e["kept"]),
        )
        for e in document["edges"]
    )
    winners = tuple(
        ContextWinner(
            context=str(w["context"]),
            context_id=w["context_id"],
            value_id=int(w["value_id"]),
            score=float(w["score"]),
            support=str(w["support"]),
            win_probability=w["win_probability"],
            runner_up_id=w["runner_up"]["value_id"] if w["runner_up"] else None,
            runner_up_score=w["runner_up"]["score"] if w["runner_up"] else None,
            tied_value_ids=tuple(
                sorted(int(v) for v in w.get("tied_value_ids") or [w["value_id"]])
            ),
            tie_probability=w.get("tie_probability"),
        )
        for w in document["winners"]
    )
    context_ids: dict[str, int | str] = {str(c["text"]): c["id"] for c in document["contexts"]}
    for winner in winners:
        context_ids.setdefault(winner.context, winner.context_id)
    rankings = {str(r["context"]): tuple(r["ranking"]) for r in document.get("rankings", [])}
    context_questions = {
        str(c["text"]): tuple(int(q) for q in c["question_ids"])
        for c in document["contexts"]
        if c.get("question_ids")
    }
    return Snapshot(
        path=path,
        document=document,
        content_hash=str(document["content_hash"]),
        snapshot_id=document["snapshot_id"],
        values=values,
        edges=edges,
        winners=winners,
        context_ids=context_ids,
        rankings=rankings,
        context_questions=context_questions,
    )
