"""manage.py export_graph SLUG --format F --out PATH [--snapshot ID]: export a snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from moralgraph import exports
from moralgraph.management.study import study_id_for_slug
from moralgraph.selectors import VoteScope, snapshot_get, vote_rows_for_export

FORMATS = ("reference-json", "json", "graphml", "gexf", "csv")


def scope_of(study_id: int, filters: dict[str, Any]) -> VoteScope:
    """The vote scope a snapshot was built from (its `filters`)."""
    before = parse_datetime(filters["created_before"]) if filters.get("created_before") else None
    return VoteScope(
        study_id=study_id,
        before=before,
        question_ids=tuple(filters.get("question_ids", [])),
        excluded_participant_ids=tuple(filters.get("excluded_participants", [])),
    )


class Command(BaseCommand):
    help = "Export a snapshot of a study's moral graph (the newest one unless --snapshot)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument("--out", type=Path, required=True, help="a file; a folder for csv")
        parser.add_argument("--snapshot", type=int, help="snapshot id (default: the newest)")

    def handle(self, *args: Any, **options: Any) -> None:
        study_id = study_id_for_slug(options["slug"])
        snapshot = snapshot_get(study_id=study_id, snapshot_id=options["snapshot"])
        if snapshot is None:
            raise CommandError("no such snapshot for this study; run build_graph first")
        document = snapshot.document
        out = Path(options["out"])
        kind = options["format"]
        if kind == "csv":
            written = exports.write_csv(document, out)
            rows = vote_rows_for_export(scope=scope_of(study_id, snapshot.filters))
            exports.write_votes_csv(rows, out / "votes.csv")
            written.append(out / "votes.csv")
            self.stdout.write(
                f"snapshot {snapshot.pk}: wrote {', '.join(p.name for p in written)} in {out}"
            )
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        if kind == "reference-json":
            out.write_text(json.dumps(exports.to_reference_json(document), indent=2) + "\n")
        elif kind == "json":
            out.write_text(json.dumps(document, indent=2) + "\n")
        elif kind == "graphml":
            exports.write_graphml(document, out)
        else:
            exports.write_gexf(document, out)
        self.stdout.write(f"snapshot {snapshot.pk}: wrote {kind} to {out}")
