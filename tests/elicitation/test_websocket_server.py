"""The interview socket through the real ASGI server (uvicorn), over a real WebSocket."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from elicitation.models import Message
from elicitation.services import demo_study_seed
from tests.support.journey import cookie_header, enter_study

pytestmark = pytest.mark.django_db(transaction=True)


def _frames_until(ws: ClientConnection, predicate: Any, limit: int = 200) -> list[dict[str, Any]]:
    frames = []
    for _ in range(limit):
        frame = json.loads(ws.recv(timeout=20))
        frames.append(frame)
        if predicate(frame):
            return frames
    raise AssertionError(f"no matching frame in {frames}")


def _open_socket(base_url: str) -> tuple[ClientConnection, int]:
    demo_study_seed()
    client = httpx2.Client(base_url=base_url)
    interview_id = enter_study(client, "demo")
    ws = connect(
        f"{base_url.replace('http', 'ws')}/ws/interviews/{interview_id}/",
        additional_headers={"Cookie": cookie_header(client), "Origin": base_url},
    )
    return ws, interview_id


def test_protocol_round_trip_and_error_frames(asgi_server: str) -> None:
    ws, interview_id = _open_socket(asgi_server)
    with ws:
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=10)) == {
            "type": "error",
            "code": "malformed_frame",
            "message": "The frame is not valid JSON.",
        }
        ws.send(json.dumps({"type": "shout", "text": "hi"}))
        assert json.loads(ws.recv(timeout=10))["code"] == "unknown_type"
        ws.send(json.dumps({"type": "user_message", "client_id": "nope", "text": "hi"}))
        assert json.loads(ws.recv(timeout=10))["code"] == "invalid_frame"
        ws.send(
            json.dumps({"type": "user_message", "client_id": str(uuid.uuid4()), "text": "x" * 4001})
        )
        assert json.loads(ws.recv(timeout=10))["code"] == "invalid_frame"
        ws.send("x" * 100_000)
        assert json.loads(ws.recv(timeout=10))["code"] == "frame_too_large"

        # The socket is still usable after every bad frame.
        client_id = str(uuid.uuid4())
        text = "My grandmother <script>alert(1)</script> once told me to just ask."
        ws.send(json.dumps({"type": "user_message", "client_id": client_id, "text": text}))
        frames = _frames_until(ws, lambda f: f["type"] == "message" and f["role"] == "assistant")
        user = frames[0]
        assert user == {"type": "message", "seq": 1, "role": "user", "text": text, "stopped": False}
        tokens = [f for f in frames if f["type"] == "token"]
        assert tokens
        assert all(f["message_seq"] == 2 for f in tokens)
        assistant = frames[-1]
        assert assistant["seq"] == 2
        assert assistant["text"] == "".join(f["text"] for f in tokens)
        assert {"type": "status", "state": "thinking"} in frames
        assert json.loads(ws.recv(timeout=10)) == {"type": "status", "state": "idle"}

        # A resent client id is stored once and answered with the stored message.
        ws.send(json.dumps({"type": "user_message", "client_id": client_id, "text": text}))
        assert json.loads(ws.recv(timeout=10)) == user

        ws.send(json.dumps({"type": "resume", "after_seq": 0}))
        replay = _frames_until(ws, lambda f: f["type"] == "status")
        assert [f["seq"] for f in replay if f["type"] == "message"] == [1, 2]

    stored = list(Message.objects.filter(interview_id=interview_id).order_by("seq"))
    assert [(m.seq, m.role) for m in stored] == [(1, "user"), (2, "assistant")]
    assert stored[0].text == text
    assert stored[1].text == assistant["text"]


def test_socket_refuses_someone_elses_interview(asgi_server: str) -> None:
    ws, interview_id = _open_socket(asgi_server)
    with ws:
        pass
    stranger = httpx2.Client(base_url=asgi_server)
    stranger.get("/s/demo/")
    with (
        pytest.raises((InvalidStatus, ConnectionClosed)) as refused,
        connect(
            f"{asgi_server.replace('http', 'ws')}/ws/interviews/{interview_id}/",
            additional_headers={"Cookie": cookie_header(stranger), "Origin": asgi_server},
        ) as ws2,
    ):
        ws2.recv(timeout=10)
    assert "4403" in str(refused.value) or "403" in str(refused.value)


def test_socket_refuses_a_foreign_origin(asgi_server: str) -> None:
    demo_study_seed()
    client = httpx2.Client(base_url=asgi_server)
    interview_id = enter_study(client, "demo")
    with (
        pytest.raises((InvalidStatus, ConnectionClosed)) as refused,
        connect(
            f"{asgi_server.replace('http', 'ws')}/ws/interviews/{interview_id}/",
            additional_headers={"Cookie": cookie_header(client), "Origin": "https://evil.example"},
        ) as ws,
    ):
        ws.recv(timeout=10)
    assert "403" in str(refused.value)
