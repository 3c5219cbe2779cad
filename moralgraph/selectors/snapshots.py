"""Reads of stored snapshots and of the live rebuild's state."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from moralgraph.models import (
    GraphRebuildState,
    GraphSnapshot,
)


def snapshot_get(*, study_id: int, snapshot_id: int | None = None) -> GraphSnapshot | None:
    """A snapshot of the study by id, or its newest one."""
    snapshots = GraphSnapshot.objects.filter(study_id=study_id)
    if snapshot_id is not None:
        return snapshots.filter(pk=snapshot_id).first()
    return snapshots.order_by("-created_at", "-id").first()


def snapshot_live_get(*, study_id: int) -> GraphSnapshot | None:
    """The graph that follows the votes: the newest live snapshot, else (a study built only
    from the command line, or before live snapshots were marked) the newest unnamed one.
    Named snapshots, with a researcher's own parameters or cut-off, are never it."""
    unnamed = GraphSnapshot.objects.filter(study_id=study_id, name="")
    newest = ("-created_at", "-id")
    return (
        unnamed.filter(is_live=True).order_by(*newest).first() or unnamed.order_by(*newest).first()
    )


def snapshot_by_name(*, study_id: int, name: str) -> GraphSnapshot | None:
    """The study's snapshot of that name (names are unique per study; "" names none)."""
    if not name.strip():
        return None
    return GraphSnapshot.objects.filter(study_id=study_id, name=name.strip()).first()


def snapshot_document_get(snapshot: GraphSnapshot) -> dict[str, Any]:
    document: dict[str, Any] = snapshot.document
    return document


def snapshot_history(*, study_id: int) -> list[GraphSnapshot]:
    """The study's snapshots, newest first, without their (large) documents."""
    return list(
        GraphSnapshot.objects.filter(study_id=study_id)
        .defer("document_zlib")
        .order_by("-created_at", "-id")
    )


def snapshot_predecessor(*, snapshot: GraphSnapshot) -> GraphSnapshot | None:
    """The study's snapshot written just before this one."""
    return (
        GraphSnapshot.objects.filter(study_id=snapshot.study_id)
        .filter(
            Q(created_at__lt=snapshot.created_at)
            | Q(created_at=snapshot.created_at, id__lt=snapshot.pk)
        )
        .order_by("-created_at", "-id")
        .first()
    )


def rebuild_state_get(*, study_id: int) -> GraphRebuildState | None:
    return GraphRebuildState.objects.filter(study_id=study_id).first()
