"""Posting a clearing period: form its batches in the register, write its books file.

The register and the books move together: batches (with their file watermark, which decides
their settlements: ledger.register.batching) and vouchers are written in one database
transaction, the books file is written (temporary file + rename) inside it, and the
transaction commits only after the file is in place. Nothing is written on the settlements,
and nothing is read from them but the names of unmappable ones: the sums come from
settlement_totals.
"""

from __future__ import annotations

import dataclasses
import datetime
import getpass
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, func, insert, select, true

from ledger.books import (
    Books,
    BooksConfig,
    atomic_write,
    lock_entries,
    region_prefix,
    write_main,
)
from ledger.chart import Chart
from ledger.locks import locked_months
from ledger.money import ZERO
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.batching import (
    lock_for_posting,
    paying_lines,
    totals_unbatched,
    unbatched,
)
from ledger.register.models import (
    OTHER_FUND_FIELDS,
    ClearingBatch,
    HeldSettlement,
    ImportedFile,
    Institution,
    Posting,
    Settlement,
    SettlementTotal,
)
from postings.batches import BatchSummary, Payment, batch_link, summarize
from postings.books_file import render_clearing_file
from postings.rules import post_batches

MAX_NAMED = 20


@dataclass
class PostResult:
    period: str
    problems: list[Problem] = field(default_factory=list)
    batches: list[BatchSummary] = field(default_factory=list)
    written: bool = False
    unchanged: bool = False  # posted again with nothing new: the register was left as it was
    held: int = 0  # the period's settlements held for a person's decision (not in its batches)

    def total(self, name: str) -> Decimal:
        return sum((b.total(name) for b in self.batches), ZERO)

    @property
    def other_funds(self) -> dict[str, Decimal]:
        return {name: self.total(name) for name in OTHER_FUND_FIELDS}


