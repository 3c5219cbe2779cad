"""What a study's exports read of the graph's tables: every wise-value pick (a `Selection`:
a value shown to a participant, and whether they picked it) and the study's values. Ids and
small frozen dataclasses out; staff previews' picks are left out (nothing they do counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from moralgraph import studies
from moralgraph.models import Selection, Value


@dataclass(frozen=True)
class PickExportRow:
    participant_id: int
    value_id: int
    question_id: int | None
    draw_id: str
    is_picked: bool
    created_at: datetime


@dataclass(frozen=True)
class ValueExportRow:
    id: int
    title: str
    policies: tuple[str, ...]
    is_active: bool
    created_at: datetime


def pick_export_rows(*, study_id: int) -> list[PickExportRow]:
    """Every pick of the study, oldest first."""
    rows = (
        Selection.objects.filter(study_id=study_id)
        .exclude(participant_id__in=studies.preview_participant_ids(study_id=study_id))
        .order_by("created_at", "id")
        .values_list(
            "participant_id", "value_id", "question_id", "draw_id", "is_picked", "created_at"
        )
    )
    return [PickExportRow(*row) for row in rows.iterator(chunk_size=5000)]


def value_export_rows(*, study_id: int) -> list[ValueExportRow]:
    """The study's values (active or hidden), in id order."""
    rows = Value.objects.filter(study_id=study_id).order_by("id")
    return [
        ValueExportRow(
            id=value.pk,
            title=value.title,
            policies=tuple(str(policy) for policy in value.policies),
            is_active=value.status == Value.Status.ACTIVE,
            created_at=value.created_at,
        )
        for value in rows.only("id", "title", "policies", "status", "created_at")
    ]
