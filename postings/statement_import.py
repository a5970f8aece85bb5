"""``mzledger import statement``: a bank statement of a disbursement account or of the fiscal
special account into the register and the books, in one database transaction, refused whole
when anything is wrong with the file.

A disbursement account's lines are judged by ``postings.payments.decide``; batches whose parts
are all matched are booked on the bank's date. The fiscal special account's are judged by
``decide_fiscal`` (``postings.fiscal_import``). The bank's own entries (transfers between the
fiscal special account and the disbursement accounts, booked once, interest, charges, the fiscal
special account's other income and transfers) and the statement's closing balance (a
``balance`` assertion on the day after its last date) go to ``bank/YYYY-MM.beancount``,
generated from the register.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from beancount.parser import printer
from sqlalchemy import Connection, Engine, func, insert, select, type_coerce

from ledger.books import Books, BooksConfig, atomic_write, lock_entries, write_main
from ledger.chart import FUND_OF_BANK, Chart
from ledger.locks import locked_months
from ledger.money import ZERO
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.batching import paying_lines, totals_member
from ledger.register.imported_files import earlier_import, record_file
from ledger.register.models import (
    AgencyPaymentBatch,
    BankLineLeg,
    BankStatement,
    BankStatementLine,
    ClearingBatch,
    ImportedFile,
    Institution,
    Money,
    Posting,
    SettlementTotal,
    personal_part_sum,
)
from ledger.statements import Statement, StatementLine
from postings.batches import summarize
from postings.fiscal_import import (
    fiscal_decisions,
    line_legs,
    matched_fiscal_booking,
    unmatched_transfers,
)
from postings.payments import (
    BankEntry,
    Decision,
    Legs,
    Line,
    OpenPart,
    bank_directives,
    decide,
)
from postings.period import pay_batches, render_period

#: The kinds of line booked in ``bank/YYYY-MM.beancount`` (a batch payment books its batch's
#: voucher; a matched line was booked from elsewhere; an undecided one waits).
BOOKED_KINDS = (
    "fiscal-transfer",
    "interest",
    "bank-charge",
    "fiscal-subsidy",
    "transfer-in",
    "transfer-out",
    "recovery",
    "remote-advance",
    "from-treasury",
)


@dataclass
class StatementResult:
    account: str
    already_imported: bool = False
    problems: list[Problem] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    undecided: list[str] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)  # links of batches booked by this statement


def _part(fund: str) -> object:
    """A fund's part of a batch, summed over its settlement_totals rows."""
    if fund == "pooled":
        return func.sum(SettlementTotal.hifp_pay)
    return personal_part_sum(SettlementTotal)


def open_parts(conn: Connection, account: str, fund: str) -> list[OpenPart]:
    """The batches' parts payable from ``account`` that no bank line has matched yet."""
    paying = paying_lines()
    matched = (
        select(paying.c.batch_id)
        .join(BankStatementLine, BankStatementLine.id == paying.c.line_id)
        .where(BankStatementLine.account == account)
    )
    rows = conn.execute(
        select(
            ClearingBatch.id,
            ClearingBatch.link,
            ClearingBatch.fixmedins_code,
            Institution.name,
            type_coerce(_part(fund), Money).label("part"),
            Posting.paid_on,
            ClearingBatch.clr_optins,
            ClearingBatch.period,
        )
        .join(SettlementTotal, totals_member(SettlementTotal, ClearingBatch))
        .join(Institution, Institution.code == ClearingBatch.fixmedins_code)
        .outerjoin(Posting, Posting.batch_id == ClearingBatch.id)
        .where(ClearingBatch.id.not_in(matched))
        .group_by(
            ClearingBatch.id,
            ClearingBatch.link,
            ClearingBatch.fixmedins_code,
            Institution.name,
            Posting.paid_on,
            ClearingBatch.clr_optins,
            ClearingBatch.period,
        )
        .order_by(ClearingBatch.id)
    ).all()
    return [
        OpenPart(
            row.id,
            row.link,
            row.fixmedins_code,
            row.name,
            row.part,
            row.paid_on,
            row.clr_optins,
            row.period,
        )
        for row in rows
        if row.part != ZERO
    ]


