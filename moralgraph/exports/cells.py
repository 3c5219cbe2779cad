"""Cells that a spreadsheet cannot run: the CSV-injection guard of every CSV the graph exports.

The rule (OWASP's "CSV Injection" guidance; elicitation.exports keeps the same rule): a *text*
cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe,
so Excel, LibreOffice and Google Sheets show it as text instead of evaluating it. Numbers
(int, float, bool) and empty cells pass unchanged, so a genuine -1 or -0.25 stays a number:
whoever writes a row decides what is a number by its Python type, never by how a text looks
(a context whose text is "+1" is text, and is neutralised)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The cell as written: text that could start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]
