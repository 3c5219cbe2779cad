"""Inference jobs from a snapshot (DESIGN §4.7), started from the researcher pages.

`inference`'s targets, datasets and evaluation sit above this app (DESIGN §2, layers) and
read only a snapshot file, so a worker runs a job the way a GPU host would: it writes the
snapshot's JSON document into the job's folder and runs `python -m inference …` on it as a
subprocess. The command keeps its own resumable state beside its output (`manifest.json` and
the JSONL files), so resuming a job is running the same command again in the same folder.

Services (writes, one transaction each): `inference_job_start`, `inference_job_resume`, and
`inference_job_run` (the task's body: a compare-and-set claim, the command, the outcome).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from moralgraph.errors import MoralGraphError
from moralgraph.models import GraphSnapshot, InferenceJob

logger = logging.getLogger(__name__)

Kind = InferenceJob.Kind
Status = InferenceJob.Status

# What each kind needs from the model server; targets are computed from the snapshot alone.
NEEDS_LLM = frozenset(kind for kind in Kind if kind != Kind.TARGETS)
DATASET_KINDS = {Kind.DATASET_SFT: "sft", Kind.DATASET_DPO: "dpo", Kind.DATASET_KTO: "kto"}

MAX_PER_CONTEXT = 1000
HEARTBEAT_S = 10.0
# How often a running job looks for a researcher's stop request.
STOP_POLL_S = 1.0
# A running job whose worker has not touched it for this long has lost its worker (killed,
# restarted): it may be resumed. The command's folder lock keeps two runs from interleaving.
STALE_AFTER = timedelta(minutes=2)
MESSAGE_LINES = 12
MESSAGE_CHARS = 4000

# The files a job leaves in its folder, besides its output.
SNAPSHOT_FILE = "snapshot.json"
OUTPUT_DIR = "out"
STDERR_FILE = "stderr.log"
STDOUT_FILE = "stdout.log"

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
    """What the form asks for; validated here so that every door checks the same way."""

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


def exit_meaning(code: int | None) -> str:
    if code is None or code == EXIT_OK:
        return ""
    if code < 0:
        return f"killed by signal {-code}; resume to continue"
    return _EXIT_MEANINGS.get(code, "the command failed")


def is_stale(job: InferenceJob, *, now: Any = None) -> bool:
    """A running job whose worker stopped touching it (the worker was lost)."""
    now = now or timezone.now()
    beat = job.heartbeat_at or job.started_at
    return job.status == Status.RUNNING and (beat is None or beat < now - STALE_AFTER)


def is_resumable(job: InferenceJob) -> bool:
    return job.status in (Status.FAILED, Status.STOPPED_BUDGET, Status.STOPPED) or is_stale(job)


@transaction.atomic
def inference_job_stop(*, job_id: int) -> InferenceJob:
    """Stop a job: a queued one at once (its task then finds nothing to claim), a running one
    by asking its worker, which ends the command cleanly (its state is kept for a resume)."""
    job = InferenceJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise MoralGraphError("not_found", "No such job.")
    if job.status == Status.QUEUED:
        job.status = Status.STOPPED
        job.finished_at = timezone.now()
        job.message = "Stopped before it started."
        job.save(update_fields=["status", "finished_at", "message"])
    elif job.status == Status.RUNNING:
        job.stop_requested_at = timezone.now()
        job.save(update_fields=["stop_requested_at"])
    else:
        raise MoralGraphError(
            "not_running", f"This job is {job.get_status_display().lower()}: nothing to stop."
        )
    return job


def _parameters(kind: str, parameters: Mapping[str, Any]) -> JobParameters:
    per_context = parameters.get("per_context", 5)
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
    if len(model) > 200 or model.startswith("-"):
        raise MoralGraphError("bad_parameters", "That is not a model name.")
    return JobParameters(
        per_context=per_context,
        model=model,
        max_tokens_total=budget,
        with_system_prompt=bool(parameters.get("with_system_prompt")) and kind == Kind.EVALUATE,
    )


def _enqueue(job_id: int) -> None:
    from moralgraph import tasks

    transaction.on_commit(lambda: tasks.inference_job_run.delay(job_id))


@transaction.atomic
def inference_job_start(
    *,
    snapshot_id: int,
    kind: str,
    parameters: Mapping[str, Any],
    user_id: int | None = None,
) -> InferenceJob:
    """Record a job on a snapshot and queue it on the `llm` queue after commit."""
    if kind not in Kind.values:
        raise MoralGraphError("bad_kind", f"No such job: {kind!r}.")
    if kind in NEEDS_LLM and not llm_is_configured():
        raise MoralGraphError(
            "offline",
            "No model server is configured (LLM_BASE_URL is empty): only alignment targets "
            "can be made offline.",
        )
    checked = _parameters(kind, parameters)
    if not GraphSnapshot.objects.filter(pk=snapshot_id).exists():
        raise MoralGraphError("not_found", "No such snapshot.")
    job = InferenceJob.objects.create(
        snapshot_id=snapshot_id,
        kind=kind,
        parameters=checked.as_json(),
        created_by_id=user_id,
    )
    _enqueue(job.pk)
    return job


@transaction.atomic
def inference_job_resume(*, job_id: int, max_tokens_total: int | None) -> InferenceJob:
    """Queue a failed, budget-stopped or abandoned job again: the command continues from the
    state in its folder. The budget is per run: give the next run's, or None for none."""
    job = InferenceJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise MoralGraphError("not_found", "No such job.")
    if not is_resumable(job):
        raise MoralGraphError(
            "not_resumable", f"This job is {job.get_status_display().lower()}: nothing to resume."
        )
    if job.kind in NEEDS_LLM and not llm_is_configured():
        raise MoralGraphError("offline", "No model server is configured (LLM_BASE_URL is empty).")
    job.parameters = _parameters(
        job.kind, {**job.parameters, "max_tokens_total": max_tokens_total}
    ).as_json()
    job.status = Status.QUEUED
    job.message = ""
    job.stop_requested_at = None
    job.save(update_fields=["parameters", "status", "message", "stop_requested_at"])
    _enqueue(job.pk)
    return job


