"""Reads for the moderation queue: cards waiting for staff, cards recently shown to others
(which staff may still reject), and the log of recent moderation actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from elicitation.models import ModerationAction, ValuesCard

RECENT_SHOWN = 20
RECENT_ACTIONS = 50


@dataclass(frozen=True)
class ModerationCard:
    id: int
    title: str
    description: str
    policies: tuple[str, ...]
    screening: str
    screening_label: str
    reasons: tuple[str, ...]
    submitted_at: datetime
    screened_at: datetime | None
    question_title: str
    has_value: bool


@dataclass(frozen=True)
class ModerationLogRow:
    id: int
    created_at: datetime
    action: str
    action_label: str
    actor: str  # "Screening" when the screening itself decided
    reason: str
    card_id: int | None
    card_title: str


def _row(card: ValuesCard) -> ModerationCard:
    return ModerationCard(
        id=card.pk,
        title=card.title,
        description=card.description,
        policies=tuple(str(p) for p in card.policies),
        screening=card.screening,
        screening_label=card.get_screening_display(),
        reasons=tuple(str(r) for r in card.screening_reasons or ()),
        submitted_at=card.submitted_at,
        screened_at=card.screened_at,
        question_title=card.question.title if card.question else "",
        has_value=card.value_id is not None,
    )


def _study_cards(study_id: int) -> QuerySet[ValuesCard]:
    return ValuesCard.objects.select_related("question").filter(
        participant__study_id=study_id, participant__is_preview=False
    )


def moderation_cards_waiting(*, study_id: int) -> list[ModerationCard]:
    """Cards held for review, oldest first, then cards still being screened."""
    rows = _study_cards(study_id).filter(
        screening__in=(ValuesCard.Screening.HELD, ValuesCard.Screening.PENDING)
    )
    cards = [_row(c) for c in rows.order_by("submitted_at", "id")]
    return sorted(cards, key=lambda c: c.screening != ValuesCard.Screening.HELD)


def moderation_cards_recently_shown(
    *, study_id: int, limit: int = RECENT_SHOWN
) -> list[ModerationCard]:
    """Cards other participants may be shown, newest decision first."""
    rows = _study_cards(study_id).filter(screening__in=ValuesCard.VISIBLE)
    return [_row(c) for c in rows.order_by("-screened_at", "-submitted_at", "-id")[:limit]]


def moderation_log(*, study_id: int, limit: int = RECENT_ACTIONS) -> list[ModerationLogRow]:
    """The study's most recent moderation actions (screening verdicts and staff decisions)."""
    actions = (
        ModerationAction.objects.select_related("actor", "card")
        .filter(study_id=study_id)
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        ModerationLogRow(
            id=a.pk,
            created_at=a.created_at,
            action=a.action,
            action_label=a.get_action_display(),
            actor=a.actor.get_username() if a.actor else "Screening",
            reason=a.reason,
            card_id=a.card_id,
            card_title=a.card.title if a.card else "",
        )
        for a in actions
    ]


def moderation_waiting_count(*, study_id: int) -> int:
    """How many cards wait for a staff decision (held)."""
    return _study_cards(study_id).filter(screening=ValuesCard.Screening.HELD).count()
