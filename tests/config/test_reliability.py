"""Nothing lost, nothing stuck: workers outlive their broker, a worker killed in the middle of
a rebuild leaves no rebuild stuck, a vote cast while Redis is down is saved and counted once it
is back, /healthz sees a dead worker, and compose restarts what stops.

Each test that stops Redis or kills a worker runs its own Redis (redis-server on a free port)
and its own workers, so the suite's shared services never notice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from celery import Celery
from django.test import Client, override_settings

from elicitation.models import Participant, Study
from moralgraph import services as graph_services
from moralgraph.models import GraphSnapshot, UpgradeVote, Value
from tests.factories import make_question, make_study
from tests.support.faults import PrivateRedis
from tests.support.processes import REPO, VENV_BIN, ManagedProcess, free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _env(subprocess_env: dict[str, str], redis_url: str, var: Path, **extra: str) -> dict[str, str]:
    var.mkdir(parents=True, exist_ok=True)
    return {
        **subprocess_env,
        "REDIS_URL": redis_url,
        "MGE_VAR_DIR": str(var),
        "MGE_WORKER_HEARTBEAT_SECONDS": "0.5",
        **extra,
    }


def _start_worker(env: dict[str, str], argv: list[str]) -> ManagedProcess:
    argv = [str(VENV_BIN / "celery"), *argv[1:], "-I", "tests.support.worker_tasks"]
    argv += ["-n", f"reliability-{free_port()}@%h"]
    proc = ManagedProcess("worker", argv, env)

    def ready() -> bool:
        proc.assert_running()
        return "ready." in proc.log()

    wait_until(ready, timeout=60, what="the Celery worker")
    return proc


def _light_worker(env: dict[str, str], *extra: str) -> ManagedProcess:
    argv = ["celery", "-A", "config", "worker", "-Q", "light,llm", "--pool", "threads"]
    argv += ["--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    return _start_worker(env, [*argv, *extra])


def _send(broker_url: str, name: str, *args: object) -> None:
    # Not the current app: the project's services send through `current_app`, which must stay
    # the project's own (pointed at the suite's Redis) for the tests that follow.
    sender = Celery("reliability-test", broker=broker_url, set_as_current=False)
    try:
        sender.send_task(name, args=list(args), queue="light")
    finally:
        sender.close()


def _kill(proc: ManagedProcess) -> None:
    """kill -9 the worker and every process it started, as an out-of-memory killer would."""
    os.killpg(proc.proc.pid, signal.SIGKILL)
    proc.proc.wait(timeout=10)


# --- compose -------------------------------------------------------------------------------


def test_compose_restarts_every_long_running_service() -> None:
    services = COMPOSE["services"]
    one_shot = {"migrate"}
    for name, service in services.items():
        if name in one_shot:
            assert service.get("restart", "no") == "no", name
        else:
            assert service.get("restart") in {"always", "unless-stopped"}, name
    # The worker runs without the steps that crashed it when Redis restarted.
    worker = services["worker"]["command"]
    assert "--without-gossip" in worker
    assert "--without-mingle" in worker


# --- the broker ----------------------------------------------------------------------------


def test_the_worker_survives_a_redis_restart_and_runs_tasks_after_it(
    subprocess_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    env = _env(subprocess_env, private_redis.url, tmp_path / "var")
    # The compose worker's own command (prefork pool), with two processes rather than four.
    argv = [str(part) for part in COMPOSE["services"]["worker"]["command"]]
    argv[argv.index("--concurrency") + 1] = "2"
    worker = _start_worker(env, argv)
    try:
        busy = tmp_path / "busy"
        _send(private_redis.url, "tests.hold", 3, str(busy))
        wait_until(busy.exists, timeout=20, what="the long task to start")

        private_redis.stop()  # the broker goes away while the worker holds a task
        wait_until(lambda: "Connection to broker lost" in worker.log(), timeout=20)
        private_redis.start()
        wait_until(lambda: worker.log().count("Connected to") >= 2, timeout=30)

        after = tmp_path / "after"
        _send(private_redis.url, "tests.touch", str(after))
        wait_until(after.exists, timeout=30, what="a task sent after the restart to run")
        worker.assert_running()
        log = worker.log()
        assert "Unrecoverable error" not in log
        assert "Error on restarting" not in log, log
    finally:
        worker.stop()


# --- rebuilds ------------------------------------------------------------------------------


def _voting_study() -> tuple[Study, list[tuple[int, int, int]]]:
    """An open study with a context and four values; returns it and the pairs to vote on."""
    study = make_study()
    question = make_question(study)
    context_id = graph_services.context_ensure(
        study_id=study.pk, text="When in doubt", question_ids=[question.pk]
    )
    values = [
        Value.objects.create(study=study, title=f"Value {i}", description="d", policies=["P"])
        for i in range(4)
    ]
    pairs = [(values[i].pk, values[(i + 1) % 4].pk, context_id) for i in range(4)]
    return study, pairs


def _vote(study: Study, pair: tuple[int, int, int]) -> None:
    from_id, to_id, context_id = pair
    graph_services.upgrade_vote_cast(
        participant_id=Participant.objects.create(study=study).pk,
        from_value_id=from_id,
        to_value_id=to_id,
        context_id=context_id,
        choice="upgrade",
    )


def _live_vote_count(study: Study) -> int:
    live = GraphSnapshot.objects.filter(study=study, is_live=True).order_by("-created_at")
    snapshot = live.first()
    return snapshot.vote_count if snapshot is not None else -1


def _health(var: Path, **settings: Any) -> tuple[int, dict[str, Any]]:
    with override_settings(VAR_DIR=var, MGE_WORKER_STALE_SECONDS=3, **settings):
        response = Client().get("/healthz")
    return response.status_code, json.loads(response.content)


def test_a_worker_killed_mid_rebuild_leaves_no_vote_uncounted(
    subprocess_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    study, pairs = _voting_study()
    # The votes' own rebuild tasks are lost (sent nowhere): only the claim and the sweep count.
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        for pair in pairs[:3]:
            _vote(study, pair)
    var = tmp_path / "var"
    env = _env(subprocess_env, private_redis.url, var)
    first = _light_worker(env)
    try:
        building = tmp_path / "building"
        _send(private_redis.url, "tests.rebuild_held", study.pk, str(building))
        wait_until(building.exists, timeout=30, what="the rebuild to start building")
        assert _health(var)[0] == 200
        with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
            _vote(study, pairs[3])  # committed while the rebuild runs
        _kill(first)
    finally:
        first.stop()

    # The dead worker's heartbeat goes stale: /healthz says so.
    wait_until(lambda: _health(var)[0] == 503, timeout=15, what="/healthz to see the dead worker")
    body = _health(var)[1]
    assert body["checks"]["workers"]["ok"] is False, body
    assert "no heartbeat" in body["checks"]["workers"]["detail"]

    # A new worker with the sweep (beat, every second) counts every vote within 30 s.
    sweep = {"MGE_SWEEP_SECONDS": "1"}
    second = _light_worker({**env, **sweep}, "-B", "-s", str(tmp_path / "beat-schedule"))
    try:
        wait_until(
            lambda: _live_vote_count(study) == 4,
            timeout=30,
            interval=0.5,
            what="the live snapshot to count all four votes",
        )
        assert _health(var)[0] == 200
    finally:
        second.stop()


CAST_SCRIPT = """
import django, sys
django.setup()
from django.db import transaction
from elicitation.models import Participant
from moralgraph.services import upgrade_vote_cast
study_id, from_id, to_id, context_id = map(int, sys.argv[1:5])
with transaction.atomic():
    vote_id = upgrade_vote_cast(
        participant_id=Participant.objects.create(study_id=study_id).pk,
        from_value_id=from_id, to_value_id=to_id, context_id=context_id, choice="upgrade",
    )
print("saved", vote_id)
"""


def test_a_vote_cast_while_redis_is_down_is_saved_and_counted_once_it_is_back(
    subprocess_env: dict[str, str], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    study, pairs = _voting_study()
    env = _env(subprocess_env, private_redis.url, tmp_path / "var")
    private_redis.stop()
    # A process of the app with its broker down casts a vote, as the vote page does.
    cast = subprocess.run(
        [str(VENV_BIN / "python"), "-c", CAST_SCRIPT, str(study.pk), *map(str, pairs[0])],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cast.returncode == 0, cast.stderr
    assert cast.stdout.startswith("saved"), cast.stdout
    assert UpgradeVote.objects.filter(study=study).count() == 1

    private_redis.start()
    worker = _light_worker({**env, "MGE_SWEEP_SECONDS": "1"}, "-B", "-s", str(tmp_path / "bs"))
    try:
        wait_until(
            lambda: _live_vote_count(study) == 1,
            timeout=30,
            interval=0.5,
            what="the sweep to rebuild the snapshot with the vote",
        )
    finally:
        worker.stop()
