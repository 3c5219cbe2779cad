"""Benchmark of the interview socket: concurrent interviews against the fake OpenAI server.

    .venv/bin/python bench/interview_ws.py [--levels 100 200 400 800 1000 1200 1600] [--workers 2]
                                           [--period 30] [--threshold-ms 25] [--pin]
                                           [--soak SECONDS]

Load model (per interview): the participant sends a message every `period` seconds (30 by
default; each interview's first message at a random offset within the period); each answer is
150 tokens streamed at 50 tokens/s by the fake server (so about a tenth of the interviews are
streaming at any moment, 5 tokens/s per interview on average).

Measured: server-added latency per token, from the moment the fake server wrote the token
(it is stamped into the token's text by a thin wrapper around `inference.fake_server`,
`time.time()` on the same host) to the moment the load client received the frame carrying it.
The service coalesces tokens (a few frames a second, `TOKEN_FLUSH_S`), so tokens waiting in its
buffer wait by design; its figure is taken, per frame, for the token that triggered the send
(the newest in the frame), and the all-tokens figure including that wait is printed beside it.

Two servers, the same fake server, the same `openai` client library and the same load client,
in the same run: the service (uvicorn + Django + Channels + PostgreSQL, `--workers` processes)
and a bare ASGI relay (no Django, no database) with the same number of processes. For each, the
highest level whose p99 stays under `--threshold-ms` is reported. It needs PostgreSQL
(`--database-url`, default postgres://postgres@127.0.0.1:5432/): the database `mge_bench_ws`
is dropped, created and migrated by the script. Asserts nothing about time.

`--pin` (Linux, two cores or more): the servers run on core 0 (`taskset -c 0`), the load client
and the fake server on core 1, so the capacity printed is the server's own rather than a share
of a machine the client also uses (PostgreSQL is not pinned; the token path does not touch it).
`--soak SECONDS` runs the first of `--levels` against the service again and again for that
long, sampling the resident memory (RSS) of the service's processes every few seconds, and
prints the first, last and largest samples and the growth from first to last (flat: < 5%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import uvicorn
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.support import fresh_database  # noqa: E402

BENCH_DB = "mge_bench_ws"
TOKENS_PER_ANSWER = 150
TOKENS_PER_SECOND = 50.0
STAMP = re.compile(r"§(\d+)§")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# --- the fake server, stamping each streamed token with the time it was written -------------


def stamping_fake_app() -> Any:
    # Imported here: the repository joins sys.path above, after the module's imports.
    from inference.fake_server import FakeLLMApp, LatencyConfig

    inner = FakeLLMApp(
        LatencyConfig(tokens_per_second=TOKENS_PER_SECOND, tokens_per_answer=TOKENS_PER_ANSWER)
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: MutableMapping[str, Any]) -> None:
            body = message.get("body", b"")
            if message["type"] == "http.response.body" and body.startswith(b"data: {"):
                chunk = json.loads(body[6:])
                choices = chunk.get("choices") or []
                delta = choices[0].get("delta", {}) if choices else {}
                if delta.get("content"):
                    delta["content"] = f"{delta['content']}§{time.time_ns()}§"
                    message = {**message, "body": b"data: " + json.dumps(chunk).encode() + b"\n\n"}
            await send(message)

        await inner(scope, receive, stamped)

    return app


# --- the bare relay: raw ASGI WebSocket, the same openai client, no Django -------------------


def relay_app(fake_base_url: str) -> Any:
    clients: dict[int, openai.AsyncOpenAI] = {}

    def client() -> openai.AsyncOpenAI:
        loop = id(asyncio.get_running_loop())
        if loop not in clients:
            clients[loop] = openai.AsyncOpenAI(
                base_url=fake_base_url, api_key="bench", max_retries=0, timeout=30
            )
        return clients[loop]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        seq = 0
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = json.loads(message.get("text") or "{}")
            if frame.get("type") != "user_message":
                continue
            seq += 2
            parts: list[str] = []
            stream = await client().chat.completions.create(
                model="fake-model",
                messages=[{"role": "user", "content": frame["text"]}],
                stream=True,
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    text = chunk.choices[0].delta.content
                    parts.append(text)
                    await send(
                        {
                            "type": "websocket.send",
                            "text": json.dumps({"type": "token", "message_seq": seq, "text": text}),
                        }
                    )
            await send(
                {
                    "type": "websocket.send",
                    "text": json.dumps(
                        {
                            "type": "message",
                            "seq": seq,
                            "role": "assistant",
                            "text": "".join(parts),
                            "stopped": False,
                        }
                    ),
                }
            )

    return app


def serve(kind: str, port: int, fake_base_url: str, workers: int) -> None:
    os.environ["MGE_BENCH_FAKE"] = fake_base_url
    target = "bench.interview_ws:_fake_factory" if kind == "fake" else "bench.interview_ws:_relay"
    uvicorn.run(
        target,
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers if kind == "relay" else 1,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_graceful_shutdown=1,
    )


def _fake_factory() -> Any:
    return stamping_fake_app()


def _relay() -> Any:
    return relay_app(os.environ["MGE_BENCH_FAKE"])


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], core: int | None = None
    ) -> None:
        self.name = name
        if core is not None:
            argv = ["taskset", "-c", str(core), *argv]
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_http(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{Path(self.log.name).read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers (/healthz says 503 without a Celery worker's heartbeat)
            except Exception:
                time.sleep(0.1)  # polling a starting server, bounded by the deadline
        raise TimeoutError(f"{self.name} did not start: {Path(self.log.name).read_text()}")

    def rss_kib(self) -> int:
        """Resident memory of the process and its descendants (uvicorn's workers), in KiB."""
        total, pending = 0, [self.proc.pid]
        while pending:
            pid = pending.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue  # exited meanwhile
            total += next(
                (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")),
                0,
            )
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# --- the database and the participants ---------------------------------------------------


def create_interviews(count: int) -> list[tuple[int, str]]:
    """`count` participants, each with an interview and a browser session: (id, cookie)."""
    # Imported here: Django is set up only in the process that writes the bench's rows.
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore

    from elicitation.models import Interview, Participant, Question, Study

    study = Study.objects.create(
        slug="bench",
        title="Bench",
        status=Study.Status.OPEN,
        interviewer_backend=Study.InterviewerBackend.OPENAI,
        interviewer_model="fake-model",
        max_turns=100_000,
        max_tokens=100_000_000,
    )
    question = Question.objects.create(study=study, title="Q", text="What should I do?")
    participants = Participant.objects.bulk_create(
        [Participant(study=study, stage=Participant.Stage.INTERVIEW) for _ in range(count)]
    )
    interviews = Interview.objects.bulk_create(
        [
            Interview(participant=p, question=question, backend="openai", model="fake-model")
            for p in participants
        ]
    )
    sessions = []
    for participant, interview in zip(participants, interviews, strict=True):
        store = SessionStore()
        store["participant_ids"] = [participant.pk]
        store.create()
        sessions.append((interview.pk, f"sessionid={store.session_key}"))
    return sessions


# --- the load client -----------------------------------------------------------------------


@dataclass
class LevelResult:
    level: int
    frame_ms: list[float] = field(default_factory=list)  # per frame, newest token
    token_ms: list[float] = field(default_factory=list)  # every token, incl. coalescing
    answers: int = 0
    errors: int = 0

    def pct(self, values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_level(
    url_for: Callable[[int], str],
    sessions: list[tuple[int, str]],
    level: int,
    period: float,
    origin: str,
) -> LevelResult:
    result = LevelResult(level)
    rng = random.Random(level)
    sockets = []
    for interview_id, cookie in sessions[:level]:
        sockets.append(
            await connect(
                url_for(interview_id),
                additional_headers={"Cookie": cookie, "Origin": origin},
                max_queue=None,
                open_timeout=30,
            )
        )
    start = time.monotonic() + 1.0

    async def participant(i: int, ws: Any) -> None:
        await asyncio.sleep(max(0.0, start + rng.uniform(0, period) - time.monotonic()))
        await ws.send(
            json.dumps(
                {"type": "user_message", "client_id": str(_uuid()), "text": f"My story {i}."}
            )
        )
        try:
            while True:
                raw = await asyncio.wait_for(ws.recv(), timeout=30)
                received = time.time_ns()
                frame = json.loads(raw)
                if frame["type"] == "token":
                    stamps = [int(s) for s in STAMP.findall(frame["text"])]
                    if stamps:
                        result.frame_ms.append((received - max(stamps)) / 1e6)
                        result.token_ms.extend((received - s) / 1e6 for s in stamps)
                elif frame["type"] == "message" and frame["role"] == "assistant":
                    result.answers += 1
                    return
                elif frame["type"] == "error":
                    result.errors += 1
                    return
        except (TimeoutError, Exception):
            result.errors += 1

    await asyncio.gather(*(participant(i, ws) for i, ws in enumerate(sockets)))
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return result


def _uuid() -> Any:
    return uuid.uuid4()


def report(name: str, result: LevelResult, coalesced: bool) -> str:
    line = (
        f"  {name:<8} N={result.level:<5} answers={result.answers:<5} errors={result.errors:<3} "
        f"per-token p50={result.pct(result.frame_ms, 0.5):7.2f} ms "
        f"p99={result.pct(result.frame_ms, 0.99):7.2f} ms"
    )
    if coalesced:
        line += (
            f"   (all tokens incl. coalescing wait: p50={result.pct(result.token_ms, 0.5):.1f} "
            f"p99={result.pct(result.token_ms, 0.99):.1f} ms)"
        )
    return line


def soak(service: Proc, level: Callable[[], Awaitable[LevelResult]], seconds: float) -> None:
    """Run one level again and again for `seconds`, sampling the service's RSS. Growth is
    measured from the end of the first round (caches, pools and sockets warmed) to the end."""
    samples: list[tuple[float, int]] = []
    warm: list[int] = []
    started = time.monotonic()

    async def sample() -> None:
        while True:
            samples.append((time.monotonic() - started, service.rss_kib()))
            await asyncio.sleep(5)

    async def run() -> None:
        sampler = asyncio.create_task(sample())
        rounds = 0
        while time.monotonic() - started < seconds:
            result = await level()
            rounds += 1
            if rounds == 1:
                warm.append(service.rss_kib())
            print(report(f"soak {rounds}", result, True), flush=True)
        samples.append((time.monotonic() - started, service.rss_kib()))
        sampler.cancel()

    asyncio.run(run())
    first, last = warm[0], samples[-1][1]
    print(
        f"soak: {samples[-1][0]:.0f} s, {len(samples)} RSS samples of the service's processes: "
        f"at start {samples[0][1] / 1024:.1f} MiB, after round 1 {first / 1024:.1f} MiB, last {last / 1024:.1f} MiB, "
        f"max {max(s for _, s in samples) / 1024:.1f} MiB; growth {100 * (last - first) / first:+.1f}% "
        f"(flat: under 5%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--levels", type=int, nargs="+", default=[100, 200, 400, 800, 1000, 1200, 1600]
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes, each server")
    parser.add_argument("--period", type=float, default=30.0, help="seconds between messages")
    parser.add_argument("--threshold-ms", type=float, default=25.0)
    parser.add_argument(
        "--no-pool", dest="pool", action="store_false", help="a connection per ORM call"
    )
    parser.add_argument("--servers", nargs="+", default=["service", "bare"])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument(
        "--pin", action="store_true", help="servers on core 0; load client, fake server on core 1"
    )
    parser.add_argument("--soak", type=float, default=0.0, help="seconds at the first level")
    parser.add_argument("--serve", choices=["fake", "relay"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.fake_url, args.workers)
        return

    fake_port, django_port, relay_port = free_port(), free_port(), free_port()
    fake_url = f"http://127.0.0.1:{fake_port}/v1"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{args.database_url}{BENCH_DB}",
        "DJANGO_DEBUG": "0",
        "DATABASE_POOL": "1" if args.pool else "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "LLM_BASE_URL": fake_url,
        "LLM_API_KEY": "bench",
        "LLM_MODEL": "fake-model",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "MGE_VAR_DIR": tempfile.mkdtemp(prefix="mge-bench-var-"),
    }
    env.pop("REDIS_URL", None)  # one process per socket: no channel layer on the token path
    os.environ.update(
        {
            k: env[k]
            for k in (
                "DJANGO_SETTINGS_MODULE",
                "DATABASE_URL",
                "DJANGO_DEBUG",
                "DJANGO_SECRET_KEY",
                "MGE_VAR_DIR",
            )
        }
    )
    print(
        f"interview_ws: {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"load: one message per interview every {args.period:g} s; answers of "
        f"{TOKENS_PER_ANSWER} tokens at {TOKENS_PER_SECOND:g} tokens/s; "
        f"{args.workers} process(es) per server; threshold p99 < {args.threshold_ms:g} ms; "
        f"database pool {'on' if args.pool else 'off'}"
        + ("; servers pinned to core 0, load client and fake server to core 1" if args.pin else "")
    )
    server_core, client_core = (0, 1) if args.pin else (None, None)
    fresh_database(args.database_url, BENCH_DB, env)
    sessions = create_interviews(max(args.levels))
    me = [sys.executable, str(Path(__file__).resolve())]
    procs: list[Proc] = []
    try:
        fake = Proc("fake", [*me, "--serve", "fake", f"--port={fake_port}"], env, client_core)
        procs.append(fake)
        fake.wait_http(f"{fake_url}/models")
        service = Proc(
            "django",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(django_port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "--no-access-log",
                "--backlog",
                "4096",
            ],
            env,
            server_core,
        )
        procs.append(service)
        relay = Proc(
            "relay",
            [
                *me,
                "--serve",
                "relay",
                f"--port={relay_port}",
                f"--fake-url={fake_url}",
                f"--workers={args.workers}",
            ],
            env,
            server_core,
        )
        procs.append(relay)
        service.wait_http(f"http://127.0.0.1:{django_port}/healthz")
        relay.wait_http(f"http://127.0.0.1:{relay_port}/")
        if client_core is not None:
            os.sched_setaffinity(0, {client_core})

        servers = {
            "service": (
                lambda i: f"ws://127.0.0.1:{django_port}/ws/interviews/{i}/",
                f"http://127.0.0.1:{django_port}",
                True,
            ),
            "bare": (
                lambda i: f"ws://127.0.0.1:{relay_port}/ws/{i}/",
                f"http://127.0.0.1:{relay_port}",
                False,
            ),
        }
        if args.soak:
            url_for, origin, _ = servers["service"]
            soak(
                service,
                lambda: run_level(url_for, sessions, args.levels[0], args.period, origin),
                args.soak,
            )
            return
        best: dict[str, int] = {name: 0 for name in servers}
        for name, (url_for, origin, coalesced) in servers.items():
            if name not in args.servers:
                continue
            print(f"{name}:")
            for level in args.levels:
                result = asyncio.run(run_level(url_for, sessions, level, args.period, origin))
                print(report(name, result, coalesced), flush=True)
                p99 = result.pct(result.frame_ms, 0.99)
                if result.errors or not result.frame_ms or p99 >= args.threshold_ms:
                    break
                best[name] = level
        print(
            f"most concurrent interviews with p99 < {args.threshold_ms:g} ms: "
            f"service {best['service']}, bare relay {best['bare']} "
            f"(ratio {best['service'] / best['bare'] if best['bare'] else float('nan'):.2f}; "
            f"target >= 0.5); levels tried: {args.levels}"
        )
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
