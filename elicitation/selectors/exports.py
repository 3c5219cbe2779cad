"""The rows of a study's CSV exports (the staff exports page): raw cards with the value each
was merged into, wise-value picks, survey answers, the funnel, the moderation log, and the
picks laid out as Polis's export (`elicitation.exports.polis`).

Staff previews never appear. A withdrawn participant has nothing left: their cards, picks and
survey answers are left out even before the withdrawal has deleted them. Participants appear
under their pseudonymous public id, never an external id or a name; the Polis files number
them densely instead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from elicitation.exports import Table
from elicitation.exports.polis import PolisComment, PolisPick, polis_tables
from elicitation.models import (
    ModerationAction,
    Participant,
    Question,
    SurveyResponse,
    ValuesCard,
)
from elicitation.selectors.funnel import FUNNEL_STAGES, study_funnel
from moralgraph import selectors as graph_selectors

EXPORT_TABLES: tuple[str, ...] = ("cards", "picks", "survey", "funnel", "moderation")

_CARDS_HEADER = (
    "participant",
    "card_id",
    "question_id",
    "question",
    "title",
    "description",
    "policies",
    "language",  # the card's language as written ("en", "es", "ar"; empty: not recorded)
    "submitted_at",
    "screening",
    "value_id",
    "value_title",
)
_PICKS_HEADER = (
    "participant",
    "value_id",
    "value_title",
    "question_id",
    "question",
    "shown_at",
    "picked",
)
_SURVEY_HEADER = ("participant", "item", "answer", "text", "answered_at")
_FUNNEL_HEADER = ("stage", "count")
_MODERATION_HEADER = ("when", "action", "card_id", "participant", "actor", "reason")
# Picks count in the Polis files once the participant sent them (their stage moved on).
_PICKS_SENT = (
    Participant.Stage.VOTES,
    Participant.Stage.SURVEY,
    Participant.Stage.FINISHED,
)


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _people(study_id: int) -> QuerySet[Participant]:
    """The participants whose words and picks an export may hold."""
    return Participant.objects.filter(
        study_id=study_id, is_preview=False, withdrawn_at__isnull=True
    )


def _public_ids(study_id: int) -> dict[int, str]:
    return {pk: str(public) for pk, public in _people(study_id).values_list("pk", "public_id")}


def _value_titles(study_id: int) -> dict[int, str]:
    return {v.id: v.title for v in graph_selectors.value_export_rows(study_id=study_id)}


def export_cards_table(*, study_id: int) -> Table:
    """Every confirmed card (whatever its screening), in the language it was written in, and
    the value it was merged into."""
    titles = _value_titles(study_id)
    cards = (
        ValuesCard.objects.filter(participant__in=_people(study_id))
        .select_related("participant", "question")
        .order_by("submitted_at", "id")
    )
    rows = [
        (
            str(card.participant.public_id),
            card.pk,
            card.question_id,
            card.question.title if card.question else "",
            card.title,
            card.description,
            "\n".join(str(policy) for policy in card.policies),
            card.language,
            _when(card.submitted_at),
            card.screening,
            card.value_id,
            titles.get(card.value_id, "") if card.value_id else "",
        )
        for card in cards
    ]
    return Table("cards", _CARDS_HEADER, rows)


def _question_titles(study_id: int) -> dict[int, str]:
    return dict(Question.objects.filter(study_id=study_id).values_list("pk", "title"))


def export_picks_table(*, study_id: int) -> Table:
    """Every value shown to a participant on the wise-values page, and whether they picked it."""
    public = _public_ids(study_id)
    titles = _value_titles(study_id)
    questions = _question_titles(study_id)
    rows = [
        (
            public[pick.participant_id],
            pick.value_id,
            titles.get(pick.value_id, ""),
            pick.question_id,
            questions.get(pick.question_id, "") if pick.question_id else "",
            _when(pick.created_at),
            "true" if pick.is_picked else "false",
        )
        for pick in graph_selectors.pick_export_rows(study_id=study_id)
        if pick.participant_id in public
    ]
    return Table("picks", _PICKS_HEADER, rows)


def export_survey_table(*, study_id: int) -> Table:
    answers = (
        SurveyResponse.objects.filter(participant__in=_people(study_id))
        .select_related("participant")
        .order_by("participant_id", "item", "id")
    )
    rows = [
        (
            str(answer.participant.public_id),
            answer.item,
            answer.answer,
            answer.text,
            _when(answer.created_at),
        )
        for answer in answers
    ]
    return Table("survey", _SURVEY_HEADER, rows)


def export_funnel_table(*, study_id: int) -> Table:
    counts = study_funnel(study_id=study_id)
    return Table("funnel", _FUNNEL_HEADER, [(stage, counts[stage]) for stage in FUNNEL_STAGES])


def export_moderation_table(*, study_id: int) -> Table:
    """The moderation log, oldest first; a staff preview's entries are left out."""
    actions = (
        ModerationAction.objects.filter(study_id=study_id)
        .exclude(Q(participant__is_preview=True) | Q(card__participant__is_preview=True))
        .select_related("participant", "actor")
        .order_by("created_at", "id")
    )
    rows = [
        (
            _when(action.created_at),
            action.action,
            action.card_id,
            str(action.participant.public_id) if action.participant else "",
            action.actor.get_username() if action.actor else "",
            action.reason,
        )
        for action in actions
    ]
    return Table("moderation", _MODERATION_HEADER, rows)


