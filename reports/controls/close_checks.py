"""The checks of the month-end close (月结检查), each ``(context) -> CloseCheck`` as Beancount
runs its plugins, in the order ``close`` runs them (``CLOSE_CHECKS``).

The context is made once per close: the books loaded once, the register, the chart, the month,
and the two findings that the summary reports beside the checks (the outstanding payments and
the bank reconciliation statements). A check reads the context and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, type_coerce

from ledger.chart import Chart
from ledger.close_order import not_closed_yet
from ledger.loading import LoadedBooks, error_text
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
    personal_part_sum,
)
from ledger.register.platform_totals import register_totals, stored_platform_totals
from reports.controls.balance_sides import wrong_sides
from reports.controls.books_vs_register import check_loaded_books
from reports.controls.platform_totals import compare
from reports.controls.reconciliation import Reconciliation
from reports.controls.summary import CloseCheck, OutstandingPayment

MAX_LISTED = 20


@dataclass(frozen=True)
class CloseContext:
    """What every check of a month's close reads."""

    books: LoadedBooks
    engine: Engine
    chart: Chart
    month: Month
    #: batches of earlier clearing periods unpaid at the month's end (``outstanding_payments``)
    outstanding: tuple[OutstandingPayment, ...]
    #: 余额调节表 of each account whose statement the close asks for (``statement_accounts``)
    reconciliations: tuple[Reconciliation, ...]


def bank_accounts(chart: Chart) -> tuple[str, str]:
    """The disbursement accounts: the pooled fund's and the personal accounts'."""
    return chart.account("bank-pooled"), chart.account("bank-personal")


def statement_accounts(engine: Engine, chart: Chart, month: Month) -> tuple[str, ...]:
    """The accounts whose statement the month's close asks for and reconciles: the
    disbursement accounts always, the fiscal special account from the month of its first
    imported statement on. Books made before its statements were imported close as before, and
    once they are imported a month without one is a gap."""
    fiscal = chart.find("fiscal-special")
    if fiscal is None:
        return bank_accounts(chart)
    with engine.connect() as conn:
        started = conn.execute(
            select(BankStatement.id)
            .where(BankStatement.account == fiscal, BankStatement.first_date <= month.last)
            .limit(1)
        ).first()
    return (*bank_accounts(chart), fiscal) if started else bank_accounts(chart)


def earlier_months_locked(context: CloseContext) -> CloseCheck:
    """Months close in order (``ledger.close_order``): every earlier month of the books is
    locked before this one can close."""
    blocking = earlier_months_open(context.books.entries, context.month)
    details = (
        (f"{not_closed_yet(blocking)} (`mzledger close {blocking[0]} --lock`)",) if blocking else ()
    )
    return CloseCheck("earlier-months-locked", not blocking, details)


def bean_check(context: CloseContext) -> CloseCheck:
    """The books load without an error, the month locks' among them."""
    errors = context.books.errors
    return CloseCheck("bean-check", not errors, tuple(error_text(e) for e in errors[:MAX_LISTED]))


def balances_on_their_side(context: CloseContext) -> CloseCheck:
    """No asset account below zero and every balance on its side (资产 debit, 负债 and 净资产
    credit) on any day up to the month's end, each wrong account named with the day it went
    wrong (``reports.controls.balance_sides``)."""
    wrong = wrong_sides(context.books.entries, context.month.last)
    details = tuple(
        f"{account}: {amount:,} on {day}, not a {side} balance"
        for account, day, amount, side in wrong[:MAX_LISTED]
    )
    return CloseCheck("balances-on-their-side", not wrong, details)


def books_vs_register(context: CloseContext) -> CloseCheck:
    """``mzledger check``'s comparison, on the books already loaded."""
    mismatches = check_loaded_books(context.books, context.engine, context.chart).mismatches
    return CloseCheck("books-vs-register", not mismatches, tuple(mismatches[:MAX_LISTED]))


def settlements_in_batches(context: CloseContext) -> CloseCheck:
    """Every settlement of the month's clearing period is in a batch."""
    month = context.month
    with context.engine.connect() as conn:
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
    details = (
        (
            f"{len(unbatched)} settlements of {month} are in no batch: "
            f"{', '.join(unbatched[:MAX_LISTED])}; `mzledger post --period {month}`",
        )
        if unbatched
        else ()
    )
    return CloseCheck("settlements-in-batches", not unbatched, details)


def held_settlements_decided(context: CloseContext) -> CloseCheck:
    """Settlements held back by an import (ledger.register.models.HeldSettlement) of this month or
    before, still waiting for a person's decision: money not yet known to be owed or not."""
    with context.engine.connect() as conn:
        waiting = conn.execute(
            select(HeldSettlement.setl_id, HeldSettlement.same_as_setl_id, HeldSettlement.hifp_pay)
            .where(
                HeldSettlement.status == "held",
                HeldSettlement.setl_period <= context.month.period,
            )
            .order_by(HeldSettlement.setl_id)
        ).all()
    return CloseCheck(
        "held-settlements-decided",
        not waiting,
        tuple(
            f"{setl_id} (same as {same_as}, pooled {pooled}) is held for a decision: "
            f"`mzledger held accept|reject {setl_id} --reason ...`"
            for setl_id, same_as, pooled in waiting[:MAX_LISTED]
        ),
    )


