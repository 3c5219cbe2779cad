"""manage.py study_report SLUG [--json]: the study's legitimacy checks, survey and funnel."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from elicitation import selectors
from elicitation.schemas import SURVEY_ITEMS


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def report_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table for people."""
    fair, dedup = report["fair_position"], report["dedup_verification"]
    lines = [
        "Legitimacy",
        f"  {'fair position (yes / answered)':<44} {fair['yes']:>5} / {fair['total']:<5}"
        f" {_share(fair['yes'], fair['total']):>5}",
        f"  {'same value after merging (same / answered)':<44} {dedup['same']:>5} / "
        f"{dedup['total']:<5} {_share(dedup['same'], dedup['total']):>5}",
        "",
        "Survey (answered 4 or 5 / answered)",
    ]
    for item in SURVEY_ITEMS:
        row = report["survey"][item.key]
        lines.append(
            f"  {item.key:<44} {row['agree']:>5} / {row['n']:<5} {_share(row['agree'], row['n']):>5}"
        )
    lines += ["", "Funnel (participants)"]
    for stage, count in report["funnel"].items():
        label = selectors.FUNNEL_LABELS.get(stage, stage)
        lines.append(f"  {label:<44} {count:>5}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Report a study's legitimacy checks, survey answers and funnel (real participants)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug", help="the study's slug")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        study = selectors.study_get(slug=options["slug"])
        if study is None:
            raise CommandError(f"no study with slug {options['slug']!r}")
        report = selectors.study_report(study_id=study.pk)
        if options["json"]:
            self.stdout.write(json.dumps({"study": study.slug, **report}, indent=2))
        else:
            self.stdout.write(
                f"Study report: {study.title} ({study.slug})\n\n{report_table(report)}"
            )
