"""How a run ends: its status (also the manifest's ``status``) and its result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

COMPLETE = "complete"
INCOMPLETE = "incomplete"  # some items failed; a rerun retries them
BUDGET_EXHAUSTED = "budget_exhausted"
ABORTED = "aborted"  # the server kept failing
INTERRUPTED = "interrupted"
RUNNING = "running"
DID_NOT_FINISH = "did_not_finish"  # a run killed or crashed (seen by the next run)


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
