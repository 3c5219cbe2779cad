"""The Celery tasks a piece of code sends, recorded instead of published: for tests of pages
and services that run without a worker. Services send after commit, so wrap the code in
`django_capture_on_commit_callbacks(execute=True)` (or use a transactional test)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from unittest import mock

from config.celery import app

SentTask = tuple[str, tuple[Any, ...]]


@contextmanager
def tasks_sent() -> Iterator[list[SentTask]]:
    """(task name, args) of each task sent meanwhile, by name or through `.delay()`: both end
    in the app's `send_task`."""
    sent: list[SentTask] = []

    def record(name: str, args: Sequence[Any] | None = None, *_: Any, **__: Any) -> None:
        sent.append((name, tuple(args or ())))

    with mock.patch.object(app, "send_task", record):
        yield sent
