"""The OpenAI-compatible backend against the fake server; each test checks what it received."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from inference.backends import hash_embed
from inference.gateway import (
    ChatDone,
    ChatEvent,
    Gateway,
    LLMBadRequest,
    LLMTimeout,
    LLMUnavailable,
    StructuredOutputError,
    TokenDelta,
    ToolCall,
    build_gateway,
)
from inference.schemas import CARD_SCHEMA, PROPOSE_CARD_TOOL
from inference.testing import FakeLLMServer, free_port

pytestmark = pytest.mark.anyio

MESSAGES = [
    {"role": "system", "content": "You are a careful interviewer."},
    {"role": "user", "content": "My daughter wants to quit her team."},
]
CARD = {
    "title": "Honest Care for Her Growth",
    "description": "Helping her notice what she wants. Not deciding for her.",
    "policies": [
        "MOMENTS where she hesitates before speaking",
        "FEELINGS of pride in her own effort",
        "OPPORTUNITIES for her to choose for herself",
    ],
}


async def collect(gateway: Gateway, **kwargs: Any) -> list[ChatEvent]:
    return [event async for event in gateway.stream_chat(MESSAGES, **kwargs)]


async def test_streamed_chat_arrives_in_several_deltas(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    text = "Tell me about a time when you saw her at her best on the team."
    fake_llm.script({"text": text})

    events = await collect(gateway, max_tokens=200, temperature=0.3)

    deltas = [e.text for e in events if isinstance(e, TokenDelta)]
    assert len(deltas) > 5
    assert "".join(deltas) == text
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.completion_tokens == len(deltas)
    [request] = fake_llm.chat_requests()
    assert request["messages"] == MESSAGES
    assert request["model"] == "fake-model"
    assert request["stream"] is True
    assert request["max_tokens"] == 200
    assert request["temperature"] == 0.3
    assert "tools" not in request


async def test_streamed_tool_call_assembles_argument_fragments(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {"text": "Here is my guess.", "tool_call": {"name": "propose_card", "arguments": CARD}}
    )

    events = await collect(gateway, tools=[PROPOSE_CARD_TOOL])

    [call] = [e for e in events if isinstance(e, ToolCall)]
    assert call.name == "propose_card"
    assert call.id == "call_fake_0"
    assert call.parsed_arguments() == CARD
    assert "".join(e.text for e in events if isinstance(e, TokenDelta)) == "Here is my guess."
    assert events[-1] == ChatDone("tool_calls", events[-1].usage)  # type: ignore[union-attr]
    [request] = fake_llm.chat_requests()
    assert request["tools"] == [PROPOSE_CARD_TOOL]
    assert request["messages"] == MESSAGES


async def test_complete_returns_text_tool_calls_and_usage(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {
            "tool_calls": [
                {"name": "propose_card", "arguments": CARD, "id": "call_a"},
                {"name": "note", "arguments": '{"x": 1}', "id": "call_b"},
            ]
        }
    )

    result = await gateway.complete(MESSAGES, tools=[PROPOSE_CARD_TOOL])

    assert result.text == ""
    assert [(c.id, c.name) for c in result.tool_calls] == [
        ("call_a", "propose_card"),
        ("call_b", "note"),
    ]
    assert result.tool_calls[0].parsed_arguments() == CARD
    assert result.finish_reason == "tool_calls"
    assert result.usage is not None
    assert result.usage.prompt_tokens > 0
    [request] = fake_llm.chat_requests()
    assert "stream" not in request
    assert request["tools"] == [PROPOSE_CARD_TOOL]


async def test_structured_answer_is_validated(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"json": CARD})

    card = await gateway.structured(MESSAGES, schema=CARD_SCHEMA, name="values_card")

    assert card == CARD
    [request] = fake_llm.chat_requests()
    assert request["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "values_card", "schema": CARD_SCHEMA},
    }
    assert request["messages"] == MESSAGES


@pytest.mark.parametrize(
    "bad_answer",
    [
        pytest.param({"text": "Sure! Here is the card: {title: ..."}, id="not-json"),
        pytest.param({"json": {"title": "Only a title"}}, id="schema-violation"),
        pytest.param({"json": [1, 2]}, id="not-an-object"),
    ],
)
async def test_invalid_structured_answer_is_retried(
    gateway: Gateway, fake_llm: FakeLLMServer, bad_answer: dict[str, Any]
) -> None:
    fake_llm.script(bad_answer, {"json": CARD})

    card = await gateway.structured(MESSAGES, schema=CARD_SCHEMA, name="values_card")

    assert card == CARD
    first, second = fake_llm.chat_requests()
    for request in (first, second):
        assert request["response_format"]["json_schema"]["schema"] == CARD_SCHEMA
    assert first["messages"] == MESSAGES
    # The retry shows the model its invalid answer and what was wrong with it.
    assert second["messages"][: len(MESSAGES)] == MESSAGES
    assert second["messages"][-2]["role"] == "assistant"
    assert "not valid" in second["messages"][-1]["content"]


async def test_structured_never_returns_invalid_data(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"text": "no"}, {"json": {"title": 3}}, {"json": CARD})

    with pytest.raises(StructuredOutputError) as caught:
        await gateway.structured(MESSAGES, schema=CARD_SCHEMA, name="values_card", max_attempts=2)

    assert "'values_card'" in str(caught.value)
    assert "2 attempt" in str(caught.value)
    assert caught.value.last_answer == json.dumps({"title": 3})
    assert len(fake_llm.chat_requests()) == 2
    assert len(fake_llm.pending()) == 1  # the valid answer was never asked for


async def test_structured_default_answer_follows_the_schema(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    data = await gateway.structured(MESSAGES, schema=CARD_SCHEMA, name="values_card")

    assert set(data) == {"title", "description", "policies"}
    assert len(data["policies"]) == 3


async def test_embed_returns_one_vector_per_text(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    texts = ["Honest care for her growth", "Financial prudence"]

    embeddings = await gateway.embed(texts)

    assert embeddings.model == "fake-embedding"
    assert len(embeddings.vectors) == 2
    assert all(len(v) == hash_embed.DIMENSIONS for v in embeddings.vectors)
    assert embeddings.vectors[0] == pytest.approx(hash_embed.embed_text(texts[0]))
    [request] = fake_llm.requests("/v1/embeddings")
    assert request["body"]["input"] == texts
    assert request["body"]["model"] == "fake-embedding"
    assert request["body"]["encoding_format"] == "float"


async def test_embeddings_go_to_their_own_server_when_one_is_set(fake_llm: FakeLLMServer) -> None:
    """vLLM serves one model per server: the multilingual embedding model has its own."""
    with FakeLLMServer() as embedder:
        gateway = build_gateway(
            base_url=fake_llm.base_url,
            api_key="chat-key",
            model="fake-model",
            embed_model="BAAI/bge-m3",
            embed_base_url=embedder.base_url,
            embed_api_key="embed-key",
            max_retries=0,
        )
        try:
            embeddings = await gateway.embed(["Cuidar de una amiga con honestidad"])
            answer = await gateway.complete(MESSAGES)
        finally:
            await gateway.aclose()
        [request] = embedder.requests("/v1/embeddings")
        assert request["body"]["model"] == "BAAI/bge-m3"
        assert embedder.chat_requests() == []
    assert len(embeddings.vectors) == 1
    assert answer.text
    assert fake_llm.requests("/v1/embeddings") == []
    assert len(fake_llm.chat_requests()) == 1


async def test_embed_of_nothing_sends_nothing(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    assert (await gateway.embed([])).vectors == []
    assert fake_llm.requests() == []


async def test_server_error_is_retried(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"status": 500, "body": {"error": {"message": "boom"}}}, {"text": "Fine."})

    result = await gateway.complete(MESSAGES)

    assert result.text == "Fine."
    first, second = fake_llm.chat_requests()
    assert first == second
    assert first["messages"] == MESSAGES


async def test_rate_limit_is_retried_for_streams_and_embeddings(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {"status": 429, "headers": {"retry-after": "0"}},
        {"text": "After the wait."},
        {"status": 503, "endpoint": "embeddings"},
    )

    events = await collect(gateway)
    embeddings = await gateway.embed(["a text"])

    assert "".join(e.text for e in events if isinstance(e, TokenDelta)) == "After the wait."
    assert len(embeddings.vectors) == 1
    paths = [r["path"] for r in fake_llm.requests()]
    assert paths == ["/v1/chat/completions"] * 2 + ["/v1/embeddings"] * 2


async def test_bad_request_is_not_retried(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        {"status": 400, "body": {"error": {"message": "max_tokens is too large: 99999"}}},
        {"text": "never sent"},
    )

    with pytest.raises(LLMBadRequest) as caught:
        await gateway.complete(MESSAGES, max_tokens=99999)

    message = str(caught.value)
    assert "HTTP 400" in message
    assert "max_tokens is too large: 99999" in message
    assert "not retried" in message
    assert caught.value.status_code == 400
    assert len(fake_llm.chat_requests()) == 1


async def test_persistent_server_errors_end_in_unavailable(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"status": 503, "body": "overloaded", "repeat": 10})

    with pytest.raises(LLMUnavailable) as caught:
        await collect(gateway)

    assert caught.value.status_code == 503
    assert "HTTP 503" in str(caught.value)
    assert "3 attempts" in str(caught.value)
    assert "overloaded" in str(caught.value)
    assert len(fake_llm.chat_requests()) == 3  # the first try and max_retries=2 retries


async def test_hanging_server_ends_in_timeout(
    make_gateway: Callable[..., Gateway], fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"hang": True, "repeat": 2}, {"text": "too late"})
    gateway = make_gateway(timeout_s=0.3, max_retries=1)
    started = time.monotonic()

    with pytest.raises(LLMTimeout) as caught:
        await gateway.complete(MESSAGES)

    assert time.monotonic() - started < 3
    assert "timed out after 0.3 s (2 attempts)" in str(caught.value)
    assert len(fake_llm.chat_requests()) == 2
    await gateway.aclose()


async def test_unreachable_server_is_unavailable() -> None:
    gateway = build_gateway(
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        api_key=None,
        model="m",
        embed_model=None,
        max_retries=1,
        retry_base_delay_s=0.01,
    )

    with pytest.raises(LLMUnavailable, match="Could not connect"):
        await gateway.embed(["x"])
    healthy, why = await gateway.health()
    assert not healthy
    assert "Could not connect" in why
    await gateway.aclose()


async def test_health_lists_models(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    healthy, why = await gateway.health()

    assert healthy
    assert "'fake-model' is listed" in why
    assert [r["path"] for r in fake_llm.requests()] == ["/v1/models"]


async def test_scripts_can_match_the_last_user_message(
    gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"text": "about the coach", "match": "coach"}, {"text": "anything else"})

    first = await gateway.complete([{"role": "user", "content": "Hello"}])
    second = await gateway.complete([{"role": "user", "content": "The coach shouted."}])

    assert (first.text, second.text) == ("anything else", "about the coach")


async def test_many_concurrent_streams(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(tokens_per_second=200, tokens_per_answer=10)

    async def one(i: int) -> str:
        messages = [{"role": "user", "content": f"question {i}"}]
        parts = [e.text async for e in gateway.stream_chat(messages) if isinstance(e, TokenDelta)]
        return "".join(parts)

    answers = await asyncio.gather(*(one(i) for i in range(200)))

    assert all(answer.startswith("Fake answer:") for answer in answers)
    assert len(fake_llm.chat_requests()) == 200


async def test_a_stream_that_stalls_midway_times_out_without_retry(
    make_gateway: Callable[..., Gateway], fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"text": "one two three four five", "stall_after": 2})
    gateway = make_gateway(timeout_s=0.3, max_retries=2)
    received: list[str] = []

    async def consume() -> None:
        async for event in gateway.stream_chat(MESSAGES):
            if isinstance(event, TokenDelta):
                received.append(event.text)

    with pytest.raises(LLMTimeout, match="broke after it had started"):
        await consume()

    assert "".join(received) == "one two "
    assert len(fake_llm.chat_requests()) == 1  # tokens had reached the caller: no retry
    await gateway.aclose()


async def test_a_consumer_can_stop_a_slow_stream(gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(tokens_per_second=20, tokens_per_answer=200)  # ten seconds of tokens
    received: list[str] = []
    three_tokens = asyncio.Event()
    started = time.monotonic()

    async def consume() -> None:
        async with contextlib.aclosing(gateway.stream_chat(MESSAGES)) as events:
            async for event in events:
                if isinstance(event, TokenDelta):
                    received.append(event.text)
                    if len(received) == 3:
                        three_tokens.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three_tokens.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert 3 <= len(received) < 50
    assert time.monotonic() - started < 3
