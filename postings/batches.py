"""Clearing batches (清算批次): institution x clearing period x clearing category (clr_type).

A batch is what the agency pays an institution in one go and what the books hold as one
transaction; its settlements stay in the register. The sums are computed in the database
(GROUP BY) over ``settlement_totals`` (清算汇总: each imported file's sums by batch key and
med_type, a few thousand rows), never over a month's settlements and never in Python.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, select, type_coerce

from ledger.money import ZERO
from ledger.register.batching import totals_batched, totals_unbatched
from ledger.register.models import (
    OTHER_FUND_FIELDS,
    ClearingBatch,
    Institution,
    Money,
    Posting,
    SettlementTotal,
    personal_part,
)

#: Batch totals the posting rule and the transaction's metadata need.
REPORTED_TOTALS = (
    "medfee_sumamt",
    "hifp_pay",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    *OTHER_FUND_FIELDS,
)


def batch_link(period: str, institution: str, clr_type: str) -> str:
    """The Beancount link of a batch, ``clr-2023-01-H21030101-11``."""
    return f"clr-{period}-{institution}-{clr_type}"


@dataclass(frozen=True)
class Payment:
    """How a batch was booked: voucher number (记账凭证号) and payment date."""

    voucher: str
    paid_on: datetime.date


@dataclass(frozen=True)
class BatchSummary:
    """One clearing batch with the sums the posting rule needs, by med_type for the pool."""

    period: str
    institution_code: str
    institution_name: str
    institution_type: str  # 1 medical institution, 2 pharmacy
    clr_type: str
    settlement_count: int
    refund_count: int
    pooled_by_med_type: tuple[tuple[str, Decimal], ...]
    totals: tuple[tuple[str, Decimal], ...]  # REPORTED_TOTALS, in that order
    payment: Payment | None = None
    #: 异地就医: the clearing agency (clr_optins) the batch is paid through, for an institution
    #: outside the books' region; None: paid to the institution
    clearing_agency: str | None = None

    @property
    def link(self) -> str:
        return batch_link(self.period, self.institution_code, self.clr_type)

    def total(self, name: str) -> Decimal:
        return dict(self.totals)[name]

    @property
    def personal(self) -> Decimal:
        """Personal-account part: own account plus mutual aid (个人账户 + 共济)."""
        return personal_part(dict(self.totals))


def _sum(column: str) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(getattr(SettlementTotal, column)), 0), Money)


def summarize(conn: Connection, period: str, *, posted: bool) -> list[BatchSummary]:
    """The period's batches: ``posted`` ones (their members) or the unbatched settlements
    grouped as they would be batched now; summed from settlement_totals."""
    key = (SettlementTotal.fixmedins_code, SettlementTotal.clr_type, SettlementTotal.med_type)
    query = (
        select(
            *key,
            func.sum(SettlementTotal.settlement_count).label("n"),
            func.sum(SettlementTotal.refund_count).label("refunds"),
            *(_sum(c).label(c) for c in REPORTED_TOTALS),
        )
        .where(
            SettlementTotal.period == period,
            totals_batched(SettlementTotal) if posted else totals_unbatched(SettlementTotal),
        )
        .group_by(*key)
        .order_by(*key)
    )
    institutions = {
        row.code: row
        for row in conn.execute(
            select(Institution.code, Institution.name, Institution.fixmedins_type)
        )
    }
    payments: dict[tuple[str, str], Payment] = {}
    agencies: dict[tuple[str, str], str | None] = {}
    if posted:
        agencies = {
            (code, clr_type): agency
            for code, clr_type, agency in conn.execute(
                select(
                    ClearingBatch.fixmedins_code, ClearingBatch.clr_type, ClearingBatch.clr_optins
                ).where(ClearingBatch.period == period)
            )
        }
        for paid in conn.execute(
            select(
                ClearingBatch.fixmedins_code,
                ClearingBatch.clr_type,
                Posting.voucher,
                Posting.paid_on,
            )
            .join(Posting, Posting.batch_id == ClearingBatch.id)
            .where(ClearingBatch.period == period)
        ):
            payments[(paid.fixmedins_code, paid.clr_type)] = Payment(paid.voucher, paid.paid_on)

    grouped: dict[tuple[str, str], list[Row[*tuple[Any, ...]]]] = {}
    for group_row in conn.execute(query):
        grouped.setdefault((group_row.fixmedins_code, group_row.clr_type), []).append(group_row)
    batches = []
    for (code, clr_type), rows in grouped.items():
        totals = {name: ZERO for name in REPORTED_TOTALS}
        pooled: dict[str, Decimal] = {}
        count = refunds = 0
        for row in rows:
            count += int(row.n)
            refunds += int(row.refunds)
            for name in REPORTED_TOTALS:
                totals[name] += getattr(row, name)
            med_type = row.med_type
            pooled[med_type] = pooled.get(med_type, ZERO) + row.hifp_pay
        institution = institutions[code]
        batches.append(
            BatchSummary(
                period=period,
                institution_code=code,
                institution_name=institution.name,
                institution_type=institution.fixmedins_type,
                clr_type=clr_type,
                settlement_count=count,
                refund_count=refunds,
                pooled_by_med_type=tuple(sorted(pooled.items())),
                totals=tuple(totals.items()),
                payment=payments.get((code, clr_type)),
                clearing_agency=agencies.get((code, clr_type)),
            )
        )
    return batches


__all__ = ["BatchSummary", "Payment", "batch_link", "summarize"]
