"""Snapshots of the graph: building one, comparing two, and live rebuilds that follow the votes."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.graph import (
    SCORING_VERSION,
    GraphResult,
    Params,
    build,
    content_hash,
    diff,
)
from moralgraph.models import (
    GraphRebuildState,
    GraphSnapshot,
    InferenceJob,
)
from moralgraph.selectors.integrity import quarantined_participant_ids
from moralgraph.selectors.votes import VoteScope, vote_table_load
from moralgraph.services import rebuild_marks
from moralgraph.services.rebuild_lock import (
    REBUILD_LEASE,
    held,
    holder_lock,
    holder_unlock,
)
from moralgraph.services.snapshot_documents import document_for_build

logger = logging.getLogger(__name__)


def snapshot_build(
    *,
    study_id: int,
    params: Params,
    before: datetime | None = None,
    question_ids: list[int] | None = None,
    excluded_participant_ids: list[int] | None = None,
    timings: dict[str, float] | None = None,
    is_live: bool = False,
    name: str = "",
) -> GraphSnapshot:
    """Score the votes in scope and store the result as an immutable snapshot: live (the
    rebuild's), named, or ad hoc (neither).

    Idempotent: when the study already has a snapshot of the same kind and name with the same
    content hash (the same votes, parameters and scoring version), that one is returned and
    nothing is written.
    """
    spent = timings if timings is not None else {}
    # Staff previews never count, in live and named snapshots alike.
    excluded = {
        *(excluded_participant_ids or ()),
        *studies.preview_participant_ids(study_id=study_id),
        # Quarantined participants (services.exclusions): stored, not counted.
        *quarantined_participant_ids(study_id=study_id),
    }
    scope = VoteScope(
        study_id=study_id,
        before=before,
        question_ids=tuple(question_ids or ()),
        excluded_participant_ids=tuple(sorted(excluded)),
    )
    with transaction.atomic():
        with _timed(spent, "load_s"):
            votes, contexts = vote_table_load(scope)
            digest = content_hash(votes, params)
        kind = {"is_live": is_live, "name": name}
        existing = GraphSnapshot.objects.filter(
            study_id=study_id, content_hash=digest, **kind
        ).first()
        if existing is not None:
            return existing
        with _timed(spent, "build_s"):
            result = build(votes, params)
        with _timed(spent, "document_s"):
            created = timezone.now()
            document, winners = document_for_build(scope, contexts, result, params, digest, created)
        with _timed(spent, "store_s"):
            snapshot = _store(scope, params, document, winners, result, digest, created, kind)
    return snapshot


class _timed:
    """Adds the seconds a block took to `spent[key]` (the bench's phase timings)."""

    def __init__(self, spent: dict[str, float], key: str) -> None:
        self.spent, self.key = spent, key

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        self.spent[self.key] = time.perf_counter() - self.start


def _store(
    scope: VoteScope,
    params: Params,
    document: dict[str, Any],
    winners: list[dict[str, Any]],
    result: GraphResult,
    digest: str,
    created: datetime,
    kind: dict[str, Any],
) -> GraphSnapshot:
    try:
        with transaction.atomic():
            snapshot = GraphSnapshot(
                study_id=scope.study_id,
                parameters=params.as_dict(),
                filters=scope.as_filters(),
                document_zlib=b"",
                content_hash=digest,
                scoring_version=SCORING_VERSION,
                winners=winners,
                vote_count=result.votes,
                participant_count=result.participants,
                created_at=created,
                **kind,
            )
            snapshot.save()
            document["snapshot_id"] = snapshot.pk
            # One write of the document, with its own id; nothing outside this transaction
            # ever sees the row without it.
            packed = GraphSnapshot.pack(document)
            GraphSnapshot.objects.filter(pk=snapshot.pk).update(document_zlib=packed)
            snapshot.document_zlib = packed
            snapshot._document = document
    except IntegrityError:
        # Another process stored the same content meanwhile: theirs is ours. Otherwise the
        # name was taken meanwhile, by a snapshot of other content.
        stored = GraphSnapshot.objects.filter(
            study_id=scope.study_id, content_hash=digest, **kind
        ).first()
        if stored is None:
            raise MoralGraphError("name_taken", NAME_TAKEN.format(name=kind["name"])) from None
        return stored
    return snapshot


NAME_TAKEN = "This study already has a snapshot called “{name}”."


def snapshot_diff(*, snapshot_a_id: int, snapshot_b_id: int) -> dict[str, Any]:
    """What changed between two snapshots of the same study (a read, kept beside the writes
    because researchers reach it from the same pages)."""
    a = GraphSnapshot.objects.filter(pk=snapshot_a_id).first()
    b = GraphSnapshot.objects.filter(pk=snapshot_b_id).first()
    if a is None or b is None:
        raise MoralGraphError("unknown_snapshot", "No such snapshot.")
    if a.study_id != b.study_id:
        raise MoralGraphError("other_study", "Those snapshots belong to different studies.")
    return diff(a.document, b.document)


# A rebuild marked queued this long ago without a worker claiming it is presumed lost (a
# flushed broker, a send that failed): the next request sends it again.
QUEUED_EXPIRY = timedelta(minutes=2)
MAX_REBUILD_ROUNDS = 5
REBUILD_TASK = "moralgraph.tasks.snapshot_rebuild"


def live_params() -> Params:
    """The parameters of the live graph (settings MORALGRAPH_LIVE_PARAMS may override)."""
    overrides: dict[str, Any] = getattr(settings, "MORALGRAPH_LIVE_PARAMS", {}) or {}
    return Params.from_dict({"mode": "context", "bootstrap": 100, **overrides})


def snapshot_rebuild_request(*, study_id: int) -> bool:
    """Mark the study's graph out of date; enqueue a rebuild after commit unless one is
    already queued (and was queued recently: an old mark is presumed lost). Returns whether a
    task was enqueued. Runs in the caller's transaction."""
    GraphRebuildState.objects.get_or_create(study_id=study_id)
    now = timezone.now()
    expired = Q(is_queued=True, updated_at__lt=now - QUEUED_EXPIRY)
    claimed = GraphRebuildState.objects.filter(
        Q(is_queued=False) | expired, study_id=study_id
    ).update(is_queued=True)
    GraphRebuildState.objects.filter(study_id=study_id).update(
        requested_seq=F("requested_seq") + 1, updated_at=now
    )
    if claimed:
        _rebuild_enqueue(study_id)
    return bool(claimed)


@transaction.atomic
def snapshot_rebuild_force(*, study_id: int) -> None:
    """A researcher (or the sweep) asks for a rebuild: like a vote's request, but the task is
    sent even when one is marked queued, in case that one was lost (a flushed broker). The
    worker's claim coalesces the two."""
    if not snapshot_rebuild_request(study_id=study_id):
        _rebuild_enqueue(study_id)


def _rebuild_enqueue(study_id: int) -> None:
    # robust: the vote is committed whatever the broker says; if the send fails (Redis down)
    # it is logged, and the sweep sends it again once the broker is back.
    transaction.on_commit(lambda: rebuild_task_send(study_id), robust=True)


def rebuild_task_send(study_id: int) -> None:
    # Sent by name: `moralgraph.tasks` imports this module, so importing it back would make a
    # circle.
    current_app.send_task(REBUILD_TASK, args=[study_id])


def _rebuild_claim(study_id: int) -> int | None:
    """Compare-and-set: take the study's rebuild unless a live worker holds it (its session's
    lock on PostgreSQL, its lease elsewhere). Returns the request sequence number being built;
    on PostgreSQL the caller then holds the lock and must release it (`_rebuild_release`)."""
    if study_id in held() or not holder_lock(study_id):
        return None
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    try:  # a run with no state yet (a direct call, votes not committed through a request)
        with transaction.atomic():
            GraphRebuildState.objects.get_or_create(study_id=study_id)
    except IntegrityError:  # the study is gone
        holder_unlock(study_id)
        return None
    try:
        with transaction.atomic():
            state = GraphRebuildState.objects.select_for_update().filter(study_id=study_id).first()
            leased = (
                state is not None
                and state.running_since is not None
                and state.running_since > now - REBUILD_LEASE
            )
            # With the lock in hand, a claim within its lease is a dead worker's.
            if state is None or (leased and not postgres):
                holder_unlock(study_id)
                return None
            state.running_since = now
            state.is_queued = False
            state.claimed_seq = state.requested_seq
            state.save(update_fields=["running_since", "is_queued", "claimed_seq"])
    except BaseException:
        holder_unlock(study_id)
        raise
    held().add(study_id)
    return state.claimed_seq


def _pace(started: float) -> None:
    """Between two rounds of a study's live rebuild, wait out `MGE_LIVE_REBUILD_SECONDS` from
    the start of the last: under a stream of votes the graph is rebuilt every few seconds,
    not back to back (each round scores every vote, with its bootstrap), so the worker's CPU
    is left to the votes themselves. The live snapshot trails the votes by that much."""
    wait = float(getattr(settings, "MGE_LIVE_REBUILD_SECONDS", 0)) - (time.monotonic() - started)
    if wait > 0:
        time.sleep(wait)


def _rebuild_request_more(study_id: int) -> None:
    GraphRebuildState.objects.filter(study_id=study_id).update(
        requested_seq=F("requested_seq") + 1, updated_at=timezone.now()
    )


def _rebuild_release(study_id: int) -> None:
    held().discard(study_id)
    holder_unlock(study_id)


def snapshot_rebuild_run(*, study_id: int) -> GraphSnapshot | None:
    """Build the live snapshot if the study's graph is out of date (the task's body).

    A burst of votes yields one or two builds: a worker that finds another one building
    returns at once, and the building worker repeats until nothing newer was requested.
    Safe to run twice: an unchanged graph returns the existing snapshot (content hash).
    """
    snapshot: GraphSnapshot | None = None
    seq = _rebuild_claim(study_id)
    if seq is None:
        return None
    try:
        started = time.monotonic()
        for round_number in range(MAX_REBUILD_ROUNDS):
            if round_number:
                _pace(started)
                started = time.monotonic()
            epoch = rebuild_marks.epoch_read(study_id=study_id)  # before the votes are read
            snapshot = snapshot_build(study_id=study_id, params=live_params(), is_live=True)
            if rebuild_marks.epoch_moved(study_id=study_id, epoch=epoch):
                _rebuild_request_more(study_id)  # votes that came during the build: a round more
            newer_seq = _rebuild_record(study_id, seq, snapshot)
            _live_compact(study_id, keep=snapshot)
            if newer_seq is None:
                if not rebuild_marks.pending_clear(study_id=study_id, epoch=epoch):
                    return snapshot
                break  # votes came in without a request of their own: one more, below
            seq = newer_seq
        GraphRebuildState.objects.filter(study_id=study_id).update(running_since=None)
    except BaseException:
        GraphRebuildState.objects.filter(study_id=study_id).update(running_since=None)
        raise
    finally:
        _rebuild_release(study_id)
    # Too many rounds in a row, or votes counted after the last build read the votes: hand the
    # rest to a fresh task rather than hog the worker. Sent after the release (a task that
    # arrives while the claim is held returns at once), and whatever `is_queued` says.
    snapshot_rebuild_force(study_id=study_id)
    return snapshot


@transaction.atomic
def _rebuild_record(study_id: int, seq: int, snapshot: GraphSnapshot) -> int | None:
    """Record the built snapshot and release the claim, unless something newer was requested
    while we were building: then keep the claim and return the newer sequence number."""
    GraphRebuildState.objects.filter(study_id=study_id).update(
        built_seq=seq,
        last_snapshot=snapshot,
        rebuilds=F("rebuilds") + 1,
        updated_at=timezone.now(),
    )
    released = GraphRebuildState.objects.filter(study_id=study_id, requested_seq=seq).update(
        running_since=None
    )
    if released:
        return None
    state = GraphRebuildState.objects.select_for_update().get(study_id=study_id)
    state.claimed_seq = state.requested_seq
    state.is_queued = False
    state.running_since = timezone.now()
    state.save(update_fields=["claimed_seq", "is_queued", "running_since"])
    return state.claimed_seq


def _live_compact(study_id: int, *, keep: GraphSnapshot) -> int:
    """Delete the study's superseded live snapshots (not `keep`, the newest, nor one an
    inference job uses: its FK cascades). Named and ad hoc snapshots are never touched.

    Its own short transaction, after the new snapshot is stored and recorded: an inference job
    started on a doomed snapshot at this very moment makes the (deferred) foreign key fail at
    commit, and then only the compaction is rolled back, to be done by the next rebuild."""
    used = InferenceJob.objects.filter(snapshot_id=OuterRef("pk"))
    try:
        with transaction.atomic():
            deleted, _ = (
                GraphSnapshot.objects.filter(study_id=study_id, is_live=True)
                .exclude(pk=keep.pk)
                .filter(~Exists(used))
                .delete()
            )
    except IntegrityError:
        logger.warning("live snapshot compaction of study %s deferred", study_id)
        return 0
    return deleted