class _Refused(Exception):
    """A problem found inside the posting's transaction: raised to roll it back whole."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problems = [problem]


def post_period(
    engine: Engine,
    books: Books,
    config: BooksConfig,
    chart: Chart,
    month: Month,
    paid_on: datetime.date | None,
    *,
    replace: bool = False,
    user: str | None = None,
) -> PostResult:
    """Form the period's clearing batches; with ``paid_on``, pay and book them all on that day.

    Without it the batches are cleared but unpaid (outstanding payments): a bank statement
    line books each one on the day the bank paid it (``postings.payments``). Refused (the
    result's problems, nothing written) when the payment date or a locked month stands in
    the way, or the period is posted and ``replace`` is not given.
    """
    result = PostResult(month.period)  # the period as the register keeps it
    if paid_on is not None and paid_on <= month.last:
        result.problems.append(_too_early(month, paid_on))
        return result
    locked = locked_months(lock_entries(books))  # the locks file alone
    if paid_on is not None and Month.of(paid_on) in locked:
        message = (
            f"{paid_on} falls in {paid_on:%Y-%m}, which is locked (locks.beancount): "
            "it must be reopened first"
        )
        result.problems.append(Problem("", "paid_on", message))
        return result
    try:
        with engine.begin() as conn:
            lock_for_posting(conn)
            posted = _posted_batches(conn, books, result.period, locked, replace)
            if posted and _unchanged(conn, result.period, paid_on):
                # Same settlements, same payment date: keep the register as it is (vouchers,
                # ids, who posted when) and only render the books file again, which restores
                # it if it was edited by hand and is a no-op otherwise.
                result.batches = summarize(conn, result.period, posted=True)
                result.unchanged = True
            else:
                result.batches = _form_period(
                    conn, chart, result.period, posted, paid_on, user, config.region
                )
            render_period(books, chart, result.period, result.batches)
            write_main(books, config, chart.opened_on)
            result.written = True
            result.held = _held_count(conn, result.period)
    except _Refused as refused:
        result.problems = refused.problems
    return result


def _too_early(month: Month, paid_on: datetime.date) -> Problem:
    # found and expected stay in the message: the command line has always shown these dates
    # unquoted (Problem quotes what it found)
    message = (
        "payment must come after the clearing period ends "
        f"(found {paid_on}, expected a date after {month.last})"
    )
    return Problem("", "paid_on", message)


def _posted_batches(
    conn: Connection, books: Books, period: str, locked: set[Month], replace: bool
) -> int:
    """How many batches the period has already; _Refused when its transactions are booked
    in a locked month, or when it is posted and is not to be replaced."""
    booked_in = {
        Month.of(paid)
        for paid in conn.execute(
            select(Posting.paid_on)
            .join(ClearingBatch, ClearingBatch.id == Posting.batch_id)
            .where(ClearingBatch.period == period)
            .distinct()
        ).scalars()
    }
    if booked_in & locked:
        months = ", ".join(map(str, sorted(booked_in & locked)))
        message = f"its transactions are booked in {months}, which is locked: reopen it first"
        raise _Refused(Problem(period, "", message))
    posted: int = conn.execute(
        select(func.count()).select_from(ClearingBatch).where(ClearingBatch.period == period)
    ).scalar_one()
    if posted and not replace:
        # field "replace": what would post it again (the command line says how to give it)
        message = f"already posted ({posted} batches in {books.clearing_file(period)})"
        raise _Refused(Problem(period, "replace", message))
    return posted


def _form_period(
    conn: Connection,
    chart: Chart,
    period: str,
    posted: int,
    paid_on: datetime.date | None,
    user: str | None,
    region: str,
) -> list[BatchSummary]:
    """Form the period's batches afresh (those posted before removed first) and, with
    ``paid_on``, pay them; _Refused when that cannot be done."""
    paying = paying_lines()
    paid_by_bank = conn.execute(
        select(func.count(func.distinct(paying.c.line_id)))
        .select_from(paying)
        .join(ClearingBatch, ClearingBatch.id == paying.c.batch_id)
        .where(ClearingBatch.period == period)
    ).scalar_one()
    if paid_by_bank:
        message = (
            f"{paid_by_bank} bank statement lines are matched to its batches: forming them "
            "again would leave those payments without their batches, so the period cannot "
            "be posted again"
        )
        raise _Refused(Problem(period, "", message))
    if posted:
        _unpost(conn, period)  # rolled back with the rest when a check below refuses
    unpostable = _unpostable(conn, chart, period)
    if unpostable is not None:
        raise _Refused(unpostable)
    fresh = summarize(conn, period, posted=False)
    if not fresh:
        raise _Refused(Problem(period, "", "no settlements in the register for this period"))
    agencies = clearing_agencies(conn, chart, period, region)
    fresh = [
        dataclasses.replace(b, clearing_agency=agencies.get((b.institution_code, b.clr_type)))
        for b in fresh
    ]
    ids = _form_batches(conn, fresh)
    payments = pay_batches(conn, ids, paid_on, user) if paid_on is not None else {}
    return [
        dataclasses.replace(b, payment=payments.get((b.institution_code, b.clr_type)))
        for b in fresh
    ]


def clearing_agencies(
    conn: Connection, chart: Chart, period: str, region: str
) -> dict[tuple[str, str], str]:
    """异地就医: the clearing agency of each (institution, clr_type) of the period's settlements
    at institutions outside ``region`` (an institution list's ``admdvs`` not within it: a
    district's code is, ``region_prefix``), read from the
    settlements' clr_optins; one whose settlements name the books' own agency is paid to the
    institution itself, as before. _Refused when a batch's settlements name more than one
    agency, or one the chart keeps no advance for."""
    within = region_prefix(region)
    outside = select(Institution.code).where(
        Institution.admdvs.is_not(None), ~Institution.admdvs.startswith(within)
    )
    rows = conn.execute(
        select(Settlement.fixmedins_code, Settlement.clr_type, Settlement.clr_optins)
        .where(Settlement.setl_period == period, Settlement.fixmedins_code.in_(outside))
        .group_by(Settlement.fixmedins_code, Settlement.clr_type, Settlement.clr_optins)
        .order_by(Settlement.fixmedins_code, Settlement.clr_type, Settlement.clr_optins)
    ).all()
    found: dict[tuple[str, str], list[str]] = {}
    for code, clr_type, agency in rows:
        found.setdefault((code, clr_type), []).append(agency)
    agencies: dict[tuple[str, str], str] = {}
    for (code, clr_type), named in found.items():
        where = batch_link(period, code, clr_type)
        if len(named) != 1:
            message = (
                "one batch is paid to one party: its settlements must name one clearing agency"
            )
            raise _Refused(
                Problem(where, "clr_optins", message, ", ".join(named), "one agency code")
            )
        if named[0].startswith(within):
            continue  # cleared by the books' own agency: paid to the institution itself
        if chart.advance_account(named[0]) is None:
            known = ", ".join(sorted(chart.agencies)) or "none"
            message = (
                "clearing agency not in the chart: add its 1101 异地就医预付金 account "
                "(role remote-advance) to the books' chart.toml"
            )
            raise _Refused(Problem(where, "clr_optins", message, named[0], known))
        agencies[(code, clr_type)] = named[0]
    return agencies


def _held_count(conn: Connection, period: str) -> int:
    held: int = conn.execute(
        select(func.count())
        .select_from(HeldSettlement)
        .where(HeldSettlement.setl_period == period, HeldSettlement.status == "held")
    ).scalar_one()
    return held


def render_period(books: Books, chart: Chart, period: str, batches: list[BatchSummary]) -> None:
    """Write the period's books file from its paid batches (main.beancount is the caller's:
    it is written once, after every file it includes)."""
    transactions, problems = post_batches([b for b in batches if b.payment], chart)
    if problems:  # `post` checks the mapping first; never write half a period
        raise RuntimeError("posting rule refused checked batches: " + "; ".join(map(str, problems)))
    atomic_write(books.clearing_file(period), render_clearing_file(period, transactions))


def pay_batches(
    conn: Connection, batch_ids: list[int], paid_on: datetime.date, user: str | None = None
) -> dict[tuple[str, str], Payment]:
    """Book batches as paid on ``paid_on``: a voucher each (记账凭证号), a sequence per payment
    month in (institution, clr_type) order. Returns the payments by batch key."""
    prefix = f"{Month.of(paid_on)}-记-"
    last = conn.execute(
        select(func.max(Posting.voucher)).where(Posting.voucher.like(f"{prefix}%"))
    ).scalar_one()
    sequence = int(last.removeprefix(prefix)) if last else 0
    now = datetime.datetime.now().replace(microsecond=0)
    payments: dict[tuple[str, str], Payment] = {}
    rows = conn.execute(
        select(
            ClearingBatch.id,
            ClearingBatch.period,
            ClearingBatch.fixmedins_code,
            ClearingBatch.clr_type,
        )
        .where(ClearingBatch.id.in_(batch_ids))
        .order_by(ClearingBatch.period, ClearingBatch.fixmedins_code, ClearingBatch.clr_type)
    ).all()
    postings = []
    for batch_id, period, code, clr_type in rows:
        sequence += 1
        payment = Payment(f"{prefix}{sequence:04d}", paid_on)
        postings.append(
            {
                "batch_id": batch_id,
                "voucher": payment.voucher,
                "paid_on": paid_on,
                "books_file": f"clearing/{period}.beancount",
                "posted_at": now,
                "posted_by": user or getpass.getuser(),
            }
        )
        payments[(code, clr_type)] = payment
    if postings:
        # one executemany: a city's month is thousands of batches
        conn.execute(insert(Posting), postings)
    return payments


def _unchanged(conn: Connection, period: str, paid_on: datetime.date | None) -> bool:
    """No settlement of the period is outside a batch, and every batch was paid on paid_on
    (or, without a date, none was paid)."""
    late = conn.execute(
        select(func.count())
        .select_from(SettlementTotal)
        .where(totals_unbatched(SettlementTotal, period))
    ).scalar_one()
    other_dates = conn.execute(
        select(func.count())
        .select_from(Posting)
        .join(ClearingBatch, ClearingBatch.id == Posting.batch_id)
        .where(
            ClearingBatch.period == period,
            Posting.paid_on != paid_on if paid_on is not None else true(),
        )
    ).scalar_one()
    if paid_on is not None:
        paid = conn.execute(
            select(func.count())
            .select_from(ClearingBatch)
            .join(Posting, Posting.batch_id == ClearingBatch.id, isouter=True)
            .where(ClearingBatch.period == period, Posting.id.is_(None))
        ).scalar_one()
        other_dates += paid  # a batch still unpaid is a change too
    return late == 0 and other_dates == 0


def _unpost(conn: Connection, period: str) -> None:
    ids = select(ClearingBatch.id).where(ClearingBatch.period == period)
    conn.execute(delete(Posting).where(Posting.batch_id.in_(ids)))
    conn.execute(delete(ClearingBatch).where(ClearingBatch.period == period))


def _unpostable(conn: Connection, chart: Chart, period: str) -> Problem | None:
    """Settlements whose med_type the chart does not map: in-patient or local codes."""
    mapped = list(chart.med_type_roles)
    count = conn.execute(
        select(func.coalesce(func.sum(SettlementTotal.settlement_count), 0)).where(
            totals_unbatched(SettlementTotal, period), SettlementTotal.med_type.not_in(mapped)
        )
    ).scalar_one()
    if not count:
        return None
    condition = unbatched(Settlement, period) & Settlement.med_type.not_in(mapped)
    rows = conn.execute(
        select(Settlement.setl_id, Settlement.med_type)
        .where(condition)
        .order_by(Settlement.setl_id)
        .limit(MAX_NAMED)
    ).all()
    named = ", ".join(f"{r.setl_id} (med_type {r.med_type})" for r in rows)
    more = f" and {count - len(rows)} more" if count > len(rows) else ""
    return Problem(
        period,
        "",
        f"{count} settlements have a med_type the chart does not map to an account "
        f"(in-patient or a local code): {named}{more}; add the code to chart.toml [med_type] "
        "or correct the data",
    )


def _form_batches(conn: Connection, batches: list[BatchSummary]) -> list[int]:
    """Register the batches; returns their ids. Each takes in the settlements of its key from
    every file imported so far (its watermark, ``last_file_id``): no settlement row is
    written. ``post_period`` holds the lock that keeps imports out meanwhile."""
    watermark = conn.execute(select(func.max(ImportedFile.id))).scalar_one()
    ordered = sorted(batches, key=lambda b: (b.institution_code, b.clr_type))
    if not ordered:
        return []
    # one executemany, then the ids back by the batch key (unique per period)
    conn.execute(
        insert(ClearingBatch),
        [
            {
                "period": batch.period,
                "fixmedins_code": batch.institution_code,
                "clr_type": batch.clr_type,
                "link": batch.link,
                "settlement_count": batch.settlement_count,
                "refund_count": batch.refund_count,
                "last_file_id": watermark,
                "clr_optins": batch.clearing_agency,
            }
            for batch in ordered
        ],
    )
    period = ordered[0].period
    by_key = {
        (code, clr_type): batch_id
        for batch_id, code, clr_type in conn.execute(
            select(ClearingBatch.id, ClearingBatch.fixmedins_code, ClearingBatch.clr_type).where(
                ClearingBatch.period == period
            )
        )
    }
    ids = [by_key[(batch.institution_code, batch.clr_type)] for batch in ordered]
    return ids
