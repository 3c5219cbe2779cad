"""Driving a run: a fixed pool of workers takes items while the token budget allows."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from inference.engine.checkpoints import JobState
from inference.engine.metering import CURRENT_METER, WORKER_INDEX, TokenMeter
from inference.engine.outcomes import ABORTED, BUDGET_EXHAUSTED, Dropped
from inference.gateway import LLMBadRequest, LLMError, LLMTimeout, LLMUnavailable

CHECKPOINT_S = 2.0  # how often the manifest is rewritten and the JSONL fsync'd
# Consecutive transient failures (each already retried by the gateway) that abort a run: the
# server is down, and every further request would only burn time.
ABORT_AFTER_TRANSIENT = 20

Produce = Callable[[Any], Awaitable[dict[str, Any]]]


@dataclass
class Run:
    """The mutable state the workers share (one event loop: no locks needed)."""

    pending: Iterator[Any]
    budget: int | None
    estimate: Callable[[Any], int]
    tokens: list[int] = field(default_factory=lambda: [0])  # shared with the meters
    in_flight_estimate: int = 0
    finished_items: int = 0
    finished_tokens: int = 0
    written: int = 0
    dropped: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    failed: int = 0
    consecutive_transient: int = 0
    stop_reason: str | None = None
    stop_message: str = ""
    last_checkpoint: float = 0.0

    def item_estimate(self, item: Any) -> int:
        if self.finished_items:
            return max(1, round(self.finished_tokens / self.finished_items))
        return max(1, self.estimate(item))

    def next_item(self) -> tuple[Any, int] | None:
        """The next item and its token estimate; None when done or when it could pass the
        budget (counting what is in flight), which stops the run."""
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

    def record_failure(self, key: str, exc: LLMError) -> None:
        self.failed += 1
        self.failures.append({"key": key, "error": type(exc).__name__, "message": exc.message})
        if isinstance(exc, LLMUnavailable | LLMTimeout):
            self.consecutive_transient += 1
            if self.consecutive_transient >= ABORT_AFTER_TRANSIENT and self.stop_reason is None:
                self.stop_reason = ABORTED
                self.stop_message = exc.message
        elif not isinstance(exc, LLMBadRequest):
            self.consecutive_transient = 0


async def drive(
    run: Run, produce: Produce, state: JobState, bar: tqdm[Any], concurrency: int
) -> None:
    """Run ``concurrency`` workers until the items, the budget or the server run out."""
    run.last_checkpoint = time.monotonic()
    count = min(concurrency, max(bar.total, 1))
    workers = [asyncio.ensure_future(_worker(i, run, produce, state, bar)) for i in range(count)]
    with _cancel_on_sigterm():
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise


async def _worker(index: int, run: Run, produce: Produce, state: JobState, bar: tqdm[Any]) -> None:
    WORKER_INDEX.set(index)  # this task's own context: its shard for its whole life
    while (taken := run.next_item()) is not None:
        item, estimate = taken
        record = await _produce_one(run, produce, item, estimate)
        if record is None:
            continue
        if isinstance(record, Dropped):
            state.append_dropped(str(item.key), record.reason, record.detail)
            run.dropped += 1
        else:
            state.append(record)
            run.written += 1
        bar.update(1)
        now = time.monotonic()
        if now - run.last_checkpoint >= CHECKPOINT_S:
            run.last_checkpoint = now
            bar.set_postfix_str(f"{run.tokens[0]:,} tok", refresh=False)
            # fsync can take a while on network disks: off the event loop, so the other
            # workers' answers keep flowing meanwhile.
            await asyncio.to_thread(
                state.checkpoint, done=len(state.keys), tokens_used_this_run=run.tokens[0]
            )


async def _produce_one(
    run: Run, produce: Produce, item: Any, estimate: int
) -> dict[str, Any] | Dropped | None:
    """One item's record (or why it has none), its tokens charged to it; None when the model
    failed it."""
    meter = TokenMeter(run.tokens)
    token = CURRENT_METER.set(meter)
    outcome: dict[str, Any] | Dropped
    try:
        outcome = await produce(item)
    except Dropped as dropped:
        outcome = dropped
    except LLMError as exc:
        run.record_failure(item.key, exc)
        return None
    finally:
        CURRENT_METER.reset(token)
        run.in_flight_estimate -= estimate
    run.consecutive_transient = 0
    run.finished_items += 1
    run.finished_tokens += meter.tokens
    if isinstance(outcome, dict) and outcome.get("key") != item.key:
        raise ValueError(f"a record for {item.key!r} came back with key {outcome.get('key')!r}")
    return outcome


@contextlib.contextmanager
def _cancel_on_sigterm() -> Iterator[None]:
    """Stop like Ctrl-C on SIGTERM: cancel the in-flight requests, save the state, exit."""
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()

    def on_sigterm() -> None:
        if current is not None:
            current.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
