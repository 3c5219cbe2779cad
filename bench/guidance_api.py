"""Latency of the values API on a cached snapshot: uvicorn + Django + PostgreSQL.

    .venv/bin/python bench/guidance_api.py [--duration 15] [--levels 1 8] [--workers 1]
                                           [--synthetic] [--bootstrap 50]

The study: the reference study (`manage.py import_mai` from the db-dump under
`MGE_REFERENCE_DATA`, default ../shared/realdata, then `manage.py build_graph`), or with
`--synthetic` (or without the data) a generated snapshot of 60 contexts and 400 values.

The load client (keep-alive HTTP/1.1 on asyncio streams, as bench/votes.py) sends, per level,
that many connections at once for `--duration` seconds of `GET /api/v1/studies/<slug>/guidance`
with a bearer token issued through the service, cycling through the snapshot's contexts asked
exactly and as longer sentences that match fuzzily. Every server process has answered every
query before measuring (the snapshot is parsed and indexed once per process: "cached"). Printed
per level: requests/s, latency p50/p90/p99/max and errors for the service, for "django" (the
same server answering `/api/v1/openapi.json`, a prepared body: Django, its middleware and
uvicorn without database or view work) and for "bare" (an ASGI app without Django that checks
the token and answers a body of the same size), and the ratios. The database `mge_bench_api`
(`--database-url`) is dropped, created and migrated. Asserts nothing about time (the target:
p99 at most 20 ms on a cached snapshot).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.interview_ws import Proc, free_port  # noqa: E402
from bench.support import HttpConnection, fresh_database  # noqa: E402

BENCH_DB = "mge_bench_api"
SLUG = "bench-api"
TARGET_P99_MS = 20.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# --- the bare ASGI app: the same exchange, no Django, no database ----------------------------


def bare_app(token: str, body: bytes) -> Any:
    expected = f"Bearer {token}".encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        ok = dict(scope["headers"]).get(b"authorization") == expected
        answer = body if ok else b"{}"
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        headers.append((b"content-length", str(len(answer)).encode()))
        await send(
            {"type": "http.response.start", "status": 200 if ok else 401, "headers": headers}
        )
        await send({"type": "http.response.body", "body": answer})

    return app


def _bare() -> Any:
    return bare_app(os.environ["MGE_BENCH_TOKEN"], Path(os.environ["MGE_BENCH_BODY"]).read_bytes())


# --- the database: a study with a snapshot, and a token ---------------------------------------


def reference_dump() -> Path | None:
    root = Path(os.environ.get("MGE_REFERENCE_DATA") or REPO.parent / "shared" / "realdata")
    dump = root / "mai-dft-moral-graph" / "db-dump"
    return dump if (dump / "edge.json").is_file() else None


def seed_reference(dump: Path, env: dict[str, str], bootstrap: int) -> str:
    started = time.monotonic()
    for command in (
        ["import_mai", str(dump), "--study", SLUG, "--title", "Reference study"],
        ["build_graph", SLUG, "--bootstrap", str(bootstrap)],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return f"the reference study ({time.monotonic() - started:.0f} s to import and score)"


def seed_synthetic(contexts: int = 60, values: int = 400) -> str:
    """A snapshot document written directly (the API reads documents only): per context a
    winner and twelve edges into it."""
    import hashlib
    import random

    from elicitation.models import Study
    from moralgraph.models import GraphSnapshot

    rng = random.Random(0)
    words = ["care", "truth", "calm", "courage", "family", "grief", "faith", "work", "trust"]
    texts = [f"When {rng.choice(words)} meets {rng.choice(words)} ({i})" for i in range(contexts)]
    winners = [rng.randrange(values) for _ in texts]
    counts = {"markedWiser": 3, "markedNotWiser": 3, "markedUnsure": 3, "markedLessWise": 3}
    edge = {"wiser_likelihood": 0.5, "entropy": 1.0, "interval": [0.2, 0.8], "kept": True}
    document: dict[str, Any] = {
        "schema_version": 1,
        "scoring_version": "bench",
        "parameters": {"mode": "reference"},
        "contexts": [{"id": i, "text": t} for i, t in enumerate(texts)],
        "values": [
            {"id": v, "title": f"Value {v}", "description": "d " * 40, "policies": ["P " * 8] * 5}
            for v in range(values)
        ],
        "edges": [
            {
                "from": source,
                "to": winner,
                "contexts": [text],
                "counts": counts | {"impressions": 12},
            }
            | edge
            for text, winner in zip(texts, winners, strict=True)
            for source in rng.sample(range(values), 12)
        ],
        "winners": [
            {"context": text, "context_id": i, "value_id": winner, "score": 0.3}
            | {"support": "some support", "win_probability": 0.6, "runner_up": None}
            for i, (text, winner) in enumerate(zip(texts, winners, strict=True))
        ],
        "rankings": [],
    }
    GraphSnapshot.objects.create(
        study=Study.objects.create(slug=SLUG, title="Bench API"),
        parameters=document["parameters"],
        document_zlib=GraphSnapshot.pack(document),
        content_hash=hashlib.sha256(b"bench").hexdigest(),
        scoring_version="bench",
    )
    return f"a synthetic snapshot ({contexts} contexts, {values} values)"


def issue_token_and_queries() -> tuple[str, list[str]]:
    """A token for the study, and the queries: each context exactly and as a sentence."""
    from elicitation.models import Study
    from moralgraph.api import tokens
    from moralgraph.selectors import snapshots

    study = Study.objects.get(slug=SLUG)
    snapshot = snapshots.snapshot_get(study_id=study.pk)
    assert snapshot is not None, "the study has no snapshot"
    texts = [str(w["context"]) for w in snapshot.document["winners"]]
    issued = tokens.api_token_issue(name="bench", study_id=study.pk, created_by_id=None)
    queries = []
    for text in texts:
        situation = text.removeprefix("When ").rstrip(".")
        queries += [text, f"The user writes to me; they are {situation} and ask what to do."]
    return issued.token, queries


# --- the load client ---------------------------------------------------------------------


@dataclass
class Result:
    name: str
    level: int
    seconds: float = 0.0
    ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    def pct(self, q: float) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def rate(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0


class Connection(HttpConnection):
    """A client of the API with its bearer token."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(port)
        self.token = token

    async def get(self, path: str) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        status, _, body = await self.request("GET", path, headers)
        return status, body