def export_table(*, study_id: int, name: str) -> Table:
    """One of EXPORT_TABLES by name (KeyError for any other)."""
    readers: dict[str, Any] = {
        "cards": export_cards_table,
        "picks": export_picks_table,
        "survey": export_survey_table,
        "funnel": export_funnel_table,
        "moderation": export_moderation_table,
    }
    table: Table = readers[name](study_id=study_id)
    return table


def _polis_authors(study_id: int) -> dict[int, int]:
    """value id -> the participant of the earliest visible card merged into it."""
    authors: dict[int, int] = {}
    cards = (
        ValuesCard.objects.filter(
            participant__in=_people(study_id).filter(quarantined_at__isnull=True),
            screening__in=ValuesCard.VISIBLE,
            value__isnull=False,
        )
        .order_by("submitted_at", "id")
        .values_list("value_id", "participant_id")
    )
    for value_id, participant_id in cards:
        authors.setdefault(value_id, participant_id)
    return authors


def export_polis_tables(*, study_id: int) -> list[Table]:
    """comments, votes and participants-votes in Polis's layout (the mapping is documented in
    elicitation.exports.polis): the picks of participants who sent them, neither withdrawn nor
    quarantined, on values still active."""
    counted = _people(study_id).filter(quarantined_at__isnull=True)
    sent = set(
        counted.filter(Q(stage__in=_PICKS_SENT) | Q(finished_at__isnull=False)).values_list(
            "pk", flat=True
        )
    )
    all_picks = graph_selectors.pick_export_rows(study_id=study_id)
    # A participant counts who sent their picks (or picked anything, as imported rows do).
    sent |= {p.participant_id for p in all_picks if p.is_picked}
    eligible = set(counted.values_list("pk", flat=True))
    picks = [
        PolisPick(p.value_id, p.participant_id, p.created_at, p.is_picked)
        for p in all_picks
        if p.participant_id in sent and p.participant_id in eligible
    ]
    shown = {p.value_id for p in picks}
    authors = _polis_authors(study_id)
    comments = [
        PolisComment(v.id, v.created_at, authors.get(v.id), v.title, v.policies)
        for v in graph_selectors.value_export_rows(study_id=study_id)
        if v.is_active and v.id in shown
    ]
    return polis_tables(comments=comments, picks=picks)
