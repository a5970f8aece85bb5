"""Fee details summed for the institution indicators (检查费用占比, Shanxi art. 16): per
institution and span, the examinations' and tests' cost (检查 03, 化验 04: ``ledger.charge_items``),
integer fen, summed in the database. An institution without any fee details in the span has no
entry, so its share stays unknown (None), never 0.

Spans are the items' own months (``fee_period``, of ``fee_ocur_time``), per month or the
periods together (named by their year), as ``reports.indicators.register.span_counts`` groups
the settlements."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, select, type_coerce

from ledger.charge_items import EXAMINATIONS
from ledger.money import to_fen
from ledger.register.models import FeeDetail, Money


def exam_fen(
    conn: Connection, periods: Sequence[str], by_month: bool
) -> dict[tuple[str, str], int]:
    """(institution, span) -> the examinations' and tests' cost in fen, for every institution
    with fee details in the span (0 when none of them is an examination)."""
    if not periods:
        return {}
    keys: list[Any] = [FeeDetail.fixmedins_code]
    if by_month:
        keys.append(FeeDetail.fee_period)
    exams = case(
        (FeeDetail.med_chrgitm_type.in_(sorted(EXAMINATIONS)), FeeDetail.det_item_fee_sumamt),
        else_=0,
    )
    total = type_coerce(func.coalesce(func.sum(exams), 0), Money)
    year = periods[0][:4]
    found: dict[tuple[str, str], int] = {}
    for row in conn.execute(
        select(*keys, total.label("exam"))
        .where(FeeDetail.fee_period.in_(list(periods)))
        .group_by(*keys)
    ):
        amount: Decimal = row.exam
        found[(row[0], row[1] if by_month else year)] = to_fen(amount)
    return found


__all__ = ["exam_fen"]
