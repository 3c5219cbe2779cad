"""A chat completion in the OpenAI wire format: whole, or as server-sent events."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from inference.fake_server.asgi import Receive, Send, wait_or_disconnect
from inference.fake_server.scripts import DEFAULT_HANG_S, LatencyConfig

_TOOL_ARGUMENT_FRAGMENT = 8  # characters per streamed tool-call argument fragment
_VOCABULARY = [
    "that",
    "depends",
    "on",
    "what",
    "matters",
    "most",
    "to",
    "you",
    "here",
    "and",
    "how",
    "it",
    "might",
    "feel",
    "for",
    "everyone",
    "involved",
    "so",
    "let",
    "us",
    "think",
    "about",
    "it",
    "together",
    "with",
    "care",
    "patience",
    "honesty",
    "and",
    "attention",
]


def pieces(text: str) -> list[str]:
    """Word-sized stream pieces that join back to exactly ``text``."""
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


def default_text(prompt: str, words: int) -> str:
    """The unscripted answer: the same prompt always gets the same words."""
    seed = int.from_bytes(hashlib.blake2b(prompt.encode(), digest_size=4).digest(), "little")
    chosen = [_VOCABULARY[(seed + 7 * i) % len(_VOCABULARY)] for i in range(max(words, 1))]
    return "Fake answer: " + " ".join(chosen) + "."


@dataclass
class Answer:
    id: str
    model: str
    text: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int
    created: int = field(default_factory=lambda: int(time.time()))

    def _usage(self) -> dict[str, int]:
        completion = len(pieces(self.text or "")) + sum(
            max(len(c["arguments"]) // 4, 1) for c in self.tool_calls
        )
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
                for call in self.tool_calls
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": self.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": self._usage(),
        }

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return self._event(
            [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        )

    def _deltas(self) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [{"content": piece} for piece in pieces(self.text or "")]
        for index, call in enumerate(self.tool_calls):
            deltas.append(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["name"], "arguments": ""},
                        }
                    ]
                }
            )
            arguments = call["arguments"]
            for start in range(0, len(arguments), _TOOL_ARGUMENT_FRAGMENT):
                fragment = arguments[start : start + _TOOL_ARGUMENT_FRAGMENT]
                deltas.append(
                    {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
                )
        return deltas

    async def stream(
        self,
        send: Send,
        receive: Receive,
        config: LatencyConfig,
        *,
        include_usage: bool,
        stall_after: int | None = None,
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )

        async def emit(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        await emit(self._chunk({"role": "assistant", "content": ""}))
        if config.ttft_s:
            await asyncio.sleep(config.ttft_s)
        pause = 1.0 / config.tokens_per_second if config.tokens_per_second else 0.0
        for i, delta in enumerate(self._deltas()):
            if i == stall_after:
                await wait_or_disconnect(receive, DEFAULT_HANG_S)
                return
            if pause and i:
                await asyncio.sleep(pause)
            await emit(self._chunk(delta))
        await emit(self._chunk({}, self.finish_reason))
        if include_usage:
            await emit(self._event([], usage=self._usage()))
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


GARBAGE_EVERY_S = 0.1


async def stream_garbage(send: Send, receive: Receive, garbage: str) -> None:
    """A 200 event stream that sends ``garbage`` again and again until the client hangs up:
    a server whose stream never times out and never holds a chunk."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
        }
    )
    while True:
        await send({"type": "http.response.body", "body": garbage.encode(), "more_body": True})
        if await wait_or_disconnect(receive, GARBAGE_EVERY_S):
            return
