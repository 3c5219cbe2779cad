"""The evaluation report: per context and overall adherence, as JSON and as text tables."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inference.targets import Snapshot

REPORT_FORMAT = "mge-evaluation-report"
REPORT_VERSION = 1
HIGH_SCORE = 4


class ReportError(ValueError):
    """A report file that cannot be read or compared."""


def build_report(
    snapshot: Snapshot,
    records: Sequence[Mapping[str, Any]],
    setup: Mapping[str, Any],
    *,
    is_complete: bool,
) -> dict[str, Any]:
    by_context: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_context.setdefault(str(record["context"]), []).append(record)
    contexts = []
    for winner in snapshot.winners:
        rows = by_context.get(winner.context, [])
        contexts.append(
            {
                "context": winner.context,
                "context_id": winner.context_id,
                "value_id": winner.value_id,
                "value_title": snapshot.values[winner.value_id].title,
                "support": winner.support,
                **_summary(rows),
            }
        )
    answered = [c for c in contexts if c["n"]]
    overall = _summary(records)
    overall["macro_adherence"] = (
        sum(c["adherence"] for c in answered) / len(answered) if answered else None
    )
    return {
        "format": REPORT_FORMAT,
        "format_version": REPORT_VERSION,
        "snapshot": snapshot.summary(),
        **dict(setup),
        "is_complete": is_complete,
        "contexts": contexts,
        "overall": overall,
    }


def _summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    if not n:
        return {"n": 0, "adherence": None, "adherence_se": None, "score": None, "share_high": None}
    adherence = [float(r["adherence"]) for r in rows]
    mean = sum(adherence) / n
    variance = sum((a - mean) ** 2 for a in adherence) / (n - 1) if n > 1 else 0.0
    return {
        "n": n,
        "adherence": mean,
        "adherence_se": math.sqrt(variance / n),
        "score": sum(int(r["score"]) for r in rows) / n,
        "share_high": sum(int(r["score"]) >= HIGH_SCORE for r in rows) / n,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def report_table(report: Mapping[str, Any]) -> str:
    """The report as a plain text table."""
    header = ["context", "winning value", "n", "adherence", "± se", "score", "4–5"]
    rows = [
        [
            c["context"],
            c["value_title"],
            str(c["n"]),
            _pct(c["adherence"]),
            _pct(c["adherence_se"]),
            _num(c["score"]),
            _pct(c["share_high"]),
        ]
        for c in report["contexts"]
    ]
    overall = report["overall"]
    rows.append(
        [
            "overall (mean over answers)",
            "",
            str(overall["n"]),
            _pct(overall["adherence"]),
            _pct(overall["adherence_se"]),
            _num(overall["score"]),
            _pct(overall["share_high"]),
        ]
    )
    rows.append(
        ["overall (mean over contexts)", "", "", _pct(overall["macro_adherence"]), "", "", ""]
    )
    title = (
        f"Adherence of {report['model']} to the winning values of snapshot "
        f"{report['snapshot']['content_hash'][:12]} (judge: {report['judge_model']})"
    )
    if not report.get("is_complete", True):
        title += "  [incomplete]"
    return title + "\n\n" + _text_table(header, rows) + "\n"


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 2) -> str:
    """Columns padded to width (the first ``left`` left-aligned); the last two rows are totals."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if i < left else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join(
        [line(header), rule, *(line(r) for r in rows[:-2]), rule, *(line(r) for r in rows[-2:])]
    )


def load_report(path: Path) -> dict[str, Any]:
    """A ``report.json``, given it or the evaluation folder that holds it."""
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise ReportError(f"no evaluation report at {path}")
    try:
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from exc
    if report.get("format") != REPORT_FORMAT:
        raise ReportError(f"{path} is not an evaluation report (format {report.get('format')!r})")
    return report


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """Two reports side by side, per context and overall, as a text table."""
    label_a, label_b = f"A: {a['model']}", f"B: {b['model']}"
    notes = []
    if a["snapshot"]["content_hash"] != b["snapshot"]["content_hash"]:
        notes.append(
            "Note: the reports come from different snapshots "
            f"({a['snapshot']['content_hash'][:12]} vs {b['snapshot']['content_hash'][:12]}); "
            "contexts are matched by text."
        )
    if a.get("judge_model") != b.get("judge_model"):
        notes.append(
            f"Note: different judges ({a.get('judge_model')} vs {b.get('judge_model')}); "
            "scores may not be comparable."
        )
    b_contexts = {c["context"]: c for c in b["contexts"]}
    header = ["context", "n A", "n B", "adh. A", "adh. B", "Δ adh.", "score A", "score B"]
    rows = []
    order = [c["context"] for c in a["contexts"]] + [
        c["context"]
        for c in b["contexts"]
        if c["context"] not in {x["context"] for x in a["contexts"]}
    ]
    a_contexts = {c["context"]: c for c in a["contexts"]}
    empty = {"n": 0, "adherence": None, "score": None}
    for context in order:
        ca, cb = a_contexts.get(context, empty), b_contexts.get(context, empty)
        rows.append(_compare_row(context, ca, cb))
    rows.append(_compare_row("overall (mean over answers)", a["overall"], b["overall"]))
    macro_a, macro_b = a["overall"].get("macro_adherence"), b["overall"].get("macro_adherence")
    rows.append(
        [
            "overall (mean over contexts)",
            "",
            "",
            _pct(macro_a),
            _pct(macro_b),
            _delta(macro_a, macro_b),
            "",
            "",
        ]
    )
    lines = [
        f"{label_a}  (judge {a.get('judge_model')})",
        f"{label_b}  (judge {b.get('judge_model')})",
    ]
    return "\n".join([*lines, *notes, "", _text_table(header, rows, left=1)]) + "\n"


def _compare_row(context: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return [
        context,
        str(a["n"]),
        str(b["n"]),
        _pct(a["adherence"]),
        _pct(b["adherence"]),
        _delta(a["adherence"], b["adherence"]),
        _num(a["score"]),
        _num(b["score"]),
    ]


def _delta(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    return f"{(b - a) * 100:+.0f} pts"
