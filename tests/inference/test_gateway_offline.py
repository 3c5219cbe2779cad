"""The offline backend: deterministic answers and embeddings, no network."""

from __future__ import annotations

from typing import Any

import pytest

from inference.backends import hash_embed
from inference.backends.offline import OFFLINE_MARK
from inference.gateway import (
    ChatDone,
    Gateway,
    LLMError,
    StructuredOutputError,
    TokenDelta,
    build_gateway,
)
from inference.schemas import CARD_SCHEMA

pytestmark = pytest.mark.anyio


@pytest.fixture
def offline() -> Gateway:
    return build_gateway(base_url=None, api_key=None, model=None, embed_model=None)


def test_no_base_url_means_offline(offline: Gateway) -> None:
    assert offline.backend_name == "offline"
    assert offline.model == "offline-echo-v1"
    assert offline.embed_model == "offline-hash-v1"
    online = build_gateway(
        base_url="http://127.0.0.1:9/v1", api_key=None, model="m", embed_model=None
    )
    assert online.backend_name == "openai"
    assert online.model == "m"


async def test_stream_is_marked_offline_and_derived_from_the_last_user_message(
    offline: Gateway,
) -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "She loves the team but hates the coach."},
    ]

    events = [e async for e in offline.stream_chat(messages)]

    deltas = [e.text for e in events if isinstance(e, TokenDelta)]
    text = "".join(deltas)
    assert len(deltas) > 3
    assert text.startswith(OFFLINE_MARK)
    assert "She loves the team but hates the coach." in text
    assert isinstance(events[-1], ChatDone)
    assert events[-1].finish_reason == "stop"
    again = await offline.complete(messages)
    assert again.text == text


async def test_embeddings_are_deterministic_normalised_and_384_wide(offline: Gateway) -> None:
    first = await offline.embed(["Honest care for her growth", ""])
    second = await offline.embed(["Honest care for her growth", ""])

    assert first == second
    assert first.model == "offline-hash-v1"
    vector, empty = first.vectors
    assert len(vector) == 384
    assert sum(v * v for v in vector) == pytest.approx(1.0)
    assert empty == [0.0] * 384


async def test_similar_texts_are_closer_than_unrelated_ones(offline: Gateway) -> None:
    card = "Helping her listen to her own feelings about staying on the team"
    near = "Helping her to listen to her feelings about staying in the team"
    reworded = "Listening to her feelings about whether to stay on the team"
    far = "Protecting the family's savings from risky investments"
    vectors = (await offline.embed([card, near, reworded, far])).vectors

    same = hash_embed.cosine(vectors[0], vectors[1])
    related = hash_embed.cosine(vectors[0], vectors[2])
    unrelated = hash_embed.cosine(vectors[0], vectors[3])
    assert same > 0.9  # a candidate duplicate at cosine distance <= 0.1
    assert same > related > unrelated
    assert unrelated < 0.2


async def test_structured_without_fallback_fails_clearly(offline: Gateway) -> None:
    with pytest.raises(LLMError, match="offline backend cannot produce 'values_card'"):
        await offline.structured([], schema=CARD_SCHEMA, name="values_card")


async def test_structured_uses_the_fallback_and_still_validates(offline: Gateway) -> None:
    card = {"title": "a b c", "description": "d.", "policies": ["X", "Y", "Z"]}
    seen: list[list[dict[str, Any]]] = []

    def rules(messages: list[dict[str, Any]]) -> dict[str, Any]:
        seen.append(messages)
        return card

    messages = [{"role": "user", "content": "hi"}]
    assert (
        await offline.structured(
            messages, schema=CARD_SCHEMA, name="values_card", offline_fallback=rules
        )
        == card
    )
    assert seen == [messages]
    with pytest.raises(StructuredOutputError, match="does not match the schema"):
        await offline.structured(
            messages,
            schema=CARD_SCHEMA,
            name="values_card",
            offline_fallback=lambda _: {"title": "only"},
        )


async def test_health_is_always_ok(offline: Gateway) -> None:
    healthy, why = await offline.health()
    assert healthy
    assert "offline" in why
