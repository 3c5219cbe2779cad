"""Shared fixtures: the real services (PostgreSQL, Redis), a real ASGI server and a real
Celery worker as subprocesses pointed at the test database, and the fake LLM server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import OperationalError, connections
from django.test import override_settings
from psycopg.errors import DeadlockDetected

from inference.testing import FakeLLMServer
from tests.support.processes import (
    ManagedProcess,
    base_env,
    start_asgi_server,
    start_worker,
    wait_db_quiet,
)
from tests.support.reference import reference_data_for_tests

# How many times a test's flush is tried when PostgreSQL aborts it to break a deadlock.
FLUSH_ATTEMPTS = 5

# The browser tests are their own pytest invocation (`make test` runs them second, with
# MGE_BROWSER_TESTS=1): they need Chromium and DJANGO_ALLOW_ASYNC_UNSAFE.
collect_ignore = [] if os.environ.get("MGE_BROWSER_TESTS") == "1" else ["browser"]


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The reference data folder (``MGE_REFERENCE_DATA``, default ``../shared/realdata``): a
    test that uses it skips when it is missing, or fails under ``MGE_REQUIRE_REFERENCE=1``."""
    return reference_data_for_tests()


@pytest.fixture(scope="session")
def subprocess_env(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment a server or worker needs to share the test database and Redis."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql", "the suite runs on PostgreSQL"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    database_url = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    redis_url = settings.REDIS_URL
    redis.Redis.from_url(redis_url).flushdb()
    return base_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY="test-only-secret-key-not-for-production-use-0123456789",
        LOG_FORMAT="text",
        LOG_LEVEL="INFO",
        MGE_VAR_DIR=str(tmp_path_factory.mktemp("var")),
    )


@pytest.fixture(scope="session")
def asgi_server(subprocess_env: dict[str, str]) -> Iterator[str]:
    proc, base_url = start_asgi_server(subprocess_env)
    yield base_url
    proc.stop()


@pytest.fixture(scope="session")
def celery_worker(subprocess_env: dict[str, str]) -> Iterator[ManagedProcess]:
    proc = start_worker(subprocess_env)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    """The fake OpenAI-compatible server on 127.0.0.1, one for the whole run."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The fake server with no scripts, no recorded requests and its default latency, and this
    process's settings pointing the gateway at it (no retries of HTTP failures, a short
    timeout). Tests of the gateway itself build their own gateways on it."""
    fake_llm_server.reset()
    with override_settings(
        LLM_BASE_URL=fake_llm_server.base_url,
        LLM_MODEL="fake-model",
        LLM_API_KEY="test",
        LLM_TIMEOUT_S=1.0,
        LLM_MAX_RETRIES=0,
    ):
        yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture(autouse=True)
def _servers_quiet_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """A transactional test empties every table when it ends. A server or worker subprocess
    (started for this test or an earlier one: the worker takes any test's tasks) may still be
    finishing work the test set off (a submitted card's screening, a paced rebuild round);
    emptying the tables under it deadlocks (seen in CI). Such a test waits for their
    statements to end first (one query when they are idle)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        yield
        return
    # Set up the database fixture first, so that this fixture's teardown runs before its flush.
    request.getfixturevalue("_django_db_helper")
    yield
    wait_db_quiet()


@pytest.fixture(scope="session", autouse=True)
def _flush_survives_a_late_task() -> Iterator[None]:
    """The wait above cannot see a task still on its way: sent at the test's last commit, the
    worker may pick it up just after the wait, and its transaction then takes its locks while
    the flush's TRUNCATE takes its own; PostgreSQL breaks the deadlock by aborting one (seen in
    CI: the flush). An aborted flush waits for the subprocesses again and is tried again."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: DatabaseOperations, sql_list: list[str]) -> None:
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                original(self, sql_list)
                return
            except OperationalError as exc:
                if not isinstance(exc.__cause__, DeadlockDetected) or attempt == FLUSH_ATTEMPTS:
                    raise
                wait_db_quiet()

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign,assignment]
    yield
    DatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]


@pytest.fixture
def close_db_connections() -> Iterator[None]:
    """Async tests reach the ORM from worker threads; close those connections afterwards so
    their transactions do not leak into later tests."""
    yield
    connections.close_all()


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's LLM settings must not leak into tests that expect the offline default.
    for name in ("LLM_BASE_URL", "LLM_API_KEY"):
        if name in os.environ:
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_stale_rebuild_marks() -> None:
    """Study ids repeat from one test to the next (each starts from an empty database), so a
    rebuild mark a test left in Redis would coalesce the next test's first vote away."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return
    client = redis.Redis.from_url(url)
    try:
        stale = list(client.scan_iter(match="mge:graph:*", count=1000))
        if stale:
            client.delete(*stale)
    except redis.RedisError:
        pass  # a test that stopped Redis; the marks' own expiry covers it
    finally:
        client.close()