def import_statement(
    engine: Engine,
    books: Books,
    config: BooksConfig,
    chart: Chart,
    statement: Statement,
    sha256: str,
    account: str,
    *,
    user: str | None = None,
) -> StatementResult:
    """Judge and keep the statement's lines, book the batches they pay and the bank's own
    entries; refused (the result's problems, nothing written) when ``account`` is not a
    disbursement account or the fiscal special account, a line falls in a locked month, or the
    file came as another kind."""
    result = StatementResult(account)
    # a chart without a fiscal special account refuses its statement as any other account
    found = {role: chart.find(role) for role in (*FUND_OF_BANK, "fiscal-special")}
    roles = {name: role for role, name in found.items() if name is not None}
    problem = _refusal(books, statement, account, roles)
    if problem is not None:
        result.problems.append(problem)
        return result
    with engine.begin() as conn:
        earlier = earlier_import(conn, sha256)
        if earlier == "statement":
            result.already_imported = True
            return result
        if earlier is not None:
            result.problems.append(
                Problem(
                    str(statement.path),
                    "",
                    "imported before as another kind of file",
                    earlier,
                    "a bank statement",
                )
            )
            return result
        statement_id = _record_statement(conn, statement, sha256, account, user)
        if roles[account] == "fiscal-special":
            receives = config.receiving_role == "fiscal-special"
            _keep_fiscal_lines(conn, books, chart, statement, statement_id, result, receives)
            periods: set[str] = set()
        else:
            fund = FUND_OF_BANK[roles[account]]
            matched = _keep_lines(conn, chart, statement, statement_id, fund, result)
            periods = _book_paid_batches(conn, chart, matched, result, user)
        _render_books(conn, books, config, chart, statement, periods)
    return result


def _refusal(
    books: Books, statement: Statement, account: str, roles: dict[str, str]
) -> Problem | None:
    """Why the statement cannot be imported before the register is read, if it cannot."""
    if account not in roles:
        return Problem(
            "",
            "account",
            "not a disbursement account or the fiscal special account of the chart",
            account,
            " or ".join(sorted(roles)),
        )
    locked = locked_months(lock_entries(books))  # the locks file alone
    touched = {Month.of(line.date) for line in statement.lines}
    if touched & locked:
        months = ", ".join(map(str, sorted(touched & locked)))
        message = f"lines dated in {months}, which is locked (locks.beancount): reopen it first"
        return Problem(str(statement.path), "", message)
    return None


def _keep_lines(
    conn: Connection,
    chart: Chart,
    statement: Statement,
    statement_id: int,
    fund: str,
    result: StatementResult,
) -> list[int]:
    """Judge each line against the open batch parts and keep it with its decision; returns
    the batches whose part a line paid, in line order. A transfer in that the fiscal special
    account's statement booked already is matched to that booking, not booked again."""
    account = result.account
    parts = open_parts(conn, account, fund)
    booked = unmatched_transfers(conn, chart, from_fiscal=True)
    matched: list[int] = []
    for line in statement.lines:
        decision = decide(
            Line(
                line.line, line.date, line.amount, line.counterparty, line.summary, line.reference
            ),
            parts,
            chart.agencies,
        )
        kind, note, booking = decision.kind, decision.note, None
        if kind == "fiscal-transfer":
            booking = matched_fiscal_booking(line, account, booked)
        if booking is not None:
            booked = [b for b in booked if b is not booking]
            kind, note = "matched-transfer", f"booked from {booking.source}"
        if kind == "batch-payment":
            parts = [p for p in parts if p.batch_id != decision.batch_id]
            matched.append(decision.batch_id or 0)
        paid = set(decision.batch_ids)
        if paid:
            parts = [p for p in parts if p.batch_id not in paid]
            matched += decision.batch_ids
        line_id = _keep(
            conn,
            statement,
            statement_id,
            account,
            line,
            _Kept(kind, note, decision.batch_id, booking.line_id if booking else None),
            result,
        )
        _keep_agency_line(conn, chart, line_id, line.amount, decision)
    return matched


