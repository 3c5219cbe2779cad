"""``run_job``: one record per work item not yet written, resumable, within a token budget."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from inference.engine.checkpoints import JobState, now
from inference.engine.driving import ABORT_AFTER_TRANSIENT, Produce, Run, drive
from inference.engine.outcomes import (
    ABORTED,
    BUDGET_EXHAUSTED,
    COMPLETE,
    DID_NOT_FINISH,
    INCOMPLETE,
    INTERRUPTED,
    RUNNING,
    JobResult,
)

MAX_RECORDED_FAILURES = 50


async def run_job(
    items: Sequence[Any],
    produce: Produce,
    *,
    out_dir: Path,
    name: str,
    identity: Mapping[str, Any],
    concurrency: int = 64,
    max_tokens_total: int | None = None,
    estimate_tokens: Callable[[Any], int] = lambda item: 1,
    progress: bool = True,
    description: str | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    ordered: bool = False,
) -> JobResult:
    """Produce one record per item not yet in ``out_dir/<name>.jsonl``; see ``inference.engine``.

    ``identity`` (snapshot hash, kind, model, prompt hashes…) must match the one stored in an
    existing manifest, so a rerun never mixes two jobs in one file. Items must have unique
    keys, and each record ``produce`` returns must carry its item's ``key``; ``produce`` may
    raise ``Dropped`` instead (recorded in ``<name>.dropped.jsonl``, counted as done).
    With ``ordered``, the files are rewritten at the end to hold exactly these items, in
    their order (the same plan and answers give the same bytes on every run).
    """
    keys = _checked_keys(items, concurrency, max_tokens_total)
    state = JobState(out_dir, name, identity)
    state.open()
    started = time.monotonic()
    try:
        done_before = len(state.keys & set(keys))
        todo = [item for item in items if item.key not in state.keys]
        run = Run(pending=iter(todo), budget=max_tokens_total, estimate=estimate_tokens)
        run_entry = {
            "status": RUNNING,
            "started_at": now(),
            "concurrency": concurrency,
            "max_tokens_total": max_tokens_total,
            "skipped_done": done_before,
        }
        _begin(state, run_entry, planned=len(items), extra_manifest=extra_manifest)
        bar = _progress_bar(len(items), done_before, description or name, enabled=progress)
        status = INTERRUPTED
        try:
            await drive(run, produce, state, bar, concurrency)
            status = _final_status(run, state, keys)
        finally:
            bar.close()
            done = _finish(state, run_entry, run, status, keys)
            if ordered:
                state.rewrite_in_order(keys)
        return JobResult(
            status=status,
            planned=len(items),
            done=done,
            done_before=done_before,
            written=run.written,
            failed=run.failed,
            tokens_used=run.tokens[0],
            elapsed_s=time.monotonic() - started,
            message=_message(status, run, name, done, len(items), max_tokens_total),
            output=state.jsonl_path,
            failures=run.failures,
            dropped=_dropped_counts(state, keys),
        )
    finally:
        state.close()


def _checked_keys(
    items: Sequence[Any], concurrency: int, max_tokens_total: int | None
) -> list[str]:
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if max_tokens_total is not None and max_tokens_total < 1:
        raise ValueError("max_tokens_total must be a positive number of tokens")
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError("work items must have unique keys")
    return keys


def _begin(
    state: JobState,
    run_entry: dict[str, Any],
    *,
    planned: int,
    extra_manifest: Mapping[str, Any] | None,
) -> None:
    """Record this run in the manifest (and an earlier one still "running" as dead).

    A dead run's tokens are those of its last checkpoint: they join ``tokens_used`` now, and
    ``tokens_used_this_run`` starts again from 0, so the total is right from the start."""
    manifest = state.manifest
    tokens_used = int(manifest.get("tokens_used", 0))
    for earlier in manifest.setdefault("runs", []):
        if earlier.get("status") == RUNNING:  # that process died without a word
            earlier["status"] = DID_NOT_FINISH
            earlier["tokens_used"] = int(manifest.get("tokens_used_this_run", 0))
            tokens_used += earlier["tokens_used"]
    manifest["runs"].append(run_entry)
    state.checkpoint(
        status=RUNNING,
        planned=planned,
        done=run_entry["skipped_done"],
        tokens_used=tokens_used,
        tokens_used_this_run=0,
        **dict(extra_manifest or {}),
    )


def _progress_bar(total: int, initial: int, description: str, *, enabled: bool) -> tqdm[Any]:
    return tqdm(
        total=total,
        initial=initial,
        desc=description,
        unit="ex",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=0.5,
    )


def _finish(
    state: JobState, run_entry: dict[str, Any], run: Run, status: str, keys: Sequence[str]
) -> int:
    """Record how the run ended; how many items are done now."""
    tokens_before = int(state.manifest.get("tokens_used", 0))
    done = len(state.keys & set(keys))
    run_entry.update(
        finished_at=now(),
        status=status,
        written=run.written,
        dropped=run.dropped,
        failed=run.failed,
        tokens_used=run.tokens[0],
    )
    state.checkpoint(
        status=status,
        done=done,
        tokens_used=tokens_before + run.tokens[0],
        tokens_used_this_run=0,
        failures=run.failures[-MAX_RECORDED_FAILURES:],
        dropped=_dropped_counts(state, keys),
    )
    return done


def _dropped_counts(state: JobState, keys: Sequence[str]) -> dict[str, int]:
    """Planned items dropped (this run or before), per reason."""
    counts: dict[str, int] = {}
    for key in keys:
        reason = state.dropped.get(key)
        if reason is not None:
            counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items()))


def _final_status(run: Run, state: JobState, keys: Sequence[str]) -> str:
    if run.stop_reason is not None:
        return run.stop_reason
    if state.keys.issuperset(keys):
        return COMPLETE
    return INCOMPLETE


def _message(status: str, run: Run, name: str, done: int, planned: int, budget: int | None) -> str:
    counts = f"{done} of {planned} {name} examples are done"
    if status == COMPLETE:
        dropped = f", {run.dropped} dropped" if run.dropped else ""
        return (
            f"Complete: {counts} ({run.written} new{dropped}, {run.tokens[0]:,} tokens this run)."
        )
    if status == BUDGET_EXHAUSTED:
        return (
            f"Stopped at the token budget: this run used {run.tokens[0]:,} of "
            f"{budget:,} tokens (--max-tokens-total) and started nothing that would pass it. "
            f"{counts}; the state is saved, so running the same command again continues "
            "where this one stopped (raise or drop --max-tokens-total to finish)."
        )
    if status == ABORTED:
        return (
            f"Aborted: the model server kept failing ({ABORT_AFTER_TRANSIENT} items in a row, "
            f"each after retries). Last error: {run.stop_message} {counts}; rerun the same "
            "command once the server is back to continue."
        )
    if status == INCOMPLETE:
        last = run.failures[-1] if run.failures else {"message": "unknown"}
        return (
            f"Incomplete: {run.failed} item(s) failed (see failures in the manifest; last: "
            f"{last['message']}). {counts}; rerun the same command to retry the rest."
        )
    return f"Interrupted: {counts}; rerun the same command to continue."
