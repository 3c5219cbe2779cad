"""Background entry points: they take ids and call one service.

Queues are assigned in `config/celery.py`. `light`: the live snapshot rebuild (idempotent: a pure recompute, stored once per content
hash, with a compare-and-set claim that coalesces bursts). `llm`: work that waits on a model,
retried with backoff on transient model errors only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import shared_task

from inference.gateway import LLM_TASK_RETRY, TRANSIENT_ERRORS
from moralgraph.errors import MoralGraphError
from moralgraph.graph import Params
from moralgraph.inference_jobs import runner
from moralgraph.services import generation, named_snapshots, pipeline, snapshots, translations

_retry: Any = LLM_TASK_RETRY


@shared_task(acks_late=True, reject_on_worker_lost=True)
def snapshot_rebuild(study_id: int) -> int | None:
    snapshot = snapshots.snapshot_rebuild_run(study_id=study_id)
    return snapshot.pk if snapshot is not None else None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def snapshot_build_named(
    study_id: int, name: str, parameters: dict[str, Any], before: str | None
) -> int:
    # Idempotent by name: a second run returns the snapshot the first one stored.
    snapshot = named_snapshots.snapshot_build_named(
        study_id=study_id,
        name=name,
        params=Params.from_dict(parameters),
        before=datetime.fromisoformat(before) if before else None,
    )
    return snapshot.pk


@shared_task(**_retry)
def contexts_generate(study_id: int, question_id: int, count: int = 5) -> list[int]:
    # Idempotent: contexts are unique per study and text.
    contexts = generation.contexts_generate(study_id=study_id, question_id=question_id, count=count)
    return [c.pk for c in contexts]


@shared_task(**_retry)
def hypotheses_generate(study_id: int, context_id: int, run_id: str) -> list[int]:
    # Idempotent per run id: hypotheses are unique per (from, to, context, run).
    hypotheses = generation.hypotheses_generate(
        study_id=study_id, context_id=context_id, run_id=run_id
    )
    return [h.pk for h in hypotheses]


@shared_task
def inference_job_run(job_id: int) -> str | None:
    # Idempotent: a compare-and-set claim (queued → running), so a redelivered or duplicated
    # task does nothing. Not acks_late: a job may run for hours, past the broker's visibility
    # timeout; a lost worker shows as a stale heartbeat, and the page offers to resume.
    return runner.inference_job_run(job_id=job_id)


@shared_task(**_retry)
def context_stories_generate(study_id: int, context_id: int, run_id: str) -> list[int]:
    # Idempotent: a run that stored its stories is not generated again, and the write skips
    # any pair that already has a story in the context (under a lock on the context).
    hypotheses = pipeline.context_stories_generate(
        study_id=study_id, context_id=context_id, run_id=run_id
    )
    return [h.pk for h in hypotheses]


@shared_task(**_retry)
def value_translate(value_id: int, language: str) -> int | None:
    # Idempotent: a current translation (of the value's present wording) is not made again,
    # and the write is an upsert on (value, language).
    try:
        translation = translations.value_translate(value_id=value_id, language=language)
    except MoralGraphError as error:
        if isinstance(error.__cause__, TRANSIENT_ERRORS):
            raise error.__cause__ from error  # a timeout or an unavailable model: retried
        raise
    return translation.pk if translation is not None else None


@shared_task
def pipeline_sweep() -> dict[str, int]:
    # Idempotent: it only requests work that is due, and each request is idempotent itself.
    report = pipeline.pipeline_sweep()
    # Values still without a current translation (a lost task, a model that was down).
    translation_requests = translations.values_translations_sweep()
    return {
        "studies": report.studies,
        "story_requests": report.story_requests,
        "rebuilds": report.rebuilds,
        "translation_requests": translation_requests,
    }
