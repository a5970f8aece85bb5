"""The statements view of the Fava extension (基金会计报表): 会社保01表 资产负债表 and
会社保02表 收支表 of a month or a year, from the books Fava has loaded
(``reports.books.fund_statements``; the register is not read).

The period comes from ``?period=YYYY-MM`` or ``?period=YYYY``; without one, the month of the
books' last transaction. A period that is neither answers 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beancount.core import data

from ledger.chart import load_chart
from ledger.loading import LoadedBooks
from ledger.month import Month
from reports.books.fund_statements import FundStatement, fund_statements
from reports.books.statement_output import line_label, meta_line
from reports.fava.params import BadRequest


@dataclass(frozen=True)
class StatementsView:
    """The statements of one period, and the periods the books can show."""

    period: str
    statements: tuple[FundStatement, ...]
    months: tuple[str, ...]  # months with transactions, newest first
    years: tuple[int, ...]
    keeper: str

    def meta(self, statement: FundStatement) -> str:
        return meta_line(statement, self.keeper)

    @staticmethod
    def label(line: Any) -> str:
        return line_label(line)


def parse_statement_period(value: str | None, default: str | None) -> Month | int | None:
    """``YYYY-MM`` -> Month, ``YYYY`` -> year; empty -> the default (None: no entries)."""
    text = (value or "").strip() or (default or "")
    if not text:
        return None
    if len(text) == 4 and text.isascii() and text.isdigit() and text != "0000":
        return int(text)
    try:
        return Month.parse(text)
    except ValueError:
        raise BadRequest(
            f"报表期间无效：{text[:20]}（应为 YYYY-MM 或 YYYY）",
            f"period: expected YYYY-MM or YYYY (found {text[:20]!r})",
        ) from None


def statements_view(
    main_file: Path,
    entries: Sequence[Any],  # Fava's directives: beancount's, typed by Fava's own stubs
    options: dict[str, Any],
    period_arg: str | None,
) -> StatementsView:
    """The view for ``?period=``: the books' own chart (``chart.toml`` beside the main file)."""
    days = sorted({e.date for e in entries if isinstance(e, data.Transaction)})
    months = tuple(sorted({str(Month.of(d)) for d in days}, reverse=True))
    years = tuple(sorted({d.year for d in days}, reverse=True))
    period = parse_statement_period(period_arg, months[0] if months else None)
    title = str(options.get("title") or "")
    if period is None:
        return StatementsView("", (), months, years, title)
    chart = load_chart(main_file.parent / "chart.toml")
    books = LoadedBooks(main_file, list(entries), [], options)
    return StatementsView(str(period), fund_statements(books, chart, period), months, years, title)
