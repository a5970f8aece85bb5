"""The rules of one statement line (对账单明细) and between lines, as the layout reads them.

- a date must read with one of the layout's formats (and not as two different days);
- amounts are yuan with at most 2 decimals (``ledger.money.parse_amount``); thousands
  separators are accepted only where they are separators (``1,234.56``, not ``1,23.4``);
- with debit and credit columns exactly one of the two is filled on each line (a negative
  figure, a reversal 冲正, counts with its sign: -100.00 in the debit column is money in);
- the lines must be in date order (the layout's ``order``);
- with a balance column, each balance must equal the one before plus the line's amount, to the
  fen (the line, the figure found and the figure expected are named).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import cast

from importers.fields import text_problem
from importers.statements.layouts import BankLayout
from ledger.money import parse_amount
from ledger.problems import Problem

#: Commas only as thousands separators: 1,234.56 and -12,345,678 but not 1,23 or 12,3456.
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_DIGITS = re.compile(r"[0-9]+")
_AMOUNT_EXPECTED = "yuan with at most 2 decimals, such as 1234.56 or 1,234.56"


def parse_money(text: str) -> Decimal:
    """An amount as banks write it: at most 2 decimals, commas only as thousands separators.

    Raises ValueError with a short reason (``ledger.money.parse_amount``'s)."""
    text = text.strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise ValueError("not a number: commas only as thousands separators")
        text = text.replace(",", "")
    return parse_amount(text)


def parse_date(text: str, formats: tuple[str, ...]) -> datetime.date:
    """The day ``text`` names in one of ``formats``; zero padding optional. Raises ValueError
    when no format reads it, or when two formats read it as different days."""
    days: dict[datetime.date, str] = {}
    for fmt in formats:
        try:
            moment = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        # strptime is lenient ("2023210" reads as %Y%m%d); the text must be what the format
        # writes, up to leading zeros, so that no digit is taken for another field.
        if _unpadded(moment.strftime(fmt)) == _unpadded(text):
            days.setdefault(moment.date(), fmt)
    if not days:
        raise ValueError("not a date in any of the layout's formats")
    if len(days) > 1:
        read = ", ".join(f"{day} by {fmt}" for day, fmt in days.items())
        raise ValueError(f"ambiguous date: {read}")
    return next(iter(days))


def _formats(formats: tuple[str, ...]) -> str:
    listed = ", ".join(formats[:-1]) + " or " if len(formats) > 1 else ""
    return f"a date written {listed}{formats[-1]}"


def _unpadded(text: str) -> str:
    return _DIGITS.sub(lambda m: str(int(m.group())), text)


@dataclass
class Row:
    """One line as read, before the checks between lines; None where a field was refused."""

    line: int
    date: datetime.date | None
    date_text: str
    amount: Decimal | None
    balance: Decimal | None
    balance_text: str
    counterparty: str
    counterparty_account: str
    summary: str
    reference: str


class RowReader:
    """Reads a statement's lines with one layout, collecting every problem with its line."""

    def __init__(self, path: Path, layout: BankLayout, header: tuple[str, ...]) -> None:
        self.path = path
        self.layout = layout
        self.index = {name.casefold(): i for i, name in enumerate(header)}
        self.width = len(header)
        self.problems: list[tuple[int, Problem]] = []

    def add(self, line: int, field: str, message: str, found: str, expected: str) -> None:
        self.problems.append(
            (line, Problem(f"{self.path}:{line}", field, message, found, expected))
        )

    def money(self, line: int, column: str, text: str) -> Decimal | None:
        try:
            return parse_money(text)
        except ValueError as exc:
            self.add(line, column, str(exc), text, _AMOUNT_EXPECTED)
            return None

    def amount(self, line: int, cell: dict[str, str]) -> Decimal | None:
        layout = self.layout
        if layout.amount is not None:
            text = cell[layout.amount]
            if not text:
                self.add(line, layout.amount, "empty", "", f"a signed amount, {layout.amount_sign}")
                return None
            value = self.money(line, layout.amount, text)
            if value is None or layout.amount_sign == "negative-is-out":
                return value
            return -value
        debit, credit = cast(str, layout.debit), cast(str, layout.credit)
        out, into = cell[debit], cell[credit]
        out_filled = out not in ("", *layout.empty_values)
        into_filled = into not in ("", *layout.empty_values)
        if out_filled and into_filled:
            self.add(
                line,
                f"{debit}/{credit}",
                "both filled on one line",
                f"{out} and {into}",
                "an amount in one of the two",
            )
            return None
        if not out_filled and not into_filled:
            found = " and ".join(t for t in (out, into) if t)
            self.add(
                line, f"{debit}/{credit}", "neither filled", found, "an amount in one of the two"
            )
            return None
        if out_filled:
            value = self.money(line, debit, out)
            return None if value is None else -value
        return self.money(line, credit, into)

    def row(self, line: int, values: list[str]) -> Row | None:
        extra = values[self.width :]
        if len(values) < self.width or any(v.strip() for v in extra):
            self.add(
                line,
                "row",
                "wrong number of values",
                f"{len(values)} values",
                f"{self.width}, one per column of the header",
            )
            return None
        layout = self.layout
        cell = {
            column: values[self.index[column.casefold()]].strip() for column in layout.columns()
        }
        date_text = cell[layout.date]
        date: datetime.date | None = None
        try:
            date = parse_date(date_text, layout.date_formats)
        except ValueError as exc:
            self.add(line, layout.date, str(exc), date_text, _formats(layout.date_formats))
        amount = self.amount(line, cell)
        balance: Decimal | None = None
        balance_text = ""
        if layout.balance is not None:
            balance_text = cell[layout.balance]
            if not balance_text:
                self.add(line, layout.balance, "empty", "", "the balance after this line")
            else:
                balance = self.money(line, layout.balance, balance_text)

        def text(column: str | None, length: int) -> str:
            if column is None:
                return ""
            wrong = text_problem(cell[column], length)
            if wrong is not None:
                self.add(line, column, *wrong)
            return cell[column]

        return Row(
            line=line,
            date=date,
            date_text=date_text,
            amount=amount,
            balance=balance,
            balance_text=balance_text,
            # the register's widths (ledger.register.models.BankStatementLine)
            counterparty=text(layout.counterparty, 200),
            counterparty_account=text(layout.counterparty_account, 60),
            summary=text(layout.summary, 500),
            reference=text(layout.reference, 500),
        )

    def check_order(self, rows: list[Row]) -> None:
        """Dates never go back (``rows`` oldest first)."""
        before: Row | None = None
        for row in rows:
            if row.date is None:
                continue
            if before is not None and before.date is not None and row.date < before.date:
                self.add(
                    row.line,
                    self.layout.date,
                    f"out of date order: line {before.line} is dated {before.date} "
                    f"and the layout reads {self.layout.order}",
                    row.date_text,
                    f"{before.date} or later",
                )
            before = row

    def check_balances(self, rows: list[Row]) -> None:
        """Each balance is the one before plus the line's amount (``rows`` oldest first)."""
        column = cast(str, self.layout.balance)
        before: Row | None = None
        for row in rows:
            if (
                before is None
                or before.balance is None
                or row.balance is None
                or row.amount is None
            ):
                before = row
                continue
            expected = before.balance + row.amount
            if expected != row.balance:
                self.add(
                    row.line,
                    column,
                    f"does not follow from the balance on line {before.line} "
                    f"({before.balance}) and this line's amount ({row.amount}): "
                    f"off by {row.balance - expected}",
                    row.balance_text,
                    f"{expected}",
                )
            before = row
