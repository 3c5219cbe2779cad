"""How a run ends: its status (also the manifest's ``status``) and its result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COMPLETE = "complete"
INCOMPLETE = "incomplete"  # some items failed; a rerun retries them
BUDGET_EXHAUSTED = "budget_exhausted"
ABORTED = "aborted"  # the server kept failing
INTERRUPTED = "interrupted"
RUNNING = "running"
DID_NOT_FINISH = "did_not_finish"  # a run killed or crashed (seen by the next run)
# Every item was done but the whole fell short of its goal (e.g. fewer distinct scenarios
# than asked for): usable, but not what was asked. Set by the caller, never by ``run_job``.
SHORT = "short"


class Dropped(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by a job's ``produce``: the item is decided and yields no record (a pair that
    failed a quality check). ``run_job`` records it in ``<name>.dropped.jsonl`` with its
    reason, so a rerun neither redoes it nor counts it as missing."""

    def __init__(self, reason: str, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail: dict[str, Any] = dict(detail or {})


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
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> items, planned ones

    @property
    def remaining(self) -> int:
        return self.planned - self.done

    @property
    def is_complete(self) -> bool:
        return self.status == COMPLETE
