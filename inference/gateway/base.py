"""The gateway interface every backend implements, and the logic all backends share."""

from __future__ import annotations

import asyncio
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, ClassVar

import jsonschema

from .errors import StructuredOutputError
from .types import ChatEvent, ChatResult, Embeddings, JSONSchema, Message, ToolSpec

OfflineFallback = Callable[[list[Message]], dict[str, Any]]


class Gateway(ABC):
    """Chat streaming, plain and structured completions, and embeddings.

    Async methods are the primary interface (Channels consumers); the ``*_sync`` variants
    run them on a fresh event loop for Celery tasks and management commands.
    """

    backend_name: ClassVar[str]
    model: str
    embed_model: str

    # -- the interface -------------------------------------------------------------------

    @abstractmethod
    def stream_chat(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncGenerator[ChatEvent, None]:
        """Yield ``TokenDelta``s and complete ``ToolCall``s, then exactly one ``ChatDone``.

        To stop early (the participant pressed "stop"), cancel the consuming task or leave
        the loop inside ``contextlib.aclosing(...)``: the HTTP stream is closed either way.
        """

    @abstractmethod
    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatResult:
        """One non-streamed answer: text, tool calls and usage."""

    @abstractmethod
    async def embed(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        """One vector per text, in order."""

    @abstractmethod
    async def health(self) -> tuple[bool, str]:
        """Whether the backend answers, and a short explanation."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections held for the running event loop."""

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
        """A JSON object that validates against ``schema``, or ``StructuredOutputError``.

        Invalid answers are retried (the model is told what was wrong) up to
        ``max_attempts`` times; invalid data is never returned. ``offline_fallback`` is only
        used by the offline backend.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        validator = schema_validator(schema)
        conversation = list(messages)
        answer: str | None = None
        problem = ""
        for _attempt in range(max_attempts):
            answer = await self._structured_answer(
                conversation, schema=schema, name=name, model=model, temperature=temperature
            )
            data, problem = parse_and_validate(answer, validator)
            if data is not None:
                return data
            conversation = [
                *messages,
                {"role": "assistant", "content": answer},
                {
                    "role": "user",
                    "content": (
                        f"That answer was not valid: {problem}. Answer again with only a JSON "
                        f"object that matches the {name!r} schema."
                    ),
                },
            ]
        raise StructuredOutputError(
            f"The model ({model or self.model}) gave no valid {name!r} JSON in {max_attempts} "
            f"attempt(s); last problem: {problem}.",
            attempts=max_attempts,
            last_answer=answer,
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
        """The raw text of one structured-output request (backends that support it)."""
        raise NotImplementedError

    # -- sync conveniences ---------------------------------------------------------------

    def complete_sync(
        self,
        messages: list[Message],
        *,
        tools: list[ToolSpec] | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatResult:
        return self._run_sync(
            lambda: self.complete(
                messages, tools=tools, model=model, max_tokens=max_tokens, temperature=temperature
            )
        )

    def structured_sync(
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
        return self._run_sync(
            lambda: self.structured(
                messages,
                schema=schema,
                name=name,
                model=model,
                max_attempts=max_attempts,
                temperature=temperature,
                offline_fallback=offline_fallback,
            )
        )

    def embed_sync(self, texts: list[str], *, model: str | None = None) -> Embeddings:
        return self._run_sync(lambda: self.embed(texts, model=model))

    def health_sync(self) -> tuple[bool, str]:
        return self._run_sync(self.health)

    def _run_sync[T](self, make: Callable[[], Awaitable[T]]) -> T:
        """Run on a fresh event loop, in a helper thread if this thread already runs one."""

        async def scoped() -> T:
            try:
                return await make()
            finally:
                await self.aclose()

        def run() -> T:
            return asyncio.run(scoped())

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        return _run_in_thread(run)


def _run_in_thread[T](fn: Callable[[], T]) -> T:
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name="gateway-sync", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def schema_validator(schema: JSONSchema) -> jsonschema.protocols.Validator:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def parse_and_validate(
    answer: str, validator: jsonschema.protocols.Validator
) -> tuple[dict[str, Any] | None, str]:
    """``(data, "")`` when ``answer`` is a JSON object valid for the schema, else ``(None, why)``."""
    try:
        data = json.loads(_strip_code_fence(answer))
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        return None, f"schema violation at {where}: {first.message}"
    return data, ""


def _strip_code_fence(text: str) -> str:
    """Accept ```json fenced answers, which some models give despite response_format."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped.removeprefix("```").removesuffix("```")
        stripped = stripped.removeprefix("json").strip()
    return stripped
