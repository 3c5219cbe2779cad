"""Reads behind the manipulation flags and the quarantine: each participant's voting pattern,
and which participants the graph leaves out (quarantined by staff)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from django.db import connection

from moralgraph import studies
from moralgraph.models import GraphSnapshot, ParticipantExclusion, UpgradeVote


@dataclass(frozen=True)
class VotePattern:
    """How one participant voted: how often, which choices, and how fast (the median of the
    gaps between their consecutive votes, by when each vote was first cast; None with fewer
    than two votes)."""

    participant_id: int
    vote_count: int
    choices: tuple[str, ...]
    median_gap_seconds: float | None
    first_vote_at: datetime
    last_vote_at: datetime


def participant_vote_patterns(*, study_id: int) -> list[VotePattern]:
    """Every participant of the study with at least one vote, by participant id: summarised in
    the database (one grouped query on PostgreSQL), so a study of a million votes returns a row
    per person. The embedded SQLite default summarises in Python (small studies)."""
    if connection.vendor != "postgresql":
        return _patterns_in_python(study_id)
    table = UpgradeVote._meta.db_table
    sql = f"""
        SELECT participant_id, COUNT(*), ARRAY_AGG(DISTINCT choice),
               PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY gap), MIN(created_at), MAX(created_at)
        FROM (
            SELECT participant_id, choice, created_at,
                   EXTRACT(EPOCH FROM created_at - LAG(created_at) OVER (
                       PARTITION BY participant_id ORDER BY created_at, id)) AS gap
            FROM "{table}" WHERE study_id = %s
        ) AS votes
        GROUP BY participant_id
        ORDER BY participant_id
    """  # noqa: S608 (the table name is ours; the study id is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [study_id])
        rows = cursor.fetchall()
    return [
        VotePattern(
            participant_id=int(participant_id),
            vote_count=int(count),
            choices=tuple(sorted(choices)),
            median_gap_seconds=None if median is None else float(median),
            first_vote_at=first,
            last_vote_at=last,
        )
        for participant_id, count, choices, median, first, last in rows
    ]


def _patterns_in_python(study_id: int) -> list[VotePattern]:
    rows = (
        UpgradeVote.objects.filter(study_id=study_id)
        .order_by("participant_id", "created_at", "id")
        .values_list("participant_id", "choice", "created_at")
    )
    by_participant: dict[int, list[tuple[str, datetime]]] = {}
    for participant_id, choice, created_at in rows:
        by_participant.setdefault(participant_id, []).append((choice, created_at))
    patterns = []
    for participant_id, votes in by_participant.items():
        times = [created_at for _, created_at in votes]
        gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
        patterns.append(
            VotePattern(
                participant_id=participant_id,
                vote_count=len(votes),
                choices=tuple(sorted({choice for choice, _ in votes})),
                median_gap_seconds=statistics.median(gaps) if gaps else None,
                first_vote_at=times[0],
                last_vote_at=times[-1],
            )
        )
    return patterns


def quarantined_participant_ids(*, study_id: int) -> list[int]:
    """The study's participants whose votes no snapshot counts (quarantined by staff)."""
    return list(
        ParticipantExclusion.objects.filter(study_id=study_id)
        .order_by("participant_id")
        .values_list("participant_id", flat=True)
    )


def exclusions_out_of_step(*, study_id: int) -> bool:
    """Whether the live snapshot left out a different set of participants than the graph
    leaves out now (a quarantine or a release it has not caught up with): the sweep's signal,
    since such a change casts no vote. Staff previews, always left out, are not compared."""
    # The live snapshot as `snapshot_live_get` picks it, without its (large) document: the
    # sweep asks this of every open study each minute.
    unnamed = GraphSnapshot.objects.filter(study_id=study_id, name="").order_by(
        "-created_at", "-id"
    )
    filters = unnamed.filter(is_live=True).values_list("filters", flat=True).first()
    if filters is None:
        filters = unnamed.values_list("filters", flat=True).first()
    if filters is None:
        return False
    previews = set(studies.preview_participant_ids(study_id=study_id))
    built = set(filters.get("excluded_participants", [])) - previews
    return built != set(quarantined_participant_ids(study_id=study_id))
