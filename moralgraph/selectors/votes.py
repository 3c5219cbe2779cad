"""Reads of the votes a snapshot covers.

`vote_table_load` is the hot path of every snapshot: on PostgreSQL it streams the votes in
scope with a binary `COPY … TO STDOUT` straight into numpy columns (about ten times faster
than materialising ORM rows); elsewhere it falls back to `values_list`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from django.db import connection
from django.db.models import QuerySet

from moralgraph import studies
from moralgraph.graph import VoteTable
from moralgraph.models import (
    Context,
    UpgradeVote,
    Value,
)

LoadMethod = Literal["auto", "copy", "orm"]


_CHOICE_CODE = {"upgrade": 0, "no_upgrade": 1, "not_sure": 2}


# Binary COPY framing: 11-byte signature, 4-byte flags, 4-byte header-extension length.
_COPY_HEADER = 19


_COPY_TRAILER = 2


_COPY_FIELDS = 5


_COPY_ROW = np.dtype(
    [("n", ">i2")]
    + [item for i in range(_COPY_FIELDS) for item in ((f"l{i}", ">i4"), (f"v{i}", ">i8"))]
)


@dataclass(frozen=True)
class VoteScope:
    """Which votes of a study a snapshot covers (a snapshot's `filters`)."""

    study_id: int
    before: datetime | None = None
    question_ids: tuple[int, ...] = ()
    excluded_participant_ids: tuple[int, ...] = ()

    def as_filters(self) -> dict[str, Any]:
        """The snapshot's `filters` object (only the filters in use)."""
        filters: dict[str, Any] = {}
        if self.before is not None:
            filters["created_before"] = self.before.isoformat().replace("+00:00", "Z")
        if self.question_ids:
            filters["question_ids"] = sorted(self.question_ids)
        if self.excluded_participant_ids:
            filters["excluded_participants"] = sorted(self.excluded_participant_ids)
        return filters


def study_contexts(*, study_id: int) -> list[Context]:
    return list(Context.objects.filter(study_id=study_id).order_by("id"))


def votes_in_scope(scope: VoteScope) -> QuerySet[UpgradeVote]:
    votes = UpgradeVote.objects.filter(study_id=scope.study_id)
    if scope.before is not None:
        votes = votes.filter(created_at__lt=scope.before)
    if scope.question_ids:
        votes = votes.filter(
            context__in=Context.objects.filter(
                study_id=scope.study_id, questions__in=scope.question_ids
            ).values("id")
        )
    if scope.excluded_participant_ids:
        votes = votes.exclude(participant_id__in=scope.excluded_participant_ids)
    return votes


def _copy_columns(scope: VoteScope) -> tuple[np.ndarray[Any, np.dtype[Any]], ...]:
    """The five vote columns of the scope via binary COPY (PostgreSQL only)."""
    votes = votes_in_scope(scope).values_list(
        "participant_id", "from_value_id", "to_value_id", "context_id", "choice"
    )
    sql, params = votes.query.sql_with_params()
    # The select list is ours, so it can be rewritten to five non-null int8 columns.
    table = UpgradeVote._meta.db_table
    select = (
        f'SELECT "{table}"."participant_id"::int8, "{table}"."from_value_id"::int8, '
        f'"{table}"."to_value_id"::int8, "{table}"."context_id"::int8, '
        f"(CASE \"{table}\".\"choice\" WHEN 'upgrade' THEN 0 WHEN 'no_upgrade' THEN 1 "
        "ELSE 2 END)::int8 "
    )
    from_at = sql.index(" FROM ")
    query = select + sql[from_at + 1 :]
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor underneath Django's wrapper
        with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
            for block in copy:
                chunks.append(bytes(block))
    data = b"".join(chunks)
    count = (len(data) - _COPY_HEADER - _COPY_TRAILER) // _COPY_ROW.itemsize
    rows = np.frombuffer(data, dtype=_COPY_ROW, count=count, offset=_COPY_HEADER)
    return tuple(rows[f"v{i}"].astype(np.int64) for i in range(_COPY_FIELDS))


def _orm_columns(scope: VoteScope) -> tuple[np.ndarray[Any, np.dtype[Any]], ...]:
    rows = list(
        votes_in_scope(scope).values_list(
            "participant_id", "from_value_id", "to_value_id", "context_id", "choice"
        )
    )
    if not rows:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(_COPY_FIELDS))
    participant, from_value, to_value, context, choice = zip(*rows, strict=True)
    return (
        np.fromiter(participant, dtype=np.int64, count=len(rows)),
        np.fromiter(from_value, dtype=np.int64, count=len(rows)),
        np.fromiter(to_value, dtype=np.int64, count=len(rows)),
        np.fromiter(context, dtype=np.int64, count=len(rows)),
        np.fromiter((_CHOICE_CODE[c] for c in choice), dtype=np.int64, count=len(rows)),
    )


def vote_table_load(
    scope: VoteScope, *, method: LoadMethod = "auto"
) -> tuple[VoteTable, list[Context]]:
    """The votes in scope as a `VoteTable` (participants and values by database id), and the
    study's contexts; `VoteTable.contexts` lists their texts in the same order."""
    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "orm"
    columns = _copy_columns(scope) if method == "copy" else _orm_columns(scope)
    participant, from_value, to_value, context_id, choice = columns
    contexts = study_contexts(study_id=scope.study_id)
    ids = np.asarray([c.pk for c in contexts], dtype=np.int64)  # ascending
    index = np.searchsorted(ids, context_id)
    if len(context_id) and (index.max() >= len(ids) or not np.array_equal(ids[index], context_id)):
        raise ValueError("a vote refers to a context of another study")
    table = VoteTable(
        participant=participant,
        from_value=from_value,
        to_value=to_value,
        context=index.astype(np.int32),
        choice=choice.astype(np.int8),
        contexts=[c.text for c in contexts],
    )
    return table, contexts


def values_for_snapshot(*, value_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The snapshot's value entries; numeric source ids become integers (the reference
    study's canonical card ids are integers)."""
    rows = (
        Value.objects.filter(pk__in=list(value_ids))
        .order_by("id")
        .values(
            "id",
            "source_id",
            "title",
            "description",
            "policies",
            "instructions_short",
            "instructions_detailed",
            "status",
        )
    )
    values: list[dict[str, Any]] = []
    for row in rows:
        entry: dict[str, Any] = dict(row)
        source = row["source_id"]
        entry["source_id"] = (
            int(source) if source.isascii() and source.isdigit() else (source or None)
        )
        values.append(entry)
    return values


def vote_rows_for_export(*, scope: VoteScope) -> list[tuple[str, int, int, str, str, str]]:
    """votes.csv rows: the participant's pseudonymous public id, never an external id."""
    rows = list(
        votes_in_scope(scope)
        .order_by("id")
        .values_list(
            "participant_id",
            "from_value_id",
            "to_value_id",
            "context__text",
            "choice",
            "created_at",
        )
        .iterator(chunk_size=5000)
    )
    public_ids = studies.participant_public_ids(participant_ids={row[0] for row in rows})
    return [
        (public_ids.get(participant_id, ""), from_id, to_id, context, choice, created.isoformat())
        for participant_id, from_id, to_id, context, choice, created in rows
    ]
