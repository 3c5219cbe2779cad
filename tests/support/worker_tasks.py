"""Tasks that only the reliability tests load into a worker (`celery worker -I
tests.support.worker_tasks`): one that keeps the worker busy with a late-acknowledged task
while the test restarts the broker, one that records that it ran, and the live rebuild with
its build held open, so that the test can kill the worker in the middle of a rebuild."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from unittest import mock

from celery import shared_task

from moralgraph.services import snapshots


@shared_task(acks_late=True, reject_on_worker_lost=True, name="tests.hold")
def hold(seconds: float, marker: str) -> None:
    Path(marker).write_text("started")
    # Stands for a long task: the test restarts the broker meanwhile.
    threading.Event().wait(float(seconds))
    Path(marker).write_text("done")


@shared_task(name="tests.touch")
def touch(marker: str) -> None:
    Path(marker).write_text("ran")


@shared_task(acks_late=True, reject_on_worker_lost=True, name="tests.rebuild_held")
def rebuild_held(study_id: int, marker: str) -> None:
    """The real rebuild (claim, build, record), whose build waits for the test to kill the
    worker: the claim is taken and the build has started when the marker appears."""
    real_build = snapshots.snapshot_build

    def held_build(**kwargs: Any) -> Any:
        Path(marker).write_text("building")
        threading.Event().wait(120)  # never set: the test kills the worker long before
        return real_build(**kwargs)

    with mock.patch.object(snapshots, "snapshot_build", side_effect=held_build):
        snapshots.snapshot_rebuild_run(study_id=study_id)
