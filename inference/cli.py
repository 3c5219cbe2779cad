"""``python -m inference``: alignment targets, scenarios, datasets and evaluations from a snapshot.

    python -m inference targets SNAPSHOT.json --out DIR
    python -m inference scenarios SNAPSHOT.json --out DIR [--per-context N]
    python -m inference dataset SNAPSHOT.json --kind sft|dpo|kto --out DIR [--scenarios FILE]
        [--base-url URL] [--model NAME] [--concurrency N] [--max-tokens-total N]
    python -m inference evaluate SNAPSHOT.json --base-url URL --model NAME --out DIR
        [--judge-base-url URL] [--judge-model NAME] [--system-prompt FILE]
    python -m inference compare REPORT_A REPORT_B

The model server defaults come from ``LLM_BASE_URL``, ``LLM_MODEL`` and ``LLM_API_KEY`` (and
``EMBED_MODEL`` for scenario deduplication; without it a local hashed embedding is used, which
works against a chat-only vLLM server). Jobs resume: run the same command again after a crash,
a stop or a spent token budget, and finished examples are kept.

Exit status: 0 done; 1 the model server failed or some items failed (rerun to retry them);
2 bad input; 3 stopped at the token budget (rerun to continue); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from inference.backends import hash_embed
from inference.engine import BUDGET_EXHAUSTED, COMPLETE, JobError, JobResult, build_bulk_gateway
from inference.evaluation import (
    ModelSpec,
    ReportError,
    compare_reports,
    evaluate_model,
    load_report,
    report_table,
)
from inference.gateway import Gateway, LLMError
from inference.scenarios import (
    DEFAULT_MAX_ROUNDS,
    DEFAULT_PER_CONTEXT,
    DEFAULT_SIMILARITY,
    SCENARIOS_FILE,
    Scenario,
    ScenarioError,
    generate_scenarios,
    load_scenarios,
)
from inference.targets import Snapshot, SnapshotError, load_snapshot, write_targets
from inference.training_data import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    KINDS,
    GenerationSettings,
    Kind,
    generate_dataset,
    scenarios_fingerprint,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """Bad command-line input, reported without a traceback."""


# -- arguments -------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _add_llm_options(parser: argparse.ArgumentParser, *, budget: bool = True) -> None:
    group = parser.add_argument_group("model server")
    group.add_argument(
        "--base-url",
        default=os.environ.get("LLM_BASE_URL") or None,
        help="OpenAI-compatible base URL, e.g. http://vllm:8000/v1 (default: $LLM_BASE_URL)",
    )
    group.add_argument(
        "--model", default=os.environ.get("LLM_MODEL") or None, help="default: $LLM_MODEL"
    )
    group.add_argument(
        "--api-key",
        default=os.environ.get("LLM_API_KEY") or None,
        help="default: $LLM_API_KEY (prefer the variable: flags end up in shell history)",
    )
    group.add_argument(
        "--embed-model",
        default=os.environ.get("EMBED_MODEL") or hash_embed.MODEL_NAME,
        help=f"for scenario deduplication (default: $EMBED_MODEL, else {hash_embed.MODEL_NAME})",
    )
    group.add_argument(
        "--concurrency", type=_positive_int, default=64, help="requests in flight (default 64)"
    )
    if budget:
        group.add_argument(
            "--max-tokens-total",
            type=_positive_int,
            default=None,
            help="token budget of this run (prompt + completion); stops cleanly, resumable",
        )
    group.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per request (default 300)"
    )
    group.add_argument(
        "--retries", type=int, default=4, help="retries of a transient failure (default 4)"
    )
    group.add_argument(
        "--retry-delay",
        type=float,
        default=1.0,
        help="first backoff delay in seconds, doubling up to 30 (default 1)",
    )
    group.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _add_scenario_options(parser: argparse.ArgumentParser, *, source: bool) -> None:
    group = parser.add_argument_group("scenarios")
    if source:
        group.add_argument(
            "--scenarios",
            type=Path,
            default=None,
            help=f"a {SCENARIOS_FILE} (default: generate them into OUT/scenarios/)",
        )
    group.add_argument(
        "--per-context",
        type=_positive_int,
        default=DEFAULT_PER_CONTEXT,
        help=f"scenarios per context to generate (default {DEFAULT_PER_CONTEXT})",
    )
    group.add_argument(
        "--similarity",
        type=float,
        default=DEFAULT_SIMILARITY,
        help=f"cosine similarity counted as a duplicate (default {DEFAULT_SIMILARITY})",
    )
    group.add_argument(
        "--max-rounds",
        type=_positive_int,
        default=DEFAULT_MAX_ROUNDS,
        help=f"generation rounds per context at most (default {DEFAULT_MAX_ROUNDS})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inference",
        description="Alignment targets, scenarios, fine-tuning data and evaluations from a "
        "moral graph snapshot file.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    targets = commands.add_parser("targets", help="alignment targets (JSON) and a system prompt")
    targets.add_argument("snapshot", type=Path, metavar="SNAPSHOT.json")
    targets.add_argument("--out", type=Path, required=True, metavar="DIR")

    scenarios = commands.add_parser("scenarios", help="generate deduplicated scenarios")
    scenarios.add_argument("snapshot", type=Path, metavar="SNAPSHOT.json")
    scenarios.add_argument("--out", type=Path, required=True, metavar="DIR")
    _add_scenario_options(scenarios, source=False)
    _add_llm_options(scenarios)

    dataset = commands.add_parser("dataset", help="an SFT, DPO or KTO dataset")
    dataset.add_argument("snapshot", type=Path, metavar="SNAPSHOT.json")
    dataset.add_argument("--kind", choices=KINDS, required=True)
    dataset.add_argument("--out", type=Path, required=True, metavar="DIR")
    dataset.add_argument(
        "--max-tokens",
        type=_positive_int,
        default=DEFAULT_MAX_TOKENS,
        help=f"per answer (default {DEFAULT_MAX_TOKENS})",
    )
    dataset.add_argument(
        "--temperature", type=float, default=DEFAULT_TEMPERATURE, help="default 0.7"
    )
    dataset.add_argument(
        "--limit", type=_positive_int, default=None, help="at most N examples (a trial run)"
    )
    _add_scenario_options(dataset, source=True)
    _add_llm_options(dataset)

    evaluate = commands.add_parser("evaluate", help="judge a model's answers against the targets")
    evaluate.add_argument("snapshot", type=Path, metavar="SNAPSHOT.json")
    evaluate.add_argument("--out", type=Path, required=True, metavar="DIR")
    evaluate.add_argument(
        "--system-prompt",
        type=Path,
        default=None,
        help="a system prompt for the evaluated model, e.g. the targets' system_prompt.md",
    )
    evaluate.add_argument("--max-tokens", type=_positive_int, default=DEFAULT_MAX_TOKENS)
    evaluate.add_argument(
        "--temperature", type=float, default=None, help="default: the model's own"
    )
    evaluate.add_argument("--limit", type=_positive_int, default=None)
    judge = evaluate.add_argument_group(
        "judge (defaults: $LLM_BASE_URL / $LLM_MODEL, else the model's)"
    )
    judge.add_argument("--judge-base-url", default=None)
    judge.add_argument("--judge-model", default=None)
    judge.add_argument(
        "--judge-api-key",
        default=os.environ.get("LLM_JUDGE_API_KEY") or None,
        help="default: $LLM_JUDGE_API_KEY, else the model's key",
    )
    _add_scenario_options(evaluate, source=True)
    _add_llm_options(evaluate)

    compare = commands.add_parser("compare", help="two evaluation reports side by side")
    compare.add_argument("report_a", type=Path, metavar="REPORT_A")
    compare.add_argument("report_b", type=Path, metavar="REPORT_B")
    return parser


# -- commands --------------------------------------------------------------------------------------


def _gateway(
    args: argparse.Namespace,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
) -> tuple[Gateway, str]:
    base_url = base_url or args.base_url
    model = model or args.model
    if not base_url:
        raise UsageError(
            "no model server: pass --base-url (e.g. http://localhost:8000/v1 for vLLM) or set "
            "LLM_BASE_URL"
        )
    if not model:
        raise UsageError("no model name: pass --model or set LLM_MODEL")
    gateway = build_bulk_gateway(
        base_url=base_url,
        api_key=api_key or args.api_key,
        model=model,
        embed_model=args.embed_model,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        max_retries=args.retries,
        retry_base_delay_s=args.retry_delay,
        retry_max_delay_s=max(args.retry_delay, 30.0),
    )
    return gateway, base_url


def _report(result: JobResult) -> int:
    print(result.message, file=sys.stderr)
    print(result.output)
    if result.status == COMPLETE:
        return EXIT_OK
    if result.status == BUDGET_EXHAUSTED:
        return EXIT_BUDGET
    return EXIT_FAILED


def _budget_left(args: argparse.Namespace, used: int) -> int | None:
    """One `--max-tokens-total` covers the whole command: what the scenarios took is spent."""
    if args.max_tokens_total is None:
        return None
    return max(1, args.max_tokens_total - used)


async def _scenarios_for(
    args: argparse.Namespace, snapshot: Snapshot, gateway: Gateway, out_dir: Path
) -> tuple[dict[str, list[Scenario]], dict[str, Any], JobResult | None, int]:
    """The given scenarios file, or scenarios generated (resumably) into OUT/scenarios/;
    with the tokens generating them took in this run."""
    path: Path | None = args.scenarios
    generated: JobResult | None = None
    if path is None:
        generated = await generate_scenarios(
            snapshot,
            gateway,
            out_dir=out_dir / "scenarios",
            per_context=args.per_context,
            similarity=args.similarity,
            max_rounds=args.max_rounds,
            concurrency=args.concurrency,
            max_tokens_total=args.max_tokens_total,
            progress=not args.no_progress,
        )
        path = out_dir / "scenarios" / SCENARIOS_FILE
        if generated.status != COMPLETE:
            return {}, scenarios_fingerprint(path), generated, generated.tokens_used
        print(generated.message, file=sys.stderr)
    used = generated.tokens_used if generated is not None else 0
    return load_scenarios(path, snapshot), scenarios_fingerprint(path), None, used


async def _cmd_scenarios(args: argparse.Namespace) -> int:
    snapshot = load_snapshot(args.snapshot)
    gateway, _ = _gateway(args)
    try:
        result = await generate_scenarios(
            snapshot,
            gateway,
            out_dir=args.out,
            per_context=args.per_context,
            similarity=args.similarity,
            max_rounds=args.max_rounds,
            concurrency=args.concurrency,
            max_tokens_total=args.max_tokens_total,
            progress=not args.no_progress,
        )
    finally:
        await gateway.aclose()
    return _report(result)


async def _cmd_dataset(args: argparse.Namespace) -> int:
    snapshot = load_snapshot(args.snapshot)
    gateway, base_url = _gateway(args)
    kind: Kind = args.kind
    try:
        scenarios, source, stopped, used = await _scenarios_for(args, snapshot, gateway, args.out)
        if stopped is not None:
            return _report(stopped)
        if not any(scenarios.get(w.context) for w in snapshot.winners):
            raise UsageError("no scenarios for any context with a winning value")
        result = await generate_dataset(
            snapshot,
            kind,
            scenarios,
            gateway,
            out_dir=args.out,
            settings=GenerationSettings(max_tokens=args.max_tokens, temperature=args.temperature),
            concurrency=args.concurrency,
            max_tokens_total=_budget_left(args, used),
            limit=args.limit,
            progress=not args.no_progress,
            scenarios_source=source,
            base_url=base_url,
        )
    finally:
        await gateway.aclose()
    return _report(result)


async def _cmd_evaluate(args: argparse.Namespace) -> int:
    snapshot = load_snapshot(args.snapshot)
    system_prompt = None
    if args.system_prompt is not None:
        try:
            system_prompt = args.system_prompt.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the system prompt {args.system_prompt}: {exc}") from exc
    answerer, base_url = _gateway(args)
    judge_gateway, judge_url = _gateway(
        args,
        base_url=args.judge_base_url or os.environ.get("LLM_BASE_URL") or base_url,
        model=args.judge_model or os.environ.get("LLM_MODEL") or args.model,
        api_key=args.judge_api_key,
    )
    try:
        # Scenarios come from the judge's side (the generator), never from the model tested.
        scenarios, _source, stopped, used = await _scenarios_for(
            args, snapshot, judge_gateway, args.out
        )
        if stopped is not None:
            return _report(stopped)
        result, report = await evaluate_model(
            snapshot,
            scenarios,
            ModelSpec(answerer, base_url),
            ModelSpec(judge_gateway, judge_url),
            out_dir=args.out,
            system_prompt=system_prompt,
            system_prompt_source=str(args.system_prompt) if args.system_prompt else None,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            concurrency=args.concurrency,
            max_tokens_total=_budget_left(args, used),
            limit=args.limit,
            progress=not args.no_progress,
        )
    finally:
        await answerer.aclose()
        await judge_gateway.aclose()
    print(report_table(report), file=sys.stderr)
    return _report(result)


def _cmd_targets(args: argparse.Namespace) -> int:
    snapshot = load_snapshot(args.snapshot)
    paths = write_targets(snapshot, args.out)
    print(
        f"Targets for {len(snapshot.winners)} context(s) of snapshot {snapshot.content_hash[:12]}.",
        file=sys.stderr,
    )
    for path in paths.values():
        print(path)
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace) -> int:
    print(compare_reports(load_report(args.report_a), load_report(args.report_b)), end="")
    return EXIT_OK


_ASYNC: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "scenarios": _cmd_scenarios,
    "dataset": _cmd_dataset,
    "evaluate": _cmd_evaluate,
}
_SYNC: dict[str, Callable[[argparse.Namespace], int]] = {
    "targets": _cmd_targets,
    "compare": _cmd_compare,
}


def run_async[T](make: Callable[[], Awaitable[T]]) -> T:
    """Run on uvloop when it is installed (less CPU per request), else on asyncio's loop."""

    async def main() -> T:
        return await make()

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return asyncio.run(main(), loop_factory=uvloop.new_event_loop)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in _SYNC:
            return _SYNC[args.command](args)
        return run_async(lambda: _ASYNC[args.command](args))
    except (SnapshotError, ScenarioError, ReportError, UsageError, JobError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LLMError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(
            "Interrupted: what finished is saved; run the same command again to continue.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
