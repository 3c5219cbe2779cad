"""Reads for withdrawal and erasure: the participant a staff member names by their withdrawal
code or public id, and what erasing them would remove."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from elicitation.models import ModerationAction, Participant


@dataclass(frozen=True)
class ErasureTarget:
    participant_id: int
    public_id: str
    is_preview: bool
    withdrawn_at: datetime | None
    cards: int
    interviews: int
    survey_answers: int


def withdrawal_code_normalise(code: str) -> str:
    """A code as typed: spaces and dashes anywhere, any case, with or without the "W-"."""
    letters = "".join(ch for ch in code.upper() if ch.isalnum())
    if letters.startswith("W") and len(letters) == 11:
        letters = letters[1:]
    return f"W-{letters}" if letters else ""


def erasure_target(*, study_id: int, key: str) -> ErasureTarget | None:
    """The study's participant whose public id or withdrawal code is `key`, else None."""
    key = key.strip()
    rows = Participant.objects.filter(study_id=study_id)
    try:
        participant = rows.filter(public_id=uuid.UUID(key)).first()
    except ValueError:
        code = withdrawal_code_normalise(key)
        participant = rows.filter(withdrawal_code=code).first() if code else None
    if participant is None:
        return None
    return ErasureTarget(
        participant_id=participant.pk,
        public_id=str(participant.public_id),
        is_preview=participant.is_preview,
        withdrawn_at=participant.withdrawn_at,
        cards=participant.cards.count(),
        interviews=participant.interviews.count(),
        survey_answers=participant.survey_responses.count(),
    )


@dataclass(frozen=True)
class ErasureLogRow:
    action: str
    action_label: str
    public_id: str
    actor: str
    reason: str
    created_at: datetime


def erasure_log(*, study_id: int, limit: int = 50) -> list[ErasureLogRow]:
    """The study's withdrawals and erasures, newest first (no words of the participant's)."""
    actions = (
        ModerationAction.objects.filter(
            study_id=study_id,
            action__in=[ModerationAction.Action.WITHDRAWN, ModerationAction.Action.ERASED],
        )
        .select_related("participant", "actor")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        ErasureLogRow(
            action=a.action,
            action_label=a.get_action_display(),
            public_id=str(a.participant.public_id) if a.participant else "",
            actor=a.actor.get_username() if a.actor else "",
            reason=a.reason,
            created_at=a.created_at,
        )
        for a in actions
    ]


def withdrawal_code_known(*, study_id: int, code: str) -> bool:
    """Whether the code belongs to a participation in the study (withdrawn already or not)."""
    normalised = withdrawal_code_normalise(code)
    if not normalised:
        return False
    return Participant.objects.filter(study_id=study_id, withdrawal_code=normalised).exists()
