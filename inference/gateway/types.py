"""The gateway's own data types: what the rest of the app receives, never ``openai`` objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# A chat message in the OpenAI wire shape: {"role": "user", "content": "..."}; assistant
# messages may carry "tool_calls" and tool results use {"role": "tool", "tool_call_id": ...}.
Message = dict[str, Any]
# A tool specification in the OpenAI wire shape: {"type": "function", "function": {...}}.
ToolSpec = dict[str, Any]
JSONSchema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class TokenDelta:
    """A piece of the assistant's text, in the order the model produced it."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call; ``arguments`` is the JSON text assembled from all fragments."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; raises ``ValueError`` when they are not a JSON object."""
        value = json.loads(self.arguments)
        if not isinstance(value, dict):
            raise ValueError(f"tool call {self.name!r} arguments are not a JSON object")
        return value


# In a stream a tool call is emitted once, complete, after its last fragment arrived.
ToolCallEvent = ToolCall


@dataclass(frozen=True, slots=True)
class ChatDone:
    """The last event of every stream."""

    finish_reason: str
    usage: Usage | None = None


ChatEvent = TokenDelta | ToolCall | ChatDone


@dataclass(frozen=True, slots=True)
class ChatResult:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    usage: Usage | None = None
    model: str = ""


@dataclass(frozen=True, slots=True)
class Embeddings:
    model: str
    vectors: list[list[float]] = field(default_factory=list)
