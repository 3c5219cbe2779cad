"""The fault matrix: a deployment of the test's own (private PostgreSQL and Redis, migrated, a
real uvicorn server, a real Celery worker with beat, the fake LLM server) is hurt one way after
another — services restarted or killed, the model failing every way it can, an abuse corpus
over HTTP and the socket — and every item a participant was told was taken is accounted for:
stored in the database and counted in the live snapshot. It prints its table (also written to
$MGE_VAR_DIR/fault-matrix.txt) and fails when any item is lost or any case failed."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from elicitation.ratelimits import parse_rate
from inference.testing import FakeLLMServer
from tests.support.chat import IDLE, Chat
from tests.support.faults import (
    PrivatePostgres,
    PrivateRedis,
    Voter,
    live_counts_every_vote,
    manage,
    new_voter,
    start_compose_beat,
    start_compose_worker,
    votes_stored,
)
from tests.support.journey import csrf_token, enter_study
from tests.support.processes import ManagedProcess, base_env, start_asgi_server, wait_until

SEED = """
import json, django
django.setup()
from elicitation.models import Study
from elicitation.services import demo_study_seed
from tests.factories import make_question, make_study
demo = demo_study_seed()
model = make_study(interviewer_backend="openai", interviewer_model="fake-model")
make_question(model, text="My friend asked me to lie for her. What should I do?")
print(json.dumps({"demo": demo.slug, "model": model.slug}))
"""


@dataclass
class Row:
    case: str
    outcome: str
    submitted: int = 0
    acknowledged: int = 0
    stored: int = 0
    lost: int = 0
    ok: bool = True


class Deployment:
    def __init__(self, fake: FakeLLMServer, folder: Path) -> None:
        self.fake = fake
        self.folder = folder
        self.pg = PrivatePostgres()
        self.redis = PrivateRedis(folder)
        self.web: ManagedProcess | None = None
        self.worker: ManagedProcess | None = None
        self.beat: ManagedProcess | None = None
        self.base_url = ""
        self.env: dict[str, str] = {}
        self.slugs: dict[str, str] = {}

    def start(self) -> None:
        self.pg.init()
        self.redis.start()
        var = self.folder / "var"
        var.mkdir(exist_ok=True)
        self.env = base_env(
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url,
            DATABASE_POOL="1",
            DJANGO_DEBUG="1",
            DJANGO_SECRET_KEY="test-only-secret-key-not-for-production-use-0123456789",
            LOG_FORMAT="text",
            LOG_LEVEL="INFO",
            MGE_VAR_DIR=str(var),
            MGE_SWEEP_SECONDS="1",
            MGE_WORKER_HEARTBEAT_SECONDS="0.5",
            LLM_BASE_URL=self.fake.base_url,
            LLM_API_KEY="test-key",
            LLM_MODEL="fake-model",
            LLM_TIMEOUT_S="3",
            LLM_MAX_RETRIES="0",
            # Every request here comes from 127.0.0.1, which the rate limits exempt by default.
            MGE_RATE_EXEMPT_IPS="",
        )
        self.env.pop("CELERY_BROKER_URL", None)  # a developer's own broker must not leak in
        manage(self.env, "migrate", "--noinput")
        seeded = manage({**self.env, "PYTHONPATH": "."}, "shell", "-c", SEED)
        self.slugs = json.loads(seeded.strip().splitlines()[-1])
        self.start_web()
        self.start_worker()
        self.beat = start_compose_beat(self.env, self.folder)

    def start_web(self) -> None:
        self.web, self.base_url = start_asgi_server(self.env)

    def start_worker(self) -> None:
        self.worker = start_compose_worker(self.env)

    def stop(self) -> None:
        for proc in (self.web, self.worker, self.beat):
            if proc is not None:
                proc.stop()
        self.redis.stop()
        self.pg.destroy()


@pytest.fixture(scope="module")
def deployment(
    fake_llm_server: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    fake_llm_server.reset()
    found = Deployment(fake_llm_server, tmp_path_factory.mktemp("faults"))
    try:
        found.start()
        yield found
    finally:
        found.stop()
        fake_llm_server.reset()


# --- votes under a fault --------------------------------------------------------------------


def _vote_until_taken(voter: Voter, slug: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not voter.done and time.monotonic() < deadline:
        if voter.vote(slug) == 302:
            return
        time.sleep(0.2)  # a retry's pause, as a participant pressing again


def _finish(voters: list[Voter], slug: str) -> None:
    for voter in voters:
        deadline = time.monotonic() + 90
        while not voter.done and time.monotonic() < deadline:
            _vote_until_taken(voter, slug, deadline - time.monotonic())


def _votes_case(
    d: Deployment,
    case: str,
    down: Callable[[], None],
    up: Callable[[], None],
    *,
    served_while_down: bool = False,
) -> Row:
    """Votes before, during and after a fault. `served_while_down`: the vote pressed during the
    fault is taken too (only the database's outage may answer the 503 page)."""
    slug = d.slugs["demo"]
    voters = [new_voter(d.base_url, slug, d.pg) for _ in range(2)]
    for voter in voters:
        _vote_until_taken(voter, slug)
    down()
    during = [voters[0].vote(slug)]  # a participant pressing while it is down
    up()
    after_start = [len(v.statuses) for v in voters]
    _finish(voters, slug)
    after = sorted({s for v, n in zip(voters, after_start, strict=True) for s in v.statuses[n:]})
    stored = votes_stored(d.pg, voters)
    acknowledged = sum(v.acknowledged for v in voters)
    lost = sum(max(0, v.acknowledged - stored.get(v.participant_id, 0)) for v in voters)
    try:
        wait_until(
            lambda: live_counts_every_vote(d.pg, slug),
            timeout=60,
            interval=0.5,
            what="the live snapshot to count every vote",
        )
        counted = "all counted"
    except TimeoutError:
        counted = "NOT all counted in the live snapshot"
        lost = max(lost, 1)
    return Row(
        case,
        f"during: {_codes(during)}; after: {_codes(after)}; {counted}",
        submitted=sum(len(v.statuses) for v in voters),
        acknowledged=acknowledged,
        stored=sum(stored.values()),
        lost=lost,
        ok=lost == 0
        and all(v.done for v in voters)
        and (not served_while_down or all(0 < s < 400 for s in during)),
    )


def _codes(statuses: list[int]) -> str:
    return "/".join(str(s) if s else "no answer" for s in sorted(set(statuses))) or "-"


def _pg_restart(d: Deployment) -> Row:
    return _votes_case(d, "PostgreSQL restart during votes", d.pg.stop, d.pg.start)


def _redis_restart(d: Deployment) -> Row:
    return _votes_case(
        d, "Redis restart during votes", d.redis.stop, d.redis.start, served_while_down=True
    )


def _worker_kill(d: Deployment) -> Row:
    def kill() -> None:
        assert d.worker is not None
        os.killpg(d.worker.proc.pid, signal.SIGKILL)
        d.worker.proc.wait(timeout=10)
        d.worker.stop()

    return _votes_case(
        d, "worker kill -9 mid-rebuild, restarted", kill, d.start_worker, served_while_down=True
    )


# --- answers under a fault -------------------------------------------------------------------


def _model_chat(d: Deployment) -> Chat:
    client = httpx2.Client(base_url=d.base_url, timeout=30)
    return Chat(d.base_url, client, enter_study(client, d.slugs["model"]))


def _kinds(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == kind]


def _final(frames: list[dict[str, Any]]) -> str:
    """What the participant was left with: the last error or answer before the idle frame."""
    for frame in reversed(frames):
        if frame["type"] == "error":
            return f"error frame {frame['code']}: '{frame['message'][:40]}'"
        if frame["type"] == "message" and frame["role"] == "assistant":
            return "answer (stopped)" if frame.get("stopped") else "answer"
        if frame["type"] == "card_proposed":
            return "card"
    return "NO final frame"


def _user_messages(d: Deployment, interview_id: int) -> int:
    rows = d.pg.rows(
        "SELECT count(*) FROM elicitation_message WHERE interview_id = %s AND role = 'user'",
        interview_id,
    )
    return int(rows[0][0])


def _answer_row(d: Deployment, case: str, chat: Chat, frames: list[dict[str, Any]]) -> Row:
    acked = len({f["seq"] for f in _kinds(frames, "message") if f["role"] == "user"})
    stored = _user_messages(d, chat.interview_id)
    final = _final(frames)
    lost = max(0, acked - stored)
    return Row(case, final, 1, acked, stored, lost, ok=lost == 0 and "NO final" not in final)


LLM_FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("LLM answers 429", {"status": 429, "body": {"error": "rate limited"}}),
    ("LLM answers 500", {"status": 500, "body": {"error": "boom"}}),
    ("LLM hangs (timeout)", {"hang": True}),
    ("LLM stalls mid-stream", {"text": " ".join(["word"] * 40), "stall_after": 3}),
    ("LLM sends garbage SSE", {"garbage": "data: {this is not json\n\n"}),
    (
        "LLM sends an invalid tool call",
        {"tool_call": {"name": "propose_card", "arguments": "{not json"}, "repeat": 3},
    ),
]


