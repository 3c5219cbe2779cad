"""Reads of superseded snapshots (a participant they counted withdrew or was erased) and of
the inference jobs made from them, which the study's research page lists as affected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from moralgraph.models import InferenceJob, SnapshotSupersession


@dataclass(frozen=True)
class Supersession:
    snapshot_id: int
    reason: str
    participants_removed: int
    created_at: datetime


@dataclass(frozen=True)
class AffectedJob:
    """An inference job whose snapshot was superseded: its outputs were made from a graph
    that counted someone who has since left."""

    job_id: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    output_dir: str
    snapshot_id: int
    superseded_at: datetime


def snapshot_supersession(*, snapshot_id: int) -> Supersession | None:
    """The snapshot's supersession mark, or None while it serves normally."""
    mark = SnapshotSupersession.objects.filter(snapshot_id=snapshot_id).first()
    if mark is None:
        return None
    return Supersession(
        snapshot_id=mark.snapshot_id,
        reason=mark.reason,
        participants_removed=mark.participants_removed,
        created_at=mark.created_at,
    )


def superseded_snapshot_ids(*, study_id: int) -> set[int]:
    rows = SnapshotSupersession.objects.filter(snapshot__study_id=study_id)
    return set(rows.values_list("snapshot_id", flat=True))


def affected_inference_jobs(*, study_id: int) -> list[AffectedJob]:
    """The study's inference jobs made from a superseded snapshot, newest first."""
    jobs = (
        InferenceJob.objects.filter(
            snapshot__study_id=study_id, snapshot__supersession__isnull=False
        )
        .select_related("snapshot__supersession")
        .order_by("-created_at", "-id")
    )
    return [
        AffectedJob(
            job_id=job.pk,
            kind=job.kind,
            kind_label=job.get_kind_display(),
            status=job.status,
            status_label=job.get_status_display(),
            output_dir=job.output_dir,
            snapshot_id=job.snapshot_id,
            superseded_at=job.snapshot.supersession.created_at,
        )
        for job in jobs
    ]
