"""A deployment of the test's own for the fault matrix: a private PostgreSQL and Redis it may
stop and start, migrated and seeded, with a real uvicorn server and a real Celery worker (with
beat) against them, and the participant's HTTP steps the matrix repeats."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
import redis

from tests.support.journey import csrf_token
from tests.support.processes import REPO, VENV_BIN, ManagedProcess, free_port, wait_until


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    assert initdb, "PostgreSQL is not installed (apt-get install postgresql)"
    return Path(initdb).parent


def _runuser() -> str:
    """util-linux's runuser, also when PATH lacks the sbin folders (a bare `env -i` shell)."""
    found = shutil.which("runuser") or next(
        (path for path in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(path)), None
    )
    if found is None:
        pytest.fail("runuser (util-linux) is needed to run a private PostgreSQL as root")
    return found


class PrivatePostgres:
    """initdb into a folder of its own, pg_ctl start/stop on a free port."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mge-faults-pg-"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self.port = free_port()
        self.bin = _pg_bin()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.folder, "postgres")
            self.as_postgres = [_runuser(), "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/mge"

    def _ctl(self, *argv: str) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), *argv],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "initdb"), "-D", str(self.data)]
            + ["-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.start()
        with psycopg.connect(self.url.replace("/mge", "/postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE mge")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-l", str(self.folder / "pg.log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            return list(conn.execute(sql, params).fetchall())


def manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _ready(proc: ManagedProcess, marker: str, what: str) -> ManagedProcess:
    def ready() -> bool:
        proc.assert_running()
        return marker in proc.log()

    wait_until(ready, timeout=90, what=what)
    return proc


def start_compose_worker(env: dict[str, str]) -> ManagedProcess:
    """compose.yaml's worker (prefork pool), with two processes rather than four."""
    argv = [str(VENV_BIN / "celery"), "-A", "config", "worker", "-Q", "light,llm"]
    argv += ["--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    argv += ["-n", f"faults-{free_port()}@%h"]
    return _ready(ManagedProcess("worker", argv, env), "ready.", "the Celery worker")


def start_compose_beat(env: dict[str, str], folder: Path) -> ManagedProcess:
    """compose.yaml's beat, its own process: it sends the sweep every MGE_SWEEP_SECONDS."""
    argv = [str(VENV_BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO"]
    argv += ["-s", str(folder / "celerybeat-schedule")]
    return _ready(ManagedProcess("beat", argv, env), "Sending due task", "Celery beat")


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may stop and start."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.folder)]
        self.proc = ManagedProcess("redis", argv, dict(os.environ))
        client = redis.Redis.from_url(self.url)
        wait_until(client.ping, timeout=20, what="the private Redis")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None


# --- a participant's votes over HTTP --------------------------------------------------------

STORY = re.compile(r'name="hypothesis" value="(\d+)"')


@dataclass
class Voter:
    """A participant at the vote step, who votes over HTTP; `acknowledged` counts the votes the
    server said it took (a redirect to the next story)."""

    client: httpx2.Client
    participant_id: int
    acknowledged: int = 0
    done: bool = False
    statuses: list[int] = field(default_factory=list)

    def vote(self, slug: str) -> int:
        """Try one vote; return the HTTP status the participant saw (302 when taken)."""
        try:
            page = self.client.get(f"/s/{slug}/stories/")
            if page.status_code != 200:
                self.statuses.append(page.status_code)
                self.done = page.status_code == 302
                return page.status_code
            story = STORY.search(page.text)
            if story is None:  # every drawn story is judged
                self.done = True
                return 200
            sent = self.client.post(
                f"/s/{slug}/stories/",
                data={
                    "csrfmiddlewaretoken": csrf_token(page.text),
                    "hypothesis": story.group(1),
                    "choice": "upgrade",
                    "reason": "",
                },
            )
        except httpx2.HTTPError:
            self.statuses.append(0)
            return 0
        self.statuses.append(sent.status_code)
        if sent.status_code == 302:
            self.acknowledged += 1
        return sent.status_code


def new_voter(base_url: str, slug: str, pg: PrivatePostgres) -> Voter:
    """Consent over HTTP, then move the new participant to the vote step (the interview and
    the wise-value steps are tested elsewhere)."""
    client = httpx2.Client(base_url=base_url, timeout=30)
    start = client.get(f"/s/{slug}/")
    assert start.status_code == 200, start.text[:500]
    consented = client.post(
        f"/s/{slug}/", data={"csrfmiddlewaretoken": csrf_token(start.text), "consent": "yes"}
    )
    assert consented.status_code in (200, 302), consented.text[:500]
    (row,) = pg.rows(
        "UPDATE elicitation_participant SET stage = 'votes' WHERE id = ("
        " SELECT max(p.id) FROM elicitation_participant p JOIN elicitation_study s"
        " ON s.id = p.study_id WHERE s.slug = %s) RETURNING id",
        slug,
    )
    return Voter(client=client, participant_id=int(row[0]))


def votes_stored(pg: PrivatePostgres, voters: list[Voter]) -> dict[int, int]:
    ids = [v.participant_id for v in voters]
    rows = pg.rows(
        "SELECT participant_id, count(*) FROM moralgraph_upgradevote"
        " WHERE participant_id = ANY(%s) GROUP BY participant_id",
        ids,
    )
    return {int(pid): int(n) for pid, n in rows}


def live_counts_every_vote(pg: PrivatePostgres, slug: str) -> bool:
    """The live snapshot counts as many votes as the study has stored."""
    rows = pg.rows(
        "SELECT (SELECT count(*) FROM moralgraph_upgradevote v JOIN elicitation_study s"
        "   ON s.id = v.study_id WHERE s.slug = %s),"
        " (SELECT g.vote_count FROM moralgraph_graphsnapshot g JOIN elicitation_study s"
        "   ON s.id = g.study_id WHERE s.slug = %s AND g.is_live"
        "   ORDER BY g.created_at DESC LIMIT 1)",
        slug,
        slug,
    )
    stored, counted = rows[0]
    return counted is not None and int(counted) == int(stored)
