"""The offline backend: deterministic, no network, the default when no model server is set."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any

from inference.backends import hash_embed
from inference.gateway.base import Gateway, OfflineFallback, schema_validator
from inference.gateway.errors import LLMError, StructuredOutputError
from inference.gateway.types import (
    ChatDone,
    ChatEvent,
    ChatResult,
    Embeddings,
    JSONSchema,
    Message,
    TokenDelta,
    ToolSpec,
    Usage,
)

OFFLINE_CHAT_MODEL = "offline-echo-v1"
OFFLINE_MARK = "[offline]"
_SNIPPET_WORDS = 24


def _text_of(content: Any) -> str:
    """The text of a message's content, whether a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        ).strip()
    return ""


def last_user_text(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _count_tokens(text: str) -> int:
    return len(text.split())


class OfflineGateway(Gateway):
    """Answers are derived from the last user message and clearly marked as offline.

    Callers that need real behaviour offline (the offline interviewer, the canonicaliser's
    conservative rule) implement it themselves and pass ``offline_fallback`` to
    ``structured``.
    """

    backend_name = "offline"

    def __init__(self, *, model: str | None = None, embed_model: str | None = None) -> None:
        self.model = model or OFFLINE_CHAT_MODEL
        self.embed_model = embed_model or hash_embed.MODEL_NAME

    def answer_for(self, messages: list[Message]) -> str:
        said = " ".join(last_user_text(messages).split())
        words = said.split(" ")
        if len(words) > _SNIPPET_WORDS:
            said = " ".join(words[:_SNIPPET_WORDS]) + " …"
        if not said:
            return f"{OFFLINE_MARK} No model is configured, so this is a fixed offline answer."
        return (
            f"{OFFLINE_MARK} You said: “{said}”. No model is configured, so this is a fixed "
            "offline answer."
        )

    async def stream_chat(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncGenerator[ChatEvent, None]:
        text = self.answer_for(messages)
        # Word-sized deltas, so consumers exercise the same path as with a real stream.
        for piece in re.findall(r"\S+\s*", text):
            yield TokenDelta(piece)
        yield ChatDone("stop", self._usage(messages, text))

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatResult:
        text = self.answer_for(messages)
        return ChatResult(
            text=text, finish_reason="stop", usage=self._usage(messages, text), model=self.model
        )

    async def structured(
        self,
        messages: list[Message],
        *,
        schema: JSONSchema,
        name: str,
        model: str | None = None,
        max_attempts: int = 2,
        temperature: float | None = None,
        offline_fallback: OfflineFallback | None = None,
    ) -> dict[str, Any]:
        if offline_fallback is None:
            raise LLMError(
                f"The offline backend cannot produce {name!r} structured output: no model is "
                "configured and the caller gave no offline_fallback. Set a model server "
                "(base URL) or supply deterministic rules."
            )
        data = offline_fallback(list(messages))
        errors = list(schema_validator(schema).iter_errors(data))
        if errors:
            # A bug in the caller's rules, reported as such instead of passing bad data on.
            raise StructuredOutputError(
                f"The offline fallback for {name!r} returned data that does not match the "
                f"schema: {errors[0].message}.",
                attempts=1,
                last_answer=None,
            )
        return data

    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        return Embeddings(
            model=self.embed_model, vectors=[hash_embed.embed_text(text) for text in texts]
        )

    async def health(self) -> tuple[bool, str]:
        return True, "offline backend (deterministic answers, local hashed embeddings)"

    def _usage(self, messages: list[Message], text: str) -> Usage:
        prompt = sum(_count_tokens(_text_of(m.get("content"))) for m in messages)
        return Usage(prompt_tokens=prompt, completion_tokens=_count_tokens(text))
