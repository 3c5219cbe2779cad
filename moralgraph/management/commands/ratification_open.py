"""manage.py ratification_open SLUG --snapshot ID --pairs DIR/pairs.jsonl: open the study's
ratification round with the pairs `python -m inference ratify-sample` made from that snapshot
(`--close` closes the open round instead)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from moralgraph.errors import MoralGraphError
from moralgraph.management.study import study_id_for_slug
from moralgraph.services.ratification import ratification_round_close, ratification_round_open


class Command(BaseCommand):
    help = "Open a study's ratification round from a snapshot and its pairs.jsonl."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--snapshot", type=int, help="the snapshot the pairs were made from")
        parser.add_argument("--pairs", type=Path, help="pairs.jsonl from ratify-sample")
        parser.add_argument("--close", action="store_true", help="close the open round")

    def handle(self, *args: Any, **options: Any) -> None:
        study_id = study_id_for_slug(options["slug"])
        try:
            if options["close"]:
                closed = ratification_round_close(study_id=study_id)
                self.stdout.write(f"Closed ratification round {closed.id}.")
                return
            if options["snapshot"] is None or options["pairs"] is None:
                raise CommandError("pass --snapshot ID and --pairs FILE (or --close)")
            path: Path = options["pairs"]
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {path}: {exc}") from exc
            opened = ratification_round_open(
                study_id=study_id,
                snapshot_id=options["snapshot"],
                pairs_lines=text.splitlines(),
                opened_by_id=None,
            )
        except MoralGraphError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Opened ratification round {opened.id} with {opened.pair_count} pairs on snapshot "
            f"{opened.snapshot_id}; finished participants now see a link on their finish page."
        )
