"""The year-end closing (年终结账): the year's income and expenditure carried into 3001
一般基金结余 by sub-fund; pure but for the writing of its file.

The 2017 system says of every income and expenditure account "期末结账后应无余额": at the close of
the year's last month each one's balance is carried into the fund balance of its sub-fund. One
transaction, dated the year's last day and tagged ``#year-end-closing`` (``ledger.year_end``):
a leg per Income or Expenses account with a balance that day, negating it, and a leg per
sub-fund to its 3001 account with the net (a credit when income exceeded expenditure).

The balance closed is what is still unclosed on the last day: every entry up to and including
it, earlier years' closings among them, but not the year's own closing. So the closing made
again from books that hold it is the same transaction (a second close changes no byte), and
after a reopening it is made from the books as they are then. The sub-fund of an account is
its second level (``ledger.chart.sub_fund_of``); an account with a balance and none, as charts
made before the 2017 system's have (``Income:4004-利息收入``), cannot be closed and is a problem,
as is a sub-fund the chart gives no 3001 account.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from beancount.core.amount import Amount
from beancount.parser import printer

from ledger.books import Books, atomic_write
from ledger.chart import SUB_FUND_NAMES, SUB_FUNDS, Chart, sub_fund_of
from ledger.money import ZERO
from ledger.month import Month
from ledger.problems import Problem
from ledger.year_end import YEAR_END_TAG, closing_file_name

#: The roots whose accounts have no balance after the closing (收入类, 支出类).
CLOSED_ROOTS = ("Income", "Expenses")
FUND_BALANCE_ROLE = "fund-balance"


@dataclass(frozen=True)
class YearEndClosing:
    """A year's closing: its transaction (None when there is nothing to close or it cannot be
    made), or the problems that stop it; ``surplus`` per sub-fund carried into 3001 (income
    less expenditure, a deficit negative)."""

    year: int
    entry: data.Transaction | None
    problems: tuple[Problem, ...] = ()
    surplus: tuple[tuple[str, Decimal], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def closing_day(year: int) -> datetime.date:
    return datetime.date(year, 12, 31)


def is_closing_of(entry: data.Directive, year: int) -> bool:
    """Whether ``entry`` is ``year``'s own closing (the one this module makes)."""
    return (
        isinstance(entry, data.Transaction)
        and entry.date == closing_day(year)
        and YEAR_END_TAG in entry.tags
    )


def unclosed_balances(
    entries: Iterable[data.Directive], currency: str, year: int
) -> tuple[dict[str, Decimal], set[str]]:
    """Each Income and Expenses account's balance in ``currency`` on the year's last day, the
    year's own closing left out; and the accounts opened by then."""
    last = closing_day(year)
    balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
    opened: set[str] = set()
    for entry in entries:
        if entry.date > last:
            continue
        if isinstance(entry, data.Open):
            opened.add(entry.account)
        if not isinstance(entry, data.Transaction) or is_closing_of(entry, year):
            continue
        for posting in entry.postings:
            units = posting.units
            if posting.account.split(":", 1)[0] not in CLOSED_ROOTS or units is None:
                continue
            if units.currency == currency and isinstance(units.number, Decimal):
                balances[posting.account] += units.number
    return dict(balances), opened


def fund_balance_account(chart: Chart, fund: str) -> str | None:
    """The sub-fund's 3001 account: the chart's for that sub-fund, else its one 3001 account
    when it does not split the role (``Chart.fund_account``); never the other sub-fund's."""
    try:
        name = chart.fund_account(FUND_BALANCE_ROLE, fund)
    except KeyError:
        return None
    given = next(acc.fund for acc in chart.accounts if acc.name == name)
    return name if given in (fund, None) else None


