"""The fake server's scripted embedding vectors: a test gives the vector a matching request's
texts get (as a multilingual model would place a card near its translation); other requests
keep the deterministic hashed embeddings."""

from __future__ import annotations

import base64
import json
import struct
import urllib.request
from typing import Any

import pytest

from inference.backends import hash_embed
from inference.gateway import build_gateway
from inference.testing import FakeLLMServer, FakeServerError


def embed(fake: FakeLLMServer, texts: list[str], **extra: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        fake.root_url + "/v1/embeddings",
        data=json.dumps({"model": "m", "input": texts, **extra}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def test_a_scripted_vector_answers_the_matching_request_only(fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"endpoint": "embeddings", "match": "Amistad", "embedding": [0.6, 0.8, 0]})

    other = embed(fake_llm, ["Honest friendship"])
    assert other["data"][0]["embedding"] == pytest.approx(
        hash_embed.embed_text("Honest friendship")
    )
    matched = embed(fake_llm, ["Amistad honesta", "otra tarjeta"])
    assert [d["embedding"] for d in matched["data"]] == [[0.6, 0.8, 0.0], [0.6, 0.8, 0.0]]
    assert fake_llm.pending() == []  # used once
    again = embed(fake_llm, ["Amistad honesta"])
    assert again["data"][0]["embedding"] == pytest.approx(hash_embed.embed_text("Amistad honesta"))


def test_scripted_vectors_in_base64_and_through_the_gateway(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(
        {"endpoint": "embeddings", "embedding": [0.25, -0.5], "repeat": 2},
    )
    packed = embed(fake_llm, ["anything"], encoding_format="base64")
    assert struct.unpack("<2f", base64.b64decode(packed["data"][0]["embedding"])) == (0.25, -0.5)

    gateway = build_gateway(
        base_url=fake_llm.base_url, api_key="test", model="fake-model", embed_model="e5"
    )
    assert gateway.embed_sync(["una tarjeta"]).vectors == [[0.25, -0.5]]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"embedding": [1.0]}, "goes with"),
        ({"endpoint": "embeddings", "embedding": []}, "non-empty list of numbers"),
        ({"endpoint": "embeddings", "embedding": [1, "x"]}, "non-empty list of numbers"),
        ({"endpoint": "embeddings", "embedding": [True]}, "non-empty list of numbers"),
    ],
)
def test_a_bad_embedding_script_is_refused(
    fake_llm: FakeLLMServer, script: dict[str, Any], message: str
) -> None:
    with pytest.raises(FakeServerError) as refused:
        fake_llm.script(script)
    assert message in str(refused.value)
    assert fake_llm.pending() == []
