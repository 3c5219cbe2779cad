"""Sessions in the database with Redis in front of them, where Redis is only ever a cache.

Django's `cached_db` engine reads a session from the cache, falls back to the database on a
miss, and then puts what it read into the cache. That last write is not guarded: while Redis is
down every page with a session answered 500 (the fault matrix's "Redis restart during votes"),
although the session was safely in PostgreSQL all along. This engine gives `cached_db` a cache
whose reads miss and whose writes are skipped (logged) while the cache cannot be reached, so a
participant's pages keep working from the database alone.

Deleting stays strict: a session deleted from the database but not from the cache (a staff
member logging out while Redis is down) could come back once Redis does, so that still fails.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db

log = logging.getLogger(__name__)


class _CacheWhenReachable:
    """The session cache, as far as Redis can be reached: a miss or a skipped write if not."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def _unreachable(self, action: str) -> None:
        log.warning(
            "session cache unreachable (%s); using the database alone", action, exc_info=True
        )

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._cache.get(key, default)
        except Exception:
            self._unreachable("read")
            return default

    async def aget(self, key: str, default: Any = None) -> Any:
        try:
            return await self._cache.aget(key, default)
        except Exception:
            self._unreachable("read")
            return default

    def set(self, key: str, value: Any, expiry: Any = None) -> None:
        try:
            self._cache.set(key, value, expiry)
        except Exception:
            self._unreachable("write")

    async def aset(self, key: str, value: Any, expiry: Any = None) -> None:
        try:
            await self._cache.aset(key, value, expiry)
        except Exception:
            self._unreachable("write")

    def __contains__(self, key: str) -> bool:
        try:
            return key in self._cache
        except Exception:
            self._unreachable("lookup")
            return False  # cached_db then asks the database

    def delete(self, key: str) -> Any:
        return self._cache.delete(key)

    async def adelete(self, key: str) -> Any:
        return await self._cache.adelete(key)

    def __repr__(self) -> str:
        return repr(self._cache)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        store: Any = self  # `_cache` is Django's attribute, not in its stubs
        store._cache = _CacheWhenReachable(store._cache)
