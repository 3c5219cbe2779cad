"""The OpenAI-compatible backend: OpenAI itself, a vLLM server, or the loopback fake server.

The SDK's own retries are switched off (``max_retries=0``) so that there is exactly one,
bounded retry policy, ours: 429, 5xx, connection errors and timeouts are retried with
exponential backoff and jitter; any other 4xx is a bug or a refusal and is raised at once.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai
import pydantic

from inference.backends import hash_embed
from inference.backends.sse import StrictAsyncOpenAI, require_event_stream
from inference.gateway.base import Gateway
from inference.gateway.errors import (
    LLMBadRequest,
    LLMBadResponse,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
)
from inference.gateway.types import (
    ChatDone,
    ChatEvent,
    ChatResult,
    Embeddings,
    JSONSchema,
    Message,
    TokenDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_EMBED_MODEL = "text-embedding-3-small"
HEALTH_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_retries`` retries after the first attempt; delay ``base * 2**n``, capped, jittered."""

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, retry_number: int, retry_after_s: float | None = None) -> float:
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.max_delay_s)
        ceiling = min(self.base_delay_s * 2.0 ** (retry_number - 1), self.max_delay_s)
        # "Equal jitter": at least half the ceiling, so retries never stampede at zero delay.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def is_retryable_status(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


_LoopClients = weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI]


