"""The bulk generation engine: many non-streamed requests to an OpenAI-compatible server.

A job is a list of work items, each with a deterministic key, and an async ``produce``
function that turns one item into one JSON record through the gateway. ``run_job``:

- runs a fixed pool of ``concurrency`` workers (the number of requests in flight is bounded
  by it; vLLM batches whatever is in flight);
- leaves retries to the gateway (429/5xx/connection errors/timeouts with backoff; other 4xx
  at once), so an item that still fails is recorded in the manifest and left for a rerun;
- keeps its state beside the output: ``<name>.jsonl`` (append-only, one record per line,
  each line one ``write`` on an ``O_APPEND`` descriptor, fsync'd at checkpoints) and
  ``manifest.json`` (replaced atomically). On a restart the keys already in the JSONL are
  skipped and a torn last line (a crash mid-write) is cut off;
- holds an exclusive lock on the output folder, so two runs cannot interleave;
- stops cleanly at a token budget: no item starts once the tokens used plus those in flight
  would pass it; what finished is kept and a rerun continues;
- shows a tqdm progress bar on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import json
import math
import os
import signal
import ssl
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import httpx2
import openai
from tqdm import tqdm

from inference.backends.openai_compat import OpenAICompatGateway, RetryPolicy
from inference.gateway import (
    ChatResult,
    Gateway,
    LLMBadRequest,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    Usage,
)
from inference.targets import write_text_atomic

MANIFEST = "manifest.json"
LOCK = ".lock"
CHECKPOINT_S = 2.0  # how often the manifest is rewritten and the JSONL fsync'd
MAX_RECORDED_FAILURES = 50
# Consecutive transient failures (each already retried by the gateway) that abort a run: the
# server is down, and every further request would only burn time.
ABORT_AFTER_TRANSIENT = 20

# Exit statuses of a run, also the manifest's ``status``.
COMPLETE = "complete"
INCOMPLETE = "incomplete"  # some items failed; a rerun retries them
BUDGET_EXHAUSTED = "budget_exhausted"
ABORTED = "aborted"  # the server kept failing
INTERRUPTED = "interrupted"
RUNNING = "running"
DID_NOT_FINISH = "did_not_finish"  # a run killed or crashed (seen by the next run)


class JobError(RuntimeError):
    """The output folder cannot be used for this job (locked, or holds a different job)."""


class WorkItem(Protocol):
    @property
    def key(self) -> str: ...


class TokenMeter:
    """Tokens used by one work item; the engine adds each item's tokens to the run's total."""

    __slots__ = ("_engine_total", "tokens")

    def __init__(self, engine_total: list[int]) -> None:
        self._engine_total = engine_total
        self.tokens = 0

    def add(self, usage: Usage | None) -> None:
        if usage is None:
            return
        self.tokens += usage.total_tokens
        self._engine_total[0] += usage.total_tokens


# The meter of the work item the current worker task is producing. Every request made through
# a ``MeteredGateway`` (plain and structured completions alike) is charged to it.
_CURRENT_METER: contextvars.ContextVar[TokenMeter | None] = contextvars.ContextVar(
    "inference_engine_meter", default=None
)


def charge(usage: Usage | None) -> None:
    meter = _CURRENT_METER.get()
    if meter is not None:
        meter.add(usage)


# Which engine worker the current task is (-1: none); it picks the worker's connection shard.
_WORKER_INDEX: contextvars.ContextVar[int] = contextvars.ContextVar(
    "inference_engine_worker", default=-1
)
SHARD_CONNECTIONS = 32

Produce = Callable[[Any], Awaitable[dict[str, Any]]]


@dataclass
class JobResult:
    status: str
    planned: int
    done: int
    done_before: int
    written: int
    failed: int
    tokens_used: int
    elapsed_s: float
    message: str
    output: Path
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.planned - self.done

    @property
    def is_complete(self) -> bool:
        return self.status == COMPLETE


# -- the state beside the output ---------------------------------------------------------------


class JobState:
    """The JSONL records and the manifest of one job in one folder."""

    def __init__(self, out_dir: Path, name: str, identity: Mapping[str, Any]) -> None:
        self.out_dir = out_dir
        self.name = name
        self.identity = dict(identity)
        self.jsonl_path = out_dir / f"{name}.jsonl"
        self.manifest_path = out_dir / MANIFEST
        self.keys: set[str] = set()
        self.manifest: dict[str, Any] = {}
        self._fd: int | None = None
        self._lock: IO[bytes] | None = None
        self._unsynced = 0
        self._sequence = 0
        self._written = 0
        self._write_lock = threading.Lock()

    def open(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock = (self.out_dir / LOCK).open("ab")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise JobError(
                f"{self.out_dir} is in use by another run (it holds {LOCK}); wait for it to "
                "finish or stop it first"
            ) from None
        self.manifest = self._read_manifest()
        self.keys = set(read_keys(self.jsonl_path, repair=True))
        self._fd = os.open(self.jsonl_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            if self.jsonl_path.exists() and self.jsonl_path.stat().st_size:
                raise JobError(
                    f"{self.jsonl_path} exists without a {MANIFEST}; it was not written by "
                    "this tool (or the manifest was removed): use another output folder"
                )
            return {"job": self.name, "identity": self.identity, "runs": [], "tokens_used": 0}
        try:
            manifest: dict[str, Any] = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise JobError(f"cannot read {self.manifest_path}: {exc}") from exc
        if manifest.get("job") != self.name:
            raise JobError(
                f"{self.out_dir} holds a {manifest.get('job')!r} job, not {self.name!r}: use "
                "another output folder"
            )
        theirs = manifest.get("identity", {})
        different = sorted(
            key
            for key in set(theirs) | set(self.identity)
            if theirs.get(key) != self.identity.get(key)
        )
        if different:
            details = "; ".join(
                f"{key}: {theirs.get(key)!r} there, {self.identity.get(key)!r} now"
                for key in different
            )
            raise JobError(
                f"{self.out_dir} holds a job made with other settings ({details}). Resuming "
                "would mix them in one file: use another output folder."
            )
        return manifest

    def append(self, record: Mapping[str, Any]) -> None:
        assert self._fd is not None
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        # One write on an O_APPEND descriptor: a killed process leaves whole lines behind
        # (a torn line needs the machine itself to fail, and ``read_keys`` repairs that).
        written = os.write(self._fd, data)
        while written < len(data):  # only on a full disk or a signal; finish the line
            written += os.write(self._fd, data[written:])
        self.keys.add(str(record["key"]))
        self._unsynced += 1

    def checkpoint(self, **fields: Any) -> None:
        """fsync the records and rewrite the manifest; safe to call from a helper thread."""
        self.manifest.update(fields)
        self.manifest["updated_at"] = _now()
        text = json.dumps(self.manifest, indent=2, ensure_ascii=False) + "\n"
        self._sequence += 1
        sequence = self._sequence
        with self._write_lock:
            if sequence < self._written:  # a newer checkpoint got here first
                return
            if self._fd is not None and self._unsynced:
                self._unsynced = 0
                os.fsync(self._fd)
            write_text_atomic(self.manifest_path, text)
            self._written = sequence

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The complete records of a JSONL file (a torn last line is skipped)."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return  # a torn last line: the record it began was never finished
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise JobError(f"{path} line {number} is not JSON: {exc.msg}") from exc
            yield record


def read_keys(path: Path, *, repair: bool = False) -> list[str]:
    """The keys in a JSONL file; with ``repair``, cut off a torn last line first."""
    if not path.exists():
        return []
    if repair:
        _cut_torn_tail(path)
    return [str(record["key"]) for record in read_records(path)]


def _cut_torn_tail(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("r+b") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the last newline; everything after it is half a record.
        position = size
        block = 65536
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            position = start
        handle.truncate(0)


# -- running a job ------------------------------------------------------------------------------


@dataclass
class _Run:
    """The mutable state the workers share (one event loop: no locks needed)."""

    pending: Iterator[Any]
    budget: int | None
    estimate: Callable[[Any], int]
    tokens: list[int] = field(default_factory=lambda: [0])  # shared with the meters
    in_flight_estimate: int = 0
    finished_items: int = 0
    finished_tokens: int = 0
    written: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    failed: int = 0
    consecutive_transient: int = 0
    stop_reason: str | None = None
    stop_message: str = ""

    def item_estimate(self, item: Any) -> int:
        if self.finished_items:
            return max(1, round(self.finished_tokens / self.finished_items))
        return max(1, self.estimate(item))

    def next_item(self) -> tuple[Any, int] | None:
        if self.stop_reason is not None:
            return None
        item = next(self.pending, None)
        if item is None:
            return None
        estimate = self.item_estimate(item)
        if self.budget is not None and (
            self.tokens[0] + self.in_flight_estimate + estimate > self.budget
        ):
            self.stop_reason = BUDGET_EXHAUSTED
            return None
        self.in_flight_estimate += estimate
        return item, estimate


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
) -> JobResult:
    """Produce one record per item not yet in ``out_dir/<name>.jsonl``; see the module doc.

    ``identity`` (snapshot hash, kind, model, prompt hashes…) must match the one stored in an
    existing manifest, so a rerun never mixes two jobs in one file. Items must have unique
    keys, and each record ``produce`` returns must carry its item's ``key``.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if max_tokens_total is not None and max_tokens_total < 1:
        raise ValueError("max_tokens_total must be a positive number of tokens")
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError("work items must have unique keys")
    state = JobState(out_dir, name, identity)
    state.open()
    started = time.monotonic()
    try:
        done_before = len(state.keys & set(keys))
        todo = [item for item in items if item.key not in state.keys]
        run = _Run(pending=iter(todo), budget=max_tokens_total, estimate=estimate_tokens)
        for earlier in state.manifest.setdefault("runs", []):
            if earlier.get("status") == RUNNING:  # that process died without a word
                earlier["status"] = DID_NOT_FINISH
        run_entry = {
            "status": RUNNING,
            "started_at": _now(),
            "concurrency": concurrency,
            "max_tokens_total": max_tokens_total,
            "skipped_done": done_before,
        }
        state.manifest["runs"].append(run_entry)
        state.checkpoint(
            status=RUNNING,
            planned=len(items),
            done=done_before,
            **dict(extra_manifest or {}),
        )
        bar = tqdm(
            total=len(items),
            initial=done_before,
            desc=description or name,
            unit="ex",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
            mininterval=0.5,
        )
        status = INTERRUPTED
        try:
            await _drive(run, produce, state, bar, concurrency)
            status = _final_status(run, state, keys)
        finally:
            bar.close()
            tokens_before = int(state.manifest.get("tokens_used", 0))
            done = len(state.keys & set(keys))
            run_entry.update(
                finished_at=_now(),
                status=status,
                written=run.written,
                failed=run.failed,
                tokens_used=run.tokens[0],
            )
            state.checkpoint(
                status=status,
                done=done,
                tokens_used=tokens_before + run.tokens[0],
                failures=run.failures[-MAX_RECORDED_FAILURES:],
            )
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
        )
    finally:
        state.close()


