"""Balances that can be signed (余额方向): no asset account below zero, every balance on its
side, on any day up to the month's end.

The 2017 system gives each element its side: 资产 a debit balance, 负债 and 净资产 a credit
balance (a 支出户存款 overdrawn or a fund balance in debit is not a balance the agency can sign).
Beancount's signs: a debit balance is positive, a credit balance negative. A day's balance is
the one after all of that day's entries (their order within a day is not the bank's).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from beancount.core import data

#: The root of each element and the sign its balance must not take.
SIDES = {"Assets": ("debit", 1), "Liabilities": ("credit", -1), "Equity": ("credit", -1)}


def wrong_sides(
    entries: Iterable[data.Directive], until: datetime.date
) -> list[tuple[str, datetime.date, Decimal, str]]:
    """(account, first day its balance was on the wrong side, that balance, its side), for
    each account that went wrong by ``until``, in account order."""
    balances: dict[str, Decimal] = {}
    first_wrong: dict[str, tuple[datetime.date, Decimal]] = {}
    day: datetime.date | None = None
    touched: set[str] = set()

    def close_day() -> None:
        for account in touched:
            _side, sign = SIDES[account.split(":", 1)[0]]
            if balances[account] * sign < 0 and account not in first_wrong and day is not None:
                first_wrong[account] = (day, balances[account])
        touched.clear()

    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > until:
            continue
        if entry.date != day:
            close_day()
            day = entry.date
        for posting in entry.postings:
            root = posting.account.split(":", 1)[0]
            if root not in SIDES or posting.units is None:
                continue
            number = posting.units.number
            if isinstance(number, Decimal):
                balances[posting.account] = balances.get(posting.account, Decimal(0)) + number
                touched.add(posting.account)
    close_day()
    return [
        (account, when, amount, SIDES[account.split(":", 1)[0]][0])
        for account, (when, amount) in sorted(first_wrong.items())
    ]


__all__ = ["SIDES", "wrong_sides"]
