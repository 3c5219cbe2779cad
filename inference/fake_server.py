"""A loopback server that speaks the OpenAI wire format, for development, tests and benchmarks.

A plain ASGI app served by uvicorn: ``python -m inference.fake_server --port 8100``.

Model endpoints (what the SDK calls):
  POST /v1/chat/completions   non-streamed, or SSE with ``"stream": true``
  POST /v1/embeddings         deterministic hashed embeddings (float or base64)
  GET  /v1/models

Control endpoints (what tests call; see ``inference.testing.FakeLLMServer``):
  POST /_fake/script    queue scripted responses (one object, a list, or {"responses": [...]})
  GET  /_fake/script    the responses still queued
  GET  /_fake/requests  every model request received: {"requests": [{method, path, body}]}
  POST /_fake/reset     clear scripts and the record; restore the start-up latency config
  GET|POST /_fake/config  read or change the latency model

A scripted response is a JSON object with at most one answer and any modifiers:
  {"text": "..."}                                   a text answer (any text, valid JSON or not)
  {"json": {...}}                                   the object serialised as the answer text
  {"tool_call": {"name": "f", "arguments": {...} | "...", "id": "call_1"}}
  {"tool_calls": [{...}, {...}]}                    several tool calls (text may accompany)
  {"status": 500, "body": {...} | "...", "headers": {"retry-after": "0"}}   an HTTP error
  modifiers: "delay_s": 0.2 (wait before answering), "hang": true (wait "hang_s", default
  3600, or until the client gives up), "match": "substring" (only for requests whose last
  user message contains it), "endpoint": "chat" | "embeddings" (default "chat"),
  "match_system": "substring" (only for requests whose system message contains it),
  "repeat": N (use this response N times), "finish_reason": "length",
  "stall_after": N (a stream sends N content pieces, then goes silent until the client
  gives up).
Responses are taken first-in first-out among those that match; with none queued the server
answers deterministically: a text derived from the prompt, a JSON instance of a requested
``json_schema`` where one can be derived, hashed embeddings.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import re
import struct
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from inference.backends import hash_embed

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]

DEFAULT_MODEL = "fake-model"
DEFAULT_EMBED_MODEL = "fake-embedding"
DEFAULT_HANG_S = 3600.0
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


# -- helpers -----------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _pieces(text: str) -> list[str]:
    """Word-sized stream pieces that join back to exactly ``text``."""
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


def default_text(prompt: str, words: int) -> str:
    seed = int.from_bytes(hashlib.blake2b(prompt.encode(), digest_size=4).digest(), "little")
    chosen = [_VOCABULARY[(seed + 7 * i) % len(_VOCABULARY)] for i in range(max(words, 1))]
    return "Fake answer: " + " ".join(chosen) + "."


def example_for_schema(schema: Any, name: str = "value", depth: int = 0) -> Any:
    """A deterministic instance of a JSON schema, good enough for the common keywords."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return example_for_schema(schema[combinator][0], name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {key: example_for_schema(sub, key, depth + 1) for key, sub in properties.items()}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [example_for_schema(schema.get("items", {}), name, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    text = f"example {name}"
    return text.ljust(int(schema.get("minLength", 0)), "x")


def _requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return schema if isinstance(schema, dict) else {}
    if response_format.get("type") == "json_object":
        return {}
    return None


