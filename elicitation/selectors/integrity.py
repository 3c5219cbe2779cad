"""Manipulation signals: participants whose behaviour suggests they are not answering in good
faith (straight-lining, implausible speed, many participants from one browser or network,
duplicate cards). Staff see them flagged and may quarantine them.

Each flag has a stable short code (what exports and the dashboard count) and a sentence for
people. The thresholds are settings (MGE_FLAG_*, config/settings.py). Staff previews and
withdrawn participants are never flagged: nothing of theirs counts anyway.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings

from elicitation.models import Participant, ValuesCard
from moralgraph import selectors as graph_selectors

FLAG_STRAIGHT_LINING = "straight_lining"
FLAG_SPEED = "speed"
FLAG_SHARED_BROWSER = "shared_browser"
FLAG_SHARED_NETWORK = "shared_network"
FLAG_DUPLICATE_CARD = "duplicate_card"

FLAG_LABELS = {
    FLAG_STRAIGHT_LINING: "Straight-lining",
    FLAG_SPEED: "Implausibly fast",
    FLAG_SHARED_BROWSER: "Shared browser",
    FLAG_SHARED_NETWORK: "Shared network",
    FLAG_DUPLICATE_CARD: "Duplicate card",
}

_CHOICE_LABELS = {"upgrade": "Yes, wiser", "no_upgrade": "No", "not_sure": "Not sure"}


@dataclass(frozen=True)
class FlaggedParticipant:
    participant_id: int
    public_id: UUID
    flags: tuple[str, ...]
    quarantined: bool
    # One sentence per flag, in the same order, saying what was seen.
    reasons: tuple[str, ...] = ()
    quarantined_at: datetime | None = None
    quarantine_reason: str = ""

    @property
    def explained(self) -> list[tuple[str, str, str]]:
        """(code, label, sentence) per flag, for the page."""
        return [
            (code, FLAG_LABELS.get(code, code), reason)
            for code, reason in zip(self.flags, self.reasons, strict=False)
        ]


def card_text_normalise(title: str, description: str) -> str:
    """A card's words, case, punctuation and spacing aside: what "the same card" compares."""
    words = re.findall(r"\w+", f"{title} {description}".casefold())
    return " ".join(words)


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _vote_flags(study_id: int, found: dict[int, list[tuple[str, str]]]) -> None:
    straight = settings.MGE_FLAG_STRAIGHT_LINE_VOTES
    speed_votes = settings.MGE_FLAG_SPEED_MIN_VOTES
    gap_limit = settings.MGE_FLAG_VOTE_GAP_SECONDS
    for pattern in graph_selectors.participant_vote_patterns(study_id=study_id):
        flags = found[pattern.participant_id]
        if pattern.vote_count >= straight and len(pattern.choices) == 1:
            choice = _CHOICE_LABELS.get(pattern.choices[0], pattern.choices[0])
            flags.append(
                (FLAG_STRAIGHT_LINING, f"All {pattern.vote_count} of their votes were “{choice}”.")
            )
        gap = pattern.median_gap_seconds
        if pattern.vote_count >= speed_votes and gap is not None and gap < gap_limit:
            flags.append(
                (
                    FLAG_SPEED,
                    f"A median of {gap:.1f} s between their {pattern.vote_count} votes "
                    f"(under {gap_limit:g} s is too fast to read a story).",
                )
            )


def _interview_speed_flags(study_id: int, found: dict[int, list[tuple[str, str]]]) -> None:
    limit = settings.MGE_FLAG_INTERVIEW_SECONDS
    fastest: dict[int, float] = {}
    rows = ValuesCard.objects.filter(
        participant__study_id=study_id, interview__isnull=False
    ).values_list("participant_id", "submitted_at", "interview__created_at")
    for participant_id, submitted, started in rows:
        seconds = (submitted - started).total_seconds()
        if seconds < limit:
            fastest[participant_id] = min(seconds, fastest.get(participant_id, seconds))
    for participant_id, seconds in fastest.items():
        found[participant_id].append(
            (
                FLAG_SPEED,
                f"Confirmed a card {max(seconds, 0):.0f} s after their interview began "
                f"(under {limit:g} s).",
            )
        )


def _shared_flags(
    participants: list[dict[str, Any]], found: dict[int, list[tuple[str, str]]]
) -> None:
    browsers = Counter(p["browser_hash"] for p in participants if p["browser_hash"])
    networks = Counter(p["network_hash"] for p in participants if p["network_hash"])
    network_limit = settings.MGE_FLAG_SHARED_NETWORK
    for p in participants:
        pk = int(p["id"])
        others = browsers.get(p["browser_hash"], 0) - 1 if p["browser_hash"] else 0
        if others >= 1:
            found[pk].append(
                (
                    FLAG_SHARED_BROWSER,
                    f"Entered from the same browser as {others} other "
                    f"{_plural(others, 'participant', 'participants')} of this study.",
                )
            )
        together = networks.get(p["network_hash"], 0) if p["network_hash"] else 0
        if together >= network_limit:
            found[pk].append(
                (
                    FLAG_SHARED_NETWORK,
                    f"One of {together} participants of this study from the same network.",
                )
            )


def _duplicate_card_flags(
    study_id: int, counted: set[int], found: dict[int, list[tuple[str, str]]]
) -> None:
    authors: dict[str, set[int]] = defaultdict(set)
    rows = ValuesCard.objects.filter(participant_id__in=counted).values_list(
        "participant_id", "title", "description"
    )
    for participant_id, title, description in rows:
        text = card_text_normalise(title, description)
        if text:
            authors[text].add(participant_id)
    copied: dict[int, set[int]] = defaultdict(set)
    for people in authors.values():
        if len(people) > 1:
            for pk in people:
                copied[pk] |= people - {pk}
    for pk, others in copied.items():
        n = len(others)
        found[pk].append(
            (
                FLAG_DUPLICATE_CARD,
                f"Their card has the same words as a card of {n} other "
                f"{_plural(n, 'participant', 'participants')}.",
            )
        )


def flagged_participants(*, study_id: int) -> list[FlaggedParticipant]:
    """Every participant of the study with at least one flag, quarantined or not."""
    participants: list[dict[str, Any]] = [
        dict(row)
        for row in Participant.objects.filter(
            study_id=study_id, is_preview=False, withdrawn_at__isnull=True
        ).values(
            "id", "public_id", "browser_hash", "network_hash", "quarantined_at", "quarantine_reason"
        )
    ]
    counted = {int(p["id"]) for p in participants}
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    _vote_flags(study_id, found)
    _interview_speed_flags(study_id, found)
    _shared_flags(participants, found)
    _duplicate_card_flags(study_id, counted, found)
    flagged: list[FlaggedParticipant] = []
    for p in participants:
        seen: dict[str, list[str]] = {}
        for code, reason in found.get(int(p["id"]), []):
            seen.setdefault(code, []).append(reason)
        if not seen:
            continue
        flagged.append(
            FlaggedParticipant(
                participant_id=int(p["id"]),
                public_id=p["public_id"],
                flags=tuple(seen),
                quarantined=p["quarantined_at"] is not None,
                reasons=tuple(" ".join(reasons) for reasons in seen.values()),
                quarantined_at=p["quarantined_at"],
                quarantine_reason=p["quarantine_reason"],
            )
        )
    return flagged
