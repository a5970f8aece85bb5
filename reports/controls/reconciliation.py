"""The bank reconciliation statement (银行存款余额调节表) of a bank account at a month's end: the
books' balance and the bank's, and the items on one side only.

A posting to the account is on the bank when its transaction was booked from one of the
account's own statement lines (``bank_line`` metadata naming it), is a batch whose payment a
line of the account shows, or is what a line of the account was matched to instead of booking
it (a contribution receipt, a transfer booked from the other account's statement: a line of the
same day and amount, each line one posting). The opening balances (``#opening``) are the balance
brought forward, in the first statement's opening balance. A statement line nobody booked
(``undecided``) is on the bank only. Each balance adjusted by the other side's items must agree.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from sqlalchemy import Connection, Engine, select

from ledger.money import ZERO
from ledger.opening import OPENING_TAG
from ledger.register.batching import paying_lines
from ledger.register.models import BankStatement, BankStatementLine, ClearingBatch, ImportedFile
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


#: Lines kept as booked elsewhere: by ``import contributions``, or from the other account's
#: statement line (``postings.fiscal_import``).
MATCHED_KINDS = ("contribution", "matched-transfer")


def reconcile(
    entries: Sequence[data.Directive], engine: Engine, account: str, last: datetime.date
) -> Reconciliation:
    """The statement of ``account`` on ``last``, from the books' entries and the register's
    statement lines."""
    with engine.connect() as conn:
        on_bank, bank_balance, bank_only = _bank_side(conn, account, last)
        own, matched = _lines_shown(conn, account, last)
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
            backed = (
                OPENING_TAG in entry.tags  # brought forward: the first statement's opening
                or entry.meta.get("bank_line") in own
                or any(link in on_bank for link in entry.links)
                or _take(matched, (entry.date, amount))
            )
            if not backed:
                books_only.append((f"{entry.date} {entry.payee or ''} {entry.narration}", amount))
    return Reconciliation(account, book_balance, bank_balance, bank_only, tuple(books_only))


def _take(
    lines: Counter[tuple[datetime.date, Decimal]], key: tuple[datetime.date, Decimal]
) -> bool:
    if lines[key] <= 0:
        return False
    lines[key] -= 1
    return True


def _lines_shown(
    conn: Connection, account: str, last: datetime.date
) -> tuple[set[str], Counter[tuple[datetime.date, Decimal]]]:
    """The account's decided lines by ``last``: as ``bank_line`` names them (file:line), and
    the (day, amount) of those matched to a booking made elsewhere."""
    rows = conn.execute(
        select(
            BankStatementLine.date,
            BankStatementLine.amount,
            BankStatementLine.kind,
            BankStatementLine.line,
            ImportedFile.name,
        )
        .join(BankStatement, BankStatement.id == BankStatementLine.statement_id)
        .join(ImportedFile, ImportedFile.id == BankStatement.file_id)
        .where(
            BankStatementLine.account == account,
            BankStatementLine.kind != "undecided",
            BankStatementLine.date <= last,
        )
    ).all()
    own = {f"{Path(name).name}:{line}" for _d, _a, _k, line, name in rows}
    matched = Counter((day, amount) for day, amount, kind, _l, _n in rows if kind in MATCHED_KINDS)
    return own, matched


def _bank_side(
    conn: Connection, account: str, last: datetime.date
) -> tuple[set[str], Decimal | None, tuple[tuple[str, Decimal], ...]]:
    """The links of the batches the bank paid by ``last``, its balance then (None without a
    line by then), and its lines nobody booked."""
    paying = paying_lines()
    on_bank = set(
        conn.execute(
            select(ClearingBatch.link)
            .join(paying, paying.c.batch_id == ClearingBatch.id)
            .join(BankStatementLine, BankStatementLine.id == paying.c.line_id)
            .where(BankStatementLine.account == account, BankStatementLine.date <= last)
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
