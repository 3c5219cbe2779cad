"""A chat stream that is not the OpenAI wire format fails at once with LLMBadResponse, even
with a long timeout and a server that keeps sending (so no read timeout would ever fire)."""

from __future__ import annotations

import time

import pytest

from inference.gateway import LLMBadResponse, TokenDelta
from inference.testing import FakeLLMServer
from tests.inference.conftest import MakeGateway

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "garbage",
    [
        "<html><body>502 Bad gateway</body></html>\n",
        "data: {not json\n\n",
        "data: [1, 2, 3]\n\n",
    ],
)
async def test_a_garbage_stream_fails_fast(
    make_gateway: MakeGateway, fake_llm: FakeLLMServer, garbage: str
) -> None:
    fake_llm.script({"garbage": garbage})
    gateway = make_gateway(timeout_s=30, max_retries=0)
    started = time.monotonic()
    with pytest.raises(LLMBadResponse) as failed:
        async for _ in gateway.stream_chat([{"role": "user", "content": "hi"}]):
            pass
    await gateway.aclose()
    assert time.monotonic() - started < 3
    assert "not the OpenAI format" in str(failed.value)


async def test_comments_and_event_fields_are_still_fine(
    make_gateway: MakeGateway, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"text": "All good here."})
    gateway = make_gateway()
    texts = [
        e.text
        async for e in gateway.stream_chat([{"role": "user", "content": "hi"}])
        if isinstance(e, TokenDelta)
    ]
    await gateway.aclose()
    assert "".join(texts) == "All good here."
