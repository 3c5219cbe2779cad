"""Alignment targets from a snapshot file.

The snapshot file is read through ``load_snapshot`` (``inference.snapshot``, re-exported
here: the typed view every part of ``inference`` reads). A target, per context with a
winner: the winning value with its policies, the support label, the bootstrap win
probability, the runner-up, the top of the ranking and the kept edges that point at the
winner (the votes that justify it); and a system prompt for in-context alignment
(``inference/prompts/alignment_target.v1.md``, with fixed stylistic examples).

A tied context (schema version 2: several values share the top score) names every tied value:
its target says ``"tie": true`` and lists them all under ``tied_values``, and its system
prompt block says the participants' graph did not single out one of them and shows each.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference.prompts import Prompt, load_prompt
from inference.snapshot import (
    SNAPSHOT_SCHEMA_PATH,
    ContextWinner,
    GraphEdge,
    Snapshot,
    SnapshotError,
    ValueCard,
    load_snapshot,
    validate_snapshot,
)

__all__ = [
    "DEFAULT_RANKING_DEPTH",
    "SNAPSHOT_SCHEMA_PATH",
    "TARGETS_FORMAT",
    "TARGETS_FORMAT_VERSION",
    "TARGET_PROMPT",
    "ContextWinner",
    "GraphEdge",
    "Snapshot",
    "SnapshotError",
    "ValueCard",
    "build_targets",
    "context_block",
    "load_snapshot",
    "render_system_prompt",
    "support_phrase",
    "validate_snapshot",
    "value_block",
    "write_targets",
    "write_text_atomic",
]

TARGETS_FORMAT = "mge-alignment-targets"
TARGETS_FORMAT_VERSION = 2  # 2: tie, tied_values, tie_probability per context
TARGET_PROMPT = "alignment_target"
DEFAULT_RANKING_DEPTH = 3


# -- targets -----------------------------------------------------------------------------------


def support_phrase(winner: ContextWinner) -> str:
    """``some support; won 95% of bootstrap resamples`` (or without the share when unknown);
    for a tie, ``contested; a tie between 2 values, none singled out``."""
    if winner.is_tie:
        return (
            f"{winner.support}; a tie between {len(winner.tied_value_ids)} values, none singled out"
        )
    if winner.win_probability is None:
        return winner.support
    return f"{winner.support}; won {winner.win_probability:.0%} of bootstrap resamples"


def value_block(value: ValueCard) -> str:
    """A value as the prompts show it: title, description, then its policies as a list."""
    policies = "\n".join(f"- {policy}" for policy in value.policies)
    return f"**{value.title}**: {value.description}\n\nWhat to attend to:\n{policies}"


TIE_NOTE = (
    "Participants' judgements tie these values as the wisest here: hold them together, and let "
    "what the person says matters to them guide which comes first."
)


def context_block(snapshot: Snapshot, winner: ContextWinner) -> str:
    head = f"### {winner.context}\n({support_phrase(winner)})"
    if winner.is_tie:
        blocks = "\n\n".join(value_block(snapshot.values[v]) for v in winner.tied_value_ids)
        return f"{head}\n\n{TIE_NOTE}\n\n{blocks}"
    return f"{head}\n\n{value_block(snapshot.values[winner.value_id])}"


def render_system_prompt(
    snapshot: Snapshot,
    winners: Sequence[ContextWinner] | None = None,
    *,
    prompt: Prompt | None = None,
) -> str:
    """The in-context alignment prompt for the given contexts (all with a winner by default)."""
    prompt = prompt or load_prompt(TARGET_PROMPT)
    chosen = list(snapshot.winners if winners is None else winners)
    blocks = "\n\n".join(context_block(snapshot, w) for w in chosen)
    return (
        prompt.render(
            study_title=snapshot.study["title"],
            participants=snapshot.document["stats"]["participants"],
            contexts=blocks,
        ).strip()
        + "\n"
    )


def build_targets(
    snapshot: Snapshot, *, ranking_depth: int = DEFAULT_RANKING_DEPTH
) -> dict[str, Any]:
    """The alignment targets document (``targets.json``)."""
    prompt = load_prompt(TARGET_PROMPT)
    contexts = []
    for winner in snapshot.winners:
        value = snapshot.values[winner.value_id]
        runner_up = (
            {
                **_value_ref(snapshot, winner.runner_up_id),
                "score": winner.runner_up_score,
            }
            if winner.runner_up_id is not None
            else None
        )
        ranking = [
            {
                **_value_ref(snapshot, int(entry["value_id"])),
                "rank": entry["rank"],
                "score": entry["score"],
                "win_probability": entry["win_probability"],
            }
            for entry in snapshot.rankings.get(winner.context, ())[:ranking_depth]
        ]
        tied = winner.tied_value_ids or (winner.value_id,)
        evidence = [
            {**edge.evidence(), "from_title": snapshot.values[edge.from_id].title}
            for edge in snapshot.kept_edges_in(winner.context)
            if edge.to_id in tied
        ]
        probabilities = {
            int(e["value_id"]): e["win_probability"]
            for e in snapshot.rankings.get(winner.context, ())
        }
        contexts.append(
            {
                "context": winner.context,
                "context_id": winner.context_id,
                "support": winner.support,
                "win_probability": winner.win_probability,
                "score": winner.score,
                "winner": value.as_json(),
                # A tie names every tied value (the winner above is the lowest id of them).
                "tie": winner.is_tie,
                "tied_values": [
                    {**snapshot.values[v].as_json(), "win_probability": probabilities.get(v)}
                    for v in tied
                ],
                "tie_probability": winner.tie_probability,
                "runner_up": runner_up,
                "ranking": ranking,
                "evidence": evidence,
                "system_prompt": render_system_prompt(snapshot, [winner], prompt=prompt),
            }
        )
    with_winner = {w.context for w in snapshot.winners}
    return {
        "format": TARGETS_FORMAT,
        "format_version": TARGETS_FORMAT_VERSION,
        "snapshot": snapshot.summary(),
        "prompt": {"ref": prompt.ref, "sha256": prompt.sha256},
        "contexts": contexts,
        "contexts_without_winner": sorted(set(snapshot.context_ids) - with_winner),
        "system_prompt": render_system_prompt(snapshot, prompt=prompt),
    }


def _value_ref(snapshot: Snapshot, value_id: int) -> dict[str, Any]:
    value = snapshot.values[value_id]
    return {"value_id": value.id, "source_id": value.source_id, "title": value.title}


def write_targets(snapshot: Snapshot, out_dir: Path) -> dict[str, Path]:
    """Write ``targets.json`` and ``system_prompt.md`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    document = build_targets(snapshot)
    targets_path = out_dir / "targets.json"
    prompt_path = out_dir / "system_prompt.md"
    write_text_atomic(targets_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(prompt_path, document["system_prompt"])
    return {"targets": targets_path, "system_prompt": prompt_path}


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
