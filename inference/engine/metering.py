"""Which work item the current task serves: its token meter and its engine worker.

Both are context variables, set in each engine worker's own task, so every request made
through a ``MeteredGateway`` while producing an item is charged to that item and goes out on
that worker's connection shard.
"""

from __future__ import annotations

import contextvars

from inference.gateway import Usage


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


CURRENT_METER: contextvars.ContextVar[TokenMeter | None] = contextvars.ContextVar(
    "inference_engine_meter", default=None
)
# Which engine worker the current task is (-1: none); it picks the worker's connection shard.
WORKER_INDEX: contextvars.ContextVar[int] = contextvars.ContextVar(
    "inference_engine_worker", default=-1
)


def charge(usage: Usage | None) -> None:
    meter = CURRENT_METER.get()
    if meter is not None:
        meter.add(usage)
