"""The web side of reliability: a friendly 503 while the database is down, pooled connections
that survive the database dropping them, /healthz's queue lag, the Content-Security-Policy, and
the WebSocket origin checked with its port."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from config.errors import server_error
from config.ws_origin import origin_allowed
from elicitation.models import Participant
from elicitation.services import demo_study_seed
from moralgraph import services as graph_services
from moralgraph.models import GraphRebuildState, UpgradeVote, Value
from tests.factories import make_question, make_study
from tests.support.journey import cookie_header, enter_study
from tests.support.processes import (
    REPO,
    VENV_BIN,
    ManagedProcess,
    free_port,
    start_asgi_server,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _lower(items: object) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}  # type: ignore[attr-defined]


def _get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.read().decode(), _lower(response.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), _lower(exc.headers.items())


# --- the database --------------------------------------------------------------------------


def test_while_the_database_is_down_pages_answer_a_friendly_503(
    subprocess_env: dict[str, str],
) -> None:
    port = free_port()
    # PostgreSQL on a port where nothing listens: the database is down.
    env = {**subprocess_env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/mge"}
    argv = [str(VENV_BIN / "uvicorn"), "config.asgi:application", "--port", str(port)]
    web = ManagedProcess("web-no-db", [*argv, "--host", "127.0.0.1"], env)
    try:
        base = f"http://127.0.0.1:{port}"

        def page() -> tuple[int, str, dict[str, str]]:
            web.assert_running()
            return _get(f"{base}/s/demo/")

        answer = wait_until(page, timeout=60, what="the server to answer")
        assert isinstance(answer, tuple)
        status, body, headers = answer
        assert status == 503, body[:500]
        assert "Back in a moment" in body
        assert "Nothing you have already submitted is lost" in body
        assert headers["retry-after"] == "30"
        health, detail, _ = _get(f"{base}/healthz")
        assert health == 503
        assert json.loads(detail)["checks"]["database"]["ok"] is False
    finally:
        web.stop()


def test_the_error_handler_answers_503_for_a_database_error_outside_a_view() -> None:
    request = RequestFactory().get("/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert "Back in a moment" in response.content.decode()
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(request).status_code == 500


def test_pooled_connections_dropped_by_the_database_cost_no_request(
    subprocess_env: dict[str, str],
) -> None:
    """A PostgreSQL restart closes every pooled connection; the pool checks a connection
    before lending it, so no request gets a dead one."""
    study = make_study()
    env = {**subprocess_env, "DATABASE_POOL": "1", "DATABASE_POOL_MAX": "4"}
    web, base = start_asgi_server(env)
    try:
        for _ in range(4):  # the pool now holds open connections
            assert _get(f"{base}/s/{study.slug}/")[0] == 200
        with connection.cursor() as cursor:  # this test's own connection stays
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
            killed = cursor.fetchone()
        assert killed is not None
        assert killed[0] >= 1
        statuses = [_get(f"{base}/s/{study.slug}/")[0] for _ in range(8)]
        assert statuses == [200] * 8
    finally:
        web.stop()


# --- /healthz: the rebuild queue's lag ------------------------------------------------------


def test_healthz_is_unhealthy_when_a_vote_waits_too_long_for_its_snapshot(
    tmp_path: Path,
) -> None:
    study = make_study()
    question = make_question(study)
    context_id = graph_services.context_ensure(
        study_id=study.pk, text="When in doubt", question_ids=[question.pk]
    )
    a, b = (
        Value.objects.create(study=study, title=t, description="d", policies=["P"])
        for t in ("A", "B")
    )
    with override_settings(VAR_DIR=tmp_path):
        assert Client().get("/healthz").status_code == 200
        graph_services.upgrade_vote_cast(
            participant_id=Participant.objects.create(study=study).pk,
            from_value_id=a.pk,
            to_value_id=b.pk,
            context_id=context_id,
            choice="upgrade",
        )
        # The vote was cast ten minutes ago and no snapshot has it yet.
        UpgradeVote.objects.filter(study=study).update(
            updated_at=timezone.now() - timedelta(minutes=10)
        )
        assert GraphRebuildState.objects.get(study=study).requested_seq >= 1
        response = Client().get("/healthz")
    assert response.status_code == 503
    queue = json.loads(response.content)["checks"]["queue"]
    assert queue["ok"] is False
    assert f"study {study.pk}" in queue["detail"]


# --- headers: Content-Security-Policy ------------------------------------------------------


def test_pages_carry_a_content_security_policy_without_unsafe_inline() -> None:
    demo_study_seed()
    response = Client().get("/s/demo/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)(?![^>]*application/json)|"
    r"<style(?![^>]*\bnonce=)|\sstyle=\"|\son[a-z]+=\"|javascript:",
    re.IGNORECASE,
)


def test_no_template_has_inline_script_style_or_handler_without_a_nonce() -> None:
    offenders = []
    for template in sorted(REPO.glob("*/templates/**/*.html")):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            if INLINE.search(line):
                offenders.append(f"{template.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


# --- the WebSocket origin, port included ---------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
        ("https://localhost", "localhost", True),
        ("https://localhost:443", "localhost", True),
        ("http://localhost", "localhost:8080", False),
        ("https://evil.example", "evil.example", False),  # not an allowed host
        (None, "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),
    ],
)
def test_origin_rule(origin: str | None, host: str, allowed: bool) -> None:
    with override_settings(ALLOWED_HOSTS=["127.0.0.1", "localhost"], CSRF_TRUSTED_ORIGINS=[]):
        assert origin_allowed(origin, host) is allowed


def test_a_trusted_origin_is_admitted_behind_a_proxy_that_rewrites_host() -> None:
    trusted = ["https://mge.example.org"]
    with override_settings(ALLOWED_HOSTS=["web"], CSRF_TRUSTED_ORIGINS=trusted):
        assert origin_allowed("https://mge.example.org", "web:8000")
        assert not origin_allowed("https://mge.example.org:8443", "web:8000")


def test_the_socket_refuses_a_page_of_another_port_on_the_same_host(asgi_server: str) -> None:
    demo_study_seed()
    client = httpx2.Client(base_url=asgi_server)
    interview_id = enter_study(client, "demo")
    url = f"{asgi_server.replace('http', 'ws')}/ws/interviews/{interview_id}/"
    other_port = f"http://127.0.0.1:{free_port()}"
    with (
        pytest.raises((InvalidStatus, ConnectionClosed)) as refused,
        connect(
            url, additional_headers={"Cookie": cookie_header(client), "Origin": other_port}
        ) as ws,
    ):
        ws.recv(timeout=10)
    assert "403" in str(refused.value)
    # The page's own origin still opens it.
    headers = {"Cookie": cookie_header(client), "Origin": asgi_server}
    with connect(url, additional_headers=headers) as ws:
        assert ws.response is not None
        assert ws.response.status_code == 101