async def drive(
    name: str, port: int, token: str, urls: list[str], level: int, duration: float
) -> Result:
    result = Result(name, level)
    stop = time.monotonic() + duration

    async def lane(offset: int) -> None:
        conn = Connection(port, token)
        i = offset
        try:
            while time.monotonic() < stop:
                sent = time.perf_counter()
                try:
                    status, body = await conn.get(urls[i % len(urls)])
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    result.errors += 1
                    result.first_error = result.first_error or repr(exc)
                    conn.close()
                    continue
                i += 1
                if status != 200:
                    result.errors += 1
                    result.first_error = result.first_error or f"{status}: {body[:200]!r}"
                    continue
                result.ms.append((time.perf_counter() - sent) * 1000)
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(lane(k * 7) for k in range(level)))
    result.seconds = time.monotonic() - started
    return result


async def warm(port: int, token: str, urls: list[str], rounds: int) -> None:
    """Every process answers every query before measuring: connections spread over the
    processes, so several rounds on several connections reach each of them."""
    conns = [Connection(port, token) for _ in range(4)]
    for _ in range(rounds):
        for url in urls:
            await asyncio.gather(*(c.get(url) for c in conns))
    for conn in conns:
        conn.close()


def report(result: Result) -> str:
    return (
        f"  {result.name:<8} connections={result.level:<3} {len(result.ms):>6} requests in "
        f"{result.seconds:4.1f} s: {result.rate:7.0f} requests/s  p50={result.pct(0.5):6.2f} "
        f"p90={result.pct(0.9):6.2f} p99={result.pct(0.99):6.2f} max={result.pct(1.0):6.1f} ms  "
        f"errors={result.errors}" + (f" (first: {result.first_error})" if result.errors else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per level")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8], help="connections")
    parser.add_argument("--workers", type=int, default=1, help="server processes, each server")
    parser.add_argument("--synthetic", action="store_true", help="not the reference study")
    parser.add_argument("--bootstrap", type=int, default=50, help="for the reference snapshot")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        options: dict[str, Any] = {"host": "127.0.0.1", "log_level": "warning"}
        options |= {"access_log": False, "workers": args.workers, "port": args.serve_bare}
        uvicorn.run("bench.guidance_api:_bare", factory=True, **options)
        return

    var = tempfile.mkdtemp(prefix="mge-bench-var-")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{args.database_url}{BENCH_DB}",
        "DJANGO_DEBUG": "0",
        "DATABASE_POOL": "1",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "MGE_VAR_DIR": var,
    }
    env.pop("REDIS_URL", None)  # the API path touches no cache or channel layer
    os.environ.clear()
    os.environ.update(env)
    print(
        f"guidance_api: {platform.node()} {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; {args.workers} process(es) per server; "
        f"{args.duration:g} s per level; load client on the same machine"
    )
    fresh_database(args.database_url, BENCH_DB, env)
    dump = None if args.synthetic else reference_dump()
    import django

    django.setup()
    seeded = seed_reference(dump, env, args.bootstrap) if dump else seed_synthetic()
    token, queries = issue_token_and_queries()
    urls = [f"/api/v1/studies/{SLUG}/guidance?context={quote(q)}" for q in queries]
    print(f"study: {seeded}; {len(queries)} queries ({len(queries) // 2} contexts × 2)")
    django_port, bare_port = free_port(), free_port()
    procs: list[Proc] = []
    try:
        service = Proc(
            "django",
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1"]
            + ["--port", str(django_port), "--workers", str(args.workers)]
            + ["--log-level", "warning", "--no-access-log"],
            env,
        )
        procs.append(service)
        service.wait_http(f"http://127.0.0.1:{django_port}/api/v1/openapi.json")
        asyncio.run(warm(django_port, token, urls, rounds=max(2, 2 * args.workers)))
        status, sample = asyncio.run(Connection(django_port, token).get(urls[0]))
        assert status == 200, sample[:300]
        body_file = Path(var) / "bare-body.json"
        body_file.write_bytes(sample)
        citations = len(json.loads(sample)["matches"][0]["citations"])
        print(f"a typical answer: {len(sample)} bytes, {citations} citations")
        bare_env = {**env, "MGE_BENCH_TOKEN": token, "MGE_BENCH_BODY": str(body_file)}
        bare = Proc(
            "bare",
            [sys.executable, str(Path(__file__).resolve()), f"--serve-bare={bare_port}"]
            + [f"--workers={args.workers}"],
            bare_env,
        )
        procs.append(bare)
        bare.wait_http(f"http://127.0.0.1:{bare_port}/")
        floor_urls = ["/api/v1/openapi.json"]
        for level in args.levels:
            service_result = asyncio.run(
                drive("service", django_port, token, urls, level, args.duration)
            )
            print(report(service_result), flush=True)
            floor = asyncio.run(
                drive("django", django_port, token, floor_urls, level, args.duration)
            )
            print(report(floor), flush=True)
            bare_result = asyncio.run(drive("bare", bare_port, token, urls, level, args.duration))
            print(report(bare_result), flush=True)
            print(
                f"  connections={level}: service p99 {service_result.pct(0.99):.2f} ms "
                f"(target <= {TARGET_P99_MS:g} ms); requests/s "
                f"{service_result.rate / floor.rate:.2f} of Django's floor and "
                f"{service_result.rate / bare_result.rate:.2f} of the bare app's; p50 above "
                f"Django's floor {service_result.pct(0.5) - floor.pct(0.5):+.2f} ms",
                flush=True,
            )
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
