"""The staff dashboard's socket, `ws/staff/<slug>/dashboard/`: it sends the study's figures
(`selectors.study_dashboard`) on connect, and again whenever a service says (`services.dashboard_notify`)
something changed, at most once every `PUSH_INTERVAL_S`: a burst of changes gives one push
now and one at the end of the interval, with every change in it.

Only the study's researchers and admins are let in (the staff pages' rule, `access.py`);
anyone else is refused with close code 4403, without saying whether the study exists. The
socket only sends; what a client sends is ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from elicitation import selectors
from elicitation.services.dashboard import dashboard_group
from elicitation.staff.access import visible_study_ids

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 0.5
REFUSED = 4403


def dashboard_study_id(*, user: Any, slug: str) -> int | None:
    """The study's id when `user` may watch its dashboard (active staff who are admins or its
    researchers), else None."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return None
    study = selectors.study_get(slug=slug)
    allowed = visible_study_ids(user)
    if study is None or (allowed is not None and study.pk not in allowed):
        return None
    return study.pk


class DashboardConsumer(AsyncWebsocketConsumer):
    study_id: int
    group: str | None = None
    last_push: float = float("-inf")
    later: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        slug = str(self.scope["url_route"]["kwargs"]["slug"])
        study_id = await database_sync_to_async(dashboard_study_id)(
            user=self.scope.get("user"), slug=slug
        )
        if study_id is None:
            await self.close(code=REFUSED)
            return
        self.study_id = study_id
        await self.accept()
        self.group = dashboard_group(study_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.push()

    async def disconnect(self, code: int) -> None:
        if self.later is not None:
            self.later.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen."""

    async def dashboard_changed(self, event: dict[str, Any]) -> None:
        """A figure may have moved: push now, or once at the end of the current interval."""
        if self.later is not None:
            return  # a push is already due, and it will read every change up to then
        wait = self.last_push + PUSH_INTERVAL_S - asyncio.get_running_loop().time()
        if wait <= 0:
            await self.push()
        else:
            self.later = asyncio.create_task(self.push_after(wait))

    async def push_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self.later = None
        await self.push()

    async def push(self) -> None:
        self.last_push = asyncio.get_running_loop().time()
        try:
            figures = await database_sync_to_async(selectors.study_dashboard)(
                study_id=self.study_id
            )
        except Exception:
            log.exception("dashboard figures for study %s failed", self.study_id)
            return
        await self.send(text_data=json.dumps({"type": "figures", "figures": figures}))
