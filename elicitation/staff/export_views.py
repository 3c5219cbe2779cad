"""The study's exports page and its CSV downloads: the raw tables (cards, picks, survey,
funnel, moderation log) and the Polis-compatible files. Thin: selectors gather the rows,
`elicitation.exports` writes the CSV (every text cell guarded against spreadsheet formulas)."""

from __future__ import annotations

import io
import zipfile

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from elicitation import selectors
from elicitation.exports import Table, csv_bytes
from elicitation.exports.polis import POLIS_LINE_END
from elicitation.staff.access import study_required
from elicitation.staff.lookups import study_or_404

# What each raw table holds, for the page (in EXPORT_TABLES order).
TABLE_NOTES = {
    "cards": "Every confirmed card, whatever its screening, in its language, with the value it was merged into.",
    "picks": "Each value shown on the “which of these are wise?” page, and whether it was picked.",
    "survey": "Every answer to the closing survey.",
    "funnel": "How many participants reached each step (the report's funnel).",
    "moderation": "The moderation log: who did what to which card or participant, and why.",
}
POLIS_NOTES = {
    "comments": "One row per value shown on the wise-values page (a Polis comment).",
    "votes": "One row per value shown to a participant: 1 picked (agree), 0 not picked (pass).",
    "participants-votes": "One row per participant, one column per comment: the vote matrix.",
}


def _attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv(table: Table, filename: str, *, lineterminator: str = "\r\n") -> HttpResponse:
    content = csv_bytes(table.header, table.rows, lineterminator=lineterminator)
    return _attachment(content, filename, "text/csv; charset=utf-8")


@study_required
def exports(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    tables = [
        (f"{name}.csv", reverse(f"staff:export_{name}", args=[study.slug]), TABLE_NOTES[name])
        for name in selectors.EXPORT_TABLES
    ]
    polis = [
        (
            f"{name}.csv",
            reverse(f"staff:export_polis_{name.replace('-', '_')}", args=[study.slug]),
            note,
        )
        for name, note in POLIS_NOTES.items()
    ]
    return render(
        request,
        "elicitation/staff/exports.html",
        {"study": study, "tables": tables, "polis": polis},
    )


@study_required
def export_table(request: HttpRequest, slug: str, table: str) -> HttpResponse:
    study = study_or_404(slug)
    rows = selectors.export_table(study_id=study.pk, name=table)
    return _csv(rows, f"{study.slug}-{table}.csv")


@study_required
def export_polis_file(request: HttpRequest, slug: str, table: str) -> HttpResponse:
    study = study_or_404(slug)
    (found,) = [t for t in selectors.export_polis_tables(study_id=study.pk) if t.name == table]
    return _csv(found, f"{study.slug}-polis-{table}.csv", lineterminator=POLIS_LINE_END)


@study_required
def export_polis_zip(request: HttpRequest, slug: str) -> HttpResponse:
    """The three Polis files under their Polis names, in one folder of a zip."""
    study = study_or_404(slug)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in selectors.export_polis_tables(study_id=study.pk):
            content = csv_bytes(table.header, table.rows, lineterminator=POLIS_LINE_END)
            archive.writestr(f"{study.slug}-polis/{table.name}.csv", content)
    return _attachment(buffer.getvalue(), f"{study.slug}-polis.zip", "application/zip")
