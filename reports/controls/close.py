"""Month-end close (月结): every check a month must pass, the bank reconciliation statement
(余额调节表), the month's outstanding payments, and a machine-readable verdict.

The month is a books month: entries dated in it (cash basis). Checks that fail keep the month
open, among them an earlier month of the books not locked yet (months close in order, see
``ledger.close_order``) and batches of earlier clearing periods still unpaid at the month's end
(the month's outstanding payments, listed with their amounts).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data
from sqlalchemy import Connection, Engine, func, select, type_coerce

from ledger.chart import Chart
from ledger.close_order import not_closed_yet
from ledger.loading import error_text
from ledger.locks import earlier_months_open
from ledger.money import ZERO
from ledger.month import Month
from ledger.register.batching import totals_member, totals_unbatched
from ledger.register.batching import unbatched as in_no_batch
from ledger.register.models import (
    BankStatement,
    BankStatementLine,
    ClearingBatch,
    HeldSettlement,
    Institution,
    Money,
    Posting,
    Settlement,
    SettlementTotal,
)
from ledger.register.platform_totals import register_totals, stored_platform_totals
from reports.controls.books_vs_register import check_books
from reports.controls.platform_totals import compare

MAX_LISTED = 20


@dataclass
class CloseCheck:
    name: str
    ok: bool
    details: list[str] = field(default_factory=list)


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


@dataclass
class CloseResult:
    month: Month
    checks: list[CloseCheck] = field(default_factory=list)
    reconciliations: list[Reconciliation] = field(default_factory=list)
    outstanding: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def summary_json(self) -> str:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else f"{value:.2f}"

        body: dict[str, Any] = {
            "month": str(self.month),
            "can_close": self.ok,
            "checks": [asdict(c) for c in self.checks],
            "reconciliation": [
                {
                    "account": r.account,
                    "book_balance": money(r.book_balance),
                    "bank_balance": money(r.bank_balance),
                    "bank_not_in_books": [[w, money(a)] for w, a in r.bank_not_in_books],
                    "books_not_in_bank": [[w, money(a)] for w, a in r.books_not_in_bank],
                    "adjusted_book_balance": money(r.adjusted_book_balance),
                    "adjusted_bank_balance": money(r.adjusted_bank_balance),
                    "agrees": r.agrees,
                }
                for r in self.reconciliations
            ],
            "outstanding_payments": self.outstanding,
        }
        return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def close_month(main_file: Path, engine: Engine, chart: Chart, month: Month) -> CloseResult:
    first, last = month.first, month.last
    result = CloseResult(month)
    entries, errors, _options = loader.load_file(str(main_file))
    result.checks.append(_earlier_months_locked(entries, month))
    result.checks.append(
        CloseCheck("bean-check", not errors, [error_text(e) for e in errors[:MAX_LISTED]])
    )
    mismatches = check_books(main_file, engine, chart).mismatches
    result.checks.append(CloseCheck("books-vs-register", not mismatches, mismatches[:MAX_LISTED]))
    with engine.connect() as conn:
        # the totals say whether any is outside a batch; only then are they named
        outside = conn.execute(
            select(SettlementTotal.id)
            .where(totals_unbatched(SettlementTotal, month.period))
            .limit(1)
        ).first()
        unbatched: list[str] = (
            list(
                conn.execute(
                    select(Settlement.setl_id)
                    .where(in_no_batch(Settlement, month.period))
                    .order_by(Settlement.setl_id)
                ).scalars()
            )
            if outside is not None
            else []
        )
        result.checks.append(
            CloseCheck(
                "settlements-in-batches",
                not unbatched,
                [
                    f"{len(unbatched)} settlements of {month} are in no batch: "
                    f"{', '.join(unbatched[:MAX_LISTED])}; `mzledger post --period {month}`"
                ]
                if unbatched
                else [],
            )
        )
        result.checks.append(_held_decided(conn, month))
        result.outstanding = _outstanding(engine, first, last)
        result.checks.append(
            CloseCheck(
                "batches-paid",
                not result.outstanding,
                [
                    f"^{o['batch']} {o['institution']}: pooled {o['pooled']}, personal "
                    f"{o['personal']} not paid by {last}"
                    for o in result.outstanding[:MAX_LISTED]
                ],
            )
        )
        banks = [chart.account("bank-pooled"), chart.account("bank-personal")]
        missing = [
            account
            for account in banks
            if not conn.execute(
                select(BankStatement.id).where(
                    BankStatement.account == account,
                    BankStatement.first_date <= last,
                    BankStatement.last_date >= first,
                )
            ).first()
        ]
        result.checks.append(
            CloseCheck(
                "statements",
                not missing,
                [f"{account}: no bank statement covers {month}" for account in missing],
            )
        )
        undecided = conn.execute(
            select(
                BankStatementLine.account,
                BankStatementLine.date,
                BankStatementLine.amount,
                BankStatementLine.counterparty,
                BankStatementLine.note,
            )
            .where(
                BankStatementLine.kind == "undecided",
                BankStatementLine.date >= first,
                BankStatementLine.date <= last,
            )
            .order_by(BankStatementLine.date, BankStatementLine.id)
        ).all()
        result.checks.append(
            CloseCheck(
                "statement-lines-decided",
                not undecided,
                [f"{a} {d} {amount} {who}: {note}" for a, d, amount, who, note in undecided],
            )
        )
    platform = stored_platform_totals(engine, month)
    if platform is None:
        result.checks.append(
            CloseCheck(
                "platform-totals",
                True,
                [
                    f"no platform totals imported for {month}: not compared "
                    "(`mzledger import platform-totals`)"
                ],
            )
        )
    else:
        differing = [c for c in compare(register_totals(engine, month), platform) if not c.agreed]
        result.checks.append(
            CloseCheck(
                "platform-totals",
                not differing,
                [
                    f"{'/'.join(c.key)}: "
                    + ", ".join(
                        f"{name} register {ours} platform {theirs}"
                        for name, ours, theirs in c.differences
                    )
                    for c in differing
                ],
            )
        )
    result.reconciliations = [_reconcile(entries, engine, account, last) for account in banks]
    result.checks.append(
        CloseCheck(
            "bank-reconciliation",
            all(r.agrees for r in result.reconciliations),
            [
                f"{r.account}: adjusted book balance {r.adjusted_book_balance}, adjusted bank "
                f"balance {r.adjusted_bank_balance}"
                for r in result.reconciliations
                if not r.agrees
            ],
        )
    )
    return result


def _held_decided(conn: Connection, month: Month) -> CloseCheck:
    """Settlements held back by an import (ledger.register.models.HeldSettlement) of this month or
    before, still waiting for a person's decision: money not yet known to be owed or not."""
    waiting = conn.execute(
        select(HeldSettlement.setl_id, HeldSettlement.same_as_setl_id, HeldSettlement.hifp_pay)
        .where(HeldSettlement.status == "held", HeldSettlement.setl_period <= month.period)
        .order_by(HeldSettlement.setl_id)
    ).all()
    return CloseCheck(
        "held-settlements-decided",
        not waiting,
        [
            f"{setl_id} (same as {same_as}, pooled {pooled}) is held for a decision: "
            f"`mzledger held accept|reject {setl_id} --reason ...`"
            for setl_id, same_as, pooled in waiting[:MAX_LISTED]
        ],
    )


