"""manage.py import_mai DIR --study SLUG: import the reference study's db-dump (idempotent)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from elicitation.importers.mai import mai_study_import
from moralgraph.services import MoralGraphError


class Command(BaseCommand):
    help = "Import the Meaning Alignment Institute's reference study (db-dump folder)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("folder", type=Path, help="the db-dump/ folder")
        parser.add_argument("--study", required=True, help="slug of the study to import into")
        parser.add_argument("--title", default="", help="title when the study is created")

    def handle(self, *args: Any, **options: Any) -> None:
        start = time.perf_counter()
        try:
            study, report = mai_study_import(
                folder=Path(options["folder"]), slug=options["study"], title=options["title"]
            )
        except (FileNotFoundError, KeyError, ValueError, MoralGraphError) as error:
            raise CommandError(f"import failed: {error}") from error
        elapsed = time.perf_counter() - start
        self.stdout.write(
            f"study {study.slug}: {report.line()} ({elapsed:.1f} s); live graph rebuild requested"
        )
