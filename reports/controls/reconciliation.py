"""The bank reconciliation statement (银行存款余额调节表) of a bank account at a month's end: the
books' balance and the bank's, and the items on one side only.

A posting to a disbursement account is on the bank when its transaction names a statement line
(``bank_line`` metadata) or is a batch whose payment a statement line of the account shows. A
posting to the fiscal special account (1003) is on the bank when a decided line of its own
statements has its day and amount, each line one posting: its contributions are booked from
the collection files and its transfers may be booked from a disbursement account's line, so
``bank_line`` does not say that 1003's statement shows them. The opening balances (``#opening``)
are the balance brought forward, in the first statement's opening balance. A statement line
nobody booked (``undecided``) is on the bank only. Each balance adjusted by the other side's
items must agree.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from sqlalchemy import Connection, Engine, select

from ledger.money import ZERO
from ledger.opening import OPENING_TAG
from ledger.register.models import BankStatementLine, ClearingBatch
from reports.controls.summary import ReconciliationSummary


@dataclass(frozen=True)
class Reconciliation:
    """余额调节表 of one disbursement account at the month's end."""

    account: str
    book_balance: Decimal
    bank_balance: Decimal | None  # None: no statement reaches the month
    bank_not_in_books: tuple[tuple[str, Decimal], ...]  # (what, amount): lines nobody booked
    books_not_in_bank: tuple[tuple[str, Decimal], ...]  # booked, not (yet) on the bank

    @property
    def adjusted_book_balance(self) -> Decimal:
        return self.book_balance + sum((a for _w, a in self.bank_not_in_books), ZERO)

    @property
    def adjusted_bank_balance(self) -> Decimal | None:
        if self.bank_balance is None:
            return None
        return self.bank_balance - sum((a for _w, a in self.books_not_in_bank), ZERO)

    @property
    def agrees(self) -> bool:
        return self.adjusted_bank_balance == self.adjusted_book_balance

    def summary(self) -> ReconciliationSummary:
        """As the close summary keeps it: money as text with two decimals."""
        return ReconciliationSummary(
            account=self.account,
            book_balance=_money(self.book_balance),
            bank_balance=_money(self.bank_balance),
            bank_not_in_books=tuple((w, _money(a)) for w, a in self.bank_not_in_books),
            books_not_in_bank=tuple((w, _money(a)) for w, a in self.books_not_in_bank),
            adjusted_book_balance=_money(self.adjusted_book_balance),
            adjusted_bank_balance=_money(self.adjusted_bank_balance),
            agrees=self.agrees,
        )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def reconcile(
    entries: Sequence[data.Directive],
    engine: Engine,
    account: str,
    last: datetime.date,
    *,
    by_line: bool = False,
) -> Reconciliation:
    """The statement of ``account`` on ``last``, from the books' entries and the register's
    statement lines; ``by_line``: a posting is on the bank when a decided line of the account
    has its day and amount (the fiscal special account)."""
    with engine.connect() as conn:
        on_bank, bank_balance, bank_only = _bank_side(conn, account, last)
        lines = Counter(_decided_lines(conn, account, last)) if by_line else Counter()
    book_balance = ZERO
    books_only: list[tuple[str, Decimal]] = []
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > last:
            continue
        for posting in entry.postings:
            if posting.account != account or posting.units is None:
                continue
            amount = posting.units.number or ZERO
            book_balance += amount
            if OPENING_TAG in entry.tags:
                backed = True  # brought forward: the first statement's opening balance
            elif by_line:
                backed = lines[entry.date, amount] > 0
                lines[entry.date, amount] -= 1
            else:
                backed = "bank_line" in entry.meta or any(link in on_bank for link in entry.links)
            if not backed:
                books_only.append((f"{entry.date} {entry.payee or ''} {entry.narration}", amount))
    return Reconciliation(account, book_balance, bank_balance, bank_only, tuple(books_only))


def _decided_lines(
    conn: Connection, account: str, last: datetime.date
) -> list[tuple[datetime.date, Decimal]]:
    """(day, amount) of each line of the account's statements by ``last`` not left to decide."""
    rows = conn.execute(
        select(BankStatementLine.date, BankStatementLine.amount).where(
            BankStatementLine.account == account,
            BankStatementLine.kind != "undecided",
            BankStatementLine.date <= last,
        )
    )
    return [(day, amount) for day, amount in rows]


def _bank_side(
    conn: Connection, account: str, last: datetime.date
) -> tuple[set[str], Decimal | None, tuple[tuple[str, Decimal], ...]]:
    """The links of the batches the bank paid by ``last``, its balance then (None without a
    line by then), and its lines nobody booked."""
    on_bank = set(
        conn.execute(
            select(ClearingBatch.link)
            .join(BankStatementLine, BankStatementLine.batch_id == ClearingBatch.id)
            .where(
                BankStatementLine.account == account,
                BankStatementLine.kind == "batch-payment",
                BankStatementLine.date <= last,
            )
        ).scalars()
    )
    balance_row = conn.execute(
        select(BankStatementLine.balance)
        .where(BankStatementLine.account == account, BankStatementLine.date <= last)
        .order_by(BankStatementLine.date.desc(), BankStatementLine.id.desc())
        .limit(1)
    ).first()
    bank_only = conn.execute(
        select(BankStatementLine.date, BankStatementLine.counterparty, BankStatementLine.amount)
        .where(
            BankStatementLine.account == account,
            BankStatementLine.kind == "undecided",
            BankStatementLine.date <= last,
        )
        .order_by(BankStatementLine.date, BankStatementLine.id)
    ).all()
    return (
        on_bank,
        None if balance_row is None else balance_row[0],
        tuple((f"{d} {who}", amount) for d, who, amount in bank_only),
    )
