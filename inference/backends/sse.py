"""Strict reading of a chat stream: the OpenAI SDK skips lines that are no server-sent
event field and waits on, so a server (or a proxy) that sends anything but events would be
waited on until it stops, which may be never. Here such a stream fails at its first line."""

from __future__ import annotations

from typing import Any

import openai
from openai._streaming import SSEDecoder


class NotAnEventStream(ValueError):
    """A chat stream that is not server-sent events."""


# The fields of a server-sent event; an OpenAI-compatible stream has no other lines.
_SSE_FIELDS = frozenset(["data", "event", "id", "retry"])


class _StrictSSEDecoder(SSEDecoder):
    """The SDK's decoder, refusing lines that are no server-sent event field: the SDK
    skips them, so a server that sends nothing else would be waited on until it stops."""

    def decode(self, line: str) -> Any:
        if line and not line.startswith(":") and line.partition(":")[0] not in _SSE_FIELDS:
            raise NotAnEventStream(f"it sent {line[:60]!r}")
        return super().decode(line)


class StrictAsyncOpenAI(openai.AsyncOpenAI):
    """The SDK's client, decoding chat streams strictly."""

    def _make_sse_decoder(self) -> SSEDecoder:
        return _StrictSSEDecoder()


def require_event_stream(content_type: str) -> None:
    if not content_type.lower().startswith("text/event-stream"):
        raise NotAnEventStream(f"its content type is {content_type or 'missing'!r}")
