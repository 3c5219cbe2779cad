"""Scripted responses, the latency model, and the server's state (queue and request record)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

DEFAULT_HANG_S = 3600.0


class ScriptError(ValueError):
    """A scripted response that does not make sense; answered with HTTP 400."""


@dataclass
class LatencyConfig:
    ttft_s: float = 0.0  # time to first token of a stream
    tokens_per_second: float = 0.0  # stream pacing; 0 streams as fast as possible
    delay_s: float = 0.0  # fixed delay before each non-streamed answer
    tokens_per_answer: int = 12  # length of the default text answer, in words

    def updated(self, changes: dict[str, Any]) -> LatencyConfig:
        known = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ScriptError(f"unknown config keys: {', '.join(unknown)}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ScriptError(f"config {key!r} must be a non-negative number")
            values[key] = int(value) if key == "tokens_per_answer" else float(value)
        return replace(self, **values)


@dataclass
class ScriptedResponse:
    endpoint: str = "chat"
    match: str | None = None
    match_system: str | None = None
    text: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang_s: float | None = None
    stall_after: int | None = None
    finish_reason: str | None = None
    repeat: int = 1
    garbage: str | None = None
    # An embeddings response: this vector for every input text of the request it answers.
    embedding: list[float] | None = None

    _KEYS = frozenset(
        [
            "text",
            "json",
            "tool_call",
            "tool_calls",
            "status",
            "body",
            "headers",
            "delay_s",
            "hang",
            "hang_s",
            "stall_after",
            "match",
            "match_system",
            "endpoint",
            "repeat",
            "finish_reason",
            "garbage",
            "embedding",
        ]
    )

    @classmethod
    def parse(cls, raw: Any) -> ScriptedResponse:
        if not isinstance(raw, dict):
            raise ScriptError("each scripted response must be a JSON object")
        unknown = sorted(set(raw) - cls._KEYS)
        if unknown:
            raise ScriptError(f"unknown keys {unknown}; known: {sorted(cls._KEYS)}")
        response = cls(
            endpoint=str(raw.get("endpoint", "chat")),
            match=raw.get("match"),
            match_system=raw.get("match_system"),
            delay_s=float(raw.get("delay_s", 0.0)),
            finish_reason=raw.get("finish_reason"),
            repeat=int(raw.get("repeat", 1)),
            headers={str(k): str(v) for k, v in (raw.get("headers") or {}).items()},
        )
        if response.endpoint not in ("chat", "embeddings"):
            raise ScriptError("endpoint must be 'chat' or 'embeddings'")
        if response.repeat < 1:
            raise ScriptError("repeat must be at least 1")
        response.embedding = _vector(raw, response.endpoint)
        if "garbage" in raw:
            response.garbage = str(raw["garbage"])
        if "stall_after" in raw:
            response.stall_after = int(raw["stall_after"])
        if raw.get("hang") or "hang_s" in raw:
            response.hang_s = float(raw.get("hang_s", DEFAULT_HANG_S))
        if "json" in raw:
            value = raw["json"]
            response.text = value if isinstance(value, str) else json.dumps(value)
        if "text" in raw:
            if "json" in raw:
                raise ScriptError("give either 'text' or 'json', not both")
            response.text = str(raw["text"])
        calls = list(raw.get("tool_calls") or [])
        if "tool_call" in raw:
            calls.append(raw["tool_call"])
        response.tool_calls = [_tool_call(call, i) for i, call in enumerate(calls)]
        if "status" in raw:
            status = int(raw["status"])
            if not 400 <= status <= 599:
                raise ScriptError("status must be an HTTP error status (400-599)")
            response.status = status
            response.body = raw.get("body")
        elif "body" in raw:
            raise ScriptError("'body' only goes with 'status'")
        return response

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {})}

    @property
    def wait_s(self) -> float:
        """How long to wait before answering (a hang waits until the client gives up)."""
        return self.delay_s + (self.hang_s or 0.0)

    @property
    def has_answer(self) -> bool:
        return self.text is not None or bool(self.tool_calls)


def _vector(script: dict[str, Any], endpoint: str) -> list[float] | None:
    """A script's own embedding vector, if it gives one."""
    if "embedding" not in script:
        return None
    raw = script["embedding"]
    if endpoint != "embeddings":
        raise ScriptError('\'embedding\' goes with "endpoint": "embeddings"')
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw)
    ):
        raise ScriptError("'embedding' must be a non-empty list of numbers")
    return [float(x) for x in raw]


def _tool_call(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ScriptError("a tool call needs a 'name' and 'arguments' (object or string)")
    arguments = raw.get("arguments", {})
    return {
        "id": str(raw.get("id") or f"call_fake_{index}"),
        "name": raw["name"],
        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
    }


class FakeState:
    """The queued scripts, the record of model requests, the latency model in force."""

    def __init__(self, config: LatencyConfig) -> None:
        self.start_config = config
        self.config = config
        self.scripts: list[ScriptedResponse] = []
        self.requests: list[dict[str, Any]] = []
        self._ids = 0

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def reset(self) -> None:
        self.scripts.clear()
        self.requests.clear()
        self.config = self.start_config

    def take(self, endpoint: str, prompt: str, system: str = "") -> ScriptedResponse | None:
        """The first queued response that matches (first-in first-out), used up once."""
        for i, script in enumerate(self.scripts):
            if script.endpoint != endpoint:
                continue
            if script.match is not None and script.match not in prompt:
                continue
            if script.match_system is not None and script.match_system not in system:
                continue
            script.repeat -= 1
            if script.repeat == 0:
                del self.scripts[i]
            return script
        return None
