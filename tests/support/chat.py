"""A participant's interview socket: send a message, read frames until one matches (with a
deadline), as the interview page does."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
from websockets.sync.client import ClientConnection, connect

from tests.support.journey import cookie_header

IDLE = {"type": "status", "state": "idle"}


class Chat:
    def __init__(self, base_url: str, client: httpx2.Client, interview_id: int) -> None:
        self.base_url = base_url
        self.client = client
        self.interview_id = interview_id
        self.ws: ClientConnection = self.open()

    def open(self, base_url: str | None = None) -> ClientConnection:
        base = base_url or self.base_url
        return connect(
            f"{base.replace('http', 'ws')}/ws/interviews/{self.interview_id}/",
            additional_headers={"Cookie": cookie_header(self.client), "Origin": base},
        )

    def say(self, text: str) -> None:
        self.ws.send(
            json.dumps({"type": "user_message", "client_id": str(uuid.uuid4()), "text": text})
        )

    def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        frames: list[dict[str, Any]] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout} s: {frames}")
            frames.append(json.loads(self.ws.recv(timeout=left)))
            if predicate(frames[-1]):
                return frames

    def until_idle(self, timeout: float = 20) -> list[dict[str, Any]]:
        return self.until(lambda f: f == IDLE, timeout)