def _error_body(status: int, message: str, kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()


def _system_text(messages: list[Any]) -> str:
    return "\n".join(
        _text_of(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") in ("system", "developer")
    )


def _count_words(messages: list[Any]) -> int:
    return sum(len(_text_of(m.get("content")).split()) for m in messages if isinstance(m, dict))


# -- the app -----------------------------------------------------------------------------


class FakeLLMApp:
    def __init__(
        self,
        config: LatencyConfig | None = None,
        *,
        model: str = DEFAULT_MODEL,
        embed_model: str = DEFAULT_EMBED_MODEL,
    ) -> None:
        self.state = FakeState(config or LatencyConfig())
        self.model = model
        self.embed_model = embed_model

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        raw = await _read_body(receive)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as exc:
                await _send_json(send, 400, _error_body(400, f"body is not JSON: {exc.msg}"))
                return
        try:
            await self._route(method, path, body, receive, send)
        except ScriptError as exc:
            await _send_json(send, 400, _error_body(400, str(exc)))
        except OSError:
            pass  # the client went away mid-answer

    async def _route(self, method: str, path: str, body: Any, receive: Receive, send: Send) -> None:
        if path.startswith("/v1/"):
            self.state.requests.append({"method": method, "path": path, "body": body})
        match method, path:
            case "POST", "/v1/chat/completions":
                await self._chat(body, receive, send)
            case "POST", "/v1/embeddings":
                await self._embeddings(body, receive, send)
            case "GET", "/v1/models":
                data = [
                    {"id": name, "object": "model", "created": 0, "owned_by": "fake"}
                    for name in (self.model, self.embed_model)
                ]
                await _send_obj(send, 200, {"object": "list", "data": data})
            case "POST", "/_fake/script":
                await self._script(body, send)
            case "GET", "/_fake/script":
                pending = [s.summary() for s in self.state.scripts]
                await _send_obj(send, 200, {"responses": pending})
            case "GET", "/_fake/requests":
                await _send_obj(send, 200, {"requests": self.state.requests})
            case "POST", "/_fake/reset":
                self.state.reset()
                await _send_obj(send, 200, {"ok": True})
            case "GET", "/_fake/config":
                await _send_obj(send, 200, asdict(self.state.config))
            case "POST", "/_fake/config":
                self.state.config = self.state.config.updated(body or {})
                await _send_obj(send, 200, asdict(self.state.config))
            case _:
                await _send_json(send, 404, _error_body(404, f"no route {method} {path}"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _script(self, body: Any, send: Send) -> None:
        if isinstance(body, dict) and "responses" in body:
            body = body["responses"]
        items = body if isinstance(body, list) else [body]
        parsed = [ScriptedResponse.parse(item) for item in items]  # all or nothing
        self.state.scripts.extend(parsed)
        await _send_obj(send, 200, {"queued": len(parsed), "pending": len(self.state.scripts)})

    async def _before_answer(self, script: ScriptedResponse | None, receive: Receive) -> bool:
        """Scripted waits; False when the client hung up meanwhile."""
        if script is None:
            return True
        wait = script.delay_s + (script.hang_s or 0.0)
        if wait <= 0:
            return True
        return not await _wait_or_disconnect(receive, wait)

    async def _error_if_scripted(self, script: ScriptedResponse | None, send: Send) -> bool:
        if script is None or script.status is None:
            return False
        status, payload = script.status, script.body
        if payload is None:
            content = _error_body(status, f"scripted HTTP {status}", "fake_error")
        elif isinstance(payload, str):
            content = payload.encode()
        else:
            content = json.dumps(payload).encode()
        await _send_json(send, status, content, script.headers)
        return True

    async def _chat(self, body: Any, receive: Receive, send: Send) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            await _send_json(send, 400, _error_body(400, "'messages' must be a list"))
            return
        if not body.get("model"):
            await _send_json(send, 400, _error_body(400, "'model' is required"))
            return
        messages: list[Any] = body["messages"]
        prompt = _last_user_text(messages)
        script = self.state.take("chat", prompt, _system_text(messages))
        if not await self._before_answer(script, receive):
            return
        if await self._error_if_scripted(script, send):
            return
        config = self.state.config
        text: str | None
        tool_calls: list[dict[str, Any]] = []
        if script is not None and (script.text is not None or script.tool_calls):
            text, tool_calls = script.text, script.tool_calls
        else:
            schema = _requested_schema(body)
            if schema is not None:
                text = json.dumps(example_for_schema(schema) if schema else {})
            else:
                text = default_text(prompt, config.tokens_per_answer)
        finish_reason = (script.finish_reason if script else None) or (
            "tool_calls" if tool_calls else "stop"
        )
        answer = _Answer(
            id=f"chatcmpl-fake-{self.state.next_id()}",
            model=str(body["model"]),
            text=text,
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            prompt_tokens=_count_words(messages),
        )
        if body.get("stream"):
            options = body.get("stream_options") or {}
            await answer.stream(
                send,
                receive,
                config,
                include_usage=bool(options.get("include_usage")),
                stall_after=script.stall_after if script else None,
            )
        else:
            if config.delay_s:
                await asyncio.sleep(config.delay_s)
            await _send_obj(send, 200, answer.whole())

    async def _embeddings(self, body: Any, receive: Receive, send: Send) -> None:
        if not isinstance(body, dict) or "input" not in body:
            await _send_json(send, 400, _error_body(400, "'input' is required"))
            return
        inputs = body["input"]
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        script = self.state.take("embeddings", " ".join(texts))
        if not await self._before_answer(script, receive):
            return
        if await self._error_if_scripted(script, send):
            return
        dimensions = int(body.get("dimensions") or hash_embed.DIMENSIONS)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = hash_embed.embed_text(text, dimensions)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                if as_base64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(t.split()) for t in texts)
        await _send_obj(
            send,
            200,
            {
                "object": "list",
                "data": data,
                "model": str(body.get("model") or self.embed_model),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


@dataclass
class _Answer:
    id: str
    model: str
    text: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int
    created: int = field(default_factory=lambda: int(time.time()))

    def _usage(self) -> dict[str, int]:
        completion = len(_pieces(self.text or "")) + sum(
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

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def _deltas(self) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [{"content": piece} for piece in _pieces(self.text or "")]
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
                await _wait_or_disconnect(receive, DEFAULT_HANG_S)
                return
            if pause and i:
                await asyncio.sleep(pause)
            await emit(self._chunk(delta))
        await emit(self._chunk({}, self.finish_reason))
        if include_usage:
            usage_chunk = {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": self._usage(),
            }
            await emit(b"data: " + json.dumps(usage_chunk).encode() + b"\n\n")
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _wait_or_disconnect(receive: Receive, seconds: float) -> bool:
    """Sleep ``seconds``; True as soon as the client disconnects instead."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnected())
    try:
        done, _ = await asyncio.wait({watcher}, timeout=seconds)
        return bool(done)
    finally:
        watcher.cancel()


async def _send_json(
    send: Send, status: int, content: bytes, headers: dict[str, str] | None = None
) -> None:
    raw_headers = [(b"content-type", b"application/json")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": content})


async def _send_obj(send: Send, status: int, obj: Any) -> None:
    await _send_json(send, status, json.dumps(obj).encode())


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--ttft-s", type=float, default=0.0, help="time to first token")
    parser.add_argument("--tokens-per-second", type=float, default=0.0, help="0 = unpaced")
    parser.add_argument("--delay-s", type=float, default=0.0, help="per non-streamed answer")
    parser.add_argument("--tokens-per-answer", type=int, default=12)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--embed-model", default=DEFAULT_EMBED_MODEL)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    app = FakeLLMApp(
        LatencyConfig(
            ttft_s=args.ttft_s,
            tokens_per_second=args.tokens_per_second,
            delay_s=args.delay_s,
            tokens_per_answer=args.tokens_per_answer,
        ),
        model=args.model,
        embed_model=args.embed_model,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        lifespan="off",
        backlog=4096,
        # Hanging requests must not hold up a stop.
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
