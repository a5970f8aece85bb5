"""BQL on the books for the command line (``mzledger query``), with beanquery 0.2.

The books are loaded once (``ledger.loading``: Beancount's loader, plugins and all, so the
month locks are checked as in bean-check and Fava), and the BQL runs on those entries through
beanquery's DB-API connection (``beanquery.connect("beancount:", entries=..., errors=...,
options=...)``, what Fava does too). A query that does not parse or compile raises
:class:`QueryError`, whose message names the problem and points at it in the query text; no
traceback.

Values stay what beanquery returns (``Decimal``, ``Amount``, ``Position``, ``Inventory``,
dates, strings, sets of links); the formatters turn them into text without ever going through
a float: ``as_table`` (aligned, CJK characters two columns wide), ``as_csv`` (a header row) and
``as_json`` (numbers as strings with their exact decimals, amounts as ``{"number",
"currency"}``, inventories as lists of those).
"""

from __future__ import annotations

import datetime
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import beanquery
from beancount.core import data
from beancount.core.amount import Amount
from beancount.core.inventory import Inventory
from beancount.core.position import Position
from beancount.parser import printer
from beanquery import types as bq_types

from ledger.loading import LoadedBooks, error_text, load_books
from reports.spreadsheet import csv_text, csv_writer


class QueryError(Exception):
    """The query could not run: the message says why, and where in the query."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        #: 1-based line and column in the query text, when beanquery says where.
        self.line = line
        self.column = column


@dataclass(frozen=True)
class QueryColumn:
    """A result column: its name (the BQL alias, or the expression) and beanquery's type name
    (``str``, ``int``, ``decimal``, ``date``, ``amount``, ``position``, ``inventory``, ``set``,
    ``object``, ...)."""

    name: str
    type: str


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[QueryColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    #: The books' own errors (bean-check's), formatted: the query ran anyway.
    load_errors: tuple[str, ...] = ()


def books_for_query(main_file: Path) -> LoadedBooks:
    """The books of ``main_file``, loaded once for any number of queries (a QueryError when
    there is no such file)."""
    if not main_file.is_file():
        raise QueryError(f"{main_file}: no such file (the books' main.beancount)")
    return load_books(main_file)


def _load_errors(books: LoadedBooks) -> tuple[str, ...]:
    """The books' own errors (bean-check's), each ``file:line: message``."""
    return tuple(error_text(error, always_placed=True) for error in books.errors)


# ---------------------------------------------------------------------------------------------
# Running


def _position(text: str, pos: int) -> tuple[int, int, str]:
    """1-based line and column of offset ``pos`` in ``text``, and that line."""
    pos = max(0, min(pos, len(text)))
    before = text[:pos]
    line = before.count("\n") + 1
    start = before.rfind("\n") + 1
    end = text.find("\n", start)
    return line, pos - start + 1, text[start : end if end >= 0 else len(text)]


def _error(kind: str, exc: beanquery.Error, bql: str) -> QueryError:
    """A QueryError naming the problem and, when beanquery knows it, pointing at it."""
    detail = str(exc) or type(exc).__name__
    info = getattr(exc, "parseinfo", None)
    pos = getattr(info, "pos", None)
    if not isinstance(pos, int):
        return QueryError(f"{kind}: {detail}")
    end = getattr(info, "endpos", None)
    line, column, text = _position(bql, pos)
    length = end - pos if isinstance(end, int) and end > pos else 1
    span = text[column - 1 : column - 1 + length]
    caret = " " * display_width(text[: column - 1]) + "^" * max(1, display_width(span))
    message = f"{kind}: {detail} at line {line}, column {column}\n  {text}\n  {caret}"
    return QueryError(message, line=line, column=column)


def execute(books: LoadedBooks, bql: str) -> QueryResult:
    """Run one BQL statement (SELECT, BALANCES, JOURNAL, PRINT) on loaded books."""
    if not bql.strip():
        raise QueryError("empty query: give a BQL statement such as SELECT account, sum(position)")
    connection = beanquery.connect(
        "beancount:", entries=books.entries, errors=books.errors, options=books.options
    )
    try:
        cursor = connection.execute(bql)
    except beanquery.ParseError as exc:
        raise _error("BQL syntax error", exc, bql) from None
    except beanquery.CompilationError as exc:
        raise _error("BQL error", exc, bql) from None
    except beanquery.Error as exc:
        raise _error("query failed", exc, bql) from None
    except re.error as exc:
        raise QueryError(f"invalid regular expression in the query: {exc}") from None
    except TypeError as exc:
        if "placeholders" in str(exc):
            raise QueryError(
                "the query has a placeholder (%s or %(name)s): write the value itself"
            ) from None
        raise QueryError(f"query failed: {exc}") from None
    except (ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise QueryError(f"query failed: {type(exc).__name__}: {exc}") from None
    columns = tuple(
        QueryColumn(str(column.name), str(bq_types.name(column.datatype)))
        for column in cursor.description or ()
    )
    rows = tuple(tuple(row) for row in cursor.fetchall())
    return QueryResult(columns, rows, _load_errors(books))


def run_query(main_file: Path, bql: str) -> QueryResult:
    """Load the books of ``main_file`` and run ``bql`` on them.

    Raises QueryError with a clear message when the file is missing or the BQL is wrong.
    """
    return execute(books_for_query(main_file), bql)


def saved_query_names(books: LoadedBooks) -> list[str]:
    """The names of the books' saved queries (``query`` directives), in book order."""
    return [entry.name for entry in books.entries if isinstance(entry, data.Query)]


