"""Writes to studies themselves: opening and closing them to participants."""

from __future__ import annotations

from django.db import transaction

from elicitation.errors import ApplicationError
from elicitation.models import Study


@transaction.atomic
def study_status_set(*, study_ids: list[int], status: str) -> int:
    """Move the studies to `status` (draft, open or closed). Returns how many changed; a study
    already at that status is left as it is."""
    if status not in Study.Status.values:
        raise ApplicationError("bad_status", f"Unknown study status {status!r}.")
    return Study.objects.filter(pk__in=study_ids).exclude(status=status).update(status=status)
