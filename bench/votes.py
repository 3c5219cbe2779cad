"""Votes per second through the real vote page: uvicorn + Django + PostgreSQL + a Celery worker.

    .venv/bin/python bench/votes.py [--duration 30] [--concurrency 64] [--workers 2]
                                    [--stories 5] [--participants 20000] [--no-worker]

Each simulated participant has entered a study and been drawn `--stories` upgrade stories
(seeded through the ORM before the servers start: a browser session naming the participant,
as `/s/<slug>/` leaves behind). The load client does what a browser does on
`/s/<slug>/stories/` with the page's script (stories.js): GET the page once (every story still
to judge is on it), read the CSRF token and the stories' ids, then POST each judgement as JSON
to `/s/<slug>/stories/vote` with the session and CSRF cookies and the token header, showing
the next story in place. `--path form` instead does what a browser without script does: per
story a GET of the page and a form POST answered by a 302 back to the page. `--concurrency`
participants vote at once over keep-alive HTTP/1.1 connections (a minimal client on asyncio
streams, so the client's own CPU cost stays small); after their last story each one is
replaced by a fresh participant. The run lasts `--duration` seconds.

A vote counts as acknowledged when its POST answered 200 (script) or 302 (form). Afterwards the script checks that
every acknowledged vote is stored exactly once (one row per participant and story, no row
more) and, polling with a deadline, that the live snapshot built by the Celery worker counts
them all. Printed: votes/s, POST latency p50/p99, errors, the ratio to Polis' published peak of
65 votes/s, and the ratio to a bare ASGI app (no Django, no database) answering the same
requests (a page of the same size with a token and the stories' ids, a small JSON answer or a 302
to a POST) in the same run.

The worker runs with beat (`-B`), so the periodic sweep re-sends stale rebuilds as in
production; `--no-worker` (a diagnostic) leaves both out, to show what the rebuilds cost the
vote path on shared cores. Rate limits (`MGE_RATE_*`) are turned off in the servers' environment: the bench measures the
vote path, not the abuse limits. It needs PostgreSQL (`--database-url`) and Redis
(`--redis-url`, the broker and cache): the database `mge_bench_votes` is dropped, created and
migrated by the script. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import uvicorn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.interview_ws import Proc, free_port  # noqa: E402
from bench.support import Headers, HttpConnection, fresh_database  # noqa: E402

BENCH_DB = "mge_bench_votes"
POLIS_PEAK = 65.0  # votes/s, Polis' published peak
SLUG = "bench-votes"
RATE_SETTINGS = (
    "MGE_RATE_SIGNUPS_PER_IP",
    "MGE_RATE_SIGNUPS_PER_SESSION",
    "MGE_RATE_VOTES_PER_PARTICIPANT",
    "MGE_RATE_VOTES_PER_SESSION",
    "MGE_RATE_VOTES_PER_IP",
    "MGE_RATE_MESSAGES_PER_PARTICIPANT",
    "MGE_RATE_MESSAGES_PER_SESSION",
    "MGE_RATE_MESSAGES_PER_IP",
)
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
HYPOTHESIS = re.compile(rb'name="hypothesis" value="(\d+)"')
VOTE_PATH = f"/s/{SLUG}/stories/vote"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# --- the bare ASGI app: the same HTTP exchange, no Django, no database ---------------------


def bare_app(stories: int) -> Any:
    filler = b"<p>" + b"x" * 6000 + b"</p>"  # about the size of the real page
    counters: dict[str, int] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
        session = cookie.split("sessionid=")[-1].split(";")[0]
        if scope["method"] == "POST" and scope["path"] == VOTE_PATH:
            counters[session] = counters.get(session, 0) + 1
            finished = counters[session] >= stories
            answer = json.dumps(
                {
                    "saved": True,
                    "vote": 1,
                    "judged": counters[session],
                    "total": stories,
                    "next": f"/s/{SLUG}/survey/" if finished else None,
                }
            ).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        if scope["method"] == "POST":
            form = parse_qs(body.decode())
            if form.get("hypothesis"):
                counters[session] = counters.get(session, 0) + 1
            headers = [(b"location", f"/s/{SLUG}/stories/".encode())]
            await send({"type": "http.response.start", "status": 302, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        done = counters.get(session, 0)
        if done >= stories:  # every story judged: on to the survey, as the service does
            headers = [(b"location", f"/s/{SLUG}/survey/".encode())]
            await send({"type": "http.response.start", "status": 302, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        page = (
            b'<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="'
            + os.urandom(24).hex().encode()
            + b'">'
            + b"".join(
                b'<input type="hidden" name="hypothesis" value="' + str(i).encode() + b'">'
                for i in range(done + 1, stories + 1)
            )
            + filler
            + b"</form>"
        )
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"set-cookie", b"csrftoken=" + os.urandom(16).hex().encode() + b"; Path=/"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page})

    return app


def _bare() -> Any:
    return bare_app(int(os.environ["MGE_BENCH_STORIES"]))


# --- the database: a study, stories, participants who have drawn them ----------------------


def seed(participants: int, stories: int) -> tuple[int, list[tuple[int, str]]]:
    """The study's id and, per participant, (id, session key)."""
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from elicitation.models import Participant, Question, Study
    from moralgraph import services as graph_services
    from moralgraph.models import UpgradeHypothesis, Value

    study = Study.objects.create(
        slug=SLUG, title="Bench votes", status=Study.Status.OPEN, upgrade_votes=stories
    )
    question = Question.objects.create(study=study, title="Q", text="What should I do?")
    context_id = graph_services.context_ensure(
        study_id=study.pk, text="When in doubt", question_ids=[question.pk]
    )
    values = Value.objects.bulk_create(
        [
            Value(study=study, title=f"Value {i}", description="d", policies=["MOMENTS of P"])
            for i in range(12)
        ]
    )
    hypotheses = UpgradeHypothesis.objects.bulk_create(
        [
            UpgradeHypothesis(
                study=study,
                from_value=a,
                to_value=b,
                context_id=context_id,
                story=f"Once I cared about {a.title}; now I see {b.title} matters more. " * 8,
                run_id="bench",
            )
            for a in values
            for b in values
            if a.pk != b.pk
        ]
    )
    rng = random.Random(0)
    ids = [h.pk for h in hypotheses]
    rows = Participant.objects.bulk_create(
        [
            Participant(
                study=study,
                stage=Participant.Stage.VOTES,
                upgrade_hypothesis_ids=rng.sample(ids, stories),
            )
            for _ in range(participants)
        ],
        batch_size=2000,
    )
    expire = timezone.now() + timedelta(days=1)
    sessions = [
        Session(
            session_key=f"bench{p.pk:027d}",
            session_data=SessionStore().encode({"participant_ids": [p.pk]}),
            expire_date=expire,
        )
        for p in rows
    ]
    Session.objects.bulk_create(sessions, batch_size=2000)
    return study.pk, [(p.pk, s.session_key) for p, s in zip(rows, sessions, strict=True)]


