"""Worker liveness for /healthz: each Celery worker keeps a heartbeat file fresh.

A worker writes `<VAR_DIR>/heartbeats/<its name>.json` when it is ready and then every
MGE_WORKER_HEARTBEAT_SECONDS, from a thread of its main process, and removes the file when it
shuts down cleanly. VAR_DIR is shared by web and workers (compose's `appvar` volume, `make
run`'s var folder), and the file needs no broker: a worker that waits for Redis to come back is
alive, while one that was killed leaves a file that goes stale.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery, signals
from django.conf import settings

logger = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def heartbeat_dir() -> Path:
    return Path(settings.VAR_DIR) / "heartbeats"


def heartbeat_path(hostname: str) -> Path:
    return heartbeat_dir() / f"{_UNSAFE.sub('_', hostname)}.json"


def heartbeat_write(hostname: str) -> None:
    path = heartbeat_path(hostname)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"hostname": hostname, "pid": os.getpid(), "at": time.time()}))
    partial.replace(path)  # atomic: a reader never sees half a file


class _Heartbeat:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.hostname = ""
        self.thread: threading.Thread | None = None

    def start(self, hostname: str) -> None:
        if self.thread is not None:
            return
        self.hostname = hostname
        self.thread = threading.Thread(target=self._run, name="mge-heartbeat", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        interval = float(getattr(settings, "MGE_WORKER_HEARTBEAT_SECONDS", 10.0))
        while True:
            try:
                heartbeat_write(self.hostname)
            except OSError as exc:  # a full or read-only disk must not stop the worker
                logger.warning("worker heartbeat not written: %s", exc)
            if self.stop.wait(interval):
                return

    def shutdown(self) -> None:
        self.stop.set()
        if self.hostname:
            heartbeat_path(self.hostname).unlink(missing_ok=True)


_heartbeat = _Heartbeat()


def _on_ready(sender: Any = None, **_: object) -> None:
    hostname = getattr(sender, "hostname", "") or f"worker-{os.getpid()}"
    _heartbeat.start(str(hostname))


def _on_shutdown(**_: object) -> None:
    _heartbeat.shutdown()


def connect(app: Celery) -> None:
    """Start the heartbeat when a worker of `app` is ready; remove it when it stops."""
    del app  # the signals are process-wide; the argument names what they serve
    signals.worker_ready.connect(_on_ready, weak=False)
    signals.worker_shutdown.connect(_on_shutdown, weak=False)


@dataclass(frozen=True)
class WorkerStatus:
    ok: bool
    detail: str
    alive: list[str]
    stale: list[str]


def worker_status(*, now: float | None = None) -> WorkerStatus:
    """Fresh heartbeats (at most MGE_WORKER_STALE_SECONDS old) mean live workers. Only stale
    ones: the workers died. None at all: no worker ever started here, which is unhealthy only
    where MGE_HEALTH_REQUIRE_WORKER is set (production's default)."""
    now = time.time() if now is None else now
    limit = float(getattr(settings, "MGE_WORKER_STALE_SECONDS", 60.0))
    alive: list[str] = []
    stale: list[str] = []
    ages: list[float] = []
    for path in sorted(heartbeat_dir().glob("*.json")):
        try:
            beat = json.loads(path.read_text())
            age = now - float(beat["at"])
            name = str(beat["hostname"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # removed meanwhile, or not one of ours
        (alive if age <= limit else stale).append(name)
        ages.append(age)
    if alive:
        return WorkerStatus(True, f"{len(alive)} alive", alive, stale)
    if stale:
        newest = min(ages)
        detail = f"no heartbeat for {newest:.0f} s (limit {limit:.0f} s)"
        return WorkerStatus(False, detail, alive, stale)
    required = bool(getattr(settings, "MGE_HEALTH_REQUIRE_WORKER", False))
    return WorkerStatus(not required, "no worker has reported", alive, stale)
