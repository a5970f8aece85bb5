"""The fiscal special account's statement (财政专户对账单, 1003) against the register: each line
judged by ``postings.payments.decide_fiscal`` with what the books already hold; and the
transfers a disbursement account's statement finds booked by the fiscal special account's.

A transfer between 1003 and a disbursement account is on both statements and booked once, from
whichever statement comes first; the other one's line is kept as ``matched-transfer``, pointing
at the booking line (``matched_line_id``). A contribution receipt is booked by ``import
contributions`` (the register's collection files) and matched to its file here
(``matched_file_id``). What a booked line is booked against (``bank_line_legs``) is fixed at
its import: an entry added to the books later does not move an interest split made then.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from beancount.core.amount import Amount
from sqlalchemy import Connection, func, select, type_coerce
from sqlalchemy.orm import aliased

from ledger.books import Books
from ledger.chart import FUND_OF_BANK, SUB_FUNDS, Chart, sub_fund_of
from ledger.money import ZERO
from ledger.register.models import (
    BankLineLeg,
    BankStatement,
    BankStatementLine,
    ContributionRow,
    ImportedFile,
    Money,
)
from ledger.statements import Statement, StatementLine
from postings.payments import BookedTransfer, FiscalDecision, Legs, Line, Receipt, decide_fiscal

#: The roots whose accounts make a sub-fund's net assets (一般基金结余: 3001, income,
#: expenditure), each account's sub-fund its second level (``ledger.chart.sub_fund_of``).
NET_ASSET_ROOTS = ("Equity", "Income", "Expenses")


def net_assets_before(
    entries: Iterable[data.Directive], day: datetime.date, currency: str
) -> dict[str, Decimal]:
    """Each sub-fund's net assets at the end of the day before ``day``, credit positive."""
    totals = dict.fromkeys(SUB_FUNDS, ZERO)
    for entry in entries:
        if isinstance(entry, data.Transaction) and entry.date < day:
            _add_legs(totals, ((p.account, p.units) for p in entry.postings), currency)
    return totals


def _add_legs(
    totals: dict[str, Decimal], legs: Iterable[tuple[str, object]], currency: str
) -> None:
    for account, units in legs:
        fund = sub_fund_of(account)
        if fund is None or account.split(":", 1)[0] not in NET_ASSET_ROOTS:
            continue
        if isinstance(units, Decimal):
            totals[fund] -= units
        elif isinstance(units, Amount) and units.currency == currency:
            totals[fund] -= units.number or ZERO


def unmatched_receipts(conn: Connection) -> list[Receipt]:
    """The books' contributions receipts (one per collection file and day received) that no
    line of the fiscal special account has matched yet, oldest first."""
    matched = select(BankStatementLine.matched_file_id).where(
        BankStatementLine.matched_file_id.is_not(None)
    )
    rows = conn.execute(
        select(
            ContributionRow.file_id,
            ImportedFile.name,
            ContributionRow.received_on,
            type_coerce(func.sum(ContributionRow.employer), Money).label("employer"),
            type_coerce(func.sum(ContributionRow.employee), Money).label("employee"),
        )
        .join(ImportedFile, ImportedFile.id == ContributionRow.file_id)
        .where(ContributionRow.file_id.not_in(matched))
        .group_by(ContributionRow.file_id, ImportedFile.name, ContributionRow.received_on)
        .order_by(ContributionRow.received_on, ContributionRow.file_id)
    ).all()
    return [
        Receipt(r.file_id, Path(r.name).name, r.received_on, r.employer + r.employee) for r in rows
    ]