def _earlier_months_locked(entries: list[data.Directive], month: Month) -> CloseCheck:
    """Months close in order (``ledger.close_order``): every earlier month of the books is
    locked before this one can close."""
    blocking = earlier_months_open(entries, month)
    details = (
        [f"{not_closed_yet(blocking)} (`mzledger close {blocking[0]} --lock`)"] if blocking else []
    )
    return CloseCheck("earlier-months-locked", not blocking, details)


def _outstanding(engine: Engine, first: datetime.date, last: datetime.date) -> list[dict[str, str]]:
    """Batches of earlier clearing periods not paid by the month's end, with what is owed.

    A clearing period is cleared and paid in the month after it (the demo pays on the 10th), so
    closing January asks that December's batches be paid; January's own are next month's."""
    paid_by_then = select(Posting.batch_id).where(Posting.paid_on <= last)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ClearingBatch.link,
                Institution.name,
                type_coerce(func.sum(SettlementTotal.hifp_pay), Money),
                type_coerce(
                    func.sum(SettlementTotal.acct_pay) + func.sum(SettlementTotal.acct_mulaid_pay),
                    Money,
                ),
            )
            .join(SettlementTotal, totals_member(SettlementTotal, ClearingBatch))
            .join(Institution, Institution.code == ClearingBatch.fixmedins_code)
            .where(
                ClearingBatch.period < Month.of(first).period,
                ClearingBatch.id.not_in(paid_by_then),
            )
            .group_by(ClearingBatch.link, Institution.name)
            .order_by(ClearingBatch.link)
        ).all()
    return [
        {
            "batch": link,
            "institution": name,
            "pooled": f"{pooled:.2f}",
            "personal": f"{personal:.2f}",
        }
        for link, name, pooled, personal in rows
        if pooled != ZERO or personal != ZERO
    ]


def _reconcile(
    entries: list[data.Directive], engine: Engine, account: str, last: datetime.date
) -> Reconciliation:
    with engine.connect() as conn:
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
            backed = "bank_line" in entry.meta or any(link in on_bank for link in entry.links)
            if not backed:
                books_only.append((f"{entry.date} {entry.payee or ''} {entry.narration}", amount))
    return Reconciliation(
        account,
        book_balance,
        None if balance_row is None else balance_row[0],
        tuple((f"{d} {who}", amount) for d, who, amount in bank_only),
        tuple(books_only),
    )
