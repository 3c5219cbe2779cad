"""Django's Redis cache, with its connection pools and clients shared by the whole process.

Under ASGI, Django keeps cache backends in a context-local store, so every request builds a
new `RedisCache`, with a new connection pool: each request then opened a fresh TCP
connection to Redis and ran its handshake (measured: an eighth of a vote request's time).
And `RedisCacheClient.get_client` builds a new `redis.Redis` for every call, whose
constructor fills a table of some 170 response callbacks (a third of a millisecond each
time). Building Django's own `RedisCacheClient` per request cost more again: redis-py's
`DriverInfo` reads the package's installed metadata from disk each time (a tenth of a vote
request's CPU under load). Pools, clients and Django's client wrapper are safe to share between
threads and requests (each command borrows a connection from the pool), so this backend keeps
one wrapper per servers and options for the process, and the wrapper one pool and one client
per server. Everything else is Django's.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_wrappers: dict[tuple[tuple[str, ...], str], SharedClientRedisCacheClient] = {}
_lock = threading.Lock()


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's client wrapper, one per process (see `SharedClientRedisCache._cache`): it keeps
    its connection pools (as Django's does) and a `redis.Redis` per pool (Django's builds one
    per call)."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}  # pool index -> redis.Redis

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # the attributes below are Django's, not in its stubs
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with _lock:
                client = self._clients.get(index)
                if client is None:
                    pool = django_client._pools.get(index)
                    if pool is None:  # made here, for this index (Django's draws a new one)
                        pool = django_client._pool_class.from_url(
                            django_client._servers[index], **django_client._pool_options
                        )
                        django_client._pools[index] = pool
                    client = django_client._client(connection_pool=pool)
                    self._clients[index] = client
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    @cached_property
    def _cache(self) -> SharedClientRedisCacheClient:
        backend: Any = self  # the attributes below are Django's, not in its stubs
        servers, options = backend._servers, backend._options
        key = (tuple(servers), repr(sorted(options.items())))
        wrapper = _wrappers.get(key)
        if wrapper is None:
            with _lock:
                wrapper = _wrappers.get(key)
                if wrapper is None:
                    wrapper = SharedClientRedisCacheClient(servers, **options)
                    _wrappers[key] = wrapper
        return wrapper