def unmatched_transfers(
    conn: Connection, chart: Chart, *, from_fiscal: bool
) -> list[BookedTransfer]:
    """Transfers between the fiscal special account and a disbursement account booked from one
    statement's line and not matched by the other's yet: booked from the fiscal special
    account's lines (``from_fiscal``; the disbursement account is the leg's) or from the
    disbursement accounts' (their own line), oldest first."""
    matching = aliased(BankStatementLine)
    matched = select(matching.matched_line_id).where(matching.matched_line_id.is_not(None))
    line = BankStatementLine
    fiscal = chart.find("fiscal-special")
    if from_fiscal and fiscal is None:
        return []
    if from_fiscal:
        account, amount = BankLineLeg.account, BankLineLeg.amount
        where = line.account == fiscal
    else:
        account, amount = line.account, line.amount
        where = line.account.in_([chart.account(role) for role in FUND_OF_BANK])
    query = (
        select(line.id, account.label("to"), line.date, amount.label("amount"), line.line)
        .add_columns(ImportedFile.name)
        .join(BankStatement, BankStatement.id == line.statement_id)
        .join(ImportedFile, ImportedFile.id == BankStatement.file_id)
        .where(where, line.kind == "fiscal-transfer", line.id.not_in(matched))
        .order_by(line.date, line.id)
    )
    if from_fiscal:
        query = query.join(BankLineLeg, BankLineLeg.line_id == line.id)
    return [
        BookedTransfer(r.id, r.to, r.date, r.amount, f"{Path(r.name).name}:{r.line}")
        for r in conn.execute(query)
    ]


def fiscal_decisions(
    conn: Connection,
    books: Books,
    chart: Chart,
    statement: Statement,
    *,
    receives_contributions: bool = True,
) -> list[FiscalDecision]:
    """Each line of the fiscal special account's statement judged, in order: a receipt or a
    transfer matched once is not matched again by a later line; an interest split reads the
    books (loaded once, when a line needs it) and this statement's lines booked before its day.
    ``receives_contributions``: the books receive contributions into 1003 (not 1005 国库存款)."""
    receipts = unmatched_receipts(conn) if receives_contributions else None
    transfers = unmatched_transfers(conn, chart, from_fiscal=False)
    decided: list[tuple[StatementLine, FiscalDecision]] = []
    loaded: list[Sequence[data.Directive]] = []

    def net_assets(day: datetime.date) -> tuple[Decimal, Decimal]:
        if not loaded:
            from ledger.loading import load_books

            loaded.append(load_books(books.main).entries)
        totals = net_assets_before(loaded[0], day, chart.currency)
        for earlier, decision in decided:
            if earlier.date < day:
                _add_legs(totals, decision.legs, chart.currency)
        return totals["pooled"], totals["personal"]

    for line in statement.lines:
        decision = decide_fiscal(_line(line), chart, receipts, transfers, net_assets)
        if receipts is not None:
            receipts = [r for r in receipts if r.file_id != decision.matched_file_id]
        transfers = [t for t in transfers if t.line_id != decision.matched_line_id]
        decided.append((line, decision))
    return [decision for _line_, decision in decided]


def matched_fiscal_booking(
    line: StatementLine, account: str, booked: Sequence[BookedTransfer]
) -> BookedTransfer | None:
    """The fiscal special account's booking of a transfer into ``account`` that this line of
    the account's own statement shows (same day and amount), if it booked one."""
    for transfer in booked:
        if (transfer.account, transfer.date, transfer.amount) == (account, line.date, line.amount):
            return transfer
    return None


def line_legs(conn: Connection, line_ids: Sequence[int]) -> dict[int, Legs]:
    """The legs each of these lines was booked against (fiscal special account's lines)."""
    legs: dict[int, list[tuple[str, Decimal]]] = {}
    if line_ids:
        rows = conn.execute(
            select(BankLineLeg.line_id, BankLineLeg.account, BankLineLeg.amount)
            .where(BankLineLeg.line_id.in_(line_ids))
            .order_by(BankLineLeg.id)
        )
        for line_id, account, amount in rows:
            legs.setdefault(line_id, []).append((account, amount))
    return {line_id: tuple(found) for line_id, found in legs.items()}


def _line(line: StatementLine) -> Line:
    return Line(
        line.line,
        line.date,
        line.amount,
        line.counterparty,
        line.summary,
        line.reference,
        line.counterparty_account,
    )
