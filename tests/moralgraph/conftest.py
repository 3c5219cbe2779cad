"""Fixtures for the graph's tests: the fake OpenAI-compatible server behind the gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from config import gateway as gateway_config
from inference.testing import FakeLLMServer


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(fake_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The gateway pointed at the fake server (no retries of HTTP failures, short timeout)."""
    fake_server.reset()
    gateway_config._gateway.cache_clear()
    with override_settings(
        LLM_BASE_URL=fake_server.base_url,
        LLM_MODEL="fake-model",
        LLM_API_KEY="test",
        LLM_TIMEOUT_S=1.0,
        LLM_MAX_RETRIES=0,
    ):
        yield fake_server
    gateway_config._gateway.cache_clear()
    fake_server.reset()
