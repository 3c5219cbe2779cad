"""Named snapshots: a researcher's build with chosen parameters, kept forever (the live
graph's snapshots, in `snapshots`, keep only the newest)."""

from __future__ import annotations

from datetime import datetime

from celery import current_app
from django.db import transaction

from moralgraph.errors import MoralGraphError
from moralgraph.graph import Params
from moralgraph.models import MAX_SNAPSHOT_NAME, GraphSnapshot
from moralgraph.services.snapshot_documents import iso_utc
from moralgraph.services.snapshots import NAME_TAKEN, snapshot_build

NAMED_BUILD_TASK = "moralgraph.tasks.snapshot_build_named"


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_SNAPSHOT_NAME:
        raise MoralGraphError(
            "bad_name", f"A snapshot's name has 1 to {MAX_SNAPSHOT_NAME} characters."
        )
    return name


@transaction.atomic
def snapshot_build_named_request(
    *, study_id: int, name: str, params: Params, before: datetime | None = None
) -> str:
    """A researcher asks for a named snapshot with chosen parameters: checks the name is free
    and sends the build to a worker after commit. Returns the (trimmed) name."""
    name = _checked_name(name)
    if GraphSnapshot.objects.filter(study_id=study_id, name=name).exists():
        raise MoralGraphError("name_taken", NAME_TAKEN.format(name=name))
    moment = iso_utc(before) if before is not None else None
    args = [study_id, name, params.as_dict(), moment]
    transaction.on_commit(lambda: current_app.send_task(NAMED_BUILD_TASK, args=args), robust=True)
    return name


def snapshot_build_named(
    *,
    study_id: int,
    name: str,
    params: Params,
    before: datetime | None = None,
    question_ids: list[int] | None = None,
    excluded_participant_ids: list[int] | None = None,
) -> GraphSnapshot:
    """Build a named snapshot, kept forever (the named-build task's body, and `build_graph
    --name`). Idempotent by name: when the study has a snapshot of that name, it is returned,
    so a redelivered task does not fail on the name its first run took."""
    name = _checked_name(name)
    existing = GraphSnapshot.objects.filter(study_id=study_id, name=name).first()
    if existing is not None:
        return existing
    return snapshot_build(
        study_id=study_id,
        params=params,
        before=before,
        question_ids=question_ids,
        excluded_participant_ids=excluded_participant_ids,
        name=name,
    )
