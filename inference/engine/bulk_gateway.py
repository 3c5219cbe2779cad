"""The gateway for bulk work: pools sized for many requests in flight, usage charged per item."""

from __future__ import annotations

import asyncio
import math
import ssl
import weakref
from collections.abc import Iterable
from typing import Any

import httpx2
import openai

from inference.backends.openai_compat import OpenAICompatGateway, RetryPolicy
from inference.engine.metering import WORKER_INDEX, charge
from inference.gateway import ChatResult, Gateway, LLMError

SHARD_CONNECTIONS = 32


class MeteredGateway(OpenAICompatGateway):
    """The OpenAI-compatible gateway, tuned for many requests in flight, charging each item.

    Retries, errors and wire handling are the gateway's own; this adds:

    - connection pools sized for the requests in flight (the SDK's default keeps 100
      connections alive; beyond that every request would open a new one), split into
      shards of about ``SHARD_CONNECTIONS``: the HTTP pool scans all its connections for
      each request it places, so one pool of 256 costs several times the CPU of 8 pools of
      32. An engine worker always uses the same shard, so a shard never has more requests
      in flight than its workers make;
    - the token usage of every completion charged to the work item that made it.
    """

    def __init__(self, *, concurrency: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.concurrency = concurrency
        self.shard_count = max(1, math.ceil(concurrency / SHARD_CONNECTIONS))
        # Room for an item's parallel requests (a DPO pair) and a few embeddings besides.
        self.shard_connections = 2 * math.ceil(concurrency / self.shard_count) + 4
        self._shards: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[openai.AsyncOpenAI]
        ] = weakref.WeakKeyDictionary()
        self._next_shard = 0

    def _client(self, *, embeddings: bool = False) -> openai.AsyncOpenAI:
        if embeddings and self.embed_base_url != self.base_url:
            # Embeddings from their own server: a few requests, the plain client suffices.
            return super()._client(embeddings=True)
        loop = asyncio.get_running_loop()
        shards = self._shards.get(loop)
        if shards is None:
            # One TLS context for all shards: loading the CA store costs ~25 ms each time.
            tls = ssl.create_default_context()
            shards = self._shards[loop] = [self._new_client(tls) for _ in range(self.shard_count)]
        worker = WORKER_INDEX.get()
        if worker < 0:  # not in an engine worker: take turns
            worker = self._next_shard
            self._next_shard += 1
        return shards[worker % self.shard_count]

    def _new_client(self, tls: ssl.SSLContext) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self._api_key,
            timeout=self.timeout_s,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(
                timeout=self.timeout_s,
                verify=tls,
                limits=httpx2.Limits(
                    max_connections=self.shard_connections,
                    max_keepalive_connections=self.shard_connections,
                    keepalive_expiry=30.0,
                ),
            ),
        )

    async def aclose(self) -> None:
        for client in self._shards.pop(asyncio.get_running_loop(), []):
            await client.close()
        await super().aclose()

    async def _complete(self, params: dict[str, Any]) -> ChatResult:
        result = await super()._complete(params)
        charge(result.usage)
        return result


def build_bulk_gateway(
    *,
    base_url: str,
    api_key: str | None,
    model: str | None,
    embed_model: str | None = None,
    concurrency: int = 64,
    timeout_s: float = 300.0,
    max_retries: int = 4,
    retry_base_delay_s: float = 1.0,
    retry_max_delay_s: float = 30.0,
) -> MeteredGateway:
    """A gateway for ``run_job``: a pool for ``concurrency`` requests, usage charged per item.

    The timeout is long by default: a GPU server with hundreds of requests in flight answers
    each one slowly, but answers.
    """
    return MeteredGateway(
        concurrency=concurrency,
        base_url=base_url,
        api_key=api_key,
        model=model,
        embed_model=embed_model,
        timeout_s=timeout_s,
        retry=RetryPolicy(
            max_retries=max_retries, base_delay_s=retry_base_delay_s, max_delay_s=retry_max_delay_s
        ),
    )


async def complete_text(
    gateway: Gateway,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int | None,
    temperature: float | None,
) -> str:
    """One non-streamed answer's text; an empty answer is an error (nothing to train on)."""
    result = await gateway.complete(messages, max_tokens=max_tokens, temperature=temperature)
    if not result.text.strip():
        raise LLMError(
            f"The model ({result.model or gateway.model}) returned an empty answer "
            f"(finish reason {result.finish_reason!r})."
        )
    return result.text


def prompt_tokens_estimate(texts: Iterable[str]) -> int:
    """About four characters per token: enough to plan a budget before the first answer."""
    return sum(len(text) for text in texts) // 4 + 1