async def _drive(
    run: _Run, produce: Produce, state: JobState, bar: tqdm[Any], concurrency: int
) -> None:
    last_checkpoint = time.monotonic()
    planned = bar.total

    async def worker(index: int) -> None:
        nonlocal last_checkpoint
        _WORKER_INDEX.set(index)  # this task's own context: its shard for its whole life
        while (taken := run.next_item()) is not None:
            item, estimate = taken
            meter = TokenMeter(run.tokens)
            token = _CURRENT_METER.set(meter)
            try:
                record = await produce(item)
            except LLMError as exc:
                _record_failure(run, item.key, exc)
                continue
            finally:
                _CURRENT_METER.reset(token)
                run.in_flight_estimate -= estimate
            run.consecutive_transient = 0
            run.finished_items += 1
            run.finished_tokens += meter.tokens
            if record.get("key") != item.key:
                raise ValueError(
                    f"a record for {item.key!r} came back with key {record.get('key')!r}"
                )
            state.append(record)
            run.written += 1
            bar.update(1)
            now = time.monotonic()
            if now - last_checkpoint >= CHECKPOINT_S:
                last_checkpoint = now
                bar.set_postfix_str(f"{run.tokens[0]:,} tok", refresh=False)
                # fsync can take a while on network disks: off the event loop, so the other
                # workers' answers keep flowing meanwhile.
                await asyncio.to_thread(
                    state.checkpoint, done=len(state.keys), tokens_used_this_run=run.tokens[0]
                )

    workers = [asyncio.ensure_future(worker(i)) for i in range(min(concurrency, max(planned, 1)))]
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()

    def on_sigterm() -> None:
        # Stop like Ctrl-C: cancel the in-flight requests, save the state, exit.
        if current is not None:
            current.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)


