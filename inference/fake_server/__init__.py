"""A loopback server that speaks the OpenAI wire format, for development, tests and benchmarks.

A plain ASGI app (``app.FakeLLMApp``) served by uvicorn: ``python -m inference.fake_server
--port 8100``. ``scripts`` holds the scripted responses and the latency model, ``answers``
shapes a completion (whole or streamed), ``schema_examples`` answers structured-output
requests, ``asgi`` the bits of HTTP.

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
  gives up), "garbage": "raw text" (a 200 event stream that sends this text, as is, again and
  again until the client gives up: what a broken proxy or a confused server might send).
An embeddings script ("endpoint": "embeddings") may give the vector itself:
  {"endpoint": "embeddings", "match": "Amistad", "embedding": [0.1, 0.2, ...]}
  answers the next embeddings request whose input texts (joined by spaces) contain "Amistad"
  with that vector for each of its input texts, as given (no normalising, any length): a test
  makes two texts close, say a card and its translation, as a multilingual model would. The
  server's own hashed embeddings have ``hash_embed.DIMENSIONS`` numbers; give a vector of that
  length when it is compared with them. Combine with "repeat" for several requests.
Responses are taken first-in first-out among those that match; with none queued the server
answers deterministically: a text derived from the prompt, a JSON instance of a requested
``json_schema`` where one can be derived, hashed embeddings.
"""

from inference.fake_server.answers import default_text
from inference.fake_server.app import DEFAULT_EMBED_MODEL, DEFAULT_MODEL, FakeLLMApp
from inference.fake_server.schema_examples import example_for_schema
from inference.fake_server.scripts import LatencyConfig, ScriptedResponse, ScriptError

__all__ = [
    "DEFAULT_EMBED_MODEL",
    "DEFAULT_MODEL",
    "FakeLLMApp",
    "LatencyConfig",
    "ScriptError",
    "ScriptedResponse",
    "default_text",
    "example_for_schema",
]
