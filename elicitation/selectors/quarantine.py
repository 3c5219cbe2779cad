"""The quarantine log of a study: each quarantine and release, and the difference it made to
the graph (the live snapshot recorded with the action against the live one now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from elicitation.models import ModerationAction, Participant
from elicitation.selectors.integrity import FlaggedParticipant, flagged_participants
from moralgraph import selectors as graph_selectors

QUARANTINE_ACTIONS = (ModerationAction.Action.QUARANTINED, ModerationAction.Action.RELEASED)


@dataclass(frozen=True)
class QuarantineLogEntry:
    action_id: int
    action: str
    action_label: str
    participant_public_id: UUID | None
    actor: str
    reason: str
    created_at: datetime
    # The live snapshot when the action was taken (kept from compaction), and what changed
    # from it to the live one now; None when the study had no snapshot then.
    snapshot_id: int | None
    change: graph_selectors.SnapshotChange | None


def quarantine_log(*, study_id: int) -> list[QuarantineLogEntry]:
    """The study's quarantines and releases, newest first, each with its difference."""
    actions = list(
        ModerationAction.objects.filter(study_id=study_id, action__in=QUARANTINE_ACTIONS)
        .select_related("participant", "actor")
        .order_by("-created_at", "-id")
    )
    changes = graph_selectors.snapshot_changes_since(
        study_id=study_id,
        snapshot_ids=[a.snapshot_id for a in actions if a.snapshot_id is not None],
    )
    return [
        QuarantineLogEntry(
            action_id=a.pk,
            action=a.action,
            action_label=a.get_action_display(),
            participant_public_id=a.participant.public_id if a.participant else None,
            actor=a.actor.get_username() if a.actor else "",
            reason=a.reason,
            created_at=a.created_at,
            snapshot_id=a.snapshot_id,
            change=changes.get(a.snapshot_id) if a.snapshot_id is not None else None,
        )
        for a in actions
    ]


def integrity_rows(*, study_id: int) -> list[FlaggedParticipant]:
    """The staff page's participants: every flagged one, and every quarantined one whose flags
    have since gone (a withdrawn duplicate, say); those not set aside first, most flags first."""
    rows = flagged_participants(study_id=study_id)
    listed = {row.participant_id for row in rows}
    quarantined = Participant.objects.filter(
        study_id=study_id, quarantined_at__isnull=False
    ).exclude(pk__in=listed)
    rows += [
        FlaggedParticipant(
            participant_id=p.pk,
            public_id=p.public_id,
            flags=(),
            quarantined=True,
            quarantined_at=p.quarantined_at,
            quarantine_reason=p.quarantine_reason,
        )
        for p in quarantined
    ]
    return sorted(rows, key=lambda r: (r.quarantined, -len(r.flags), r.participant_id))


def study_participant_id(*, study_id: int, public_id: UUID) -> int | None:
    """The id of the study's participant with this public id (what staff pages name)."""
    return (
        Participant.objects.filter(study_id=study_id, public_id=public_id)
        .values_list("pk", flat=True)
        .first()
    )
