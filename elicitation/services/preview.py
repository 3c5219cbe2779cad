"""Writes for a staff member's preview of a study: the journey as a participant sees it,
without an invite code, a place in the quota, or answers that count.

A preview participant is a `Participant` with `is_preview`: every journey page and write
works for them whatever the study's state (a draft can be tried before it opens). What they
leave never counts: the quota, the staff counts and the graph's snapshots leave them out,
and their cards are never canonicalised, so no other participant is shown a preview's value.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from elicitation.errors import ApplicationError
from elicitation.models import Participant, Study


@transaction.atomic
def participant_preview_start(*, study_id: int, user_id: int) -> Participant:
    """A new preview participant for the staff member `user_id`, consented as of now to the
    study's current consent text. Each preview starts afresh at the first step."""
    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        raise ApplicationError("unknown_study", "There is no such study.")
    return Participant.objects.create(
        study=study,
        user_id=user_id,
        is_preview=True,
        consented_at=timezone.now(),
        consent_version=study.consent_version,
    )
