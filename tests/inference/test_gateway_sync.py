"""The sync conveniences, as Celery tasks and management commands call them."""

from __future__ import annotations

import pytest

from inference.gateway import Gateway, LLMBadRequest
from inference.schemas import JUDGE_SCHEMA
from inference.testing import FakeLLMServer

MESSAGES = [{"role": "user", "content": "Are these the same value?"}]


def test_sync_calls_work_repeatedly_from_sync_code(
    sync_gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {"json": {"same_value": False, "reason": "Different scope."}},
        {"json": {"same_value": True, "reason": "Same things attended to."}},
    )

    first = sync_gateway.structured_sync(MESSAGES, schema=JUDGE_SCHEMA, name="judge")
    second = sync_gateway.structured_sync(MESSAGES, schema=JUDGE_SCHEMA, name="judge")
    embeddings = sync_gateway.embed_sync(["one", "two"])
    result = sync_gateway.complete_sync(MESSAGES)

    assert (first["same_value"], second["same_value"]) == (False, True)
    assert len(embeddings.vectors) == 2
    assert result.text.startswith("Fake answer:")
    assert sync_gateway.health_sync()[0]
    bodies = fake_llm.chat_requests()
    assert [b["response_format"]["json_schema"]["name"] for b in bodies[:2]] == ["judge"] * 2


def test_sync_errors_propagate(sync_gateway: Gateway, fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"status": 422, "body": {"error": {"message": "bad schema"}}})

    with pytest.raises(LLMBadRequest, match="bad schema"):
        sync_gateway.structured_sync(MESSAGES, schema=JUDGE_SCHEMA, name="judge")


@pytest.mark.anyio
async def test_sync_call_from_inside_an_event_loop(
    sync_gateway: Gateway, fake_llm: FakeLLMServer
) -> None:
    # A sync helper reached from async code runs on its own loop in a helper thread.
    embeddings = sync_gateway.embed_sync(["inside a loop"])

    assert len(embeddings.vectors) == 1
    assert len(fake_llm.requests("embeddings")) == 1
