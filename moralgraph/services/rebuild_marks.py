"""Coalesced rebuild requests for a stream of votes: the marks in Redis.

Every committed vote changes the study's graph, but a burst of votes needs one rebuild, not
one per vote. Writing the study's single `GraphRebuildState` row on every vote made that row
the hot spot of the vote path: each vote's transaction held its lock until commit. With Redis
(REDIS_URL), a vote instead does one round trip after its commit:

- `INCR mge:graph:epoch:<study>`: the study's vote epoch, which only ever grows; and
- `SET mge:graph:pending:<study> NX EX …`: whether a rebuild is already pending.

Only the vote that finds no rebuild pending writes the state row (`votes.votes_changed`
calls `snapshot_rebuild_request`, which enqueues the task). The worker reads the epoch before each build and, when it is done,
clears the pending mark and reads the epoch again: if it moved, a vote committed after the
build read the votes and found the mark still set, so the worker sends one more rebuild.
A vote whose increment comes after that second read finds the mark cleared and requests the
rebuild itself. Every ordering ends with a rebuild that sees the vote.

The mark expires after `PENDING_SECONDS`, and the sweep re-sends a rebuild whose worker died
(`rebuild_is_orphaned`), so a lost task or a killed worker delays a vote, never drops it.
Without Redis (the embedded default), or while Redis is unreachable, every vote writes the
state row as before: correct, just not coalesced.
"""

from __future__ import annotations

import logging
from functools import cache

import redis
from django.conf import settings
from django.db import connection

# A mark no worker has cleared by then (a killed worker, a build longer than this) lapses:
# the next vote requests a rebuild again, which a running build takes as one more round.
PENDING_SECONDS = 30

logger = logging.getLogger(__name__)

# Named with the database too: two deployments (or test runs) sharing a Redis, or a database
# restored under a running Redis, never read each other's marks.
EPOCH_KEY = "mge:graph:{database}:epoch:{study_id}"
PENDING_KEY = "mge:graph:{database}:pending:{study_id}"
# Short-lived marks of other requested work (a value's translation), by what it is.
WORK_KEY = "mge:graph:{database}:work:{what}"


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _key(template: str, study_id: int) -> str:
    return template.format(database=connection.settings_dict["NAME"], study_id=study_id)


def _redis() -> redis.Redis | None:
    url = getattr(settings, "REDIS_URL", "")
    return _client(url) if url else None


def vote_mark(*, study_id: int) -> bool:
    """After a vote's commit: count it in the study's epoch and mark a rebuild pending.
    True when this vote must request the rebuild (no mark was set, or Redis is absent or
    unreachable: then the state row records the request and the sweep sends it)."""
    client = _redis()
    if client is None:
        return True
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(_key(EPOCH_KEY, study_id))
        pipe.set(_key(PENDING_KEY, study_id), 1, nx=True, ex=PENDING_SECONDS)
        _, fresh = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("vote epoch of study %s not counted (%s)", study_id, exc)
        return True
    return bool(fresh)


def work_claim(*, what: str, seconds: int) -> bool:
    """Mark `what` as requested for `seconds` unless it is marked already: True when this
    caller set the mark and should send the work (also without Redis, or while it is
    unreachable: the work is idempotent, only repeated)."""
    client = _redis()
    if client is None:
        return True
    key = WORK_KEY.format(database=connection.settings_dict["NAME"], what=what)
    try:
        return bool(client.set(key, 1, nx=True, ex=seconds))
    except redis.RedisError as exc:
        logger.warning("work mark %s not set (%s)", what, exc)
        return True


def epoch_read(*, study_id: int) -> int | None:
    """The study's vote epoch (None without Redis or when it cannot be read)."""
    client = _redis()
    if client is None:
        return None
    try:
        value = client.get(_key(EPOCH_KEY, study_id))
    except redis.RedisError:
        return None
    return int(value) if value is not None else 0


def epoch_moved(*, study_id: int, epoch: int | None) -> bool:
    """Whether votes were counted since `epoch` was read (False without Redis)."""
    if epoch is None:
        return False
    now = epoch_read(study_id=study_id)
    return now is not None and now != epoch


def pending_clear(*, study_id: int, epoch: int | None) -> bool:
    """After the last build: clear the pending mark, then say whether votes arrived since
    `epoch` was read (before that build read the votes). True means build again."""
    client = _redis()
    if client is None or epoch is None:
        return False
    try:
        client.delete(_key(PENDING_KEY, study_id))
        now = client.get(_key(EPOCH_KEY, study_id))
    except redis.RedisError as exc:
        logger.warning("rebuild mark of study %s not cleared (%s)", study_id, exc)
        return False
    return (int(now) if now is not None else 0) != epoch
