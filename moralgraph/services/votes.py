"""Writes of participants' judgements: upgrade votes and the values they saw and picked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
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
from moralgraph.services.rebuild_marks import vote_mark
from moralgraph.services.snapshots import snapshot_rebuild_request


def votes_changed(*, study_id: int) -> None:
    """Call in the transaction that stores votes: once it commits, the study's live graph is
    rebuilt; a burst of votes shares one request (`rebuild_marks`)."""
    transaction.on_commit(lambda: _votes_committed(study_id), robust=True)


def _votes_committed(study_id: int) -> None:
    if vote_mark(study_id=study_id):
        with transaction.atomic():
            snapshot_rebuild_request(study_id=study_id)


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
    votes_changed(study_id=study_id)
    return vote.pk


@dataclass(frozen=True)
class RecordedVote:
    vote_id: int
    created: bool  # False: the participant changed an earlier judgement of the same pair
    judged: int = 0  # of the stories `among`, how many the participant has judged now


# One statement: the vote (an upsert: judging the same pair again changes the judgement) and
# how many of the given stories the participant has now judged. The count reads the table as
# it was before this statement, so it leaves this story out and adds one for it.
_RECORD_SQL = """
WITH stored AS (
    INSERT INTO {vote} (study_id, participant_id, from_value_id, to_value_id, context_id,
                        hypothesis_id, story, choice, reason, created_at, updated_at)
    SELECT h.study_id, %(participant)s, h.from_value_id, h.to_value_id, h.context_id,
           h.id, h.story, %(choice)s, %(reason)s, %(now)s, %(now)s
    FROM {hypothesis} h
    WHERE h.id = %(hypothesis)s AND h.study_id = %(study)s
    ON CONFLICT (participant_id, from_value_id, to_value_id, context_id) DO UPDATE
    SET hypothesis_id = EXCLUDED.hypothesis_id, story = EXCLUDED.story,
        choice = EXCLUDED.choice, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
    RETURNING id, (xmax = 0) AS created
)
SELECT stored.id, stored.created, 1 + (
    SELECT count(DISTINCT v.hypothesis_id) FROM {vote} v
    WHERE v.participant_id = %(participant)s AND v.hypothesis_id = ANY(%(among)s)
      AND v.hypothesis_id <> %(hypothesis)s
)
FROM stored
"""


def upgrade_vote_record(
    *,
    participant_id: int,
    study_id: int,
    hypothesis_id: int,
    choice: str,
    reason: str = "",
    among: Sequence[int] = (),
) -> RecordedVote | None:
    """The vote path's write: the participant's judgement of one of the study's stories, in
    one statement on PostgreSQL (the story's pair and context are read by the insert itself),
    and how many of the stories `among` they have judged now (this one included). The caller
    has checked the participant (their study, their stage, that the story was drawn for them)
    and holds their row in its transaction. None when the study has no such story. The live
    graph is rebuilt after commit, coalesced with other votes' requests."""
    if choice not in UpgradeVote.Choice.values:
        raise MoralGraphError("bad_choice", f"Unknown choice {choice!r}.")
    reason = reason.strip()[:4000]
    if connection.vendor != "postgresql":
        return _record_portably(participant_id, study_id, hypothesis_id, choice, reason, among)
    sql = _RECORD_SQL.format(
        vote=UpgradeVote._meta.db_table, hypothesis=UpgradeHypothesis._meta.db_table
    )
    params: dict[str, Any] = {
        "participant": participant_id,
        "study": study_id,
        "hypothesis": hypothesis_id,
        "choice": choice,
        "reason": reason,
        "now": timezone.now(),
        "among": list(among),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    votes_changed(study_id=study_id)
    return RecordedVote(vote_id=int(row[0]), created=bool(row[1]), judged=int(row[2]))


def _record_portably(
    participant_id: int,
    study_id: int,
    hypothesis_id: int,
    choice: str,
    reason: str,
    among: Sequence[int],
) -> RecordedVote | None:
    """The same through the ORM, for the embedded SQLite default."""
    hypothesis = UpgradeHypothesis.objects.filter(pk=hypothesis_id, study_id=study_id).first()
    if hypothesis is None:
        return None
    existed = UpgradeVote.objects.filter(
        participant_id=participant_id,
        from_value_id=hypothesis.from_value_id,
        to_value_id=hypothesis.to_value_id,
        context_id=hypothesis.context_id,
    ).exists()
    vote_id = upgrade_vote_cast(
        participant_id=participant_id,
        from_value_id=hypothesis.from_value_id,
        to_value_id=hypothesis.to_value_id,
        context_id=hypothesis.context_id,
        choice=choice,
        reason=reason,
        hypothesis_id=hypothesis.pk,
    )
    judged = (
        UpgradeVote.objects.filter(participant_id=participant_id, hypothesis_id__in=list(among))
        .values("hypothesis_id")
        .distinct()
        .count()
    )
    return RecordedVote(vote_id=vote_id, created=not existed, judged=judged)


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