def _record_failure(run: _Run, key: str, exc: LLMError) -> None:
    run.failed += 1
    run.failures.append({"key": key, "error": type(exc).__name__, "message": exc.message})
    if isinstance(exc, LLMUnavailable | LLMTimeout):
        run.consecutive_transient += 1
        if run.consecutive_transient >= ABORT_AFTER_TRANSIENT and run.stop_reason is None:
            run.stop_reason = ABORTED
            run.stop_message = exc.message
    elif not isinstance(exc, LLMBadRequest):
        run.consecutive_transient = 0


def _final_status(run: _Run, state: JobState, keys: Sequence[str]) -> str:
    if run.stop_reason is not None:
        return run.stop_reason
    if state.keys.issuperset(keys):
        return COMPLETE
    return INCOMPLETE


def _message(status: str, run: _Run, name: str, done: int, planned: int, budget: int | None) -> str:
    counts = f"{done} of {planned} {name} examples are done"
    if status == COMPLETE:
        return f"Complete: {counts} ({run.written} new, {run.tokens[0]:,} tokens this run)."
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- the gateway for bulk work ------------------------------------------------------------------


class MeteredGateway(OpenAICompatGateway):
    """The OpenAI-compatible gateway, tuned for many requests in flight, charging each item.

    Retries, errors and wire handling are the gateway's own; this adds:

    - connection pools sized for the requests in flight (the SDK's default keeps 100
      connections alive; beyond that every request would open a new one), split into
      shards of about ``SHARD_CONNECTIONS``: the HTTP pool scans all its connections for
      each request it places, so one pool of 256 costs several times the CPU of 8 pools of
      32. An engine worker always uses the same shard, so a shard never has more requests
      in flight than its workers make;
    - the token usage of every completion charged to the work item that made it.
    """

    def __init__(self, *, concurrency: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.concurrency = concurrency
        self.shard_count = max(1, math.ceil(concurrency / SHARD_CONNECTIONS))
        # Room for an item's parallel requests (a DPO pair) and a few embeddings besides.
        self.shard_connections = 2 * math.ceil(concurrency / self.shard_count) + 4
        self._shards: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[openai.AsyncOpenAI]
        ] = weakref.WeakKeyDictionary()
        self._next_shard = 0

    def _client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        shards = self._shards.get(loop)
        if shards is None:
            # One TLS context for all shards: loading the CA store costs ~25 ms each time.
            tls = ssl.create_default_context()
            shards = self._shards[loop] = [self._new_client(tls) for _ in range(self.shard_count)]
        worker = _WORKER_INDEX.get()
        if worker < 0:  # not in an engine worker: take turns
            worker = self._next_shard
            self._next_shard += 1
        return shards[worker % self.shard_count]

    def _new_client(self, tls: ssl.SSLContext) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self._api_key,
            timeout=self.timeout_s,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                timeout=self.timeout_s,
                verify=tls,
                limits=httpx2.Limits(
                    max_connections=self.shard_connections,
                    max_keepalive_connections=self.shard_connections,
                    keepalive_expiry=30.0,
                ),
            ),
        )

    async def aclose(self) -> None:
        for client in self._shards.pop(asyncio.get_running_loop(), []):
            await client.close()
        await super().aclose()

    async def _complete(self, params: dict[str, Any]) -> ChatResult:
        result = await super()._complete(params)
        charge(result.usage)
        return result