def year_end_closing(entries: Iterable[data.Directive], chart: Chart, year: int) -> YearEndClosing:
    """The closing of ``year`` from the books' entries (as loaded), or why it cannot be made;
    no transaction and no problem when every income and expense account is zero."""
    balances, opened = unclosed_balances(entries, chart.currency, year)
    to_close = sorted((account, b) for account, b in balances.items() if b)
    if not to_close:
        return YearEndClosing(year, None)
    where, day = str(Month(year, 12)), closing_day(year)
    problems: list[Problem] = []
    by_fund: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for account, balance in to_close:
        fund = sub_fund_of(account)
        if fund is None:
            second = account.split(":")[2] if account.count(":") >= 2 else ""
            problems.append(
                Problem(
                    where,
                    "",
                    f"{account}: a balance of {balance:,} on {day}, cannot close it into 3001: "
                    "no sub-fund",
                    second,
                    "a second level naming it, 01-统筹基金 or 02-个人账户基金, as in "
                    "ledger/chart.toml",
                )
            )
        else:
            by_fund[fund].append((account, balance))
    targets: dict[str, str] = {}
    for fund in (f for f in SUB_FUNDS if f in by_fund):
        target = fund_balance_account(chart, fund)
        name = f"{fund} fund ({SUB_FUND_NAMES[fund]})"
        if target is None:
            problems.append(
                Problem(
                    where,
                    "",
                    f"the books' chart has no 3001 一般基金结余 account of the {name}: cannot "
                    f"close its {len(by_fund[fund])} income and expense accounts",
                    "",
                    f'an account of role "{FUND_BALANCE_ROLE}", fund "{fund}", as in '
                    "ledger/chart.toml",
                )
            )
        elif target not in opened:
            problems.append(
                Problem(
                    where,
                    "",
                    f"{target}, the 3001 account of the {name}, is not open on {day}",
                    "",
                    "its open directive in accounts.beancount (written from chart.toml by "
                    "`mzledger init` with the books' settings)",
                )
            )
        else:
            targets[fund] = target
    if problems:
        return YearEndClosing(year, None, tuple(problems))
    return _closing(year, chart.currency, by_fund, targets)


def _closing(
    year: int,
    currency: str,
    by_fund: dict[str, list[tuple[str, Decimal]]],
    targets: dict[str, str],
) -> YearEndClosing:
    legs: dict[str, Decimal] = {}
    surplus = []
    for fund, closed in by_fund.items():
        net = sum((balance for _account, balance in closed), ZERO)
        for account, balance in closed:
            legs[account] = -balance
        # a chart with one 3001 account for both sub-funds gets one leg with both nets
        legs[targets[fund]] = legs.get(targets[fund], ZERO) + net
        surplus.append((fund, -net))
    postings = [
        data.Posting(account, Amount(amount, currency), None, None, None, None)
        for account, amount in sorted(legs.items())
        if amount
    ]
    meta: dict[str, object] = {"filename": "mzledger", "lineno": 0}
    narration = f"{year}年年终结账：收入、支出结转一般基金结余"
    entry = data.Transaction(
        meta,
        closing_day(year),
        "*",
        None,
        narration,
        frozenset({YEAR_END_TAG}),
        frozenset(),
        postings,
    )
    order = {fund: n for n, fund in enumerate(SUB_FUNDS)}
    return YearEndClosing(year, entry, (), tuple(sorted(surplus, key=lambda s: order[s[0]])))


def closing_text(closing: YearEndClosing) -> str:
    """The text of ``closing/<year>.beancount``; byte-for-byte reproducible."""
    if closing.entry is None:
        raise ValueError(f"{closing.year}: no closing transaction to write")
    header = (
        f";; Year-end closing (年终结账) of {closing.year}: every income and expenditure account's "
        "balance carried into 3001 一般基金结余 by sub-fund.\n"
        f";; Generated by `mzledger close {closing.year}-12 --lock` from the books: do not edit.\n"
        "\n"
    )
    return header + printer.format_entry(closing.entry)


def write_closing(books: Books, closing: YearEndClosing) -> bool:
    """Write the year's closing file, or remove one left from before when there is nothing to
    close any more; whether the books changed. The caller writes ``main.beancount`` after."""
    path = books.root / closing_file_name(closing.year)
    if closing.entry is None:
        if closing.problems or not path.exists():
            return False
        path.unlink()
        return True
    return atomic_write(path, closing_text(closing))


__all__ = [
    "YearEndClosing",
    "closing_text",
    "fund_balance_account",
    "is_closing_of",
    "unclosed_balances",
    "write_closing",
    "year_end_closing",
]
