"""The books' contributions against the register's (征缴收入核对), for ``check`` and ``close``.

Each month's ``contributions/<period>.beancount`` must hold what the register's collections of
that month give by the region's crediting rule (``postings.contributions.period_entries``),
account by account: a hand edit of the file, a stale file after the policy changed, or a file
of a month the register does not have shows up here.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from sqlalchemy import Engine, select

from ledger.books import Books
from ledger.chart import Chart
from ledger.crediting import rule_for
from ledger.loading import LoadedBooks
from ledger.money import ZERO
from ledger.month import Month
from ledger.register.models import ContributionRow
from postings.contributions import period_entries
from reports.audit.policy import books_policy

Sums = dict[tuple[str, str], Decimal]


def _add(sums: Sums, period: str, postings: Iterable[data.Posting]) -> None:
    for posting in postings:
        if posting.units is not None and isinstance(posting.units.number, Decimal):
            key = (period, posting.account)
            sums[key] = sums.get(key, ZERO) + posting.units.number


def _in_books(books: LoadedBooks) -> Sums:
    """The transactions of the books' contributions files, by the file's month and account."""
    sums: Sums = {}
    for entry in books.entries:
        if not isinstance(entry, data.Transaction):
            continue
        source = Path(str((entry.meta or {}).get("filename", "")))
        if source.parent.name == "contributions" and Month.is_month(source.stem):
            _add(sums, source.stem, entry.postings)
    return sums


def contributions_vs_register(books: LoadedBooks, engine: Engine, chart: Chart) -> list[str]:
    """What differs between the books' contributions and the register's, month by month."""
    root = books.main_file.parent
    with engine.connect() as conn:
        periods = sorted(conn.scalars(select(ContributionRow.period).distinct()))
    if not periods:
        return [f"contributions {p}: in the books, not in the register" for p in _periods(books)]
    config = Books(root).read_config()
    crediting = books_policy(root, config.region).crediting
    if not any(acc.role == config.receiving_role for acc in chart.accounts):
        into = config.contributions_received_into
        return [f"contributions: the chart has no account {into} (contributions_received_into)"]
    receiving = chart.account(config.receiving_role)
    expected: Sums = {}
    problems = []
    for period in periods:
        rule = rule_for(crediting, Month.parse(period).first)
        if rule is None:
            problems.append(f"contributions {period}: no crediting rule for the month")
            continue
        _collections, entries = period_entries(engine, chart, period, rule, receiving)
        for entry in entries:
            _add(expected, period, entry.postings)
    found = _in_books(books)
    for period, account in sorted(set(found) | set(expected)):
        mine, theirs = found.get((period, account), ZERO), expected.get((period, account), ZERO)
        if mine != theirs:
            problems.append(f"contributions {period}: {account}: books {mine}, register {theirs}")
    return problems


def _periods(books: LoadedBooks) -> list[str]:
    return sorted({period for period, _account in _in_books(books)})


__all__ = ["contributions_vs_register"]
