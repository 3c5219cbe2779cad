"""compose.yaml, checked without Docker: its shape, then each app service's command run
locally with the environment compose would give it (host names pointed at this machine)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.celery import app as celery_app
from inference.testing import FakeLLMServer
from tests.support.processes import REPO, VENV_BIN, ManagedProcess, free_port, wait_until

COMPOSE = REPO / "compose.yaml"
DOTENV = {"DJANGO_SECRET_KEY": "compose-test-secret-key-0123456789-abcdefghijklmnopqrstuv"}
_VAR = re.compile(r"\$\{(?P<name>\w+)(?:(?P<colon>:?)(?P<op>[-?])(?P<arg>[^}]*))?\}")


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: with ":-" ("?") an empty value takes the default (fails), with
    "-" only an unset one does."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name) or (name in env and op and not match["colon"]):
            return env[name]
        if op == "?":
            raise AssertionError(f"compose requires {name}: {arg}")
        return arg or ""

    return _VAR.sub(replace, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_and_their_wiring(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker",
        "beat",
        "vllm",
        "vllm-embed",
    }
    assert services["vllm"]["profiles"] == ["gpu"]
    assert "--enable-auto-tool-choice" in services["vllm"]["command"]
    # Two vLLM servers share the GPU: their memory shares must fit in it together.
    shares = [
        float(
            services[name]["command"][
                services[name]["command"].index("--gpu-memory-utilization") + 1
            ]
        )
        for name in ("vllm", "vllm-embed")
    ]
    assert sum(shares) <= 0.95
    assert services["vllm-embed"]["profiles"] == ["gpu"]
    assert "bge-m3" in services["vllm-embed"]["command"][1]
    for name in ("web", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["LLM_BASE_URL"].endswith("http://vllm:8000/v1}")
        # A multilingual embedding model on its own server, unless EMBED_BASE_URL is set empty.
        assert env["EMBED_BASE_URL"] == "${EMBED_BASE_URL-http://vllm-embed:8000/v1}"
        assert env["EMBED_MODEL"] == "${EMBED_MODEL:-BAAI/bge-m3}"
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    worker_cmd = services["worker"]["command"]
    assert worker_cmd[worker_cmd.index("-Q") + 1] == "light,llm"
    assert (REPO / services["migrate"]["build"] / "Dockerfile").exists()
    # Inference jobs run in the worker and are downloaded through web: one shared folder.
    assert "appvar:/app/var" in services["web"]["volumes"]
    assert "appvar:/app/var" in services["worker"]["volumes"]
    assert services["worker"]["environment"]["MGE_VAR_DIR"] == "/app/var"
    # Beat sends the pipeline's sweep; it runs the worker's image with its settings, and keeps
    # its schedule file in the shared folder.
    beat = services["beat"]
    assert beat["image"] == services["worker"]["image"]
    assert beat["environment"] == services["worker"]["environment"]
    assert beat["command"][:4] == ["celery", "-A", "config", "beat"]
    assert beat["command"][beat["command"].index("-s") + 1].startswith("/app/var/")
    assert "appvar:/app/var" in beat["volumes"]


def _local_env(
    service: dict[str, Any], subprocess_env: dict[str, str], llm_url: str
) -> dict[str, str]:
    env = {k: _interpolate(str(v), DOTENV) for k, v in service["environment"].items()}
    # The same variables compose sets, pointed at this machine's services.
    env["DATABASE_URL"] = subprocess_env["DATABASE_URL"]
    env["REDIS_URL"] = subprocess_env["REDIS_URL"]
    env["LLM_BASE_URL"] = llm_url
    env["EMBED_BASE_URL"] = llm_url
    env["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return {
        **env,
        "PATH": path,
        "HOME": os.environ.get("HOME", "/root"),
        "MGE_VAR_DIR": subprocess_env["MGE_VAR_DIR"],
    }


@pytest.mark.django_db(transaction=True)
def test_app_services_run_locally_as_compose_configures_them(
    compose: dict[str, Any], subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    services = compose["services"]
    with FakeLLMServer() as fake:
        migrate_env = _local_env(services["migrate"], subprocess_env, fake.base_url)
        migrated = subprocess.run(
            services["migrate"]["command"],
            cwd=REPO,
            env=migrate_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stderr

        port = free_port()
        web_cmd = [
            str(part).replace("0.0.0.0", "127.0.0.1").replace("8000", str(port))
            for part in services["web"]["command"]
        ]
        web_env = _local_env(services["web"], subprocess_env, fake.base_url)
        # Static files are collected at image build time (see Dockerfile).
        static_root = tmp_path / "static"
        collect = subprocess.run(
            ["python", "manage.py", "collectstatic", "--noinput"],
            cwd=REPO,
            env={**web_env, "MGE_STATIC_ROOT": str(static_root)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert collect.returncode == 0, collect.stderr
        web = ManagedProcess(
            "compose-web", web_cmd, {**web_env, "MGE_STATIC_ROOT": str(static_root)}
        )
        worker = ManagedProcess(
            "compose-worker",
            services["worker"]["command"],
            _local_env(services["worker"], subprocess_env, fake.base_url),
        )
        try:
            import json
            import urllib.error
            import urllib.request

            def healthy() -> dict[str, Any]:
                web.assert_running()
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/healthz", timeout=10
                    ) as response:
                        return dict(json.loads(response.read()))
                except urllib.error.HTTPError as exc:
                    raise AssertionError(exc.read().decode()) from exc

            health = wait_until(healthy, timeout=90, what="compose's web service")
            assert health["status"] == "ok"  # type: ignore[index]
            assert "openai" in health["checks"]["llm"]["detail"]  # type: ignore[index]

            def queues() -> set[str]:
                worker.assert_running()
                replies = celery_app.control.inspect(timeout=1).active_queues() or {}
                return {
                    q["name"]
                    for name, qs in replies.items()
                    if name.startswith("celery@")
                    for q in qs
                }

            consumed = wait_until(queues, timeout=90, what="compose's worker")
            assert consumed == {"light", "llm"}
        finally:
            web.stop()
            worker.stop()
