"""Reads of the pipeline's progress: which values still wait for an upgrade story, whether the
live snapshot lags the votes, and when the periodic sweep last ran."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from moralgraph import studies
from moralgraph.models import (
    Context,
    GraphRebuildState,
    GraphSnapshot,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)
from moralgraph.selectors.integrity import exclusions_out_of_step

SWEEP_STAMP = "pipeline-sweep.txt"
# As long as a rebuild may hold its claim (the rebuild's own lease).
REBUILD_LEASE = timedelta(minutes=10)


def context_value_ids(*, context_id: int) -> list[int]:
    """The active values that participants' cards on the context's questions became."""
    context = Context.objects.get(pk=context_id)
    question_ids = list(context.questions.values_list("id", flat=True))
    from_cards = studies.card_value_ids(question_ids=question_ids)
    rows = Value.objects.filter(
        study_id=context.study_id, status=Value.Status.ACTIVE, pk__in=from_cards
    ).values_list("id", flat=True)
    return sorted(rows)


def fresh_value_ids(*, context_id: int) -> list[int]:
    """The context's values that appear in no story of that context yet."""
    storied = UpgradeHypothesis.objects.filter(context_id=context_id)
    seen = set(storied.values_list("from_value_id", flat=True))
    seen |= set(storied.values_list("to_value_id", flat=True))
    return [pk for pk in context_value_ids(context_id=context_id) if pk not in seen]


def snapshot_is_stale(*, study_id: int) -> bool:
    """Whether a vote changed after the newest snapshot and after the last finished rebuild (a
    rebuild whose graph did not change writes no new snapshot), with no rebuild running."""
    newest_vote = UpgradeVote.objects.filter(study_id=study_id).aggregate(t=Max("updated_at"))["t"]
    if newest_vote is None:
        return False
    snapshots = GraphSnapshot.objects.filter(study_id=study_id)
    newest_snapshot = snapshots.aggregate(t=Max("created_at"))["t"]
    # A quarantine or release casts no vote: the live snapshot is stale too when it left out
    # other participants than the graph leaves out now.
    if (
        newest_snapshot is not None
        and newest_snapshot >= newest_vote
        and not exclusions_out_of_step(study_id=study_id)
    ):
        return False
    state = GraphRebuildState.objects.filter(study_id=study_id).first()
    if state is None:
        return True
    lease_start = timezone.now() - REBUILD_LEASE
    if state.running_since is not None and state.running_since > lease_start:
        return False
    is_built = state.built_seq >= state.requested_seq and state.updated_at >= newest_vote
    return not is_built


def sweep_stamp_path() -> Path:
    return Path(settings.VAR_DIR) / SWEEP_STAMP


def last_sweep_at() -> datetime | None:
    """When the sweep last ran (a file under VAR_DIR, which worker and web share), or None."""
    try:
        return datetime.fromisoformat(sweep_stamp_path().read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class PipelineProgress:
    cards_without_value: int
    contexts: int
    contexts_without_stories: int
    values_without_stories: int
    stories: int
    is_snapshot_stale: bool
    last_sweep_at: datetime | None


def pipeline_progress(*, study_id: int) -> PipelineProgress:
    """What is still waiting at each step, for the researcher page."""
    # Only approved contexts are used; proposed and rejected ones wait for no step.
    approved = Context.objects.filter(study_id=study_id, status=Context.Status.APPROVED)
    context_ids = list(approved.values_list("id", flat=True))
    storied = set(
        UpgradeHypothesis.objects.filter(study_id=study_id).values_list("context_id", flat=True)
    )
    waiting: set[int] = set()
    for context_id in context_ids:
        waiting |= set(fresh_value_ids(context_id=context_id))
    return PipelineProgress(
        cards_without_value=studies.cards_without_value_count(study_id=study_id),
        contexts=len(context_ids),
        contexts_without_stories=sum(1 for pk in context_ids if pk not in storied),
        values_without_stories=len(waiting),
        stories=UpgradeHypothesis.objects.filter(study_id=study_id).count(),
        is_snapshot_stale=snapshot_is_stale(study_id=study_id),
        last_sweep_at=last_sweep_at(),
    )
