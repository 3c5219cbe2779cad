"""Quarantine: staff set aside a participant flagged as likely manipulation. Their votes stay
stored but the graph stops counting them (moralgraph's exclusion, which rebuilds the live
snapshot); releasing them counts them again. Each step is logged as a moderation action with
the live snapshot as it was, so the staff page can show the difference it made."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from elicitation.errors import ApplicationError
from elicitation.models import ModerationAction, Participant
from elicitation.services.dashboard import dashboard_notify
from moralgraph import services as graph_services

MAX_QUARANTINE_REASON = 2000


def _participant_locked(study_id: int, participant_id: int) -> Participant:
    participant = (
        Participant.objects.select_for_update().filter(pk=participant_id, study_id=study_id).first()
    )
    if participant is None:
        raise ApplicationError("unknown_participant", "No such participant in this study.")
    if participant.is_preview:
        raise ApplicationError(
            "preview_participant", "A staff preview counts nowhere: there is nothing to set aside."
        )
    return participant


def _exclusion_set(participant: Participant, *, excluded: bool, reason: str) -> int | None:
    try:
        change = graph_services.participant_exclusion_set(
            study_id=participant.study_id,
            participant_id=participant.pk,
            excluded=excluded,
            reason=reason,
        )
    except graph_services.MoralGraphError as exc:
        raise ApplicationError(exc.code, exc.message) from exc
    return change.snapshot_before_id


@transaction.atomic
def participant_quarantine(
    *, study_id: int, participant_id: int, actor_id: int | None, reason: str
) -> Participant:
    """Set the participant aside: the graph stops counting their votes (the live snapshot is
    rebuilt after commit). A reason is required; it is logged with who did it."""
    reason = reason.strip()[:MAX_QUARANTINE_REASON]
    if not reason:
        raise ApplicationError("reason_required", "Say why this participant is set aside.")
    participant = _participant_locked(study_id, participant_id)
    if participant.quarantined_at is not None:
        raise ApplicationError("already_quarantined", "This participant is already set aside.")
    snapshot_id = _exclusion_set(participant, excluded=True, reason=reason)
    participant.quarantined_at = timezone.now()
    participant.quarantine_reason = reason
    participant.save(update_fields=["quarantined_at", "quarantine_reason"])
    ModerationAction.objects.create(
        study_id=study_id,
        participant=participant,
        action=ModerationAction.Action.QUARANTINED,
        actor_id=actor_id,
        reason=reason,
        snapshot_id=snapshot_id,
    )
    dashboard_notify(study_id=study_id)
    return participant


@transaction.atomic
def participant_release(
    *, study_id: int, participant_id: int, actor_id: int | None, reason: str = ""
) -> Participant:
    """Count a quarantined participant's votes again (the live snapshot is rebuilt after
    commit); logged with who did it and why, when they said."""
    reason = reason.strip()[:MAX_QUARANTINE_REASON]
    participant = _participant_locked(study_id, participant_id)
    if participant.quarantined_at is None:
        raise ApplicationError("not_quarantined", "This participant is not set aside.")
    snapshot_id = _exclusion_set(participant, excluded=False, reason=reason)
    participant.quarantined_at = None
    participant.quarantine_reason = ""
    participant.save(update_fields=["quarantined_at", "quarantine_reason"])
    ModerationAction.objects.create(
        study_id=study_id,
        participant=participant,
        action=ModerationAction.Action.RELEASED,
        actor_id=actor_id,
        reason=reason,
        snapshot_id=snapshot_id,
    )
    dashboard_notify(study_id=study_id)
    return participant
