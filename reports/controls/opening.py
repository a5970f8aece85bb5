"""The books' opening balances against the register's (期初余额核对), for ``check`` and ``close``.

The register holds the trial balance ``import opening-balances`` took; the books must carry it
as exactly one ``#opening`` transaction, dated as registered, with the same amount on every
account: a hand edit of ``opening.beancount`` or a stale file shows up here.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from beancount.core import data
from sqlalchemy import Engine

from ledger.opening import OPENING_TAG
from postings.opening import opening_lines


def opening_vs_register(entries: Sequence[data.Directive], engine: Engine) -> list[str]:
    """What differs between the books' opening transaction and the register's balances."""
    booked_on, lines = opening_lines(engine)
    found = [e for e in entries if isinstance(e, data.Transaction) and OPENING_TAG in e.tags]
    if booked_on is None:
        if not found:
            return []
        return [f"opening balances: {len(found)} #opening transactions, none in the register"]
    if len(found) != 1:
        return [f"opening balances: {len(found)} #opening transactions in the books, expected 1"]
    entry = found[0]
    problems = []
    if entry.date != booked_on:
        problems.append(f"opening balances: booked on {entry.date}, the register says {booked_on}")
    books: dict[str, Decimal] = {}
    for posting in entry.postings:
        if posting.units is not None and isinstance(posting.units.number, Decimal):
            books[posting.account] = books.get(posting.account, Decimal(0)) + posting.units.number
    register = {line.account: line.balance for line in lines if line.balance}
    for account in sorted(set(books) | set(register)):
        mine, theirs = books.get(account, Decimal(0)), register.get(account, Decimal(0))
        if mine != theirs:
            problems.append(f"opening balances: {account}: books {mine}, register {theirs}")
    return problems


__all__ = ["opening_vs_register"]
