"""Reads for who may see which study: the rule itself lives in elicitation/staff/access.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from elicitation.models import StudyMembership


@dataclass(frozen=True)
class StudyMemberRow:
    user_id: int
    username: str
    added_by: str
    created_at: datetime


def member_study_ids(*, user_id: int) -> set[int]:
    """The ids of the studies the user is a researcher of."""
    rows = StudyMembership.objects.filter(user_id=user_id).values_list("study_id", flat=True)
    return set(rows)


def study_members(*, study_id: int) -> list[StudyMemberRow]:
    """The study's researchers, in the order they were added."""
    rows = (
        StudyMembership.objects.filter(study_id=study_id)
        .select_related("user", "added_by")
        .order_by("created_at", "id")
    )
    return [
        StudyMemberRow(
            user_id=m.user_id,
            username=m.user.get_username(),
            added_by=m.added_by.get_username() if m.added_by else "",
            created_at=m.created_at,
        )
        for m in rows
    ]
