"""The API's reads. The two a request makes (its token; its snapshot's row, joined to the study
by slug) are compiled by the ORM once per process and then run as plain SQL: the ORM still
names the tables, columns and joins, but no request pays for building the query again (about
half a millisecond each on a busy machine, as much as the round trip itself). The parsed
document is read on a cache miss only (`moralgraph.api.cache`)."""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from moralgraph.models import ApiToken, GraphSnapshot

_SLUG = "\x00slug"  # sentinels: the compiled query must bind exactly these, in this order
_SNAPSHOT_ID = 987_654_321
_HASH = "\x00hash"


@dataclass(frozen=True)
class _Compiled:
    sql: str

    @classmethod
    def of(cls, queryset: QuerySet[Any], sentinels: Sequence[object]) -> _Compiled:
        sql, params = queryset.query.sql_with_params()
        if tuple(params) != tuple(sentinels):  # a query whose parameters we cannot rebind
            raise RuntimeError(f"unexpected parameters {params!r} for {sentinels!r}")
        return cls(sql)

    def fetchone(self, params: Sequence[str | int]) -> tuple[Any, ...] | None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, list(params))
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row


@functools.cache
def _token_query() -> _Compiled:
    tokens = ApiToken.objects.filter(token_hash=_HASH, revoked_at__isnull=True)
    return _Compiled.of(tokens.values_list("pk", "study_id", "last_used_at")[:1], [_HASH])


@functools.cache
def _snapshot_query(is_pinned: bool) -> _Compiled:
    snapshots = GraphSnapshot.objects.filter(study__slug=_SLUG)
    sentinels: list[object] = [_SLUG]
    if is_pinned:
        snapshots = snapshots.filter(pk=_SNAPSHOT_ID)
        sentinels.append(_SNAPSHOT_ID)
    fields = ("study_id", "pk", "created_at", "is_live", "name", "supersession__id")
    ordered = snapshots.order_by("-created_at", "-id").values_list(*fields)[:1]
    return _Compiled.of(ordered, sentinels)


def active_token_row(*, token_hash: str) -> tuple[int, int | None, datetime | None] | None:
    """(id, study id or None, last used) of the unrevoked token with that hash."""
    row = _token_query().fetchone([token_hash])
    return None if row is None else (row[0], row[1], row[2])


@dataclass(frozen=True)
class SnapshotRow:
    study_id: int
    snapshot_id: int
    created_at: datetime
    is_live: bool
    name: str
    is_superseded: bool


def snapshot_row(*, slug: str, snapshot_id: int | None) -> SnapshotRow | None:
    """The snapshot of the study with that slug by id, or (None) the one its research page
    shows: its newest. (`moralgraph.studies` tells an unknown study from one without that
    snapshot, off the hot path.)"""
    if snapshot_id is None:
        row = _snapshot_query(False).fetchone([slug])
    else:
        row = _snapshot_query(True).fetchone([slug, snapshot_id])
    if row is None:
        return None
    return SnapshotRow(
        study_id=row[0],
        snapshot_id=row[1],
        created_at=row[2],
        is_live=row[3],
        name=row[4],
        is_superseded=row[5] is not None,
    )


def snapshot_document_load(*, snapshot_id: int) -> dict[str, Any] | None:
    packed = (
        GraphSnapshot.objects.filter(pk=snapshot_id).values_list("document_zlib", flat=True).first()
    )
    if packed is None:
        return None
    document: dict[str, Any] = json.loads(zlib.decompress(bytes(packed)))
    return document
