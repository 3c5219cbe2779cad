"""Test helpers: the fake OpenAI-compatible server as a subprocess on a free loopback port.

with FakeLLMServer() as fake:
    fake.script({"text": "Hello there"})
    gateway = build_gateway(base_url=fake.base_url, api_key="x", model="fake-model", ...)
    ...
    assert fake.requests("/v1/chat/completions")[0]["body"]["messages"] == [...]
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

_REPO_ROOT = Path(__file__).resolve().parent.parent
START_DEADLINE_S = 15.0


class FakeServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FakeLLMServer:
    """Start ``python -m inference.fake_server`` and drive its control endpoints."""

    def __init__(
        self,
        *,
        port: int | None = None,
        ttft_s: float = 0.0,
        tokens_per_second: float = 0.0,
        delay_s: float = 0.0,
        tokens_per_answer: int = 12,
        start_deadline_s: float = START_DEADLINE_S,
    ) -> None:
        self.port = port or free_port()
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root_url}/v1"
        self._args = [
            f"--ttft-s={ttft_s}",
            f"--tokens-per-second={tokens_per_second}",
            f"--delay-s={delay_s}",
            f"--tokens-per-answer={tokens_per_answer}",
        ]
        self._start_deadline_s = start_deadline_s
        self._process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: nobody reads a pipe while tests run, and a full one blocks.
        self._log: IO[bytes] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        if self._process is not None:
            return self
        self._log = tempfile.TemporaryFile(prefix="fake-llm-server-")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_REPO_ROOT), *sys.path])}
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inference.fake_server",
                "--host=127.0.0.1",
                f"--port={self.port}",
                *self._args,
            ],
            cwd=_REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self._start_deadline_s
        while True:
            if self._process.poll() is not None:
                output = self.log_text()
                self.stop()
                raise FakeServerError(f"the fake LLM server exited at start:\n{output}")
            try:
                self._call("GET", "/v1/models", timeout=0.5)
                self.reset()  # the start-up probe is not part of any test's record
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise FakeServerError(
                        f"the fake LLM server did not answer on {self.root_url} within "
                        f"{self._start_deadline_s:g} s"
                    ) from None
                time.sleep(0.02)  # poll interval, bounded by the deadline above

    def log_text(self) -> str:
        """What the server printed (warnings and errors; access logging is off)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------------

    def script(self, *responses: dict[str, Any]) -> int:
        """Queue scripted responses (see ``inference.fake_server``); returns how many pend."""
        answer = self._call("POST", "/_fake/script", {"responses": list(responses)})
        return int(answer["pending"])

    def pending(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_fake/script")["responses"])

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every model request received, oldest first: ``{"method", "path", "body"}``."""
        received: list[dict[str, Any]] = self._call("GET", "/_fake/requests")["requests"]
        if path is None:
            return received
        if not path.startswith("/"):
            path = "/v1/" + path
        return [r for r in received if r["path"] == path]

    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat completion requests received."""
        return [r["body"] for r in self.requests("/v1/chat/completions")]

    def reset(self) -> None:
        self._call("POST", "/_fake/reset", {})

    def configure(self, **latency: float) -> dict[str, Any]:
        """Change the latency model: ttft_s, tokens_per_second, delay_s, tokens_per_answer."""
        config: dict[str, Any] = self._call("POST", "/_fake/config", latency)
        return config

    def _call(
        self, method: str, path: str, body: Any = None, *, timeout: float = 5.0
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.root_url + path,
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise FakeServerError(f"{method} {path} failed with {exc.code}: {detail}") from None