def _keep_agency_line(
    conn: Connection, chart: Chart, line_id: int, amount: Decimal, decision: Decision
) -> None:
    """异地就医: the batches an agency-payment line paid; an advance's other leg, 1101 暂付款——
    异地就医预付金 of its agency (debited when paid out, credited when it comes back)."""
    if decision.batch_ids:
        conn.execute(
            insert(AgencyPaymentBatch),
            [{"line_id": line_id, "batch_id": batch_id} for batch_id in decision.batch_ids],
        )
    advance = chart.advance_account(decision.agency or "")
    if decision.kind == "remote-advance" and advance is not None:
        conn.execute(insert(BankLineLeg).values(line_id=line_id, account=advance, amount=-amount))


def _keep_fiscal_lines(
    conn: Connection,
    books: Books,
    chart: Chart,
    statement: Statement,
    statement_id: int,
    result: StatementResult,
    receives_contributions: bool,
) -> None:
    """The fiscal special account's lines judged (``fiscal_decisions``) and kept, each booked
    line with its legs."""
    decisions = fiscal_decisions(
        conn, books, chart, statement, receives_contributions=receives_contributions
    )
    for line, decision in zip(statement.lines, decisions, strict=True):
        kept = _Kept(
            decision.kind, decision.note, None, decision.matched_line_id, decision.matched_file_id
        )
        line_id = _keep(conn, statement, statement_id, result.account, line, kept, result)
        for account, amount in decision.legs:
            conn.execute(
                insert(BankLineLeg).values(line_id=line_id, account=account, amount=amount)
            )


@dataclass(frozen=True)
class _Kept:
    """What a line was found to be, as the register keeps it."""

    kind: str
    note: str
    batch_id: int | None = None
    matched_line_id: int | None = None
    matched_file_id: int | None = None


def _keep(
    conn: Connection,
    statement: Statement,
    statement_id: int,
    account: str,
    line: StatementLine,
    kept: _Kept,
    result: StatementResult,
) -> int:
    """One line kept with what it was found to be, counted in the result; its id."""
    result.kinds[kept.kind] += 1
    if kept.kind == "undecided":
        result.undecided.append(
            f"{statement.path}:{line.line}: {line.date} {line.amount} {line.counterparty}: "
            f"{kept.note}"
        )
    line_id: int = conn.execute(
        insert(BankStatementLine)
        .values(
            statement_id=statement_id,
            account=account,
            line=line.line,
            date=line.date,
            amount=line.amount,
            balance=line.balance,
            counterparty=line.counterparty,
            counterparty_account=line.counterparty_account,
            summary=line.summary,
            reference=line.reference,
            kind=kept.kind,
            batch_id=kept.batch_id,
            note=kept.note,
            matched_line_id=kept.matched_line_id,
            matched_file_id=kept.matched_file_id,
        )
        .returning(BankStatementLine.id)
    ).scalar_one()
    return line_id


def _render_books(
    conn: Connection,
    books: Books,
    config: BooksConfig,
    chart: Chart,
    statement: Statement,
    periods: set[str],
) -> None:
    """The books files the statement changed: the periods of the batches it booked, the
    bank months of its lines and of its closing balance, and main.beancount."""
    for period in sorted(periods):
        render_period(books, chart, period, summarize(conn, period, posted=True))
    months = {Month.of(line.date) for line in statement.lines}
    if statement.last_date is not None:
        months.add(Month.of(statement.last_date + datetime.timedelta(days=1)))
    for month in sorted(months):
        render_bank_month(conn, books, chart, month)
    write_main(books, config, chart.opened_on)


def _record_statement(
    conn: Connection, statement: Statement, sha256: str, account: str, user: str | None
) -> int:
    file_id = record_file(
        conn,
        kind="statement",
        name=str(statement.path),
        sha256=sha256,
        file_format="csv",
        rows=len(statement.lines),
        inserted=len(statement.lines),
        user=user,
    )
    first = statement.first_date or datetime.date.min
    statement_id: int = conn.execute(
        insert(BankStatement)
        .values(
            file_id=file_id,
            account=account,
            first_date=first,
            last_date=statement.last_date or first,
            opening_balance=statement.opening_balance,
            closing_balance=statement.closing_balance,
        )
        .returning(BankStatement.id)
    ).scalar_one()
    return statement_id


