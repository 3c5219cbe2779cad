"""``python -m inference.fake_server``: serve the fake on a port with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from inference.fake_server.app import DEFAULT_EMBED_MODEL, DEFAULT_MODEL, FakeLLMApp
from inference.fake_server.scripts import LatencyConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inference.fake_server",
        description="A loopback server that speaks the OpenAI wire format, for development, "
        "tests and benchmarks.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--ttft-s", type=float, default=0.0, help="time to first token")
    parser.add_argument("--tokens-per-second", type=float, default=0.0, help="0 = unpaced")
    parser.add_argument("--delay-s", type=float, default=0.0, help="per non-streamed answer")
    parser.add_argument("--tokens-per-answer", type=int, default=12)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--embed-model", default=DEFAULT_EMBED_MODEL)
    parser.add_argument("--log-level", default="warning")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
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
