"""The little of ASGI HTTP the fake server needs: read a body, answer JSON, notice a hang-up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def wait_or_disconnect(receive: Receive, seconds: float) -> bool:
    """Sleep ``seconds``; True as soon as the client disconnects instead."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnected())
    try:
        done, _ = await asyncio.wait({watcher}, timeout=seconds)
        return bool(done)
    finally:
        watcher.cancel()


def error_body(status: int, message: str, kind: str = "invalid_request_error") -> bytes:
    """An error in the OpenAI shape, which the SDK turns into its typed exceptions."""
    return json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()


async def send_json(
    send: Send, status: int, content: bytes, headers: dict[str, str] | None = None
) -> None:
    raw_headers = [(b"content-type", b"application/json")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": content})


async def send_obj(send: Send, status: int, obj: Any) -> None:
    await send_json(send, status, json.dumps(obj).encode())
