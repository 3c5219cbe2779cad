"""Subprocesses for tests: a server or worker started with its own environment, waited for
with a deadline (never a fixed sleep), and stopped with its log shown when something failed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str = ""
) -> object:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as exc:  # the thing polled for is not there yet
            last_error = exc
        else:
            if result:
                return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or condition}: {last_error}")


class ManagedProcess:
    def __init__(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.env = dict(env)
        # Kept open for the life of the process and closed by stop().
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"mge-{name}-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def assert_running(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log_file.close()
        return self.proc.returncode


SUBPROCESS_APP_NAME = "mge-test-subprocess"


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            # libpq names the subprocess's database sessions, so that a test can wait for
            # theirs without counting its own (wait_db_quiet).
            "PGAPPNAME": SUBPROCESS_APP_NAME,
        }
    )
    env.update(overrides)
    return env


# What the suite's environment sets that `make run`'s embedded default must not inherit (it
# would point the embedded run at the test services or a model server).
_NOT_EMBEDDED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "LLM_BASE_URL",
    "LLM_API_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def start_make_run(var_dir: Path, port: int, **overrides: str) -> ManagedProcess:
    """`make run`'s script (SQLite, filesystem broker, worker with beat, uvicorn) in its own
    var folder, as a new user gets it."""
    env = base_env(MGE_VAR_DIR=str(var_dir), PORT=str(port), **overrides)
    for name in _NOT_EMBEDDED:
        env.pop(name, None)
    return ManagedProcess("make-run", ["bash", "scripts/run.sh"], env)


def start_asgi_server(
    env: Mapping[str, str], port: int | None = None
) -> tuple[ManagedProcess, str]:
    port = port or free_port()
    proc = ManagedProcess(
        "web",
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
        env,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _http_ok(f"{base_url}/healthz", proc), timeout=60, what="the ASGI server")
    return proc, base_url


def start_worker(env: Mapping[str, str], queues: str = "light,llm") -> ManagedProcess:
    proc = ManagedProcess(
        "worker",
        [
            str(VENV_BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            queues,
            "--pool",
            "threads",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}-{free_port()}@%h",
        ],
        env,
    )

    def ready() -> bool:
        proc.assert_running()
        return "ready." in proc.log()

    wait_until(ready, timeout=60, what="the Celery worker")
    return proc


def _http_ok(url: str, proc: ManagedProcess) -> bool:
    import urllib.error
    import urllib.request

    proc.assert_running()
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            raise RuntimeError(f"{url} says unhealthy: {exc.read().decode()}") from exc
        raise


def wait_db_quiet(timeout: float = 15.0) -> None:
    """Wait until no server or worker subprocess is running a statement or holding a
    transaction open on the test database (finishing work a test set off), so the test's
    teardown can empty the tables without a deadlock."""
    from django.db import connection

    def quiet() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = %s AND state IN ('active', 'idle in transaction')",
                [SUBPROCESS_APP_NAME],
            )
            row = cursor.fetchone()
        return row is not None and row[0] == 0

    wait_until(quiet, timeout=timeout, what="the other database sessions to finish")