def build_bulk_gateway(
    *,
    base_url: str,
    api_key: str | None,
    model: str | None,
    embed_model: str | None = None,
    concurrency: int = 64,
    timeout_s: float = 300.0,
    max_retries: int = 4,
    retry_base_delay_s: float = 1.0,
    retry_max_delay_s: float = 30.0,
) -> MeteredGateway:
    """A gateway for ``run_job``: a pool for ``concurrency`` requests, usage charged per item.

    The timeout is long by default: a GPU server with hundreds of requests in flight answers
    each one slowly, but answers.
    """
    return MeteredGateway(
        concurrency=concurrency,
        base_url=base_url,
        api_key=api_key,
        model=model,
        embed_model=embed_model,
        timeout_s=timeout_s,
        retry=RetryPolicy(
            max_retries=max_retries, base_delay_s=retry_base_delay_s, max_delay_s=retry_max_delay_s
        ),
    )


async def complete_text(
    gateway: Gateway,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int | None,
    temperature: float | None,
) -> str:
    """One non-streamed answer's text; an empty answer is an error (nothing to train on)."""
    result = await gateway.complete(messages, max_tokens=max_tokens, temperature=temperature)
    if not result.text.strip():
        raise LLMError(
            f"The model ({result.model or gateway.model}) returned an empty answer "
            f"(finish reason {result.finish_reason!r})."
        )
    return result.text


def prompt_tokens_estimate(texts: Iterable[str]) -> int:
    """About four characters per token: enough to plan a budget before the first answer."""
    return sum(len(text) for text in texts) // 4 + 1
