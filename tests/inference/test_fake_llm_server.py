"""The fake server's wire format and control API, spoken to directly over HTTP."""

from __future__ import annotations

import base64
import json
import struct
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from inference.backends import hash_embed
from inference.fake_server import example_for_schema
from inference.schemas import CARD_SCHEMA, UPGRADE_STORY_SCHEMA
from inference.testing import FakeLLMServer, FakeServerError

CHAT = {"model": "m", "messages": [{"role": "user", "content": "Hello there"}]}


def post(fake: FakeLLMServer, path: str, body: Any) -> tuple[int, bytes]:
    request = urllib.request.Request(
        fake.root_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def sse_events(raw: bytes) -> list[Any]:
    lines = [line for line in raw.decode().split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]


def test_stream_has_the_openai_chunk_shape(fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"text": "One two three."})

    status, raw = post(
        fake_llm,
        "/v1/chat/completions",
        {**CHAT, "stream": True, "stream_options": {"include_usage": True}},
    )

    assert status == 200
    chunks = sse_events(raw)
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "One two three."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_tool_calls_stream_as_fragments(fake_llm: FakeLLMServer) -> None:
    arguments = {"title": "A fairly long title here", "n": 1}
    fake_llm.script({"tool_call": {"name": "propose_card", "arguments": arguments, "id": "c1"}})

    _, raw = post(fake_llm, "/v1/chat/completions", {**CHAT, "stream": True})

    deltas = [c["choices"][0]["delta"] for c in sse_events(raw)]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "propose_card", "arguments": ""},
    }
    fragments = [c["function"]["arguments"] for c in calls[1:]]
    assert len(fragments) > 3
    assert json.loads("".join(fragments)) == arguments
    assert all("id" not in c for c in calls[1:])


def test_default_answers_are_deterministic(fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(tokens_per_answer=5)
    first = json.loads(post(fake_llm, "/v1/chat/completions", CHAT)[1])
    second = json.loads(post(fake_llm, "/v1/chat/completions", CHAT)[1])

    text = first["choices"][0]["message"]["content"]
    assert text == second["choices"][0]["message"]["content"]
    assert text.startswith("Fake answer: ")
    assert len(text.split()) == 7
    assert first["choices"][0]["finish_reason"] == "stop"
    assert first["object"] == "chat.completion"


def test_default_json_schema_answer(fake_llm: FakeLLMServer) -> None:
    body = {
        **CHAT,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "story", "schema": UPGRADE_STORY_SCHEMA},
        },
    }

    answer = json.loads(post(fake_llm, "/v1/chat/completions", body)[1])

    content = json.loads(answer["choices"][0]["message"]["content"])
    assert content == example_for_schema(UPGRADE_STORY_SCHEMA)
    assert content["direction"] == "a_to_b"
    assert len(example_for_schema(CARD_SCHEMA)["policies"]) == 3


def test_embeddings_in_float_and_base64(fake_llm: FakeLLMServer) -> None:
    body = {"model": "e", "input": "a value", "dimensions": 64}

    floats = json.loads(post(fake_llm, "/v1/embeddings", body)[1])
    packed = json.loads(post(fake_llm, "/v1/embeddings", {**body, "encoding_format": "base64"})[1])

    vector = floats["data"][0]["embedding"]
    assert vector == pytest.approx(hash_embed.embed_text("a value", 64))
    decoded = struct.unpack("<64f", base64.b64decode(packed["data"][0]["embedding"]))
    assert list(decoded) == pytest.approx(vector, abs=1e-6)


def test_scripted_error_status_body_and_headers(fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"status": 429, "body": "slow down", "headers": {"retry-after": "1"}})
    request = urllib.request.Request(
        fake_llm.base_url + "/chat/completions", data=json.dumps(CHAT).encode(), method="POST"
    )

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    assert caught.value.code == 429
    assert caught.value.read() == b"slow down"
    assert caught.value.headers["retry-after"] == "1"


def test_invalid_requests_and_unknown_routes(fake_llm: FakeLLMServer) -> None:
    assert post(fake_llm, "/v1/chat/completions", {"model": "m"})[0] == 400
    assert post(fake_llm, "/v1/embeddings", {"model": "m"})[0] == 400
    assert post(fake_llm, "/v1/nothing", {})[0] == 404
    assert [r["path"] for r in fake_llm.requests()] == [
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/nothing",
    ]


def test_bad_scripts_are_refused_whole(fake_llm: FakeLLMServer) -> None:
    with pytest.raises(FakeServerError, match="unknown keys \\['txt'\\]"):
        fake_llm.script({"text": "fine"}, {"txt": "typo"})
    with pytest.raises(FakeServerError, match="status must be an HTTP error status"):
        fake_llm.script({"status": 200})
    assert fake_llm.pending() == []


def test_config_and_reset(fake_llm: FakeLLMServer) -> None:
    config = fake_llm.configure(ttft_s=0.2, tokens_per_second=1000)
    fake_llm.script({"text": "queued"})

    started = time.monotonic()
    post(fake_llm, "/v1/chat/completions", {**CHAT, "stream": True})
    assert time.monotonic() - started >= 0.2
    assert config["ttft_s"] == 0.2

    fake_llm.script({"text": "left over"})
    fake_llm.reset()
    assert fake_llm.pending() == []
    assert fake_llm.requests() == []
    assert fake_llm.configure()["ttft_s"] == 0.0
    with pytest.raises(FakeServerError, match="unknown config keys: speed"):
        fake_llm.configure(speed=1)


def test_repeat_and_delay(fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"text": "twice", "repeat": 2, "delay_s": 0.1}, {"text": "then this"})

    started = time.monotonic()
    answers = [
        json.loads(post(fake_llm, "/v1/chat/completions", CHAT)[1])["choices"][0]["message"][
            "content"
        ]
        for _ in range(3)
    ]

    assert answers == ["twice", "twice", "then this"]
    assert time.monotonic() - started >= 0.2
