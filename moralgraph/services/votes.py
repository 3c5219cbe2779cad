"""Writes of participants' judgements: upgrade votes and the values they saw and picked."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.models import (
    Context,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)
from moralgraph.services.snapshots import snapshot_rebuild_request


def _vote_study_id(
    participant_id: int, from_value_id: int, to_value_id: int, context_id: int, choice: str
) -> int:
    """The participant's study, once the vote is checked to make sense in it."""
    if choice not in UpgradeVote.Choice.values:
        raise MoralGraphError("bad_choice", f"Unknown choice {choice!r}.")
    if from_value_id == to_value_id:
        raise MoralGraphError("same_value", "A value cannot be an upgrade of itself.")
    study_id = studies.participant_study_id(participant_id=participant_id)
    if study_id is None:
        raise MoralGraphError("unknown_participant", "No such participant.")
    if not Context.objects.filter(pk=context_id, study_id=study_id).exists():
        raise MoralGraphError("wrong_context", "That context does not belong to this study.")
    found = Value.objects.filter(pk__in=[from_value_id, to_value_id], study_id=study_id).count()
    if found != 2:
        raise MoralGraphError("wrong_value", "Those values do not belong to this study.")
    return study_id


def _story_of(study_id: int, hypothesis_id: int, judged: tuple[int, int, int]) -> str:
    """The story shown, which must be about the pair and context judged."""
    hypothesis = UpgradeHypothesis.objects.filter(pk=hypothesis_id, study_id=study_id).first()
    if (
        hypothesis is None
        or (
            hypothesis.from_value_id,
            hypothesis.to_value_id,
            hypothesis.context_id,
        )
        != judged
    ):
        raise MoralGraphError(
            "wrong_hypothesis", "That story is not about this pair of values and context."
        )
    return hypothesis.story


@transaction.atomic
def upgrade_vote_cast(
    *,
    participant_id: int,
    from_value_id: int,
    to_value_id: int,
    context_id: int,
    choice: str,
    reason: str = "",
    hypothesis_id: int | None = None,
    story: str = "",
) -> int:
    """Record (or change) a participant's judgement of from → to in a context. Voting again on
    the same pair and context updates the vote. The live graph is rebuilt after commit."""
    study_id = _vote_study_id(participant_id, from_value_id, to_value_id, context_id, choice)
    if hypothesis_id is not None:
        story = _story_of(study_id, hypothesis_id, (from_value_id, to_value_id, context_id))
    now = timezone.now()
    vote, created = UpgradeVote.objects.select_for_update().update_or_create(
        participant_id=participant_id,
        from_value_id=from_value_id,
        to_value_id=to_value_id,
        context_id=context_id,
        defaults={
            "study_id": study_id,
            "hypothesis_id": hypothesis_id,
            "story": story,
            "choice": choice,
            "reason": reason.strip()[:4000],
            "updated_at": now,
        },
        create_defaults={
            "study_id": study_id,
            "hypothesis_id": hypothesis_id,
            "story": story,
            "choice": choice,
            "reason": reason.strip()[:4000],
            "created_at": now,
            "updated_at": now,
        },
    )
    snapshot_rebuild_request(study_id=study_id)
    return vote.pk


@transaction.atomic
def selection_record(
    *,
    participant_id: int,
    draw_id: str,
    shown_value_ids: list[int],
    picked_value_ids: list[int],
    question_id: int | None = None,
) -> int:
    """A draw of values shown to a participant and which of them they picked as wise. Sending
    the same draw again updates the picks (an upsert per shown value). Returns how many
    values the draw showed."""
    study_id = studies.participant_study_id(participant_id=participant_id)
    if study_id is None:
        raise MoralGraphError("unknown_participant", "No such participant.")
    shown = list(dict.fromkeys(shown_value_ids))
    if not set(picked_value_ids) <= set(shown):
        raise MoralGraphError("not_shown", "Only values that were shown can be picked.")
    if Value.objects.filter(pk__in=shown, study_id=study_id).count() != len(shown):
        raise MoralGraphError("wrong_value", "Those values do not belong to this study.")
    picked = set(picked_value_ids)
    now = timezone.now()
    rows = [
        Selection(
            study_id=study_id,
            participant_id=participant_id,
            value_id=value_id,
            question_id=question_id,
            draw_id=draw_id,
            is_picked=value_id in picked,
            created_at=now,
        )
        for value_id in shown
    ]
    Selection.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["participant", "draw_id", "value"],
        update_fields=["is_picked"],
    )
    return len(rows)
