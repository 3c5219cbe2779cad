"""Snapshot documents, their content hash and their diff (pure).

Schema versions (`SCHEMA_VERSION`; `moralgraph/snapshot.schema.json` validates both):

1. The first published shape.
2. Ties and questions. A context whose top PageRank score is shared by k values within the
   tie tolerance (`rank.TIE_REL_TOL`, `rank.TIE_ABS_TOL`) is a tie: its `winners` entry keeps
   `value_id` (the lowest tied id) and gains `tied_value_ids` (all of them, sorted, value_id
   included; one id when there is no tie) and `tie`; its support is "contested". Every
   `win_probability` counts a bootstrap replicate's k-way tie as 1/k to each tied value (in
   version 1 the lowest id took the whole win). Each sensitivity cell gains `ties` (context →
   tied ids, tied contexts only) beside `winners` (still the lowest tied id); a winners entry's
   `tie_probability` is the share of bootstrap replicates in which its context's top score was
   tied (null without the bootstrap). Each entry of
   `contexts` gains `question_ids`: the questions the context belongs to.

Readers accept both: a missing key means "no tie" or "no question known". Read through
`winner_tied_ids`, `cell_tied_ids` and `context_question_ids` rather than the keys.

Optional additions that change no existing field's meaning, and whose absence has a stated
meaning, keep the version. So each value carries, in documents built since studies became
multilingual, `language` (its wording's language; "" when not recorded) and `translations`
({language: {title, description, policies}}, only those made from its current wording);
older documents lack them, which reads as "not recorded, no translations"
(`value_language`, `value_translations`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .build import EdgeTable, GraphResult, RankedValue
from .votes import Params, VoteTable

SCHEMA_VERSION = 2
# Bump whenever a change to the scoring code can change a result for the same votes and params.
# 2024.2: ties share the win (1/k each) in the bootstrap; a tie is "contested".
SCORING_VERSION = "2024.2"

VALUE_FIELDS = (
    "id",
    "source_id",
    "title",
    "description",
    "policies",
    "instructions_short",
    "instructions_detailed",
    "status",
    "language",
    "translations",
)


def content_hash(votes: VoteTable, params: Params, code_version: str = SCORING_VERSION) -> str:
    """sha256 over the votes (as a multiset: independent of their order and of the order of the
    contexts list), the parameters and the scoring code's version."""
    digest = hashlib.sha256()
    header = {
        "scoring_version": SCORING_VERSION,
        "code_version": code_version,
        "params": params.as_dict(),
    }
    digest.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    used = np.unique(votes.context) if len(votes) else np.zeros(0, dtype=np.int32)
    texts = sorted(votes.contexts[int(i)] for i in used)
    digest.update(json.dumps(texts, separators=(",", ":")).encode())
    rank_of = np.zeros(len(votes.contexts), dtype=np.int64)
    for rank, text in enumerate(texts):
        rank_of[votes.contexts.index(text)] = rank
    rows = np.stack(
        [
            votes.participant,
            votes.from_value,
            votes.to_value,
            rank_of[votes.context] if len(votes) else np.zeros(0, dtype=np.int64),
            votes.choice.astype(np.int64),
        ],
        axis=1,
    ).astype("<i8")
    order = np.lexsort(rows.T[::-1])
    digest.update(np.ascontiguousarray(rows[order]).tobytes())
    return digest.hexdigest()


def _value_entry(value: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": int(value["id"]),
        "source_id": value.get("source_id"),
        "title": str(value.get("title", "")),
        "description": str(value.get("description", "")),
        "policies": [str(p) for p in value.get("policies", [])],
    }
    for key in ("instructions_short", "instructions_detailed", "status"):
        if value.get(key) is not None:
            entry[key] = str(value[key])
    entry["language"] = str(value.get("language") or "")
    entry["translations"] = value_translations(value)
    extra = {k: v for k, v in value.items() if k not in VALUE_FIELDS}
    if isinstance(value.get("extra"), Mapping):
        extra = {**dict(value["extra"]), **{k: v for k, v in extra.items() if k != "extra"}}
    if extra:
        entry["extra"] = extra
    return entry


def _ranked_entry(ranked: RankedValue) -> dict[str, Any]:
    return {
        "value_id": ranked.value_id,
        "rank": ranked.rank,
        "score": ranked.score,
        "win_probability": ranked.win_probability,
    }


def _edge_entries(table: EdgeTable) -> list[dict[str, Any]]:
    return [
        {
            "from": int(table.from_value[i]),
            "to": int(table.to_value[i]),
            "contexts": list(table.edge_contexts(i)),
            "counts": {
                "markedWiser": int(table.marked_wiser[i]),
                "markedNotWiser": int(table.marked_not_wiser[i]),
                "markedUnsure": int(table.marked_unsure[i]),
                "markedLessWise": int(table.marked_less_wise[i]),
                "impressions": int(table.impressions[i]),
            },
            "wiser_likelihood": float(table.wiser_likelihood[i]),
            "entropy": float(table.entropy[i]),
            "interval": [float(table.interval_low[i]), float(table.interval_high[i])],
            "kept": bool(table.kept[i]),
        }
        for i in range(len(table))
    ]


