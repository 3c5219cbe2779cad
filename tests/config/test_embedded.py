"""The embedded default exactly as `make run` configures it: SQLite, kombu's filesystem
transport, a real worker process, the ASGI server, and Ctrl-C stopping all of it."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx2

from tests.support.journey import csrf_token
from tests.support.processes import (
    REPO,
    free_port,
    start_make_run,
    wait_until,
)

SUBMIT_CARD = """
from django.utils import timezone
from elicitation import services, tasks
from elicitation.models import Study, ValuesCard
study = Study.objects.get(slug="demo")
participant = services.participant_consent(study=study)
interview = services.interview_start(participant=participant, question=study.questions.first())
card = ValuesCard.objects.create(
    interview=interview, participant=participant, question=interview.question,
    title="Respecting a parent's own judgement", description="Helping without taking over.",
    policies=["CHOICES he can still make himself"], submitted_at=timezone.now())
tasks.values_card_canonicalise.delay(card.pk)
print(card.pk)
"""


def test_make_run_serves_the_demo_and_completes_a_task_round_trip(tmp_path: Path) -> None:
    port = free_port()
    run = start_make_run(tmp_path / "var", port, MGE_SWEEP_SECONDS="2")
    try:

        def healthy() -> dict[str, object]:
            run.assert_running()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                return dict(json.loads(r.read()))

        health = wait_until(healthy, timeout=120, what="make run's server")
        checks = health["checks"]  # type: ignore[index]
        assert checks["database"]["detail"] == "sqlite"
        assert "filesystem" in checks["broker"]["detail"]
        assert "offline" in checks["llm"]["detail"]
        assert "admin password: " in run.log()

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/s/demo/", timeout=5) as page:
            assert "How should an AI help with hard personal decisions?" in page.read().decode()

        # The admin logs in with the password make run printed.
        password = re.search(r"login admin / (\S+)", run.log())
        assert password, run.log()
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}") as admin:
            form = admin.get("/admin/login/")
            logged_in = admin.post(
                "/admin/login/?next=/admin/",
                data={
                    "csrfmiddlewaretoken": csrf_token(form.text),
                    "username": "admin",
                    "password": password.group(1),
                    "next": "/admin/",
                },
            )
            assert logged_in.status_code == 302
            assert logged_in.headers["location"] == "/admin/"
            assert "Studies" in admin.get("/admin/").text

        wait_until(lambda: "ready." in run.log(), timeout=60, what="the worker")
        submitted = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SUBMIT_CARD],
            cwd=REPO,
            env={**run.env, "DJANGO_DEBUG": "1"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert submitted.returncode == 0, submitted.stderr
        card_id = int(submitted.stdout.strip().splitlines()[-1])

        database = tmp_path / "var" / "db.sqlite3"

        def canonical_value() -> int | None:
            with sqlite3.connect(database, timeout=5) as db:
                row = db.execute(
                    "SELECT value_id FROM elicitation_valuescard WHERE id = ?", (card_id,)
                ).fetchone()
            return row[0] if row else None

        value_id = wait_until(canonical_value, timeout=60, what="the worker to canonicalise")
        with sqlite3.connect(database) as db:
            title = db.execute("SELECT title FROM moralgraph_value WHERE id = ?", (value_id,))
            assert title.fetchone()[0] == "Respecting a parent's own judgement"

        # Beat runs inside `make run`: the worker runs the pipeline's sweep, which stamps it.
        sweep_stamp = tmp_path / "var" / "pipeline-sweep.txt"
        wait_until(sweep_stamp.exists, timeout=60, what="beat to run the pipeline's sweep")
    finally:
        code = run.stop(sig=signal.SIGINT, timeout=30)
    assert code == 0 or code == -signal.SIGINT or code == 130, run.log()
    # Ctrl-C stopped the worker and the server too: the port is free again.
    import socket

    with socket.socket() as sock:
        # SO_REUSEADDR lets closed connections linger; a live listener would still refuse.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
