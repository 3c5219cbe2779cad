"""Manipulation signals: participants whose behaviour suggests they are not answering in good
faith (straight-lining, implausible speed, many participants from one browser or network,
duplicate cards). Staff see them flagged and may quarantine them."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class FlaggedParticipant:
    participant_id: int
    public_id: UUID
    flags: tuple[str, ...]
    quarantined: bool


def flagged_participants(*, study_id: int) -> list[FlaggedParticipant]:
    """Every participant of the study with at least one flag, quarantined or not."""
    return []
