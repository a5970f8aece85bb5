"""``mzledger check``: the books load cleanly, and they agree with the register to the fen.

For every clearing batch the register holds, the books must have exactly one transaction with
the batch's link, and per account its amounts must equal the register's sums over the batch's
settlements. The register side is summed in SQL here, apart from the code that wrote the books,
so that a hand edit of a generated file or a stale file shows up: over settlement_totals (the
sums the import wrote per file), which in turn must equal the settlements themselves, summed
again here row by row (``totals_vs_settlements``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from sqlalchemy import Connection, Engine, case, func, select, true, type_coerce

from ledger.chart import Chart
from ledger.loading import LoadedBooks, error_text, load_books
from ledger.money import ZERO
from ledger.register.batching import totals_member, totals_unbatched
from ledger.register.models import (
    MONEY_FIELDS,
    ClearingBatch,
    Institution,
    Money,
    Posting,
    Settlement,
    SettlementTotal,
    personal_part_sum,
)
from reports.controls.contributions import contributions_vs_register
from reports.controls.opening import opening_vs_register

MAX_LISTED = 20

LINK_PREFIX = "clr-"


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)  # Beancount's and the mismatches below
    mismatches: list[str] = field(default_factory=list)  # books vs register only
    warnings: list[str] = field(default_factory=list)
    batch_count: int = 0
    transaction_count: int = 0
    #: account -> (books, register) over all posted batches
    accounts: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def books_batches(
    entries: Sequence[data.Directive],
) -> tuple[dict[str, dict[str, Decimal]], list[str]]:
    """link -> account -> amount, from the books' clearing transactions."""
    found: dict[str, dict[str, Decimal]] = {}
    problems = []
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for link in sorted(entry.links):
            if not link.startswith(LINK_PREFIX):
                continue
            if link in found:
                problems.append(f"^{link}: more than one transaction in the books")
                continue
            amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for posting in entry.postings:
                if posting.units is not None and posting.units.number is not None:
                    amounts[posting.account] += posting.units.number
            found[link] = dict(amounts)
    return found, problems


def register_batches(engine: Engine, chart: Chart) -> dict[str, dict[str, Decimal]]:
    """link -> account -> amount, summed over each batch's settlements in the register (their
    settlement_totals rows)."""
    expected: dict[str, dict[str, Decimal]] = {}
    with engine.connect() as conn:
        # only paid batches are in the books (cash basis); unpaid ones are outstanding payments
        paid = select(Posting.batch_id)
        for link in conn.execute(
            select(ClearingBatch.link).where(ClearingBatch.id.in_(paid))
        ).scalars():
            expected[link] = {}
        rows = conn.execute(
            select(
                ClearingBatch.link,
                SettlementTotal.med_type,
                Institution.fixmedins_type,
                type_coerce(func.sum(SettlementTotal.hifp_pay), Money).label("pooled"),
                type_coerce(personal_part_sum(SettlementTotal), Money).label("personal"),
            )
            .select_from(SettlementTotal)
            .join(ClearingBatch, totals_member(SettlementTotal, ClearingBatch))
            .join(Institution, Institution.code == ClearingBatch.fixmedins_code)
            .where(ClearingBatch.id.in_(paid))
            .group_by(ClearingBatch.link, SettlementTotal.med_type, Institution.fixmedins_type)
        )
        for row in rows:
            amounts = expected[row.link]
            role = chart.med_type_roles.get(row.med_type)
            # `post` refuses unmapped codes; should one be in a batch, it shows as a difference
            pooled_account = chart.account(role) if role else f"(med_type {row.med_type})"
            personal_role = "personal-pharmacy" if row.fixmedins_type == "2" else "personal-clinic"
            for account, amount in (
                (pooled_account, row.pooled),
                (chart.account("bank-pooled"), -row.pooled),
                (chart.account(personal_role), row.personal),
                (chart.account("bank-personal"), -row.personal),
            ):
                amounts[account] = amounts.get(account, ZERO) + amount
    return {
        link: {a: v for a, v in amounts.items() if v != ZERO} for link, amounts in expected.items()
    }


TOTALS_KEY = ("file_id", "period", "fixmedins_code", "clr_type", "med_type")
TOTALS_FIGURES = ("settlement_count", "refund_count", *MONEY_FIELDS)


def totals_vs_settlements(conn: Connection) -> list[str]:
    """Where settlement_totals and the settlements disagree: a GROUP BY over every settlement
    (the slow part of ``check``), compared with the totals, a month at a time so that memory
    holds one month's keys, not a year's."""
    periods = (
        conn.execute(select(SettlementTotal.period).distinct().order_by(SettlementTotal.period))
        .scalars()
        .all()
    )
    # months with settlements and no totals at all (the index on setl_period answers this)
    extra = (
        conn.execute(
            select(Settlement.setl_period)
            .distinct()
            .where(Settlement.setl_period.not_in(periods) if periods else true())
        )
        .scalars()
        .all()
    )
    problems: list[str] = []
    for period in [*periods, *extra]:
        problems += _month_totals_vs_settlements(conn, period)
    return problems


