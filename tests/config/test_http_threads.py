"""One slow request does not hold up the others on the same web process.

The web server runs each HTTP request's middleware and view in one call on a bounded pool of
threads (config/http_handler.py) instead of crossing between the event loop and a thread at
every middleware hook. Django's own handler gave every request a thread of its own; this checks
that the pool keeps that promise: while one request waits on the database, another participant's
page is served, and the waiting request still gets its answer afterwards.
"""

from __future__ import annotations

import threading

import httpx2
import psycopg
import pytest
from django.conf import settings
from django.urls import reverse

from moralgraph.models import ApiToken
from tests.factories import make_question, make_study
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgresql://{user}@{host}:{port}/{db['NAME']}"


def _waiting_on_a_lock(table: str) -> bool:
    # A connection of its own: inside the locking transaction, pg_stat_activity would show the
    # same snapshot at every poll.
    with psycopg.connect(_database_url(), autocommit=True) as watcher:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query LIKE %s",
            [f'%"{table}"%'],
        ).fetchone()
    return bool(row and row[0])


def test_a_request_waiting_on_the_database_does_not_hold_up_another_page(
    asgi_server: str,
) -> None:
    study = make_study()
    make_question(study)
    table = ApiToken._meta.db_table
    slow_url = reverse("api:guidance", kwargs={"slug": study.slug}) + "?context=grief"
    slow: dict[str, object] = {}

    def slow_request() -> None:
        with httpx2.Client(base_url=asgi_server, timeout=60) as client:
            answer = client.get(slow_url, headers={"Authorization": "Bearer mge_not-a-real-token"})
            slow["status"] = answer.status_code
            slow["code"] = answer.json().get("error")

    # Another session holds the token table: the API request (it checks its token first)
    # waits on the lock, as a request waits on a long write or a slow query.
    locker = psycopg.connect(_database_url(), autocommit=False)
    thread = threading.Thread(target=slow_request, daemon=True)
    try:
        locker.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        thread.start()
        wait_until(
            lambda: _waiting_on_a_lock(table),
            timeout=30,
            what="the API request to wait on the token table",
        )

        # Meanwhile a participant opens the study's page on the same process.
        with httpx2.Client(base_url=asgi_server, timeout=20) as client:
            page = client.get(f"/s/{study.slug}/")
        assert page.status_code == 200, page.text[:500]
        assert study.title in page.text
        assert thread.is_alive(), "the slow request should still be waiting on the lock"
    finally:
        locker.rollback()
        locker.close()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the slow request never finished after the lock was released"
    # The waiting request was not lost: it finished with its own answer once the lock went.
    assert slow == {"status": 401, "code": "invalid_token"}