def _claim(job_id: int) -> bool:
    """Compare-and-set queued → running: a redelivered or duplicated task finds nothing."""
    now = timezone.now()
    return bool(
        InferenceJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
            status=Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            exit_code=None,
            runs=F("runs") + 1,
        )
    )


def job_dir(job: InferenceJob) -> Path:
    """The job's folder: the one it ran in before (resume), else a new one under VAR_DIR."""
    if job.output_dir:
        return Path(job.output_dir)
    return Path(settings.VAR_DIR) / "jobs" / str(job.pk)


def commands_for(job: InferenceJob, folder: Path) -> list[list[str]]:
    """The `python -m inference` command lines of a job, run in order in its folder."""
    p = _parameters(job.kind, job.parameters)
    snapshot = str(folder / SNAPSHOT_FILE)
    out = folder / OUTPUT_DIR
    python = [sys.executable, "-m", "inference"]
    if job.kind == Kind.TARGETS:
        return [[*python, "targets", snapshot, "--out", str(out)]]
    llm = ["--model", p.model, "--no-progress"]
    if p.max_tokens_total is not None:
        llm += ["--max-tokens-total", str(p.max_tokens_total)]
    scenarios = ["--per-context", str(p.per_context)]
    if job.kind == Kind.SCENARIOS:
        return [[*python, "scenarios", snapshot, "--out", str(out), *scenarios, *llm]]
    if job.kind in DATASET_KINDS:
        kind = DATASET_KINDS[Kind(job.kind)]
        return [[*python, "dataset", snapshot, "--kind", kind, "--out", str(out), *scenarios, *llm]]
    # An evaluation: the judge is the configured model (LLM_MODEL), the model tested is the
    # one named; optionally under the targets' system prompt (in-context alignment).
    commands: list[list[str]] = []
    evaluate = [*python, "evaluate", snapshot, "--out", str(out), *scenarios, *llm]
    if p.with_system_prompt:
        targets = out / "targets"
        commands.append([*python, "targets", snapshot, "--out", str(targets)])
        evaluate += ["--system-prompt", str(targets / "system_prompt.md")]
    commands.append(evaluate)
    return commands


