"""What an inference job may be: its kinds, its checked parameters, the files it leaves in its
folder, what its exit codes mean, and when it may be resumed. Rules only (no writes), shared by
the services, the runner, the reads and the researcher page's form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from moralgraph.errors import MoralGraphError
from moralgraph.models import InferenceJob

Kind = InferenceJob.Kind
Status = InferenceJob.Status

# What each kind needs from the model server; targets are computed from the snapshot alone.
NEEDS_LLM = frozenset(kind for kind in Kind if kind != Kind.TARGETS)
DATASET_KINDS = {Kind.DATASET_SFT: "sft", Kind.DATASET_DPO: "dpo", Kind.DATASET_KTO: "kto"}
RESUMABLE = frozenset({Status.FAILED, Status.STOPPED_BUDGET, Status.STOPPED})

MAX_PER_CONTEXT = 1000
DEFAULT_PER_CONTEXT = 5
MAX_MODEL_NAME = 200
# A running job whose worker has not touched it for this long has lost its worker (killed,
# restarted): it may be resumed. The command's folder lock keeps two runs from interleaving.
STALE_AFTER = timedelta(minutes=2)

# The files a job leaves in its folder, besides its output.
SNAPSHOT_FILE = "snapshot.json"
OUTPUT_DIR = "out"
STDERR_FILE = "stderr.log"
STDOUT_FILE = "stdout.log"

# The exit codes of `python -m inference` (see README, "From graph to model").
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_INTERRUPTED = 130

_EXIT_MEANINGS = {
    EXIT_FAILED: "the model server failed or some items failed; resume to retry them",
    EXIT_USAGE: "the command refused its input",
    EXIT_BUDGET: "stopped at the token budget; resume to continue",
    EXIT_INTERRUPTED: "interrupted; resume to continue",
}


@dataclass(frozen=True)
class JobParameters:
    """What the form asks for; checked by `job_parameters` so that every door checks alike."""

    per_context: int
    model: str
    max_tokens_total: int | None
    with_system_prompt: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "per_context": self.per_context,
            "model": self.model,
            "max_tokens_total": self.max_tokens_total,
            "with_system_prompt": self.with_system_prompt,
        }


def llm_is_configured() -> bool:
    return bool(settings.LLM_BASE_URL)


def job_parameters(kind: str, parameters: Mapping[str, Any]) -> JobParameters:
    """The parameters of a job of `kind`, checked; raises MoralGraphError("bad_parameters")."""
    per_context = parameters.get("per_context", DEFAULT_PER_CONTEXT)
    budget = parameters.get("max_tokens_total")
    model = str(parameters.get("model") or settings.LLM_MODEL).strip()
    if not isinstance(per_context, int) or not 1 <= per_context <= MAX_PER_CONTEXT:
        raise MoralGraphError(
            "bad_parameters", f"Scenarios per context must be between 1 and {MAX_PER_CONTEXT}."
        )
    if budget is not None and (not isinstance(budget, int) or budget < 1):
        raise MoralGraphError("bad_parameters", "The token budget must be a positive number.")
    if kind in NEEDS_LLM and not model:
        raise MoralGraphError("bad_parameters", "Name the model.")
    # The name goes on a command line: nothing that could pass for an option.
    if len(model) > MAX_MODEL_NAME or model.startswith("-"):
        raise MoralGraphError("bad_parameters", "That is not a model name.")
    return JobParameters(
        per_context=per_context,
        model=model,
        max_tokens_total=budget,
        with_system_prompt=bool(parameters.get("with_system_prompt")) and kind == Kind.EVALUATE,
    )


def exit_meaning(code: int | None) -> str:
    if code is None or code == EXIT_OK:
        return ""
    if code < 0:
        return f"killed by signal {-code}; resume to continue"
    return _EXIT_MEANINGS.get(code, "the command failed")


def status_for_exit(code: int) -> str:
    """The status a finished run leaves, from its exit code (a researcher's stop aside)."""
    if code == EXIT_OK:
        return Status.DONE
    if code == EXIT_BUDGET:
        return Status.STOPPED_BUDGET
    return Status.FAILED


def is_stale(job: InferenceJob, *, now: datetime | None = None) -> bool:
    """A running job whose worker stopped touching it (the worker was lost)."""
    now = now or timezone.now()
    beat = job.heartbeat_at or job.started_at
    return job.status == Status.RUNNING and (beat is None or beat < now - STALE_AFTER)


def is_resumable(job: InferenceJob) -> bool:
    return job.status in RESUMABLE or is_stale(job)
