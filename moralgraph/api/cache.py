"""Each process keeps the guidance index of the snapshots it was asked about, by snapshot id:
snapshots are immutable, so an entry never goes stale (a deleted snapshot is simply never asked
for again). Bounded: the least recently used index goes first."""

from __future__ import annotations

import threading
from collections import OrderedDict

from moralgraph.api import selectors
from moralgraph.api.guidance import GuidanceIndex, guidance_index

MAX_SNAPSHOTS = 16

_lock = threading.Lock()
_indexes: OrderedDict[int, GuidanceIndex] = OrderedDict()


def guidance_index_get(*, snapshot_id: int) -> GuidanceIndex | None:
    """The snapshot's index, built on first use (outside the lock: two threads may both build
    it once; the result is the same)."""
    with _lock:
        index = _indexes.get(snapshot_id)
        if index is not None:
            _indexes.move_to_end(snapshot_id)
            return index
    document = selectors.snapshot_document_load(snapshot_id=snapshot_id)
    if document is None:
        return None
    index = guidance_index(document)
    with _lock:
        _indexes[snapshot_id] = index
        _indexes.move_to_end(snapshot_id)
        while len(_indexes) > MAX_SNAPSHOTS:
            _indexes.popitem(last=False)
    return index


def cached_snapshot_ids() -> list[int]:
    """Oldest use first (for tests and diagnostics)."""
    with _lock:
        return list(_indexes)


def cache_clear() -> None:
    with _lock:
        _indexes.clear()