def command_env() -> dict[str, str]:
    """The worker's environment with the model server from settings; the key travels in the
    environment, never on a command line."""
    env = dict(os.environ)
    env.update(
        LLM_BASE_URL=settings.LLM_BASE_URL,
        LLM_MODEL=settings.LLM_MODEL,
        LLM_API_KEY=settings.LLM_API_KEY,
        PYTHONUNBUFFERED="1",
    )
    return env


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-MESSAGE_LINES:])[-MESSAGE_CHARS:]


def _heartbeat(job_id: int) -> None:
    InferenceJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def _stop_requested(job_id: int) -> bool:
    return InferenceJob.objects.filter(pk=job_id, stop_requested_at__isnull=False).exists()


def _run_command(job_id: int, argv: list[str], folder: Path) -> int:
    """Run one command line to its end, touching the job meanwhile; returns its exit code."""
    logger.info("inference job %s: %s", job_id, " ".join(argv[1:]))
    with (
        (folder / STDOUT_FILE).open("ab") as stdout,
        (folder / STDERR_FILE).open("ab") as stderr,
    ):
        process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=command_env(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            # Its own session: a signal meant for the worker is not the job's (it stops cleanly
            # on SIGTERM, and a rerun continues).
            start_new_session=True,
        )
        last_beat = time.monotonic()
        while True:
            try:
                return process.wait(timeout=STOP_POLL_S)
            except subprocess.TimeoutExpired:
                pass
            if _stop_requested(job_id) and process.poll() is None:
                # The command saves its state and exits on SIGTERM; a resume continues it.
                process.send_signal(signal.SIGTERM)
                return process.wait()
            if time.monotonic() - last_beat >= HEARTBEAT_S:
                _heartbeat(job_id)
                last_beat = time.monotonic()


def _outcome(code: int) -> str:
    if code == EXIT_OK:
        return Status.DONE
    if code == EXIT_BUDGET:
        return Status.STOPPED_BUDGET
    return Status.FAILED


def inference_job_run(*, job_id: int) -> str | None:
    """The task's body: claim the job, run its commands, record how they ended. Returns the
    final status, or None when the job was not queued (a redelivered task does nothing)."""
    if not _claim(job_id):
        return None
    job = InferenceJob.objects.select_related("snapshot").get(pk=job_id)
    this_run = job.runs  # the final update is this run's only: a resumed job is a new run
    folder = job_dir(job)
    code = EXIT_FAILED
    message = ""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        InferenceJob.objects.filter(pk=job_id).update(output_dir=str(folder))
        # The same document as the `json` export; rewritten on resume (snapshots are immutable).
        (folder / SNAPSHOT_FILE).write_text(
            json.dumps(job.snapshot.document, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        for argv in commands_for(job, folder):
            code = _run_command(job_id, argv, folder)
            message = _tail(folder / STDERR_FILE) if code else ""
            if code != EXIT_OK or _stop_requested(job_id):
                break
        if code == EXIT_OK:
            message = _last_summary(folder / STDERR_FILE)
    except Exception as exc:  # the job failed, not the worker: record it and carry on
        logger.exception("inference job %s could not run", job_id)
        message = f"The job could not run: {exc}"
        code = EXIT_FAILED
    status = Status.STOPPED if _stop_requested(job_id) and code != EXIT_OK else _outcome(code)
    if status == Status.STOPPED:
        message = "Stopped by a researcher; resume to continue where it stopped."
    InferenceJob.objects.filter(pk=job_id, status=Status.RUNNING, runs=this_run).update(
        status=status,
        exit_code=code,
        message=message,
        finished_at=timezone.now(),
        heartbeat_at=None,
    )
    return status


def _last_summary(path: Path) -> str:
    """The command's one-line summary of a finished run ("Complete: …", "Targets for …")."""
    for line in reversed(_tail(path).splitlines()):
        if line.startswith(("Complete", "Targets for")):
            return line
    return ""
