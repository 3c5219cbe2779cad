"""Writes of a study's contexts and of its values' moderation status."""

from __future__ import annotations

from django.db import transaction

from moralgraph.errors import MoralGraphError
from moralgraph.models import (
    Context,
    Value,
)
from moralgraph.services.snapshots import snapshot_rebuild_request


@transaction.atomic
def context_ensure(
    *, study_id: int, text: str, question_ids: list[int], origin: str = Context.Origin.CURATED
) -> int:
    """The study's context with this text, linked to these questions (created once); its id."""
    context, _ = Context.objects.get_or_create(
        study_id=study_id, text=text, defaults={"origin": origin}
    )
    context.questions.add(*question_ids)
    return context.pk


@transaction.atomic
def values_status_set(*, value_ids: list[int], status: str) -> int:
    """Hide values from the graph (moderation) or show them again; every study touched gets
    its live graph rebuilt. Returns how many values changed."""
    if status not in Value.Status.values:
        raise MoralGraphError("bad_status", f"Unknown value status {status!r}.")
    changing = Value.objects.filter(pk__in=value_ids).exclude(status=status)
    study_ids = set(changing.values_list("study_id", flat=True))
    changed = changing.update(status=status)
    for study_id in sorted(study_ids):
        snapshot_rebuild_request(study_id=study_id)
    return changed
