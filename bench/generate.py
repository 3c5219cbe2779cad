"""Throughput of the bulk generation engine against a GPU-like server (the fake, with latency).

    .venv/bin/python bench/generate.py [--latency 2.0] [--concurrency 256] [--examples 2048]
        [--sequential 4]

The fake OpenAI-compatible server (a subprocess) answers every non-streamed completion after
``--latency`` seconds, as a vLLM server with a full batch does. Three clients send it the same
requests, one after the other, in this process:

1. the engine: ``inference.training_data.generate_dataset`` writing an SFT dataset from the
   reference study's snapshot (scenarios synthesised per context), ``--concurrency`` in
   flight: everything a real run does (resumable JSONL, manifest, provenance, card);
2. a minimal client: raw HTTP/1.1 over ``asyncio`` streams, ``--concurrency`` keep-alive
   connections, each request's JSON built and each answer's JSON parsed, nothing else: the
   ceiling for this server and this latency;
3. a sequential baseline: one request at a time through the gateway (fewer requests).

Prints examples (= requests, for SFT) per second, the engine's share of the minimal client's
throughput (target: at least 95%), and client CPU time per request. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.cli import run_async  # noqa: E402
from inference.engine import build_bulk_gateway  # noqa: E402
from inference.scenarios import Scenario, load_scenarios, scenario_id  # noqa: E402
from inference.targets import Snapshot, load_snapshot  # noqa: E402
from inference.testing import FakeLLMServer  # noqa: E402
from inference.training_data import (  # noqa: E402
    GenerationSettings,
    generate_dataset,
    guidance,
    plan_examples,
)
from tests.support.reference import (  # noqa: E402
    ReferenceDataMissing,
    reference_data,
    write_reference_snapshot,
)

MODEL = "fake-model"


def synthetic_scenarios(snapshot: Snapshot, path: Path, per_context: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for winner in snapshot.winners:
            for i in range(per_context):
                text = (
                    f"Situation {i} ({winner.context.lower()}): my friend and I disagree about "
                    f"something that matters to both of us, case number {i}. What should I do?"
                )
                record = {
                    "id": scenario_id(winner.context, text),
                    "context": winner.context,
                    "text": text,
                }
                handle.write(json.dumps(record) + "\n")


class Measure:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


async def engine_run(
    snapshot: Snapshot,
    scenarios: dict[str, list[Scenario]],
    base_url: str,
    out_dir: Path,
    concurrency: int,
    settings: GenerationSettings,
) -> tuple[int, float, float]:
    gateway = build_bulk_gateway(
        base_url=base_url, api_key="bench", model=MODEL, concurrency=concurrency
    )
    measure = Measure()
    result = await generate_dataset(
        snapshot,
        "sft",
        scenarios,
        gateway,
        out_dir=out_dir,
        settings=settings,
        concurrency=concurrency,
        progress=False,
    )
    wall, cpu = measure.stop()
    await gateway.aclose()
    if not result.is_complete:
        raise SystemExit(f"the engine run did not complete: {result.message}")
    return result.written, wall, cpu


def request_bodies(
    snapshot: Snapshot, scenarios: dict[str, list[Scenario]], settings: GenerationSettings
) -> list[bytes]:
    """The same chat requests the engine sends for the SFT dataset."""
    from inference.prompts import load_prompt

    prompt = load_prompt("guided_answer")
    bodies = []
    for example in plan_examples(snapshot, "sft", scenarios):
        value = example.guides[0].value
        messages = [
            {
                "role": "system",
                "content": guidance(
                    prompt, example.winner.context, value, max_words=settings.max_words
                ),
            },
            {"role": "user", "content": example.scenario.text},
        ]
        body = {
            "model": MODEL,
            "messages": messages,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
        }
        bodies.append(json.dumps(body).encode())
    return bodies


async def read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    """A response body, sized by content-length or sent chunked (uvicorn does either)."""
    for header in head.lower().split(b"\r\n"):
        if header.startswith(b"content-length:"):
            return await reader.readexactly(int(header[15:]))
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append((await reader.readexactly(size + 2))[:-2])


async def raw_client(port: int, bodies: list[bytes], concurrency: int) -> tuple[int, float, float]:
    """Minimal HTTP/1.1 keep-alive client: one connection per worker, a shared queue."""
    queue = iter(bodies)
    done = 0

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for body in queue:
                writer.write(
                    b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                    b"content-type: application/json\r\nauthorization: Bearer bench\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                answer = json.loads(await read_body(reader, head))
                if status != 200 or not answer["choices"][0]["message"]["content"]:
                    raise RuntimeError(f"bad answer: {status} {answer}")
                done += 1
        finally:
            writer.close()

    measure = Measure()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = measure.stop()
    return done, wall, cpu


async def sequential(base_url: str, bodies: list[bytes]) -> tuple[int, float, float]:
    gateway = build_bulk_gateway(base_url=base_url, api_key="bench", model=MODEL, concurrency=1)
    measure = Measure()
    for body in bodies:
        request = json.loads(body)
        await gateway.complete(
            request["messages"],
            max_tokens=request["max_tokens"],
            temperature=request["temperature"],
        )
    wall, cpu = measure.stop()
    await gateway.aclose()
    return len(bodies), wall, cpu


def line(name: str, count: int, wall: float, cpu: float) -> str:
    return (
        f"{name:<34} {count:>6} requests {wall:>8.2f} s {count / wall:>9.1f} /s "
        f"{cpu / count * 1000:>8.3f} ms CPU/request"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--examples", type=int, default=2048, help="about this many")
    parser.add_argument("--sequential", type=int, default=4, help="requests, one at a time")
    args = parser.parse_args()
    try:
        reference_data()  # MGE_REFERENCE_DATA, or ../shared/realdata
    except ReferenceDataMissing as missing:
        raise SystemExit(f"bench/generate.py: {missing}") from None
    settings = GenerationSettings()
    with (
        tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp,
        FakeLLMServer(delay_s=args.latency) as fake,
    ):
        root = Path(tmp)
        snapshot = load_snapshot(write_reference_snapshot(root / "snapshot.json"))
        per_context = -(-args.examples // len(snapshot.winners))
        synthetic_scenarios(snapshot, root / "scenarios.jsonl", per_context)
        scenarios = load_scenarios(root / "scenarios.jsonl", snapshot)
        bodies = request_bodies(snapshot, scenarios, settings)
        print(
            f"fake server: {args.latency:g} s per answer; {args.concurrency} in flight; "
            f"ideal {args.concurrency / args.latency:.1f} requests/s; Python "
            f"{platform.python_version()} on {platform.machine()}"
        )
        engine = run_async(
            lambda: engine_run(
                snapshot, scenarios, fake.base_url, root / "sft", args.concurrency, settings
            )
        )
        fake.reset()
        raw = run_async(lambda: raw_client(fake.port, bodies, args.concurrency))
        fake.reset()
        seq = run_async(lambda: sequential(fake.base_url, bodies[: args.sequential]))
        fake.reset()
        print(line("engine (SFT dataset, resumable)", *engine))
        print(line("minimal raw HTTP client", *raw))
        print(line("sequential (gateway, 1 in flight)", *seq))
        engine_rate = engine[0] / engine[1]
        raw_rate = raw[0] / raw[1]
        print(
            f"engine / minimal client: {engine_rate / raw_rate:.1%} of the throughput; "
            f"engine / sequential: {engine_rate / (seq[0] / seq[1]):.0f}x"
        )


if __name__ == "__main__":
    main()
