"""The live rebuild's lock: proof that the worker holding a study's rebuild is alive.

On PostgreSQL the holder keeps a session-level advisory lock while it builds; the server
releases it the moment the holder's connection ends (a killed worker), so a dead worker's claim
is taken over at once instead of after a lease. Elsewhere (SQLite, the embedded default with
one worker) the claim's lease stands in for it.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from moralgraph.models import GraphRebuildState

logger = logging.getLogger(__name__)

# How long a claim stands without a lock to prove its holder lives (SQLite only).
REBUILD_LEASE = timedelta(minutes=10)
# The namespace of the rebuild's advisory lock (the second key is the study id).
_NAMESPACE = 4202

# The studies this thread is rebuilding: PostgreSQL's advisory locks are re-entrant within a
# session, so a second claim from the same thread must be refused here.
_building = threading.local()


def held() -> set[int]:
    """The study ids whose rebuild this thread holds."""
    studies: set[int] | None = getattr(_building, "studies", None)
    if studies is None:
        studies = _building.studies = set()
    return studies


def holder_lock(study_id: int) -> bool:
    """Take the study's rebuild lock for this database session (PostgreSQL); False when a
    live session holds it. Always True elsewhere (SQLite relies on the lease)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_NAMESPACE, study_id])
        row = cursor.fetchone()
    return bool(row and row[0])


def holder_unlock(study_id: int) -> None:
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_NAMESPACE, study_id])
    except DatabaseError:
        # The session is gone, and its lock with it.
        logger.warning("rebuild lock of study %s released with its connection", study_id)


def rebuild_holder_alive(*, study_id: int) -> bool:
    """Whether a live worker holds the study's rebuild (PostgreSQL: its session holds the
    lock; elsewhere: the claim is within its lease)."""
    if study_id in held():
        return True
    if connection.vendor != "postgresql":
        state = GraphRebuildState.objects.filter(study_id=study_id).first()
        since = state.running_since if state is not None else None
        return since is not None and since > timezone.now() - REBUILD_LEASE
    if not holder_lock(study_id):
        return True
    holder_unlock(study_id)
    return False


def rebuild_is_orphaned(*, study_id: int) -> bool:
    """A rebuild was claimed (or newer votes requested) but no live worker holds it: the
    worker died mid-build. The sweep re-sends such a study's rebuild."""
    state = GraphRebuildState.objects.filter(study_id=study_id).first()
    if state is None or state.requested_seq <= state.built_seq:
        return False
    return not rebuild_holder_alive(study_id=study_id)