def _month_totals_vs_settlements(conn: Connection, period: str) -> list[str]:
    detail_key = (
        Settlement.file_id,
        Settlement.setl_period,
        Settlement.fixmedins_code,
        Settlement.clr_type,
        Settlement.med_type,
    )
    detail = {
        tuple(row[:5]): tuple(row[5:])
        for row in conn.execute(
            select(
                *detail_key,
                func.count(),
                func.coalesce(func.sum(case((Settlement.refd_setl_flag.is_(True), 1), else_=0)), 0),
                *(type_coerce(func.sum(getattr(Settlement, name)), Money) for name in MONEY_FIELDS),
            )
            .where(Settlement.setl_period == period)
            .group_by(*detail_key)
        )
    }
    kept = {
        tuple(row[:5]): tuple(row[5:])
        for row in conn.execute(
            select(
                *(getattr(SettlementTotal, name) for name in TOTALS_KEY),
                *(getattr(SettlementTotal, name) for name in TOTALS_FIGURES),
            ).where(SettlementTotal.period == period)
        )
    }
    problems = []
    for key in sorted(set(detail) | set(kept)):
        file_id, period, code, clr_type, med_type = key
        where = (
            f"settlement_totals: file {file_id}, {period} {code} clr_type {clr_type} "
            f"med_type {med_type}"
        )
        mine, theirs = kept.get(key), detail.get(key)
        if mine is None:
            problems.append(f"{where}: missing; the settlements have {theirs and theirs[0]} rows")
        elif theirs is None:
            problems.append(f"{where}: no settlements, the totals count {mine[0]}")
        else:
            differing = [
                f"{name} {a} vs {b}"
                for name, a, b in zip(TOTALS_FIGURES, mine, theirs, strict=True)
                if a != b
            ]
            if differing:
                problems.append(
                    f"{where}: differs from its settlements (totals vs settlements): "
                    + ", ".join(differing)
                )
    return problems


def check_books(main_file: Path, engine: Engine, chart: Chart) -> CheckResult:
    """``mzledger check``: load the books of ``main_file`` and check them."""
    return check_loaded_books(load_books(main_file), engine, chart)


def check_loaded_books(books: LoadedBooks, engine: Engine, chart: Chart) -> CheckResult:
    """Beancount's errors, every batch of the books against the register, the opening
    balances and the contributions against the register's, the register's totals against its
    settlements, and settlements imported after their period was posted."""
    result = CheckResult()
    result.errors += [error_text(e) for e in books.errors]
    in_books, problems = books_batches(books.entries)
    result.mismatches += problems
    in_register = register_batches(engine, chart)
    result.batch_count = len(in_register)
    result.transaction_count = len(in_books)
    mismatches, result.accounts = compare_batches(in_books, in_register)
    result.mismatches += mismatches
    result.mismatches += opening_vs_register(books.entries, engine)
    result.mismatches += contributions_vs_register(books, engine, chart)
    result.errors += result.mismatches
    with engine.connect() as conn:
        disagreeing = totals_vs_settlements(conn)
        late = _posted_periods_with_unbatched(conn)
    if len(disagreeing) > MAX_LISTED:
        more = len(disagreeing) - MAX_LISTED
        disagreeing = [*disagreeing[:MAX_LISTED], f"settlement_totals: {more} more groups differ"]
    result.mismatches += disagreeing
    result.errors += disagreeing
    for period, count in late:
        result.warnings.append(
            f"{period}: {count} settlements imported after the period was posted are in no "
            f"batch yet; `mzledger post --period {period} --replace` takes them in, unless the "
            "bank has paid that period's batches"
        )
    return result


def compare_batches(
    in_books: dict[str, dict[str, Decimal]], in_register: dict[str, dict[str, Decimal]]
) -> tuple[list[str], dict[str, tuple[Decimal, Decimal]]]:
    """Batch by batch and account by account, the books against the register: the mismatches,
    and account -> (books, register) over the batches on both sides."""
    mismatches: list[str] = []
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for link in sorted(set(in_books) | set(in_register)):
        books_side = in_books.get(link)
        register_side = in_register.get(link)
        if books_side is None:
            mismatches.append(f"^{link}: batch is in the register but not in the books")
            continue
        if register_side is None:
            mismatches.append(f"^{link}: transaction in the books has no batch in the register")
            continue
        for account in sorted(set(books_side) | set(register_side)):
            books_amount = books_side.get(account, ZERO)
            register_amount = register_side.get(account, ZERO)
            totals[account][0] += books_amount
            totals[account][1] += register_amount
            if books_amount != register_amount:
                mismatches.append(
                    f"^{link}: {account}: books {books_amount} CNY, register "
                    f"{register_amount} CNY, difference {books_amount - register_amount} CNY"
                )
    return mismatches, {a: (v[0], v[1]) for a, v in sorted(totals.items())}


def _posted_periods_with_unbatched(conn: Connection) -> list[tuple[str, int]]:
    """(period, count) of settlements in no batch, in periods that have batches: imported
    after the period was posted."""
    rows = conn.execute(
        select(SettlementTotal.period, func.sum(SettlementTotal.settlement_count))
        .where(
            totals_unbatched(SettlementTotal),
            SettlementTotal.period.in_(select(ClearingBatch.period).distinct()),
        )
        .group_by(SettlementTotal.period)
        .order_by(SettlementTotal.period)
    ).all()
    return [(period, count) for period, count in rows]
