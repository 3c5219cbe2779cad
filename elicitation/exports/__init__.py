"""A study's exports as CSV: pure writers, no Django (the selectors gather the rows, the staff
export pages serve the files). `polis` lays a study's wise-value picks out as Polis's own export.

Every cell goes through `safe_cell`, the CSV-injection guard (OWASP's "CSV Injection"
guidance; moralgraph.exports.cells keeps the same rule for the graph's CSVs): a *text* cell
that begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, so a
spreadsheet shows it as text instead of evaluating it. Numbers (int, float, bool) and empty
cells pass unchanged, so a Polis vote of -1 stays a number: a row's writer says what is a
number by its Python type, never by how a text looks (a survey comment "-1" is text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """One export file's content: its name (without `.csv`), header and rows."""

    name: str
    header: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def safe_cell(value: Any) -> Any:
    """The cell as written: text that could start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, lineterminator: str = "\r\n"
) -> bytes:
    """A CSV file (UTF-8): the header, then the rows, every cell through `safe_cell`. None is
    written as an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8")