# --- the load client: raw HTTP/1.1 keep-alive over asyncio streams -------------------------


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    post_ms: list[float] = field(default_factory=list)
    acknowledged: list[tuple[int, int]] = field(default_factory=list)  # (participant, story)
    errors: int = 0
    requests: int = 0
    first_error: str = ""

    def fail(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what

    def pct(self, q: float) -> float:
        ordered = sorted(self.post_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Connection(HttpConnection):
    """A participant's browser: its cookies and the Origin a browser sends."""

    async def browse(
        self,
        method: str,
        path: str,
        cookies: str,
        body: bytes = b"",
        content_type: str = "application/x-www-form-urlencoded",
        csrf: str = "",
    ) -> tuple[int, Headers, bytes]:
        headers = {"Origin": f"http://127.0.0.1:{self.port}", "Cookie": cookies}
        if method == "POST":
            headers["Content-Type"] = content_type
        if csrf:
            headers["X-CSRFToken"] = csrf
        return await self.request(method, path, headers, body)


async def judge_by_script(
    result: Result, conn: Connection, participant_id: int, session: str, stop: float
) -> None:
    """A browser with script: the page once, then a JSON vote per story."""
    path = f"/s/{SLUG}/stories/"
    cookies = f"sessionid={session}"
    status, headers, page = await conn.browse("GET", path, cookies)
    result.requests += 1
    token, stories = TOKEN.search(page), HYPOTHESIS.findall(page)
    csrf = [c for c in headers.get(b"set-cookie", []) if c.startswith(b"csrftoken=")]
    if status != 200 or not token or not stories:
        result.fail(f"GET {status}: {page[:200]!r}")
        return
    if csrf:
        cookies = f"sessionid={session}; {csrf[0].split(b';')[0].decode()}"
    csrf_token = token.group(1).decode()
    for story in dict.fromkeys(stories):
        if time.monotonic() >= stop:
            return
        vote = {
            "hypothesis": int(story),
            "choice": random.choice(["upgrade", "no_upgrade", "not_sure"]),
            "reason": "",
        }
        sent = time.perf_counter()
        status, _, answer = await conn.browse(
            "POST", VOTE_PATH, cookies, json.dumps(vote).encode(), "application/json", csrf_token
        )
        result.requests += 1
        if status != 200:
            result.fail(f"POST {status}: {answer[:200]!r}")
            return
        result.post_ms.append((time.perf_counter() - sent) * 1000)
        result.acknowledged.append((participant_id, int(story)))
        if json.loads(answer).get("next"):
            return


async def judge_by_form(
    result: Result, conn: Connection, participant_id: int, session: str, stop: float
) -> None:
    """A browser without script: a GET of the page and a form POST per story."""
    path = f"/s/{SLUG}/stories/"
    cookies = f"sessionid={session}"
    while time.monotonic() < stop:
        status, headers, page = await conn.browse("GET", path, cookies)
        result.requests += 1
        if status == 302:  # every story judged: on to the survey
            return
        token, story = TOKEN.search(page), HYPOTHESIS.search(page)
        csrf = [c for c in headers.get(b"set-cookie", []) if c.startswith(b"csrftoken=")]
        if status != 200 or not token or not story:
            result.fail(f"GET {status}: {page[:200]!r}")
            return
        if csrf:
            cookies = f"sessionid={session}; {csrf[0].split(b';')[0].decode()}"
        form = {
            "csrfmiddlewaretoken": token.group(1).decode(),
            "hypothesis": story.group(1).decode(),
            "choice": random.choice(["upgrade", "no_upgrade", "not_sure"]),
            "reason": "",
        }
        sent = time.perf_counter()
        status, _, page = await conn.browse("POST", path, cookies, urlencode(form).encode())
        result.requests += 1
        if status != 302:
            result.fail(f"POST {status}: {page[:200]!r}")
            return
        result.post_ms.append((time.perf_counter() - sent) * 1000)
        result.acknowledged.append((participant_id, int(story.group(1))))


async def drive(
    name: str,
    port: int,
    people: list[tuple[int, str]],
    concurrency: int,
    duration: float,
    script: bool = True,
) -> Result:
    result = Result(name)
    queue = list(reversed(people))
    stop = time.monotonic() + duration

    async def lane() -> None:
        conn = Connection(port)
        try:
            while queue and time.monotonic() < stop:
                participant_id, session = queue.pop()
                try:
                    judge = judge_by_script if script else judge_by_form
                    await judge(result, conn, participant_id, session, stop)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    result.fail(repr(exc))
                    conn.close()
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    result.seconds = time.monotonic() - started
    return result


def report(result: Result) -> str:
    rate = len(result.acknowledged) / result.seconds
    return (
        f"  {result.name:<8} votes={len(result.acknowledged):<6} in {result.seconds:5.1f} s: "
        f"{rate:7.1f} votes/s  ({result.requests / result.seconds:7.1f} requests/s)  "
        f"POST p50={result.pct(0.5):6.1f} ms p99={result.pct(0.99):6.1f} ms  "
        f"errors={result.errors}" + (f" (first: {result.first_error})" if result.errors else "")
    )


# --- afterwards: each acknowledged vote stored once, and counted in the live snapshot --------


def check_stored(study_id: int, acknowledged: list[tuple[int, int]], deadline_s: float) -> bool:
    from django.db.models import Count

    from moralgraph.models import GraphSnapshot, UpgradeVote

    rows = list(
        UpgradeVote.objects.filter(study_id=study_id)
        .values("participant_id", "hypothesis_id")
        .annotate(n=Count("id"))
    )
    stored = {(r["participant_id"], r["hypothesis_id"]): r["n"] for r in rows}
    missing = [vote for vote in acknowledged if vote not in stored]
    doubled = [key for key, n in stored.items() if n != 1]
    extra = set(stored) - set(acknowledged)
    print(
        f"stored: {sum(stored.values())} rows for {len(acknowledged)} acknowledged votes; "
        f"missing {len(missing)}, stored twice {len(doubled)}, unacknowledged {len(extra)}"
    )
    started = time.monotonic()
    counted = 0
    while time.monotonic() - started < deadline_s:
        live = GraphSnapshot.objects.filter(study_id=study_id, is_live=True).first()
        counted = live.vote_count if live else 0
        if counted == len(stored):
            break
        time.sleep(0.5)  # polling the worker's rebuild, bounded by the deadline
    print(
        f"live snapshot: counts {counted} votes of {len(stored)} stored "
        f"({'all counted' if counted == len(stored) else 'NOT all counted'}, "
        f"{time.monotonic() - started:.1f} s after the load stopped)"
    )
    return not missing and not doubled and not extra and counted == len(stored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load, each")
    parser.add_argument("--concurrency", type=int, default=64, help="participants at once")
    parser.add_argument("--workers", type=int, default=2, help="server processes, each server")
    parser.add_argument("--stories", type=int, default=5, help="stories per participant")
    parser.add_argument("--participants", type=int, default=20000)
    parser.add_argument("--servers", nargs="+", default=["service", "bare"])
    parser.add_argument(
        "--path",
        choices=["script", "form"],
        default="script",
        help="script: the page once, then a JSON vote per story (stories.js); form: a GET "
        "and a form POST per story (a browser without script)",
    )
    parser.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        help="diagnostic: no Celery worker (no rebuilds sharing the cores; no snapshot check)",
    )
    parser.add_argument("--snapshot-deadline", type=float, default=120.0)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        os.environ["MGE_BENCH_STORIES"] = str(args.stories)
        uvicorn.run(
            "bench.votes:_bare",
            factory=True,
            host="127.0.0.1",
            port=args.serve_bare,
            workers=args.workers,
            log_level="warning",
            access_log=False,
            backlog=4096,
        )
        return

    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{args.database_url}{BENCH_DB}",
        "REDIS_URL": args.redis_url,
        "DJANGO_DEBUG": "0",
        "DATABASE_POOL": "1",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        "MGE_VAR_DIR": tempfile.mkdtemp(prefix="mge-bench-var-"),
        "MGE_STATIC_ROOT": tempfile.mkdtemp(prefix="mge-bench-static-"),
        "MGE_SWEEP_SECONDS": os.environ.get("MGE_SWEEP_SECONDS", "60"),
        # Rate limits off ("0/…" is off; an empty value is too, but logs a warning per request).
        **dict.fromkeys(RATE_SETTINGS, "0/60"),
    }
    os.environ.update(
        {k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")}
        | {k: env[k] for k in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "MGE_VAR_DIR")}
    )
    print(f"votes: {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"load: {args.concurrency} participants at once, {args.stories} stories each, "
        f"{args.duration:g} s per server; {args.workers} process(es) per server; "
        f"the {args.path} path; "
        f"a Celery worker rebuilding the live graph (and beat: the sweep every {env['MGE_SWEEP_SECONDS']} s); rate limits off ({', '.join(RATE_SETTINGS)} "
        f"= 0/60); load client on the same machine"
    )
    script = args.path == "script"
    fresh_database(args.database_url, BENCH_DB, env, static=True)
    study_id, people = seed(args.participants, args.stories)
    django_port, bare_port = free_port(), free_port()
    uvicorn_argv = ["--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
    procs: list[Proc] = []
    results: dict[str, Result] = {}
    try:
        worker = None
        if args.worker:
            worker = Proc(
                "worker",
                [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "light,llm"]
                + ["--pool", "threads", "--concurrency", "2", "--loglevel", "INFO"]
                + ["--without-gossip", "--without-mingle", "-n", f"bench-votes-{os.getpid()}@%h"]
                # -B: the periodic sweep too (MGE_SWEEP_SECONDS), which re-sends stale rebuilds.
                + ["-B", "-s", str(Path(env["MGE_VAR_DIR"]) / "celerybeat-schedule")],
                env,
            )
            procs.append(worker)
        service = Proc(
            "django",
            [sys.executable, "-m", "uvicorn", "config.asgi:application", *uvicorn_argv]
            + ["--port", str(django_port), "--workers", str(args.workers), "--backlog", "4096"],
            env,
        )
        procs.append(service)
        bare = Proc(
            "bare",
            [sys.executable, str(Path(__file__).resolve()), f"--serve-bare={bare_port}"]
            + [f"--workers={args.workers}", f"--stories={args.stories}"],
            env,
        )
        procs.append(bare)
        service.wait_http(f"http://127.0.0.1:{django_port}/healthz")
        bare.wait_http(f"http://127.0.0.1:{bare_port}/")
        if "service" in args.servers:
            results["service"] = asyncio.run(
                drive("service", django_port, people, args.concurrency, args.duration, script)
            )
            print(report(results["service"]), flush=True)
            if results["service"].errors:
                log = Path(service.log.name).read_text(errors="replace")
                print("  the server's log ends:\n" + log[-3000:], flush=True)
        if "bare" in args.servers:
            fake_people = [(i, f"bare{i}") for i in range(10 * len(people))]  # no rows: cheap
            results["bare"] = asyncio.run(
                drive("bare", bare_port, fake_people, args.concurrency, args.duration, script)
            )
            print(report(results["bare"]), flush=True)
        if "service" in results:
            service_rate = len(results["service"].acknowledged) / results["service"].seconds
            line = f"service: {service_rate:.0f} votes/s = {service_rate / POLIS_PEAK:.1f}x "
            line += f"Polis' published peak of {POLIS_PEAK:g}/s (target >= 1000 votes/s)"
            if "bare" in results:
                bare_rate = len(results["bare"].acknowledged) / results["bare"].seconds
                line += f"; {service_rate / bare_rate:.2f} of the bare ASGI app's {bare_rate:.0f}/s"
            print(line, flush=True)
            if worker is None:
                print("no worker (--no-worker): the live snapshot is not checked")
            elif not check_stored(
                study_id, results["service"].acknowledged, args.snapshot_deadline
            ):
                log = Path(worker.log.name).read_text(errors="replace")
                print("  the worker's log ends:\n" + log[-3000:], flush=True)
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
