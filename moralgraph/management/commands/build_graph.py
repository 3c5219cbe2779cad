"""manage.py build_graph SLUG: score the study's votes into a snapshot and print its winners."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from moralgraph.errors import MoralGraphError
from moralgraph.graph import Params
from moralgraph.management.study import study_id_for_slug
from moralgraph.models import GraphSnapshot
from moralgraph.selectors.snapshots import snapshot_by_name
from moralgraph.services.named_snapshots import snapshot_build_named
from moralgraph.services.snapshots import snapshot_build


def _moment(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None or moment.tzinfo is None:
        raise CommandError(
            f"--before needs an ISO 8601 time with a zone, e.g. 2023-10-18T00:00:00Z; got {text!r}"
        )
    return moment


class Command(BaseCommand):
    help = "Build (or find) the snapshot of a study's moral graph and print its winners."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--mode", choices=["reference", "context"], default="reference")
        parser.add_argument("--before", help="only votes created before this ISO 8601 time")
        parser.add_argument(
            "--question", type=int, action="append", default=[], help="question id (repeatable)"
        )
        parser.add_argument("--exclude-participant", type=int, action="append", default=[])
        parser.add_argument("--min-wiser", type=int, default=2)
        parser.add_argument("--min-likelihood", type=float, default=0.33)
        parser.add_argument("--max-entropy", type=float, default=1.69)
        parser.add_argument("--bootstrap", type=int, default=200)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--name",
            default="",
            help="store a named snapshot, kept forever (names are unique per study)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study_id = study_id_for_slug(options["slug"])
        try:
            params = Params(
                mode=options["mode"],
                min_wiser=options["min_wiser"],
                min_likelihood=options["min_likelihood"],
                max_entropy=options["max_entropy"],
                bootstrap=options["bootstrap"],
                seed=options["seed"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        before = _moment(options["before"]) if options["before"] else None
        try:
            snapshot = self._build(study_id, params, before, options)
        except MoralGraphError as error:
            raise CommandError(error.message) from error
        if snapshot.name:
            self.stdout.write(f"named “{snapshot.name}”")
        document = snapshot.document
        kept = sum(1 for e in document["edges"] if e["kept"])
        self.stdout.write(
            f"snapshot {snapshot.pk} content_hash {snapshot.content_hash}\n"
            f"votes {snapshot.vote_count}, participants {snapshot.participant_count}, "
            f"edges {len(document['edges'])} ({kept} kept)"
        )
        for winner in snapshot.winners:
            probability = winner["win_probability"]
            shown = "n/a" if probability is None else f"{probability:.2f}"
            tied = winner.get("tied_value_ids") or []  # absent from snapshots before ties
            tie = f", tie with values {tied}" if len(tied) > 1 else ""
            self.stdout.write(
                f"  {winner['context']}: {winner['title']} [value {winner['value_id']}] "
                f"— {winner['support']}, win probability {shown}{tie}"
            )

    def _build(
        self, study_id: int, params: Params, before: datetime | None, options: dict[str, Any]
    ) -> GraphSnapshot:
        if options["name"]:
            if snapshot_by_name(study_id=study_id, name=options["name"]) is not None:
                raise CommandError(f"This study already has a snapshot called {options['name']!r}.")
            return snapshot_build_named(
                study_id=study_id,
                name=options["name"],
                params=params,
                before=before,
                question_ids=options["question"],
                excluded_participant_ids=options["exclude_participant"],
            )
        return snapshot_build(
            study_id=study_id,
            params=params,
            before=before,
            question_ids=options["question"],
            excluded_participant_ids=options["exclude_participant"],
        )