def saved_query(books: LoadedBooks, name: str) -> str:
    """The BQL of the saved query ``name`` (as Fava's ``run NAME``)."""
    for entry in books.entries:
        if isinstance(entry, data.Query) and entry.name == name:
            return str(entry.query_string)
    known = "\n".join(f"  {n}" for n in saved_query_names(books)) or "  (none)"
    raise QueryError(f"no saved query named {name!r}; the books have:\n{known}")


# ---------------------------------------------------------------------------------------------
# Values as text and as JSON


def decimal_text(number: Decimal) -> str:
    """The exact decimal, never in exponent form (``Decimal("1234.50")`` → ``1234.50``)."""
    if number.is_zero():
        number = number.copy_abs()
    return format(number, "f")


def _amount_json(number: Decimal | None, currency: str | None) -> dict[str, Any]:
    return {
        "number": None if number is None else decimal_text(number),
        "currency": currency,
    }


def _position_json(position: Position) -> dict[str, Any]:
    out = _amount_json(position.units.number, position.units.currency)
    cost = position.cost
    if cost is not None:
        out["cost"] = {
            "number": None if cost.number is None else decimal_text(cost.number),
            "currency": cost.currency,
            "date": None if cost.date is None else cost.date.isoformat(),
            "label": cost.label,
        }
    return out


def _sorted_positions(inventory: Inventory) -> list[Position]:
    return sorted(inventory.values(), key=lambda p: (p.units.currency, str(p.cost), p.units.number))


def _visible_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in meta.items()
        if key not in ("filename", "lineno") and not str(key).startswith("__")
    }


