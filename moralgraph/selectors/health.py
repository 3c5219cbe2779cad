"""What /healthz reads of the graph: how long the oldest vote not yet in a live snapshot has
been waiting (the rebuild queue's lag)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Max, Min
from django.utils import timezone

from moralgraph.models import GraphRebuildState, GraphSnapshot, UpgradeVote


@dataclass(frozen=True)
class RebuildLag:
    seconds: float
    study_id: int | None
    pending: int  # studies whose live snapshot is behind their requests


def rebuild_lag(*, now: datetime | None = None) -> RebuildLag:
    """The age of the oldest pending rebuild: over the studies with a request newer than their
    last build, how long ago the oldest vote their live snapshot lacks was cast (or, with no
    such vote, the request was made). Zero when nothing waits."""
    now = now or timezone.now()
    behind = GraphRebuildState.objects.filter(requested_seq__gt=F("built_seq"))
    worst = RebuildLag(0.0, None, 0)
    count = 0
    for state in behind.only("study_id", "updated_at"):
        count += 1
        live = GraphSnapshot.objects.filter(study_id=state.study_id, is_live=True)
        newest = live.aggregate(t=Max("created_at"))["t"]
        votes = UpgradeVote.objects.filter(study_id=state.study_id)
        if newest is not None:
            votes = votes.filter(updated_at__gt=newest)
        since = votes.aggregate(t=Min("updated_at"))["t"] or state.updated_at
        age = max((now - since).total_seconds(), 0.0)
        if age > worst.seconds:
            worst = RebuildLag(age, state.study_id, 0)
    return RebuildLag(worst.seconds, worst.study_id, count)
