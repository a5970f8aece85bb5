"""What a spreadsheet program gets from us: data to show, never a formula to run.

A name, code or narration from the exports (an institution named ``=HYPERLINK("http://…")``)
must reach Excel or LibreOffice as the text it is (OWASP "CSV injection", CWE-1236):

- XLSX: :func:`set_value` is the one way a value goes into a cell. Every ``str`` is a text
  cell, whatever its first character (openpyxl alone would make ``=…`` a formula and ``#N/A``
  an error); only a :class:`Formula`, which the report writes itself, is a formula. A text that
  begins like a formula also gets Excel's quote prefix, so that editing the cell keeps it text.
- CSV has no cell types, so :func:`csv_text` puts ``'`` before a text field from input that
  begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return. Numbers and dates the project
  formats itself (a refund's ``-12.30``) do not go through it, and stay numbers. Every CSV is
  written by :func:`csv_writer`, which quotes a field holding a line break of either kind.

openpyxl is imported by the writers only: the CSV paths must not load it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

#: First characters that make a spreadsheet program read a field as a formula (OWASP).
FORMULA_STARTS = frozenset("=+-@\t\r")


class Formula(str):
    """A formula the report writes itself (``=ROUND(C5-D5,2)``): the only text that is
    written as a formula cell."""

    __slots__ = ()


def set_value(cell: Any, value: Any) -> Any:
    """Put ``value`` into an openpyxl cell: a :class:`Formula` as a formula, any other str as a
    text cell, anything else as openpyxl writes it (numbers, dates, None). Returns the cell."""
    cell.value = value
    if isinstance(value, str) and not isinstance(value, Formula):
        cell.data_type = "s"
        if value[:1] in FORMULA_STARTS:
            cell.quotePrefix = True
    return cell


def row_cells(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """``values`` as cells of ``sheet`` made by :func:`set_value`, for ``sheet.append``."""
    from openpyxl.cell import Cell

    return [set_value(Cell(sheet), value) for value in values]


def csv_text(text: str) -> str:
    """A text field from input as a CSV field: ``'`` in front when it begins like a formula."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_writer(stream: IO[str]) -> Any:
    """The project's CSV writer: RFC 4180 lines (CR LF). The csv module quotes only a field
    holding a character of its line terminator, and a bare CR left unquoted is a new row to a
    spreadsheet program, whose first cell could then be a formula."""
    return csv.writer(stream, lineterminator="\r\n")