def json_value(value: Any) -> Any:
    """A JSON-ready value: exact decimals as strings, amounts as {"number", "currency"}."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Amount):
        return _amount_json(value.number, value.currency)
    if isinstance(value, Position):
        return _position_json(value)
    if isinstance(value, Inventory):
        return [_position_json(position) for position in _sorted_positions(value)]
    if isinstance(value, set | frozenset | list | tuple):
        items = [json_value(item) for item in value]
        if isinstance(value, set | frozenset):
            items.sort(key=lambda item: json.dumps(item, ensure_ascii=False, sort_keys=True))
        return items
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in _visible_meta(value).items()}
    if isinstance(value, data.ALL_DIRECTIVES):
        return printer.format_entry(value).rstrip("\n")
    return str(value)


def text_value(value: Any, *, grouped: bool = False) -> str:
    """A value as one cell of text; ``grouped`` puts thousands separators in numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value:,}" if grouped else str(value)
    if isinstance(value, Decimal):
        if value.is_zero():
            value = value.copy_abs()
        return format(value, ",f" if grouped else "f")
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Amount):
        number = "" if value.number is None else text_value(value.number, grouped=grouped)
        return f"{number} {value.currency}"
    if isinstance(value, Position):
        units = text_value(value.units, grouped=grouped)
        cost = value.cost
        if cost is None:
            return units
        parts = [text_value(Amount(cost.number, cost.currency), grouped=grouped)]
        if cost.date is not None:
            parts.append(cost.date.isoformat())
        if cost.label:
            parts.append(json.dumps(cost.label, ensure_ascii=False))
        return f"{units} {{{', '.join(parts)}}}"
    if isinstance(value, Inventory):
        return ", ".join(
            text_value(position, grouped=grouped) for position in _sorted_positions(value)
        )
    if isinstance(value, set | frozenset):
        return ", ".join(sorted(text_value(item) for item in value))
    if isinstance(value, list | tuple):
        return ", ".join(text_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(json_value(value), ensure_ascii=False, sort_keys=True)
    if isinstance(value, data.ALL_DIRECTIVES):
        return printer.format_entry(value).rstrip("\n")
    return str(value)


# ---------------------------------------------------------------------------------------------
# Formatters


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide and full-width (CJK) characters take two,
    combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


_NUMERIC = (int, Decimal, Amount, Position, Inventory)


def _is_numeric(value: Any) -> bool:
    return isinstance(value, _NUMERIC) and not isinstance(value, bool)


def _align_decimals(cells: list[str], values: Sequence[Any]) -> list[str]:
    """Decimal cells padded on the right so that their decimal points line up."""
    fractions = [
        len(cell.partition(".")[2]) if isinstance(value, Decimal) else 0
        for cell, value in zip(cells, values, strict=True)
    ]
    most = max(fractions, default=0)
    return [
        cell + " " * (most - frac + (1 if frac == 0 and most else 0))
        if isinstance(value, Decimal)
        else cell
        for cell, value, frac in zip(cells, values, fractions, strict=True)
    ]


def as_table(result: QueryResult) -> str:
    """Aligned text: a header, a rule, one line per row; numbers right-aligned with their
    decimal points lined up, every other column left-aligned; widths count CJK as two."""
    names = [column.name for column in result.columns]
    body: list[list[str]] = [[] for _ in result.rows]
    right: list[bool] = []
    for index in range(len(names)):
        values = [row[index] for row in result.rows]
        cells = [" ".join(text_value(v, grouped=True).split("\n")) for v in values]
        present = [v for v in values if v is not None]
        numeric = bool(present) and all(_is_numeric(v) for v in present)
        if numeric:
            cells = _align_decimals(cells, values)
        right.append(numeric)
        for line, cell in zip(body, cells, strict=True):
            line.append(cell)
    widths = [
        max([display_width(name)] + [display_width(line[i]) for line in body])
        for i, name in enumerate(names)
    ]

    def render(cells: Sequence[str], align_right: Sequence[bool]) -> str:
        out = []
        for cell, width, is_right in zip(cells, widths, align_right, strict=True):
            fill = " " * (width - display_width(cell))
            out.append(fill + cell if is_right else cell + fill)
        return "  ".join(out).rstrip()

    lines = [render(names, right), "  ".join("-" * width for width in widths)]
    lines += [render(line, right) for line in body]
    return "\n".join(lines) + "\n"


def as_csv(result: QueryResult) -> str:
    """CSV with a header row of the column names; numbers exact, without separators; text
    (payees, narrations, tags and links) formula-safe (``reports.spreadsheet``)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([column.name for column in result.columns])
    for row in result.rows:
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    text = text_value(value)
    return csv_text(text) if isinstance(value, str | set | frozenset) else text


def as_json(result: QueryResult) -> str:
    """``{"columns": [{"name", "type"}], "rows": [[...]]}``: decimals as exact strings,
    amounts as ``{"number", "currency"}``, inventories as lists of those, dates ISO."""
    document = {
        "columns": [{"name": column.name, "type": column.type} for column in result.columns],
        "rows": [[json_value(value) for value in row] for row in result.rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