def _book_paid_batches(
    conn: Connection, chart: Chart, batch_ids: list[int], result: StatementResult, user: str | None
) -> set[str]:
    """Book each batch whose every non-zero part now has its bank line, all on one day."""
    periods: set[str] = set()
    for batch_id in batch_ids:
        link, period = conn.execute(
            select(ClearingBatch.link, ClearingBatch.period).where(ClearingBatch.id == batch_id)
        ).one()
        if conn.execute(select(Posting.id).where(Posting.batch_id == batch_id)).first():
            continue  # booked by `post --paid-on`; the bank line confirms it
        needed = {
            chart.account(role)
            for role, fund in FUND_OF_BANK.items()
            if conn.execute(
                select(type_coerce(_part(fund), Money))
                .select_from(ClearingBatch)
                .join(SettlementTotal, totals_member(SettlementTotal, ClearingBatch))
                .where(ClearingBatch.id == batch_id)
            ).scalar_one()
            != ZERO
        }
        paying = paying_lines()
        lines = conn.execute(
            select(BankStatementLine.account, BankStatementLine.date)
            .join(paying, paying.c.line_id == BankStatementLine.id)
            .where(paying.c.batch_id == batch_id)
        ).all()
        if {account for account, _ in lines} != needed:
            continue  # the other account's statement has not come yet
        dates = sorted({date for _, date in lines})
        if len(dates) > 1:
            result.undecided.append(
                f"^{link}: its parts were paid on {', '.join(map(str, dates))}: one batch, one "
                "voucher, one date; book it by hand (manual.beancount) or ask the bank"
            )
            continue
        pay_batches(conn, [batch_id], dates[0], user)
        result.paid.append(link)
        periods.add(period)
    return periods


def render_bank_month(conn: Connection, books: Books, chart: Chart, month: Month) -> None:
    """``bank/YYYY-MM.beancount``: the month's bank entries and closing balances."""
    start, end = month.first, month.next().first
    entries: list[BankEntry] = []
    lines = conn.execute(
        select(
            BankStatementLine.id,
            BankStatementLine.account,
            BankStatementLine.date,
            BankStatementLine.amount,
            BankStatementLine.kind,
            BankStatementLine.counterparty,
            BankStatementLine.summary,
            BankStatementLine.line,
            ImportedFile.name,
        )
        .join(BankStatement, BankStatement.id == BankStatementLine.statement_id)
        .join(ImportedFile, ImportedFile.id == BankStatement.file_id)
        .where(
            BankStatementLine.kind.in_(BOOKED_KINDS),
            BankStatementLine.date >= start,
            BankStatementLine.date < end,
        )
    ).all()
    legs: dict[int, Legs] = line_legs(conn, [row.id for row in lines])
    for line_id, account, date, amount, kind, counterparty, summary, number, name in lines:
        source = f"{Path(name).name}:{number}"
        entries.append(
            BankEntry(
                account, date, amount, kind, counterparty, summary, source, legs.get(line_id, ())
            )
        )
    closing = conn.execute(
        select(
            BankStatement.account,
            BankStatement.last_date,
            BankStatement.closing_balance,
            ImportedFile.name,
        ).join(ImportedFile, ImportedFile.id == BankStatement.file_id)
    )
    for account, last_date, balance, name in closing:
        day = last_date + datetime.timedelta(days=1)
        if start <= day < end and balance is not None:
            entries.append(BankEntry(account, day, balance, "balance", "", "", Path(name).name))
    entries.sort(key=lambda e: (e.date, e.account, e.kind != "balance", e.source))
    header = (
        f";; Bank entries of {month}: transfers between the fiscal special account and the\n"
        ";; disbursement accounts, interest, charges, the fiscal special account's other income\n"
        ";; and transfers, and each statement's closing balance. Generated by `mzledger import\n"
        ";; statement` from the register: do not edit.\n"
    )
    body = "\n".join(printer.format_entry(d) for d in bank_directives(entries, chart))
    atomic_write(books.bank_file(str(month)), header + "\n" + body)
