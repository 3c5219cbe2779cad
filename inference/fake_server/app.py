"""The fake server's ASGI app: the model endpoints the SDK calls and the control endpoints."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from dataclasses import asdict
from typing import Any

from inference.backends import hash_embed
from inference.fake_server.answers import Answer, default_text, stream_garbage
from inference.fake_server.asgi import (
    Receive,
    Scope,
    Send,
    error_body,
    read_body,
    send_json,
    send_obj,
    wait_or_disconnect,
)
from inference.fake_server.schema_examples import example_for_schema, requested_schema
from inference.fake_server.scripts import FakeState, LatencyConfig, ScriptedResponse, ScriptError

DEFAULT_MODEL = "fake-model"
DEFAULT_EMBED_MODEL = "fake-embedding"


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


def _system_text(messages: list[Any]) -> str:
    return "\n".join(
        _text_of(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") in ("system", "developer")
    )


def _count_words(messages: list[Any]) -> int:
    return sum(len(_text_of(m.get("content")).split()) for m in messages if isinstance(m, dict))


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
        raw = await read_body(receive)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError as exc:
                await send_json(send, 400, error_body(400, f"body is not JSON: {exc.msg}"))
                return
        try:
            await self._route(method, path, body, receive, send)
        except ScriptError as exc:
            await send_json(send, 400, error_body(400, str(exc)))
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
                await send_obj(send, 200, {"object": "list", "data": data})
            case "POST", "/_fake/script":
                await self._script(body, send)
            case "GET", "/_fake/script":
                pending = [s.summary() for s in self.state.scripts]
                await send_obj(send, 200, {"responses": pending})
            case "GET", "/_fake/requests":
                await send_obj(send, 200, {"requests": self.state.requests})
            case "POST", "/_fake/reset":
                self.state.reset()
                await send_obj(send, 200, {"ok": True})
            case "GET", "/_fake/config":
                await send_obj(send, 200, asdict(self.state.config))
            case "POST", "/_fake/config":
                self.state.config = self.state.config.updated(body or {})
                await send_obj(send, 200, asdict(self.state.config))
            case _:
                await send_json(send, 404, error_body(404, f"no route {method} {path}"))

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
        await send_obj(send, 200, {"queued": len(parsed), "pending": len(self.state.scripts)})

    async def _scripted_early_end(
        self, script: ScriptedResponse | None, receive: Receive, send: Send
    ) -> bool:
        """Play a script's wait and its HTTP error; True when the request is answered (or
        the client hung up meanwhile) and nothing more is to be sent."""
        if script is None:
            return False
        if script.wait_s > 0 and await wait_or_disconnect(receive, script.wait_s):
            return True
        if script.status is None:
            return False
        status, payload = script.status, script.body
        if payload is None:
            content = error_body(status, f"scripted HTTP {status}", "fake_error")
        elif isinstance(payload, str):
            content = payload.encode()
        else:
            content = json.dumps(payload).encode()
        await send_json(send, status, content, script.headers)
        return True

    def _answer(self, body: dict[str, Any], script: ScriptedResponse | None) -> Answer:
        """The script's answer, else an instance of the requested schema, else default text."""
        messages: list[Any] = body["messages"]
        text: str | None
        tool_calls: list[dict[str, Any]] = []
        if script is not None and script.has_answer:
            text, tool_calls = script.text, script.tool_calls
        elif (schema := requested_schema(body)) is not None:
            text = json.dumps(example_for_schema(schema) if schema else {})
        else:
            text = default_text(_last_user_text(messages), self.state.config.tokens_per_answer)
        finish_reason = (script.finish_reason if script else None) or (
            "tool_calls" if tool_calls else "stop"
        )
        return Answer(
            id=f"chatcmpl-fake-{self.state.next_id()}",
            model=str(body["model"]),
            text=text,
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            prompt_tokens=_count_words(messages),
        )

    async def _chat(self, body: Any, receive: Receive, send: Send) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            await send_json(send, 400, error_body(400, "'messages' must be a list"))
            return
        if not body.get("model"):
            await send_json(send, 400, error_body(400, "'model' is required"))
            return
        messages: list[Any] = body["messages"]
        script = self.state.take("chat", _last_user_text(messages), _system_text(messages))
        if await self._scripted_early_end(script, receive, send):
            return
        if script is not None and script.garbage is not None:
            await stream_garbage(send, receive, script.garbage)
            return
        config = self.state.config
        answer = self._answer(body, script)
        if body.get("stream"):
            options = body.get("stream_options") or {}
            await answer.stream(
                send,
                receive,
                config,
                include_usage=bool(options.get("include_usage")),
                stall_after=script.stall_after if script else None,
            )
            return
        if config.delay_s:
            await asyncio.sleep(config.delay_s)
        await send_obj(send, 200, answer.whole())

    async def _embeddings(self, body: Any, receive: Receive, send: Send) -> None:
        if not isinstance(body, dict) or "input" not in body:
            await send_json(send, 400, error_body(400, "'input' is required"))
            return
        inputs = body["input"]
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        script = self.state.take("embeddings", " ".join(texts))
        if await self._scripted_early_end(script, receive, send):
            return
        dimensions = int(body.get("dimensions") or hash_embed.DIMENSIONS)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            if script is not None and script.embedding is not None:
                vector = script.embedding
            else:
                vector = hash_embed.embed_text(text, dimensions)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                if as_base64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(t.split()) for t in texts)
        await send_obj(
            send,
            200,
            {
                "object": "list",
                "data": data,
                "model": str(body.get("model") or self.embed_model),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )
