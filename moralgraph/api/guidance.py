"""A snapshot document read into what the guidance endpoint answers, per context (pure: no
Django). Built once per snapshot (snapshots are immutable) and kept by `moralgraph.api.cache`,
so a request only matches the text and copies a few prepared entries.

Both schema versions are read. Version 2 documents carry `tie` and `tied_value_ids` on each
winner and `question_ids` on each context; version 1 documents have neither, so each winner
is reported untied and the context's questions as unknown (null)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moralgraph.api.matching import ContextMatcher, Match

Json = dict[str, Any]


@dataclass(frozen=True)
class GuidanceIndex:
    schema_version: int
    scoring_version: str
    mode: str
    entries: tuple[Json, ...]  # one per context with a winner, in the document's order
    matcher: ContextMatcher

    def matches(self, text: str, *, limit: int) -> list[tuple[Match, Json]]:
        return [(m, self.entries[m.index]) for m in self.matcher.match(text, limit=limit)]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _value_entry(value: Mapping[str, Any] | None, value_id: int) -> Json:
    value = value or {}
    return {
        "value_id": value_id,
        "title": str(value.get("title", f"value {value_id}")),
        "description": str(value.get("description", "")),
        "policies": [str(p) for p in value.get("policies", [])],
    }


def _citation(edge: Mapping[str, Any], titles: Mapping[int, str]) -> Json:
    counts = edge["counts"]
    return {
        "from_value_id": int(edge["from"]),
        "from_title": titles.get(int(edge["from"]), f"value {edge['from']}"),
        "to_value_id": int(edge["to"]),
        "counts": {
            key: int(counts[key])
            for key in (
                "markedWiser",
                "markedNotWiser",
                "markedUnsure",
                "markedLessWise",
                "impressions",
            )
        },
        "wiser_likelihood": float(edge["wiser_likelihood"]),
        "interval": [float(edge["interval"][0]), float(edge["interval"][1])],
        "kept": bool(edge["kept"]),
    }


def _tied_ids(winner: Mapping[str, Any]) -> list[int]:
    """The winner first, then the values tied with it (whether or not the document lists the
    winner among its own ties)."""
    ids = [int(winner["value_id"])]
    for value_id in winner.get("tied_value_ids") or []:
        if int(value_id) not in ids:
            ids.append(int(value_id))
    return ids


def _context_refs(document: Mapping[str, Any]) -> dict[str, Json]:
    """Context text -> {id, text, question_ids}; question_ids is None where the document does
    not say (schema version 1)."""
    refs: dict[str, Json] = {}
    for context in document.get("contexts") or []:
        question_ids = context.get("question_ids")
        refs[str(context["text"])] = {
            "id": context["id"],
            "text": str(context["text"]),
            "question_ids": None if question_ids is None else [int(q) for q in question_ids],
        }
    return refs


def guidance_index(document: Mapping[str, Any]) -> GuidanceIndex:
    values = {int(v["id"]): v for v in document.get("values", [])}
    titles = {value_id: str(v.get("title", "")) for value_id, v in values.items()}
    ranked: dict[str, dict[int, Mapping[str, Any]]] = {}
    for ranking in document.get("rankings", []):
        by_value = {int(r["value_id"]): r for r in ranking.get("ranking", [])}
        for other in ranking.get("other_winners", []):
            by_value.setdefault(int(other["value_id"]), other)
        ranked[str(ranking["context"])] = by_value
    into: dict[tuple[int, str], list[Mapping[str, Any]]] = defaultdict(list)
    for edge in document.get("edges", []):
        for text in edge.get("contexts", []):
            into[(int(edge["to"]), str(text))].append(edge)
    refs = _context_refs(document)
    entries: list[Json] = []
    for winner in document.get("winners", []):
        text = str(winner["context"])
        tied = _tied_ids(winner)
        in_context = ranked.get(text, {})
        winners = []
        for value_id in tied:
            rank = in_context.get(value_id, {})
            is_first = value_id == tied[0]
            winners.append(
                {
                    **_value_entry(values.get(value_id), value_id),
                    "rank": rank.get("rank"),
                    "score": _float(winner["score"] if is_first else rank.get("score")),
                    "win_probability": _float(
                        winner.get("win_probability") if is_first else rank.get("win_probability")
                    ),
                }
            )
        citations = [
            _citation(edge, titles) for value_id in tied for edge in into.get((value_id, text), [])
        ]
        citations.sort(
            key=lambda c: (not c["kept"], -c["counts"]["markedWiser"], c["from_value_id"])
        )
        runner_up = winner.get("runner_up")
        entries.append(
            {
                "context": refs.get(
                    text, {"id": winner.get("context_id"), "text": text, "question_ids": None}
                ),
                "support": str(winner.get("support", "")),
                "tie": bool(winner.get("tie", len(tied) > 1)),
                "tie_probability": _float(winner.get("tie_probability")),
                "winners": winners,
                "runner_up": None
                if runner_up is None or int(runner_up["value_id"]) in tied
                else {
                    "value_id": int(runner_up["value_id"]),
                    "title": titles.get(int(runner_up["value_id"]), ""),
                    "score": float(runner_up["score"]),
                },
                "citations": citations,
            }
        )
    return GuidanceIndex(
        schema_version=int(document.get("schema_version", 1)),
        scoring_version=str(document.get("scoring_version", "")),
        mode=str(document.get("parameters", {}).get("mode", "")),
        entries=tuple(entries),
        matcher=ContextMatcher([e["context"]["text"] for e in entries]),
    )