def batches_paid(context: CloseContext) -> CloseCheck:
    """Every batch of an earlier clearing period is paid by the month's end."""
    return CloseCheck(
        "batches-paid",
        not context.outstanding,
        tuple(
            f"^{o.batch} {o.institution}: pooled {o.pooled}, personal {o.personal} not paid by "
            f"{context.month.last}"
            for o in context.outstanding[:MAX_LISTED]
        ),
    )


def statements(context: CloseContext) -> CloseCheck:
    """A bank statement of each disbursement account covers the month, and of the fiscal special
    account once its statements are imported (``statement_accounts``)."""
    first, last = context.month.first, context.month.last
    with context.engine.connect() as conn:
        missing = [
            account
            for account in statement_accounts(context.engine, context.chart, context.month)
            if not conn.execute(
                select(BankStatement.id).where(
                    BankStatement.account == account,
                    BankStatement.first_date <= last,
                    BankStatement.last_date >= first,
                )
            ).first()
        ]
    return CloseCheck(
        "statements",
        not missing,
        tuple(f"{account}: no bank statement covers {context.month}" for account in missing),
    )


def statement_lines_decided(context: CloseContext) -> CloseCheck:
    """No statement line of the month is still to decide (``undecided``: it matched no open
    part of a batch, or more than one)."""
    with context.engine.connect() as conn:
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
                BankStatementLine.date >= context.month.first,
                BankStatementLine.date <= context.month.last,
            )
            .order_by(BankStatementLine.date, BankStatementLine.id)
        ).all()
    return CloseCheck(
        "statement-lines-decided",
        not undecided,
        tuple(f"{a} {d} {amount} {who}: {note}" for a, d, amount, who, note in undecided),
    )


def platform_totals(context: CloseContext) -> CloseCheck:
    """The register agrees with the platform's totals of the month, when they were imported;
    without them the check passes and says that nothing was compared."""
    platform = stored_platform_totals(context.engine, context.month)
    if platform is None:
        return CloseCheck(
            "platform-totals",
            True,
            (
                f"no platform totals imported for {context.month}: not compared "
                "(`mzledger import platform-totals`)",
            ),
        )
    register = register_totals(context.engine, context.month)
    differing = [c for c in compare(register, platform) if not c.agreed]
    return CloseCheck(
        "platform-totals",
        not differing,
        tuple(
            f"{'/'.join(c.key)}: "
            + ", ".join(
                f"{name} register {ours} platform {theirs}" for name, ours, theirs in c.differences
            )
            for c in differing
        ),
    )


def bank_reconciliation(context: CloseContext) -> CloseCheck:
    """Each reconciled account's adjusted balances agree (余额调节表)."""
    return CloseCheck(
        "bank-reconciliation",
        all(r.agrees for r in context.reconciliations),
        tuple(
            f"{r.account}: adjusted book balance {r.adjusted_book_balance}, adjusted bank "
            f"balance {r.adjusted_bank_balance}"
            for r in context.reconciliations
            if not r.agrees
        ),
    )


CLOSE_CHECKS: tuple[Callable[[CloseContext], CloseCheck], ...] = (
    earlier_months_locked,
    bean_check,
    balances_on_their_side,
    books_vs_register,
    settlements_in_batches,
    held_settlements_decided,
    batches_paid,
    statements,
    statement_lines_decided,
    platform_totals,
    bank_reconciliation,
)


def outstanding_payments(engine: Engine, month: Month) -> tuple[OutstandingPayment, ...]:
    """Batches of earlier clearing periods not paid by the month's end, with what is owed.

    A clearing period is cleared and paid in the month after it (the demo pays on the 10th), so
    closing January asks that December's batches be paid; January's own are next month's."""
    paid_by_then = select(Posting.batch_id).where(Posting.paid_on <= month.last)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ClearingBatch.link,
                Institution.name,
                type_coerce(func.sum(SettlementTotal.hifp_pay), Money),
                type_coerce(personal_part_sum(SettlementTotal), Money),
            )
            .join(SettlementTotal, totals_member(SettlementTotal, ClearingBatch))
            .join(Institution, Institution.code == ClearingBatch.fixmedins_code)
            .where(
                ClearingBatch.period < month.period,
                ClearingBatch.id.not_in(paid_by_then),
            )
            .group_by(ClearingBatch.link, Institution.name)
            .order_by(ClearingBatch.link)
        ).all()
    return tuple(
        OutstandingPayment(link, name, f"{pooled:.2f}", f"{personal:.2f}")
        for link, name, pooled, personal in rows
        if pooled != ZERO or personal != ZERO
    )