def _winner_entries(result: GraphResult, context_id: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "context": text,
            "context_id": context_id[text],
            "value_id": w.value_id,
            "tied_value_ids": list(w.tied_value_ids),
            "tie": w.is_tie,
            "score": w.score,
            "support": w.support,
            "win_probability": w.win_probability,
            "tie_probability": w.tie_probability,
            "runner_up": (
                {"value_id": w.runner_up.value_id, "score": w.runner_up.score}
                if w.runner_up
                else None
            ),
        }
        for text, w in sorted(result.winners.items())
    ]


def _ranking_entries(result: GraphResult, context_id: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per context, the ranked values, then the values that won a bootstrap replicate
    without being ranked (most likely first)."""
    rankings = []
    for text in sorted(set(result.rankings) | set(result.win_probabilities)):
        ranked = result.rankings.get(text, [])
        listed = {r.value_id for r in ranked}
        others = sorted(
            (
                {"value_id": value_id, "win_probability": p}
                for value_id, p in result.win_probabilities.get(text, {}).items()
                if value_id not in listed
            ),
            key=lambda o: (-float(o["win_probability"]), int(o["value_id"])),
        )
        rankings.append(
            {
                "context": text,
                "context_id": context_id[text],
                "ranking": [_ranked_entry(r) for r in ranked],
                "other_winners": others,
            }
        )
    return rankings


def _sensitivity_entry(result: GraphResult, params: Params) -> dict[str, Any]:
    return {
        "grid": {
            "min_wiser": list(params.grid_min_wiser),
            "min_likelihood": list(params.grid_min_likelihood),
            "max_entropy": list(params.grid_max_entropy),
        },
        "cells": [
            {
                "min_wiser": cell.min_wiser,
                "min_likelihood": cell.min_likelihood,
                "max_entropy": cell.max_entropy,
                "kept_edges": cell.kept_edges,
                "winners": dict(cell.winners),
                "ties": {text: list(ids) for text, ids in sorted(cell.ties.items())},
            }
            for cell in result.sensitivity
        ],
    }


def _context_entry(context: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": context["id"],
        "text": str(context["text"]),
        "question_ids": sorted(int(q) for q in context.get("question_ids") or ()),
    }


def _study_entry(study: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "slug": str(study["slug"]),
        "title": str(study["title"]),
        "questions": [
            {"id": q["id"], "title": str(q.get("title", "")), "text": str(q.get("text", ""))}
            for q in study.get("questions", [])
        ],
    }


def _stats_entry(stats: Mapping[str, Any], result: GraphResult) -> dict[str, Any]:
    return {
        "participants": int(stats.get("participants", result.participants)),
        "votes": int(stats.get("votes", result.votes)),
        **{k: v for k, v in stats.items() if k not in ("participants", "votes")},
    }


def snapshot_document(
    *,
    snapshot_id: int | str,
    created_at: str,
    study: Mapping[str, Any],
    contexts: Sequence[Mapping[str, Any]],
    values: Sequence[Mapping[str, Any]],
    result: GraphResult,
    params: Params,
    filters: Mapping[str, Any],
    stats: Mapping[str, Any],
    content_hash: str,
) -> dict[str, Any]:
    """The snapshot JSON, the interface between the graph engine and everything downstream
    (exports, `python -m inference`, the researcher pages); `moralgraph/snapshot.schema.json`
    describes it.

    `contexts` are `{id, text}` and optionally `question_ids` (the questions the context
    belongs to); every context text in the result must be among them. Values
    carry `id, source_id, title, description, policies` and optionally `instructions_short`,
    `instructions_detailed`, `status`, `language` and `translations` (always written, "" and
    {} when not given); any other keys are kept under `extra`.
    """
    context_id = {str(c["text"]): c["id"] for c in contexts}
    missing = [text for text in result.contexts if text not in context_id]
    if missing:
        raise ValueError(f"contexts missing from the contexts list: {missing[:5]}")
    return {
        "schema_version": SCHEMA_VERSION,
        "scoring_version": SCORING_VERSION,
        "snapshot_id": snapshot_id,
        "content_hash": content_hash,
        "created_at": created_at,
        "parameters": params.as_dict(),
        "filters": dict(filters),
        "study": _study_entry(study),
        "contexts": [_context_entry(c) for c in contexts],
        "values": [_value_entry(v) for v in values],
        "edges": _edge_entries(result.edges),
        "winners": _winner_entries(result, context_id),
        "rankings": _ranking_entries(result, context_id),
        "sensitivity": _sensitivity_entry(result, params),
        "stats": _stats_entry(stats, result),
    }


def winner_tied_ids(entry: Mapping[str, Any]) -> list[int]:
    """The values tied for a `winners` entry's context, sorted (one when there is no tie); a
    version 1 entry has no `tied_value_ids` and reads as its `value_id` alone."""
    tied = entry.get("tied_value_ids")
    if tied:
        return sorted(int(v) for v in tied)
    return [int(entry["value_id"])]


def winner_is_tie(entry: Mapping[str, Any]) -> bool:
    return len(winner_tied_ids(entry)) > 1


def cell_tied_ids(cell: Mapping[str, Any], context: str) -> list[int]:
    """The values that win `context` in a sensitivity cell: all tied ones, sorted; none when
    no edge is kept there. A version 1 cell has no `ties`: its winner alone."""
    tied = (cell.get("ties") or {}).get(context)
    if tied:
        return sorted(int(v) for v in tied)
    winner = (cell.get("winners") or {}).get(context)
    return [] if winner is None else [int(winner)]


def value_language(value: Mapping[str, Any]) -> str:
    """A value entry's wording language ("" when not recorded, as in older documents)."""
    return str(value.get("language") or "")


def value_translations(value: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A value entry's translations, language → {title, description, policies}, sorted by
    language ({} when none, as in older documents)."""
    found = value.get("translations") or {}
    return {
        str(language): {
            "title": str(text.get("title", "")),
            "description": str(text.get("description", "")),
            "policies": [str(p) for p in text.get("policies", [])],
        }
        for language, text in sorted(found.items())
    }


def context_question_ids(document: Mapping[str, Any]) -> dict[str, list[int]]:
    """Context text → the ids of its questions ([] when none is known, as in version 1)."""
    return {
        str(c["text"]): [int(q) for q in c.get("question_ids") or ()]
        for c in document.get("contexts", [])
    }


def _edge_key(doc: Mapping[str, Any], edge: Mapping[str, Any]) -> tuple[Any, ...]:
    if doc.get("parameters", {}).get("mode") == "context":
        return (edge["from"], edge["to"], tuple(edge["contexts"]))
    return (edge["from"], edge["to"])


def diff(snapshot_a: Mapping[str, Any], snapshot_b: Mapping[str, Any]) -> dict[str, Any]:
    """What changed from snapshot a to snapshot b: kept edges gained and lost, winners that
    changed (a tie that forms, breaks or changes members counts: `before_tied`/`after_tied`
    list the tied values, `before`/`after` the lowest of them), and rank changes per context
    (values whose rank differs; None = unranked)."""
    kept_a = {_edge_key(snapshot_a, e): e for e in snapshot_a["edges"] if e["kept"]}
    kept_b = {_edge_key(snapshot_b, e): e for e in snapshot_b["edges"] if e["kept"]}

    def edge_ref(edge: Mapping[str, Any]) -> dict[str, Any]:
        return {"from": edge["from"], "to": edge["to"], "contexts": list(edge["contexts"])}

    gained = [edge_ref(kept_b[k]) for k in sorted(kept_b.keys() - kept_a.keys())]
    lost = [edge_ref(kept_a[k]) for k in sorted(kept_a.keys() - kept_b.keys())]

    winners_a = {w["context"]: winner_tied_ids(w) for w in snapshot_a["winners"]}
    winners_b = {w["context"]: winner_tied_ids(w) for w in snapshot_b["winners"]}

    def first(tied: list[int] | None) -> int | None:
        return tied[0] if tied else None

    winner_changes = [
        {
            "context": text,
            "before": first(winners_a.get(text)),
            "after": first(winners_b.get(text)),
            "before_tied": winners_a.get(text, []),
            "after_tied": winners_b.get(text, []),
        }
        for text in sorted(winners_a.keys() | winners_b.keys())
        if winners_a.get(text) != winners_b.get(text)
    ]

    def ranks(doc: Mapping[str, Any]) -> dict[str, dict[int, int]]:
        return {
            r["context"]: {entry["value_id"]: entry["rank"] for entry in r["ranking"]}
            for r in doc["rankings"]
        }

    ranks_a, ranks_b = ranks(snapshot_a), ranks(snapshot_b)
    rank_changes: dict[str, list[dict[str, Any]]] = {}
    for text in sorted(ranks_a.keys() | ranks_b.keys()):
        before, after = ranks_a.get(text, {}), ranks_b.get(text, {})
        changes = [
            {"value_id": value_id, "before": before.get(value_id), "after": after.get(value_id)}
            for value_id in sorted(before.keys() | after.keys())
            if before.get(value_id) != after.get(value_id)
        ]
        if changes:
            rank_changes[text] = changes
    return {
        "from_snapshot": snapshot_a.get("snapshot_id"),
        "to_snapshot": snapshot_b.get("snapshot_id"),
        "edges_gained": gained,
        "edges_lost": lost,
        "winner_changes": winner_changes,
        "rank_changes": rank_changes,
    }
