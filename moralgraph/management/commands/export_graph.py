"""manage.py export_graph SLUG --format F --out PATH [--snapshot ID]: export a snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from moralgraph.exports.files import FORMATS, export_write
from moralgraph.management.study import study_id_for_slug
from moralgraph.selectors.snapshots import snapshot_get


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
        out = Path(options["out"])
        kind = options["format"]
        written = export_write(snapshot, kind, out)
        if kind == "csv":
            self.stdout.write(
                f"snapshot {snapshot.pk}: wrote {', '.join(p.name for p in written)} in {out}"
            )
            return
        self.stdout.write(f"snapshot {snapshot.pk}: wrote {kind} to {out}")