def _llm_fault(d: Deployment, case: str, script: dict[str, Any]) -> Row:
    tag = f"F{uuid.uuid4().hex[:8]}"
    d.fake.script({**script, "match": tag})
    chat = _model_chat(d)
    with chat.ws:
        chat.say(f"{tag}: my friend asked me to lie")
        frames = chat.until_idle(timeout=30)
    return _answer_row(d, case, chat, frames)


def _resume_after(chat: Chat, base_url: str, timeout: float = 40) -> list[dict[str, Any]]:
    """Reconnect as the page does (again, until the server takes it) and resume."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with chat.open(base_url) as ws:
                chat.ws = ws
                ws.send(json.dumps({"type": "resume", "after_seq": 0}))
                return chat.until_idle(timeout=max(1.0, deadline - time.monotonic()))
        except (ConnectionClosed, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)  # the page's reconnect back-off


def _web_kill_mid_answer(d: Deployment) -> Row:
    d.fake.configure(tokens_per_second=20)
    tag = f"K{uuid.uuid4().hex[:8]}"
    d.fake.script({"text": " ".join(f"word{i}" for i in range(400)), "match": tag})
    chat = _model_chat(d)
    try:
        with chat.ws:
            chat.say(f"{tag}: tell me everything")
            first = chat.until(lambda f: f["type"] == "token")
            assert d.web is not None
            d.web.stop(signal.SIGKILL)
        d.start_web()
        frames = first + _resume_after(chat, d.base_url)
    finally:
        d.fake.configure(tokens_per_second=0)
    row = _answer_row(d, "web server kill -9 mid-answer, restarted", chat, frames)
    # Killed at its first token, before any checkpoint: the answer ends as "interrupted";
    # killed later, the text checkpointed so far comes back as a stopped answer.
    kept = any(f["type"] == "message" and f.get("stopped") for f in frames)
    row.outcome = f"socket closed; after resume: {row.outcome}"
    row.ok = row.ok and (kept or "interrupted" in row.outcome)
    return row


def _redis_restart_mid_answer(d: Deployment) -> Row:
    d.fake.configure(tokens_per_second=20)
    tag = f"R{uuid.uuid4().hex[:8]}"
    d.fake.script({"text": " ".join(f"word{i}" for i in range(100)), "match": tag})
    chat = _model_chat(d)
    note = "stream went on"
    frames: list[dict[str, Any]] = []
    try:
        with chat.ws:
            chat.say(f"{tag}: tell me everything")
            frames += chat.until(lambda f: f["type"] == "token")
            d.redis.stop()
            d.redis.start()
            frames += chat.until_idle(timeout=40)
    except ConnectionClosed:
        note = "socket closed, page reconnected"
        frames += _resume_after(chat, d.base_url)
    finally:
        d.fake.configure(tokens_per_second=0)
    row = _answer_row(d, "Redis restart during a streamed answer", chat, frames)
    row.outcome = f"{note}: {row.outcome}"
    return row


# --- the abuse corpus -------------------------------------------------------------------------


def _http_abuse(d: Deployment) -> list[Row]:
    slug = d.slugs["demo"]
    rows: list[Row] = []
    client = httpx2.Client(base_url=d.base_url, timeout=30)
    token = csrf_token(client.get(f"/s/{slug}/").text)

    def form(case: str, path: str, data: dict[str, Any], fine: set[int]) -> None:
        response = client.post(path, data={"csrfmiddlewaretoken": token, **data})
        rows.append(Row(case, f"HTTP {response.status_code}", ok=response.status_code in fine))

    form(
        "HTTP: NUL in the invite code",
        f"/s/{slug}/",
        {"consent": "yes", "invite_code": "a\x00b"},
        {200, 302, 400},
    )
    form(
        "HTTP: oversized form field (3 MB)",
        f"/s/{slug}/",
        {"consent": "yes", "invite_code": "x" * 3_000_000},
        {400, 413},
    )
    form("HTTP: '²' as a question id", f"/s/{slug}/questions/", {"question": "²"}, {200, 302, 400})

    # Votes: a story never drawn, a double submit, a post without CSRF.
    voter = new_voter(d.base_url, slug, d.pg)
    page = voter.client.get(f"/s/{slug}/stories/")
    story = int(page.text.split('name="hypothesis" value="')[1].split('"')[0])
    vote = {"csrfmiddlewaretoken": csrf_token(page.text), "choice": "upgrade", "reason": ""}
    never = voter.client.post(f"/s/{slug}/stories/", data={**vote, "hypothesis": "99999999"})
    stored = votes_stored(d.pg, [voter]).get(voter.participant_id, 0)
    rows.append(
        Row(
            "HTTP: a vote on a story never drawn",
            f"HTTP {never.status_code}",
            1,
            0,
            stored,
            0,
            ok=never.status_code == 400 and stored == 0,
        )
    )
    bare = httpx2.Client(base_url=d.base_url, timeout=30, cookies=voter.client.cookies)
    no_csrf = bare.post(f"/s/{slug}/stories/", data={"hypothesis": str(story), "choice": "x"})
    stored = votes_stored(d.pg, [voter]).get(voter.participant_id, 0)
    rows.append(
        Row(
            "HTTP: a vote without its CSRF token",
            f"HTTP {no_csrf.status_code}",
            1,
            0,
            stored,
            0,
            ok=no_csrf.status_code == 403 and stored == 0,
        )
    )
    twice = [
        voter.client.post(f"/s/{slug}/stories/", data={**vote, "hypothesis": str(story)})
        for _ in range(2)
    ]
    acked = 1 if any(r.status_code == 302 for r in twice) else 0
    stored = votes_stored(d.pg, [voter]).get(voter.participant_id, 0)
    codes = "/".join(str(r.status_code) for r in twice)
    rows.append(
        Row(
            "HTTP: the same vote submitted twice",
            f"HTTP {codes}, stored once",
            2,
            acked,
            stored,
            max(0, acked - stored),
            ok=stored == acked == 1,
        )
    )

    # The page script's vote address: a story never drawn, and a body that is not JSON.
    before = votes_stored(d.pg, [voter]).get(voter.participant_id, 0)
    headers = {"X-CSRFToken": vote["csrfmiddlewaretoken"], "Content-Type": "application/json"}
    for case, body in (
        (
            "HTTP: a script vote on a story never drawn",
            '{"hypothesis": 99999999, "choice": "upgrade"}',
        ),
        ("HTTP: a script vote that is not JSON", '{"hypothesis": '),
    ):
        answer = voter.client.post(f"/s/{slug}/stories/vote", content=body, headers=headers)
        stored = votes_stored(d.pg, [voter]).get(voter.participant_id, 0)
        rows.append(
            Row(
                case,
                f"HTTP {answer.status_code} {answer.json().get('error', '')}",
                1,
                0,
                stored - before,
                0,
                ok=answer.status_code == 400 and stored == before,
            )
        )

    # A card with HTML and a script in it, from the offline interviewer.
    chat_client = httpx2.Client(base_url=d.base_url, timeout=30)
    chat = Chat(d.base_url, chat_client, enter_study(chat_client, slug))
    frames: list[dict[str, Any]] = []
    with chat.ws:
        for text in (
            "My friend <script>alert(1)</script> asked me to lie <b>for her</b>.",
            "I noticed <img src=x onerror=alert(2)> her fear.",
            "A wise person would notice <script>alert(3)</script> too.",
        ):
            chat.say(text)
            frames += chat.until_idle()
    html = chat_client.get(f"/interviews/{chat.interview_id}/").text
    raw = "<script>alert" in html or "<img src=x" in html
    row = _answer_row(d, "HTTP/socket: HTML and script in a card", chat, frames)
    row.outcome = f"{row.outcome}; page escapes it" if not raw else "RAW HTML on the page"
    row.ok = row.ok and not raw
    rows.append(row)

    return rows


def _signup_flood(d: Deployment) -> Row:
    """A flood of sign-ups from one address (last: it leaves the address limited)."""
    slug = d.slugs["demo"]
    statuses: list[int] = []
    limited_page = True
    # The limits count in fixed windows: a flood that straddles a window's end can pass twice
    # the limit (one run in fifty or so saw 80 sign-ups through at 50/60). One more than twice
    # the limit is refused wherever the boundary falls, as long as the flood takes under a
    # window (80 took 4 s).
    rate = parse_rate(settings.MGE_RATE_SIGNUPS_PER_IP)
    flood_size = 2 * rate[0] + 1 if rate else 80
    for _ in range(flood_size):
        flood = httpx2.Client(base_url=d.base_url, timeout=30)
        response = flood.get(f"/s/{slug}/")
        if response.status_code == 200:
            token = csrf_token(response.text)
            response = flood.post(
                f"/s/{slug}/", data={"csrfmiddlewaretoken": token, "consent": "yes"}
            )
        statuses.append(response.status_code)
        if response.status_code == 429:
            limited_page = "<h1>Too many requests" in response.text
            break
    limits = hasattr(settings, "MGE_RATE_SIGNUPS_PER_IP")  # the rate limits are in the tree
    if 429 in statuses:
        outcome = f"HTTP 429 'Too many requests' after {len(statuses)} sign-ups"
    else:
        outcome = f"no limit after {len(statuses)} sign-ups (h9's limits pending)"
    return Row(
        "HTTP: a flood of sign-ups from one IP",
        outcome,
        ok=all(s < 500 for s in statuses) and limited_page and (429 in statuses or not limits),
    )


def _socket_abuse(d: Deployment) -> list[Row]:
    rows: list[Row] = []
    client = httpx2.Client(base_url=d.base_url, timeout=30)
    chat = Chat(d.base_url, client, enter_study(client, d.slugs["demo"]))
    corpus = [
        ("oversized frame", "x" * 40_000, "frame_too_large"),
        ("malformed JSON", "{not json", "malformed_frame"),
        ("unknown type", json.dumps({"type": "launch"}), "unknown_type"),
        (
            "NUL in a message",
            json.dumps({"type": "user_message", "client_id": str(uuid.uuid4()), "text": "a\x00b"}),
            None,
        ),
    ]
    with chat.ws:
        for case, frame, code in corpus:
            chat.ws.send(frame)
            got = chat.until(lambda f: f["type"] == "error", timeout=10)[-1]
            rows.append(
                Row(
                    f"socket: {case}",
                    f"error frame {got['code']}",
                    ok=code is None or got["code"] == code,
                )
            )
        acked = 0
        codes: set[str] = set()
        for i in range(60):
            chat.say(f"flood {i}")
        deadline = time.monotonic() + 60
        frames: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                frames.append(json.loads(chat.ws.recv(timeout=5)))
            except TimeoutError:
                break
        acked = len([f for f in _kinds(frames, "message") if f["role"] == "user"])
        codes = {f["code"] for f in _kinds(frames, "error")}
        chat.say("one more, after the flood")
        tail = chat.until(lambda f: f == IDLE or f["type"] == "error", timeout=30)
    stored = _user_messages(d, chat.interview_id)
    limited = "rate_limited" in codes
    outcome = f"errors {sorted(codes)}" + ("" if limited else " (h9's rate_limited pending)")
    outcome += f"; socket still answers ({tail[-1]['type']})"
    rows.append(
        Row(
            "socket: a flood of 60 messages",
            outcome,
            60,
            acked,
            stored,
            max(0, acked - stored),
            ok=stored >= acked and (limited or not hasattr(settings, "MGE_RATE_MESSAGES_PER_IP")),
        )
    )
    return rows


# --- the matrix -------------------------------------------------------------------------------


def _table(rows: list[Row]) -> str:
    head = ("case", "outcome", "sent", "acked", "stored", "lost", "ok")
    body = [
        (
            r.case,
            r.outcome,
            str(r.submitted),
            str(r.acknowledged),
            str(r.stored),
            str(r.lost),
            "ok" if r.ok else "FAIL",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
        for line in [head, *body]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _run(rows: list[Row], case: str, step: Callable[[], Row | list[Row]]) -> None:
    started = time.monotonic()
    try:
        found = step()
    except Exception as exc:  # the row says what broke; the test fails at the end
        found = Row(case, f"CRASHED: {type(exc).__name__}: {str(exc)[:160]}", ok=False)
    for row in found if isinstance(found, list) else [found]:
        row.outcome += (
            f" [{time.monotonic() - started:.0f}s]" if not isinstance(found, list) else ""
        )
        rows.append(row)


def test_the_fault_matrix_loses_no_item(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    d = deployment
    rows: list[Row] = []
    _run(rows, "PostgreSQL restart during votes", lambda: _pg_restart(d))
    _run(rows, "Redis restart during votes", lambda: _redis_restart(d))
    _run(rows, "worker kill -9 mid-rebuild", lambda: _worker_kill(d))
    _run(rows, "Redis restart during a streamed answer", lambda: _redis_restart_mid_answer(d))
    _run(rows, "web server kill mid-answer", lambda: _web_kill_mid_answer(d))
    for case, script in LLM_FAULTS:
        _run(rows, case, lambda c=case, s=script: _llm_fault(d, c, s))  # type: ignore[misc]
    _run(rows, "HTTP abuse corpus", lambda: _http_abuse(d))
    _run(rows, "socket abuse corpus", lambda: _socket_abuse(d))
    _run(rows, "HTTP: a flood of sign-ups from one IP", lambda: _signup_flood(d))

    table = _table(rows)
    var = Path(settings.VAR_DIR)  # $MGE_VAR_DIR, or the project's var/ folder
    var.mkdir(parents=True, exist_ok=True)
    (var / "fault-matrix.txt").write_text(table + "\n")
    with capsys.disabled():
        print("\n\nFault matrix (items lost must all be 0)\n" + table + "\n")
    assert sum(r.lost for r in rows) == 0, table
    assert all(r.ok for r in rows), table
