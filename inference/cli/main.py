"""``main``: parse, run one sub-command, and turn what went wrong into an exit status."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence

from inference.cli.arguments import build_parser
from inference.cli.commands import (
    ASYNC_COMMANDS,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    SYNC_COMMANDS,
    UsageError,
)
from inference.engine import JobError
from inference.evaluation_report import ReportError
from inference.gateway import LLMError
from inference.scenarios import ScenarioError
from inference.targets import SnapshotError


def run_async[T](make: Callable[[], Awaitable[T]]) -> T:
    """Run on uvloop when it is installed (less CPU per request), else on asyncio's loop."""

    async def main() -> T:
        return await make()

    try:
        import uvloop  # optional (it comes with uvicorn[standard]): imported only if present
    except ImportError:
        return asyncio.run(main())
    return asyncio.run(main(), loop_factory=uvloop.new_event_loop)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in SYNC_COMMANDS:
            return SYNC_COMMANDS[args.command](args)
        return run_async(lambda: ASYNC_COMMANDS[args.command](args))
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
