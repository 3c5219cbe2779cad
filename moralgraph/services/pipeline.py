"""The pipeline that runs by itself: once a context of a question has enough values without an
upgrade story, story generation is requested for it; a periodic sweep catches what was missed
(a lost task, a crashed worker) and keeps the live snapshot in step with the votes.

Story requests are idempotent twice over: the run id is derived from the context and its set
of values without stories (a repeated request names the same run, and a run that has stored
stories is not generated again), and generation re-checks under a lock on the context that
no pair has a story already, so overlapping runs never store a pair twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from celery import current_app
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from moralgraph import studies
from moralgraph.models import Context, UpgradeHypothesis
from moralgraph.selectors.pipeline import fresh_value_ids, snapshot_is_stale, sweep_stamp_path
from moralgraph.services import generation
from moralgraph.services.rebuild_lock import rebuild_is_orphaned
from moralgraph.services.snapshots import snapshot_rebuild_force

# A context gets stories once at least this many of its values have none yet.
STORY_THRESHOLD = 2
STORIES_TASK = "moralgraph.tasks.context_stories_generate"


def _approved(study_id: int) -> QuerySet[Context]:
    """The study's contexts in use: proposed and rejected ones get no stories."""
    return Context.objects.filter(study_id=study_id, status=Context.Status.APPROVED)


def story_run_id(*, context_id: int, value_ids: list[int]) -> str:
    """One run id per context and set of values: a repeated request names the same run."""
    key = f"{context_id}:{','.join(str(pk) for pk in sorted(value_ids))}"
    return "auto-" + hashlib.sha256(key.encode()).hexdigest()[:24]


@transaction.atomic
def context_stories_request_if_due(
    *, study_id: int, context_id: int, threshold: int = STORY_THRESHOLD
) -> str | None:
    """Request story generation for the context (sent after commit) when at least `threshold`
    of its values have no story yet. Returns the run id, or None when not due."""
    fresh = fresh_value_ids(context_id=context_id)
    if len(fresh) < max(threshold, 1):
        return None
    run_id = story_run_id(context_id=context_id, value_ids=fresh)
    args = [study_id, context_id, run_id]
    transaction.on_commit(lambda: current_app.send_task(STORIES_TASK, args=args), robust=True)
    return run_id


def stories_request_if_due(*, study_id: int, question_id: int | None) -> list[str]:
    """After a card got its value: request stories for each due context of its question."""
    if question_id is None:
        return []
    contexts = _approved(study_id).filter(questions=question_id).order_by("id")
    runs = [
        context_stories_request_if_due(study_id=study_id, context_id=pk)
        for pk in contexts.values_list("id", flat=True)
    ]
    return [run for run in runs if run is not None]


def study_stories_request(*, study_id: int) -> list[str]:
    """Staff ask for stories now: every context with at least one value without a story."""
    contexts = _approved(study_id).order_by("id")
    runs = [
        context_stories_request_if_due(study_id=study_id, context_id=pk, threshold=1)
        for pk in contexts.values_list("id", flat=True)
    ]
    return [run for run in runs if run is not None]


def context_stories_generate(
    *, study_id: int, context_id: int, run_id: str
) -> list[UpgradeHypothesis]:
    """The story task's body: generate for the context's values without stories (read now,
    not when requested), unless this run has stored its stories already."""
    done = list(UpgradeHypothesis.objects.filter(context_id=context_id, run_id=run_id))
    if not _approved(study_id).filter(pk=context_id).exists():
        return done  # rejected (or not yet approved) since the request: nothing to generate
    fresh = fresh_value_ids(context_id=context_id)
    if done or not fresh:
        return done
    return generation.hypotheses_generate(
        study_id=study_id, context_id=context_id, run_id=run_id, fresh_value_ids=fresh
    )


@dataclass(frozen=True)
class SweepReport:
    studies: int
    story_requests: int
    rebuilds: int


def pipeline_sweep() -> SweepReport:
    """The periodic sweep over open studies (the reconciler): request stories for due
    contexts, rebuild stale live snapshots (sending the task even if one is marked queued or
    claimed by a worker that died, in case it was lost); then stamp the time, which the
    researcher page shows."""
    open_ids = [s.id for s in studies.study_refs() if s.status == "open"]
    requests = rebuilds = 0
    for study_id in open_ids:
        context_ids = _approved(study_id).values_list("id", flat=True)
        for context_id in context_ids:
            run = context_stories_request_if_due(study_id=study_id, context_id=context_id)
            requests += run is not None
        # A claim whose worker died (killed mid-build) counts as stale too, whatever the state
        # says: its rebuild is sent again and the new worker takes the claim over.
        if snapshot_is_stale(study_id=study_id) or rebuild_is_orphaned(study_id=study_id):
            snapshot_rebuild_force(study_id=study_id)
            rebuilds += 1
    stamp = sweep_stamp_path()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(timezone.now().isoformat())
    return SweepReport(len(open_ids), requests, rebuilds)


CARDS_TASK = "elicitation.tasks.study_cards_canonicalise"
SWEEP_TASK = "moralgraph.tasks.pipeline_sweep"


@transaction.atomic
def study_cards_canonicalise_request(*, study_id: int) -> None:
    """Staff ask for the study's cards without a value to be canonicalised (elicitation's
    task, sent by name after commit: it owns the cards)."""
    transaction.on_commit(lambda: current_app.send_task(CARDS_TASK, args=[study_id]), robust=True)


@transaction.atomic
def pipeline_sweep_request() -> None:
    """Staff ask for the sweep to run now rather than at its next beat."""
    transaction.on_commit(lambda: current_app.send_task(SWEEP_TASK), robust=True)
