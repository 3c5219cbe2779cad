"""Export files of a snapshot, shared by `manage.py export_graph` and the
researcher pages' downloads. The formats themselves are written by the pure
`moralgraph.exports.formats`; this module adds the database part (votes.csv) and packaging."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_datetime

from moralgraph.exports import formats as exports
from moralgraph.models import GraphSnapshot
from moralgraph.selectors.votes import VoteScope, vote_rows_for_export

FORMATS = ("reference-json", "json", "graphml", "gexf", "csv")


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def scope_of(study_id: int, filters: dict[str, Any]) -> VoteScope:
    """The vote scope a snapshot was built from (its `filters`)."""
    before = parse_datetime(filters["created_before"]) if filters.get("created_before") else None
    return VoteScope(
        study_id=study_id,
        before=before,
        question_ids=tuple(filters.get("question_ids", [])),
        excluded_participant_ids=tuple(filters.get("excluded_participants", [])),
    )


def export_write(snapshot: GraphSnapshot, fmt: str, out: Path) -> list[Path]:
    """Write the export to `out`: a folder of tables for csv, a file otherwise."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    document = snapshot.document
    if fmt == "csv":
        written = exports.write_csv(document, out)
        rows = vote_rows_for_export(scope=scope_of(snapshot.study_id, snapshot.filters))
        exports.write_votes_csv(rows, out / "votes.csv")
        return [*written, out / "votes.csv"]
    out.parent.mkdir(parents=True, exist_ok=True)
    # UTF-8 with text as written: Spanish and Arabic wordings stay readable.
    if fmt == "reference-json":
        reference = exports.to_reference_json(document)
        out.write_text(json.dumps(reference, indent=2, ensure_ascii=False) + "\n", "utf-8")
    elif fmt == "json":
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    elif fmt == "graphml":
        exports.write_graphml(document, out)
    else:
        exports.write_gexf(document, out)
    return [out]


_CONTENT_TYPES = {
    "reference-json": ("application/json", "reference.json"),
    "json": ("application/json", "json"),
    "graphml": ("application/graphml+xml", "graphml"),
    "gexf": ("application/gexf+xml", "gexf"),
    "csv": ("application/zip", "csv.zip"),
}


def export_file(snapshot: GraphSnapshot, fmt: str, *, slug: str) -> ExportFile:
    """The export as one downloadable file; csv comes as a zip of its folder."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    content_type, suffix = _CONTENT_TYPES[fmt]
    filename = f"{slug}-snapshot-{snapshot.pk}.{suffix}"
    with tempfile.TemporaryDirectory(prefix="mge-export-") as tmp:
        if fmt == "csv":
            folder = Path(tmp) / f"{slug}-snapshot-{snapshot.pk}"
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path in export_write(snapshot, fmt, folder):
                    archive.write(path, arcname=f"{folder.name}/{path.name}")
            content = buffer.getvalue()
        else:
            (path,) = export_write(snapshot, fmt, Path(tmp) / filename)
            content = path.read_bytes()
    return ExportFile(content=content, content_type=content_type, filename=filename)