class OpenAICompatGateway(Gateway):
    backend_name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        model: str | None = None,
        embed_model: str | None = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        embed_base_url: str | None = None,
        embed_api_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # vLLM and the fake server accept any key; the SDK insists on one.
        self._api_key = api_key or "not-needed"
        # Embeddings may have a server of their own (vLLM serves one model per server).
        self.embed_base_url = (embed_base_url or base_url).rstrip("/")
        self._embed_api_key = embed_api_key or self._api_key
        self.model = model or DEFAULT_CHAT_MODEL
        self.embed_model = embed_model or DEFAULT_EMBED_MODEL
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        # An SDK client's connection pool belongs to the event loop that opened it, and the
        # sync conveniences run each call on a fresh loop: one client per loop.
        self._clients: _LoopClients = weakref.WeakKeyDictionary()
        self._embed_clients: _LoopClients = weakref.WeakKeyDictionary()

    # -- clients -------------------------------------------------------------------------

    def _client(self, *, embeddings: bool = False) -> openai.AsyncOpenAI:
        """This loop's client of the chat server (or of the embedding server, if another)."""
        own = embeddings and self.embed_base_url != self.base_url
        clients = self._embed_clients if own else self._clients
        loop = asyncio.get_running_loop()
        client = clients.get(loop)
        if client is None:
            client = StrictAsyncOpenAI(
                base_url=self.embed_base_url if own else self.base_url,
                api_key=self._embed_api_key if own else self._api_key,
                timeout=self.timeout_s,
                max_retries=0,
            )
            clients[loop] = client
        return client

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        for clients in (self._clients, self._embed_clients):
            if (client := clients.pop(loop, None)) is not None:
                await client.close()

    # -- chat ----------------------------------------------------------------------------

    def _chat_params(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None,
        model: str | None,
        max_tokens: int | None,
        temperature: float | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"model": model or self.model, "messages": messages}
        if tools:
            params["tools"] = tools
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        if temperature is not None:
            params["temperature"] = temperature
        return params

    async def stream_chat(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncGenerator[ChatEvent, None]:
        params = self._chat_params(
            messages, tools=tools, model=model, max_tokens=max_tokens, temperature=temperature
        )
        # Only opening the stream is retried: once tokens have reached the caller, a retry
        # would repeat them.
        stream = await self._with_retries(
            "chat",
            lambda client: client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            ),
        )
        fragments: dict[int, _ToolCallFragments] = {}
        finish_reason: str | None = None
        usage: Usage | None = None
        try:
            require_event_stream(stream.response.headers.get("content-type", ""))
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta.content:
                        yield TokenDelta(delta.content)
                    for fragment in delta.tool_calls or ():
                        parts = fragments.setdefault(fragment.index, _ToolCallFragments())
                        parts.add(fragment)
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        except openai.OpenAIError as exc:
            raise self._error_during_stream(exc) from exc
        except (ValueError, TypeError, AttributeError, pydantic.ValidationError) as exc:
            # Not the OpenAI wire format (JSONDecodeError and NotAnEventStream are
            # ValueErrors): fail now, rather than wait for chunks that will never come.
            raise LLMBadResponse(
                f"The model server at {self.base_url} sent a chat stream that is not the "
                f"OpenAI format ({exc})."
            ) from exc
        finally:
            await stream.close()
        for index in sorted(fragments):
            yield fragments[index].tool_call(index)
        if finish_reason is None:
            finish_reason = "tool_calls" if fragments else "stop"
        yield ChatDone(finish_reason, usage)

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatResult:
        params = self._chat_params(
            messages, tools=tools, model=model, max_tokens=max_tokens, temperature=temperature
        )
        return await self._complete(params)

    async def _complete(self, params: dict[str, Any]) -> ChatResult:
        response = await self._with_retries(
            "chat", lambda client: client.chat.completions.create(**params)
        )
        if not response.choices:
            raise LLMError(f"The model server at {self.base_url} returned no choices.")
        choice = response.choices[0]
        tool_calls = tuple(
            ToolCall(
                id=call.id or f"call_{i}",
                name=call.function.name,
                arguments=call.function.arguments or "",
            )
            for i, call in enumerate(choice.message.tool_calls or ())
            if call.type == "function"
        )
        return ChatResult(
            text=choice.message.content or "",
            tool_calls=tool_calls,
            finish_reason=choice.finish_reason or "stop",
            usage=_usage(response.usage) if response.usage is not None else None,
            model=response.model or params["model"],
        )

    async def _structured_answer(
        self,
        messages: list[Message],
        *,
        schema: JSONSchema,
        name: str,
        model: str | None,
        temperature: float | None,
    ) -> str:
        params = self._chat_params(
            messages, tools=None, model=model, max_tokens=None, temperature=temperature
        )
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema},
        }
        return (await self._complete(params)).text

    # -- embeddings and health -----------------------------------------------------------

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        name = model or self.embed_model
        if not texts:
            return Embeddings(model=name, vectors=[])
        if name == hash_embed.MODEL_NAME:
            # A chat-only server (vLLM serving one generation model) has no embeddings: the
            # deterministic local embedding stands in, under its own name.
            return Embeddings(model=name, vectors=[hash_embed.embed_text(text) for text in texts])
        response = await self._with_retries(
            "embeddings",
            lambda client: client.embeddings.create(
                input=texts, model=name, encoding_format="float"
            ),
            embeddings=True,
        )
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise LLMError(
                f"The model server at {self.embed_base_url} returned {len(data)} embeddings "
                f"for {len(texts)} texts."
            )
        return Embeddings(
            model=response.model or name, vectors=[list(item.embedding) for item in data]
        )

    async def health(self) -> tuple[bool, str]:
        try:
            page = await self._client().models.list(timeout=min(HEALTH_TIMEOUT_S, self.timeout_s))
        except openai.OpenAIError as exc:
            return False, self._error_for(exc, "models", attempts=1).message
        names = [item.id for item in page.data]
        listed = "listed" if self.model in names else "not listed"
        return True, (f"{self.base_url} answers: {len(names)} model(s); {self.model!r} is {listed}")

    # -- retries and errors --------------------------------------------------------------

    async def _with_retries[T](
        self,
        what: str,
        call: Callable[[openai.AsyncOpenAI], Awaitable[T]],
        *,
        embeddings: bool = False,
    ) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call(self._client(embeddings=embeddings))
            except openai.APIStatusError as exc:
                if not is_retryable_status(exc.status_code):
                    raise self._error_for(exc, what, attempts=attempt) from exc
                failure: openai.OpenAIError = exc
                retry_after = _retry_after_s(exc)
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                failure, retry_after = exc, None
            except openai.OpenAIError as exc:
                raise self._error_for(exc, what, attempts=attempt) from exc
            if attempt > self.retry.max_retries:
                raise self._error_for(failure, what, attempts=attempt) from failure
            await asyncio.sleep(self.retry.delay(attempt, retry_after))

    def _error_for(self, exc: openai.OpenAIError, what: str, *, attempts: int) -> LLMError:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        server = self.embed_base_url if what == "embeddings" else self.base_url
        where = f"the model server at {server}"
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeout(
                f"The {what} request to {where} timed out after {self.timeout_s:g} s ({tries})."
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable(f"Could not connect to {where} for {what} ({tries}).")
        if isinstance(exc, openai.APIStatusError):
            detail = _error_detail(exc)
            status = exc.status_code
            if is_retryable_status(status):
                return LLMUnavailable(
                    f"The {what} request to {where} kept failing with HTTP {status} "
                    f"({tries}): {detail}",
                    status_code=status,
                )
            return LLMBadRequest(
                f"The {what} request was rejected by {where} with HTTP {status} "
                f"(not retried): {detail}",
                status_code=status,
            )
        return LLMError(f"The {what} request to {where} failed: {exc}")

    def _error_during_stream(self, exc: openai.OpenAIError) -> LLMError:
        error = self._error_for(exc, "chat", attempts=1)
        return type(error)(f"{error.message} The stream broke after it had started.")


class _ToolCallFragments:
    """The pieces of one streamed tool call, keyed by its index in the chunks."""

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []

    def add(self, fragment: Any) -> None:
        if fragment.id:
            self.id = fragment.id
        function = fragment.function
        if function is not None:
            if function.name:
                self.name += function.name
            if function.arguments:
                self.arguments.append(function.arguments)

    def tool_call(self, index: int) -> ToolCall:
        return ToolCall(
            id=self.id or f"call_{index}", name=self.name, arguments="".join(self.arguments)
        )


def _usage(usage: Any) -> Usage:
    return Usage(
        prompt_tokens=int(usage.prompt_tokens or 0),
        completion_tokens=int(usage.completion_tokens or 0),
    )


def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    if isinstance(body, str) and body:
        return body[:500]
    return exc.message


def _retry_after_s(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
