"""The Redis cache keeps one client per connection pool (Django's builds one per call) and one
Django client wrapper per process (Django's builds one per request under ASGI)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches

from config.cache import SharedClientRedisCache


@pytest.mark.django_db
def test_the_cache_shares_one_client_and_still_works() -> None:
    cache = caches["default"]
    assert isinstance(cache, SharedClientRedisCache), "the suite runs with Redis"
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    # A request under ASGI gets a new backend object (Django keeps them per context): it must
    # still reuse the process's pool and its open connections.
    fresh = SharedClientRedisCache(
        settings.CACHES["default"]["LOCATION"], settings.CACHES["default"]
    )
    assert fresh._cache.get_client() is client
    # ... and Django's client wrapper too: building it reads redis-py's installed metadata
    # from disk, a tenth of a vote's CPU when it happened per request.
    assert fresh._cache is cache._cache
    cache.set("shared-client-check", {"n": 1}, timeout=30)
    assert cache.get("shared-client-check") == {"n": 1}
    cache.delete("shared-client-check-n")
    assert cache.add("shared-client-check-n", 0)
    assert cache.incr("shared-client-check-n") == 1
    cache.delete_many(["shared-client-check", "shared-client-check-n"])
    assert cache.get("shared-client-check") is None
