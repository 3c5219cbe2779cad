"""The live dashboard's "something changed" event, called explicitly by every service that moves
one of its figures (entering, consenting, interviews and their answers, cards and their
screening, picks, votes, the survey, quarantine, withdrawal).

`dashboard_notify` registers one send per study and transaction, run after commit: the study's
dashboard sockets (group `dashboard.<study_id>`) then read the figures again, at most a couple
of times a second (elicitation/staff/dashboard_consumer.py). Preview walks tell nobody: they
count nowhere. Sending is best-effort: when the channel layer (Redis) is down or hangs, the
write that caused the event has already committed, so the failure is logged and forgotten and
the next event or a reload shows the figures.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

log = logging.getLogger(__name__)

DASHBOARD_EVENT = "dashboard.changed"
SEND_TIMEOUT_S = 2.0


def dashboard_group(study_id: int) -> str:
    """The channel layer group of one study's dashboard sockets."""
    return f"dashboard.{study_id}"


async def _group_send(layer: Any, group: str) -> None:
    # A hung Redis must not hold up the response of the request that made the change.
    await asyncio.wait_for(layer.group_send(group, {"type": DASHBOARD_EVENT}), SEND_TIMEOUT_S)


def dashboard_changed_send(study_id: int) -> None:
    """Tell the study's dashboard sockets now that a figure may have moved; never raises."""
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(_group_send)(layer, dashboard_group(study_id))
    except Exception:
        # The change itself is committed; the dashboard catches up on the next event.
        log.warning("dashboard event for study %s not sent", study_id, exc_info=True)


class _AfterCommit:
    """One pending send per study and transaction: a survey of ten answers tells once."""

    def __init__(self, study_id: int) -> None:
        self.study_id = study_id

    def __call__(self) -> None:
        dashboard_changed_send(self.study_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _AfterCommit) and other.study_id == self.study_id

    def __hash__(self) -> int:
        return hash(self.study_id)


def dashboard_notify(*, study_id: int, is_preview: bool = False) -> None:
    """After the current transaction commits (at once outside one), tell the study's dashboard
    that its figures may have moved. A preview walk's changes tell nobody."""
    if is_preview:
        return
    send = _AfterCommit(study_id)
    pending = getattr(connection, "run_on_commit", [])
    if connection.in_atomic_block and any(entry[1] == send for entry in pending):
        return
    transaction.on_commit(send, robust=True)
