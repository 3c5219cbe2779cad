"""The health endpoint reports the database, the broker and the LLM backend."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from inference.testing import FakeLLMServer
from tests.support.processes import (
    VENV_BIN,
    ManagedProcess,
    free_port,
    start_asgi_server,
    wait_until,
)


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.django_db(transaction=True)
def test_healthy_stack_reports_each_part(asgi_server: str) -> None:
    status, body = _get(f"{asgi_server}/healthz")
    assert status == 200
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["database"] == {"ok": True, "detail": "postgresql"}
    assert checks["broker"]["ok"] is True
    assert checks["llm"]["ok"] is True
    assert "offline" in checks["llm"]["detail"]


@pytest.mark.django_db(transaction=True)
def test_unreachable_llm_and_broker_make_it_unhealthy(subprocess_env: dict[str, str]) -> None:
    with FakeLLMServer() as fake:
        env = {
            **subprocess_env,
            "LLM_BASE_URL": fake.base_url,
            "LLM_API_KEY": "test",
        }
        healthy_proc, base_url = start_asgi_server(env)
        try:
            status, body = _get(f"{base_url}/healthz")
            assert status == 200, body
            assert body["checks"]["llm"]["ok"] is True  # type: ignore[index]
        finally:
            healthy_proc.stop()
    # The same server configuration with the LLM server gone and Redis on a closed port.
    broken = {**env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    proc: ManagedProcess | None = None
    try:
        port = free_port()
        proc = ManagedProcess(
            "web-broken",
            [
                str(VENV_BIN / "uvicorn"),
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            broken,
        )
        result = wait_until(
            lambda: _get(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="the server"
        )
        status, body = result  # type: ignore[misc]
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"]["ok"] is True  # type: ignore[index]
        assert body["checks"]["broker"]["ok"] is False  # type: ignore[index]
        assert body["checks"]["llm"]["ok"] is False  # type: ignore[index]
    finally:
        if proc is not None:
            proc.stop()
