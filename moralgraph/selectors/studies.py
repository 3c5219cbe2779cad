"""The researcher pages' view of studies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max

from moralgraph import studies
from moralgraph.models import (
    GraphSnapshot,
    UpgradeVote,
    Value,
)


@dataclass(frozen=True)
class StudyOverview:
    id: int
    slug: str
    title: str
    status: str
    visibility: str
    participants: int
    cards: int
    values: int
    votes: int
    snapshots: int
    latest_snapshot_at: datetime | None


def studies_overview() -> list[StudyOverview]:
    """Every study with its counts. One grouped query per relation, so the counts never
    multiply through a join of votes with cards."""
    participants, cards = studies.participant_and_card_counts()
    values = dict(
        Value.objects.values("study_id")
        .annotate(n=Count("id"))
        .values_list("study_id", "n")
        .order_by()
    )
    votes = dict(
        UpgradeVote.objects.exclude(participant_id__in=studies.preview_participant_ids())
        .values("study_id")
        .annotate(n=Count("id"))
        .values_list("study_id", "n")
        .order_by()
    )
    snapshots = {
        row["study_id"]: (row["n"], row["latest"])
        for row in GraphSnapshot.objects.values("study_id")
        .annotate(n=Count("id"), latest=Max("created_at"))
        .order_by()
    }
    return [
        StudyOverview(
            id=study.id,
            slug=study.slug,
            title=study.title,
            status=study.status,
            visibility=study.visibility,
            participants=participants.get(study.id, 0),
            cards=cards.get(study.id, 0),
            values=values.get(study.id, 0),
            votes=votes.get(study.id, 0),
            snapshots=snapshots.get(study.id, (0, None))[0],
            latest_snapshot_at=snapshots.get(study.id, (0, None))[1],
        )
        for study in studies.study_refs()
    ]


def study_by_slug(*, slug: str) -> studies.StudyRef | None:
    """The study with this slug, or None."""
    return studies.study_ref_by_slug(slug=slug)
