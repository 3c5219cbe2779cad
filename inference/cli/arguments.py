"""The command line of ``python -m inference``: one sub-command per job."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from inference.backends import hash_embed
from inference.ratify_sample import DEFAULT_PER_CONTEXT as RATIFY_PER_CONTEXT
from inference.scenarios import (
    DEFAULT_MAX_ROUNDS,
    DEFAULT_PER_CONTEXT,
    DEFAULT_SIMILARITY,
    SCENARIOS_FILE,
)
from inference.training_data import DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, KINDS
from inference.uncertainty import DEFAULT_MIN_EDGE_LOWER_BOUND, DEFAULT_MIN_WIN_PROBABILITY


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, got {text}")
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


def _add_snapshot_and_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("snapshot", type=Path, metavar="SNAPSHOT.json")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")


def _add_dataset(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    dataset.add_argument(
        "--answers",
        type=Path,
        default=None,
        metavar="DIR",
        help="the folder of generated answers, shared by dataset commands run one after "
        "another with the same model and settings (default: OUT/answers)",
    )
    uncertainty = dataset.add_argument_group("uncertainty (see the dataset card)")
    uncertainty.add_argument(
        "--min-win-probability",
        type=_share,
        default=DEFAULT_MIN_WIN_PROBABILITY,
        help="SFT/KTO leave out contexts whose winner won a smaller share of bootstrap "
        f"resamples, and tied winners (default {DEFAULT_MIN_WIN_PROBABILITY:g}; 0 keeps all "
        "but ties)",
    )
    uncertainty.add_argument(
        "--min-edge-lower-bound",
        type=_share,
        default=DEFAULT_MIN_EDGE_LOWER_BOUND,
        help="DPO pairs and KTO undesirable answers only from edges whose credible interval "
        f"starts at least this high (default {DEFAULT_MIN_EDGE_LOWER_BOUND:g})",
    )
    _add_scenario_options(dataset, source=True)
    _add_llm_options(dataset)


def _add_evaluate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser("evaluate", help="judge a model's answers against the targets")
    _add_snapshot_and_out(evaluate)
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


def _add_ratify_sample(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ratify = commands.add_parser(
        "ratify-sample",
        help="answer pairs (alignment target vs baseline) for participants to ratify",
    )
    _add_snapshot_and_out(ratify)
    ratify.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        help=f"a {SCENARIOS_FILE} of user prompts (default: each context's questions, else "
        "the context text)",
    )
    ratify.add_argument(
        "--per-context",
        type=_positive_int,
        default=RATIFY_PER_CONTEXT,
        help=f"prompts per context at most (default {RATIFY_PER_CONTEXT})",
    )
    ratify.add_argument(
        "--baseline-model",
        default=None,
        help="the baseline's model (default: --model, answering with no system prompt)",
    )
    ratify.add_argument(
        "--baseline-base-url", default=None, help="the baseline's server (default: --base-url)"
    )
    ratify.add_argument(
        "--no-target-prompt",
        action="store_true",
        help="--model is fine-tuned on the graph's data: its answers get no system prompt",
    )
    ratify.add_argument("--max-tokens", type=_positive_int, default=DEFAULT_MAX_TOKENS)
    ratify.add_argument(
        "--temperature", type=float, default=DEFAULT_TEMPERATURE, help="default 0.7"
    )
    _add_llm_options(ratify)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inference",
        description="Alignment targets, scenarios, fine-tuning data and evaluations from a "
        "moral graph snapshot file.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    targets = commands.add_parser("targets", help="alignment targets (JSON) and a system prompt")
    _add_snapshot_and_out(targets)

    scenarios = commands.add_parser("scenarios", help="generate deduplicated scenarios")
    _add_snapshot_and_out(scenarios)
    _add_scenario_options(scenarios, source=False)
    _add_llm_options(scenarios)

    _add_dataset(commands)
    _add_evaluate(commands)
    _add_ratify_sample(commands)

    compare = commands.add_parser("compare", help="two evaluation reports side by side")
    compare.add_argument("report_a", type=Path, metavar="REPORT_A")
    compare.add_argument("report_b", type=Path, metavar="REPORT_B")
    return parser
