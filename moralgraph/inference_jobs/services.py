"""State changes of inference jobs, one transaction each: start, resume and stop (from the
researcher pages) and the worker's compare-and-set claim. Running a claimed job is
`moralgraph.inference_jobs.runner`'s part."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from moralgraph.errors import MoralGraphError
from moralgraph.inference_jobs.rules import (
    NEEDS_LLM,
    Kind,
    Status,
    is_resumable,
    job_parameters,
    llm_is_configured,
)
from moralgraph.models import GraphSnapshot, InferenceJob, SnapshotSupersession

RUN_TASK = "moralgraph.tasks.inference_job_run"
SUPERSEDED = (
    "This snapshot is superseded (a participant it counted withdrew): make new outputs from "
    "the live graph instead."
)


def _refuse_superseded(snapshot_id: int) -> None:
    if SnapshotSupersession.objects.filter(snapshot_id=snapshot_id).exists():
        raise MoralGraphError("superseded", SUPERSEDED)


def _enqueue(job_id: int) -> None:
    # Sent by name: `moralgraph.tasks` imports the runner, which imports this module, so
    # importing the task here would make a circle. After commit, so the worker finds the row.
    transaction.on_commit(lambda: current_app.send_task(RUN_TASK, args=[job_id]), robust=True)


def _locked(job_id: int) -> InferenceJob:
    job = InferenceJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise MoralGraphError("not_found", "No such job.")
    return job


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
    checked = job_parameters(kind, parameters)
    if not GraphSnapshot.objects.filter(pk=snapshot_id).exists():
        raise MoralGraphError("not_found", "No such snapshot.")
    _refuse_superseded(snapshot_id)
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
    """Queue a failed, stopped or abandoned job again: the command continues from the state
    in its folder. The budget is per run: give the next run's, or None for none."""
    job = _locked(job_id)
    if not is_resumable(job):
        raise MoralGraphError(
            "not_resumable", f"This job is {job.get_status_display().lower()}: nothing to resume."
        )
    if job.kind in NEEDS_LLM and not llm_is_configured():
        raise MoralGraphError("offline", "No model server is configured (LLM_BASE_URL is empty).")
    _refuse_superseded(job.snapshot_id)
    job.parameters = job_parameters(
        job.kind, {**job.parameters, "max_tokens_total": max_tokens_total}
    ).as_json()
    job.status = Status.QUEUED
    job.message = ""
    job.stop_requested_at = None
    job.save(update_fields=["parameters", "status", "message", "stop_requested_at"])
    _enqueue(job.pk)
    return job


@transaction.atomic
def inference_job_stop(*, job_id: int) -> InferenceJob:
    """Stop a job: a queued one at once (its task then finds nothing to claim), a running one
    by asking its worker, which ends the command cleanly (its state is kept for a resume)."""
    job = _locked(job_id)
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


def inference_job_claim(*, job_id: int) -> bool:
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
