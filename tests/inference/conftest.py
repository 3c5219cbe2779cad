"""Fixtures for the inference tests: one fake OpenAI-compatible server per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from inference.gateway import Gateway, build_gateway
from inference.testing import FakeLLMServer

# The reference snapshot and its hand-written scenarios, shared with the jobs' tests (the
# dataset tests here run `python -m inference` on them against the fake server).
from tests.inference_jobs.conftest import scenarios_path, snapshot, snapshot_path

__all__ = ["scenarios_path", "snapshot", "snapshot_path"]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


MakeGateway = Callable[..., Gateway]


@pytest.fixture
def make_gateway(fake_llm: FakeLLMServer) -> MakeGateway:
    """Build gateways on the fake server, with fast retries."""

    def make(*, timeout_s: float = 5.0, max_retries: int = 2) -> Gateway:
        return build_gateway(
            base_url=fake_llm.base_url,
            api_key="test-key",
            model="fake-model",
            embed_model="fake-embedding",
            timeout_s=timeout_s,
            max_retries=max_retries,
            retry_base_delay_s=0.01,
            retry_max_delay_s=0.05,
        )

    return make


@pytest.fixture
async def gateway(make_gateway: MakeGateway) -> AsyncIterator[Gateway]:
    """For async tests: its connections are closed on the test's event loop afterwards."""
    gateway = make_gateway()
    yield gateway
    await gateway.aclose()


@pytest.fixture
def sync_gateway(make_gateway: MakeGateway) -> Gateway:
    """For sync tests: the ``*_sync`` methods open and close their own connections."""
    return make_gateway()
