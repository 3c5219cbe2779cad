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
one of each per server and options for the process. Everything else is Django's.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_shared: dict[tuple[str, str], tuple[Any, Any]] = {}  # (server, options) -> (pool, client)
_wrappers: dict[tuple[tuple[str, ...], str], SharedClientRedisCacheClient] = {}
_lock = threading.Lock()


class SharedClientRedisCacheClient(RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # the attributes below are Django's, not in its stubs
        server = django_client._servers[django_client._get_connection_pool_index(write)]
        options = django_client._pool_options  # settings' OPTIONS plus objects Django adds
        plain = sorted((k, v) for k, v in options.items() if isinstance(v, str | int | float))
        shared_key = (server, repr(plain))
        found = _shared.get(shared_key)
        if found is None:
            with _lock:
                found = _shared.get(shared_key)
                if found is None:
                    pool = django_client._pool_class.from_url(server, **django_client._pool_options)
                    found = (pool, django_client._client(connection_pool=pool))
                    _shared[shared_key] = found
        return found[1]


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
