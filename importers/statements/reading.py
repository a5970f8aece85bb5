"""``read_statement``: a statement file read with a layout, or every problem that refuses it."""

from __future__ import annotations

import csv
import datetime
from decimal import Decimal
from pathlib import Path
from typing import cast

from importers.statements.layouts import BankLayout
from importers.statements.lines import Row, RowReader
from importers.statements.table import decode, header_problems, read_table
from ledger.problems import Problem
from ledger.statements import Statement, StatementLine


def read_statement(path: Path, layout: BankLayout) -> tuple[Statement | None, list[Problem]]:
    """The statement in ``path`` read with ``layout``, or None and every problem that refuses
    it (in line order). Locations are ``path`` as given, so relative paths stay relative."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), "file", f"cannot be read: {exc.strerror}")]
    if not raw.strip():
        return None, [Problem(f"{path}:1", "file", "empty file", "", "a bank statement")]
    text = decode(path, raw)
    if isinstance(text, Problem):
        return None, [text]
    table = read_table(path, text, layout)
    if isinstance(table, Problem):
        return None, [table]
    missing = header_problems(path, table, layout)
    if missing:
        return None, missing
    reader = RowReader(path, layout, table.header)
    rows: list[Row] = []
    try:
        for values in table.reader:
            if not any(v.strip() for v in values):
                continue  # a blank line is not a statement line
            row = reader.row(table.line(), values)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        reader.add(table.line(), "row", "unreadable CSV", str(exc), "CSV")
    if not rows and not reader.problems:
        reader.add(
            table.header_line, "file", "no statement lines below the header", "", "one or more"
        )
    chronological = rows if layout.order == "oldest-first" else rows[::-1]
    reader.check_order(chronological)
    if layout.balance is not None:
        reader.check_balances(chronological)
    if reader.problems:
        return None, [p for _, p in sorted(reader.problems, key=lambda item: item[0])]
    return _statement(path, layout, chronological), []


def _statement(path: Path, layout: BankLayout, chronological: list[Row]) -> Statement:
    """The statement of rows that passed every check (oldest first, at least one)."""
    lines = tuple(
        StatementLine(
            line=r.line,
            date=cast(datetime.date, r.date),
            amount=cast(Decimal, r.amount),
            balance=r.balance,
            counterparty=r.counterparty,
            counterparty_account=r.counterparty_account,
            summary=r.summary,
            reference=r.reference,
        )
        for r in chronological
    )
    first, last = lines[0], lines[-1]
    return Statement(
        path=path,
        layout=layout.name,
        lines=lines,
        opening_balance=None if first.balance is None else first.balance - first.amount,
        closing_balance=last.balance,
        first_date=first.date,
        last_date=last.date,
    )
