"""``python -m inference``: alignment targets, scenarios, datasets and evaluations from a snapshot.

    python -m inference targets SNAPSHOT.json --out DIR
    python -m inference scenarios SNAPSHOT.json --out DIR [--per-context N]
    python -m inference dataset SNAPSHOT.json --kind sft|dpo|kto --out DIR [--scenarios FILE]
        [--answers DIR] [--min-win-probability P] [--min-edge-lower-bound B]
        [--base-url URL] [--model NAME] [--concurrency N] [--max-tokens-total N]
    python -m inference evaluate SNAPSHOT.json --base-url URL --model NAME --out DIR
        [--judge-base-url URL] [--judge-model NAME] [--system-prompt FILE]
    python -m inference compare REPORT_A REPORT_B
    python -m inference ratify-sample SNAPSHOT.json --out DIR [--per-context N]
        [--scenarios FILE] [--model M] [--baseline-model M] [--concurrency C]

The model server defaults come from ``LLM_BASE_URL``, ``LLM_MODEL`` and ``LLM_API_KEY`` (and
``EMBED_MODEL`` for scenario deduplication; without it a local hashed embedding is used, which
works against a chat-only vLLM server). Jobs resume: run the same command again after a crash,
a stop or a spent token budget, and finished examples are kept.

Exit status: 0 done; 1 the model server failed or some items failed (rerun to retry them);
2 bad input; 3 stopped at the token budget (rerun to continue); 4 ``scenarios`` finished short
of ``--per-context`` for some context (the file holds what was found); 130 interrupted.

``arguments`` builds the parser, ``commands`` runs each sub-command, ``main`` maps errors to
exit statuses.
"""

from inference.cli.arguments import build_parser
from inference.cli.commands import (
    EXIT_BUDGET,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SHORT,
    EXIT_USAGE,
    UsageError,
)
from inference.cli.main import main, run_async

__all__ = [
    "EXIT_BUDGET",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SHORT",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "main",
    "run_async",
]
