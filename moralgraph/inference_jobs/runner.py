"""Running a claimed inference job: the body of the `inference_job_run` task.

`inference`'s targets, datasets and evaluation read only a snapshot file and never the
database, so a worker runs a job the way a GPU host would: it writes the snapshot's JSON
document into the job's folder and runs `python -m inference …` on it as a subprocess. The
command keeps its own resumable state beside its output (`manifest.json` and the JSONL files),
so resuming a job is running the same command again in the same folder. Meanwhile the runner
touches the job (a heartbeat) and watches for a researcher's stop request; at the end it
records how the run ended.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from moralgraph.inference_jobs.rules import (
    DATASET_KINDS,
    EXIT_FAILED,
    EXIT_OK,
    OUTPUT_DIR,
    SNAPSHOT_FILE,
    STDERR_FILE,
    STDOUT_FILE,
    Kind,
    Status,
    job_parameters,
    status_for_exit,
)
from moralgraph.inference_jobs.services import inference_job_claim
from moralgraph.models import InferenceJob

logger = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
# How often a running job looks for a researcher's stop request.
STOP_POLL_S = 1.0
MESSAGE_LINES = 12
MESSAGE_CHARS = 4000
STOPPED_MESSAGE = "Stopped by a researcher; resume to continue where it stopped."


def job_dir(job: InferenceJob) -> Path:
    """The job's folder: the one it ran in before (resume), else a new one under VAR_DIR."""
    if job.output_dir:
        return Path(job.output_dir)
    return Path(settings.VAR_DIR) / "jobs" / str(job.pk)


def commands_for(job: InferenceJob, folder: Path) -> list[list[str]]:
    """The `python -m inference` command lines of a job, run in order in its folder."""
    p = job_parameters(job.kind, job.parameters)
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


def _last_summary(path: Path) -> str:
    """The command's one-line summary of a finished run ("Complete: …", "Targets for …")."""
    for line in reversed(_tail(path).splitlines()):
        if line.startswith(("Complete", "Targets for")):
            return line
    return ""


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


def _prepare(job: InferenceJob, folder: Path) -> None:
    """The job's folder, recorded on the job, with the snapshot's document in it."""
    folder.mkdir(parents=True, exist_ok=True)
    InferenceJob.objects.filter(pk=job.pk).update(output_dir=str(folder))
    # The same document as the `json` export; rewritten on resume (snapshots are immutable).
    (folder / SNAPSHOT_FILE).write_text(
        json.dumps(job.snapshot.document, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


def _run_commands(job: InferenceJob, folder: Path) -> tuple[int, str]:
    """Run the job's commands in order until one fails or a stop is asked for; returns the
    last exit code and what to tell the researcher."""
    code, message = EXIT_FAILED, ""
    for argv in commands_for(job, folder):
        code = _run_command(job.pk, argv, folder)
        message = _tail(folder / STDERR_FILE) if code else ""
        if code != EXIT_OK or _stop_requested(job.pk):
            break
    if code == EXIT_OK:
        message = _last_summary(folder / STDERR_FILE)
    return code, message


def _finish(job_id: int, this_run: int, code: int, message: str) -> str:
    """Record how the run ended, if the job is still this run's (a resumed job is a new
    run). Returns the final status."""
    status = status_for_exit(code)
    if code != EXIT_OK and _stop_requested(job_id):
        status, message = Status.STOPPED, STOPPED_MESSAGE
    InferenceJob.objects.filter(pk=job_id, status=Status.RUNNING, runs=this_run).update(
        status=status,
        exit_code=code,
        message=message,
        finished_at=timezone.now(),
        heartbeat_at=None,
    )
    return status


def inference_job_run(*, job_id: int) -> str | None:
    """The task's body: claim the job, run its commands, record how they ended. Returns the
    final status, or None when the job was not queued (a redelivered task does nothing)."""
    if not inference_job_claim(job_id=job_id):
        return None
    job = InferenceJob.objects.select_related("snapshot").get(pk=job_id)
    folder = job_dir(job)
    try:
        _prepare(job, folder)
        code, message = _run_commands(job, folder)
    except Exception as exc:  # the job failed, not the worker: record it and carry on
        logger.exception("inference job %s could not run", job_id)
        code, message = EXIT_FAILED, f"The job could not run: {exc}"
    return _finish(job_id, job.runs, code, message)
