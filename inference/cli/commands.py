"""The sub-commands of ``python -m inference``: each reads a snapshot and runs one job."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from inference.engine import BUDGET_EXHAUSTED, COMPLETE, SHORT, JobResult, build_bulk_gateway
from inference.evaluation import ModelSpec, evaluate_model
from inference.evaluation_report import compare_reports, load_report, report_table
from inference.gateway import Gateway
from inference.ratify_sample import RatifySettings, generate_pairs
from inference.scenarios import SCENARIOS_FILE, Scenario, generate_scenarios, load_scenarios
from inference.targets import Snapshot, load_snapshot, write_targets
from inference.training_data import (
    GenerationSettings,
    Kind,
    generate_dataset,
    scenarios_fingerprint,
)
from inference.uncertainty import Thresholds

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_SHORT = 4
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """Bad command-line input, reported without a traceback."""


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
    if result.status == SHORT:
        return EXIT_SHORT
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
        # Short of the target is still usable: the examples are made from what was found.
        if generated.status not in (COMPLETE, SHORT):
            return {}, scenarios_fingerprint(path, out_dir), generated, generated.tokens_used
        print(generated.message, file=sys.stderr)
    used = generated.tokens_used if generated is not None else 0
    fingerprint = scenarios_fingerprint(path, out_dir)
    return load_scenarios(path, snapshot), fingerprint, None, used


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
            thresholds=Thresholds(
                min_win_probability=args.min_win_probability,
                min_edge_lower_bound=args.min_edge_lower_bound,
            ),
            answers_dir=args.answers,
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


async def _cmd_ratify_sample(args: argparse.Namespace) -> int:
    snapshot = load_snapshot(args.snapshot)
    if not snapshot.winners:
        raise UsageError("the snapshot has no context with a winning value: nothing to ratify")
    scenarios = None
    source: dict[str, Any] | None = None
    if args.scenarios is not None:
        scenarios = load_scenarios(args.scenarios, snapshot)
        source = scenarios_fingerprint(args.scenarios, args.out)
    target, base_url = _gateway(args)
    baseline, baseline_url = _gateway(
        args,
        base_url=args.baseline_base_url or base_url,
        model=args.baseline_model or args.model,
    )
    try:
        result = await generate_pairs(
            snapshot,
            target,
            baseline,
            out_dir=args.out,
            scenarios=scenarios,
            scenarios_source=source,
            per_context=args.per_context,
            settings=RatifySettings(
                max_tokens=args.max_tokens,
                temperature=args.temperature,
                use_target_prompt=not args.no_target_prompt,
            ),
            concurrency=args.concurrency,
            max_tokens_total=args.max_tokens_total,
            progress=not args.no_progress,
            base_urls={"target": base_url, "baseline": baseline_url},
        )
    finally:
        await target.aclose()
        await baseline.aclose()
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


ASYNC_COMMANDS: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "scenarios": _cmd_scenarios,
    "dataset": _cmd_dataset,
    "evaluate": _cmd_evaluate,
    "ratify-sample": _cmd_ratify_sample,
}
SYNC_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "targets": _cmd_targets,
    "compare": _cmd_compare,
}
