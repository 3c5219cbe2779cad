"""Production settings: a missing secret stops start-up; `check --deploy` is clean."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import REPO, base_env

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k8#Vq2!pX9zL4mN7rT1wY6uE3oI0aS5dF8gH2jK4lZ7xC9vB1nM3qW5eR7tY9uI0",
    "DJANGO_ALLOWED_HOSTS": "mge.example.org",
    "DATABASE_URL": "postgres://mge:secret@127.0.0.1:5432/mge",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = base_env(**env)
    for name in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY"):
        if name not in env:
            full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_variables() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_missing_secret_is_a_start_up_error() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_without_secret_starts_for_local_development() -> None:
    result = _manage("check", DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
