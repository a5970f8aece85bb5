"""A settlement looked up by setl_id, mdtrt_id or psn_no, back to its batch and voucher."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import (
    Engine,
    func,
    select,
)

from ledger.register.batching import batch_member
from ledger.register.models import (
    ClearingBatch,
    Institution,
    Posting,
    Settlement,
)
from reports.fava.batches import ROW_COLUMNS, ROW_SELECT, SettlementRow, settlement_row
from reports.fava.params import LABELS, BadRequest, Page, check_page, param_value, parse_id


@dataclass(frozen=True)
class SettlementHit:
    """A settlement found by lookup, with its batch and the batch's payment (if any)."""

    row: SettlementRow
    institution_name: str
    batch: str | None
    voucher: str | None
    paid_on: datetime.date | None


LOOKUP_FIELDS = ("setl_id", "mdtrt_id", "psn_no")


def parse_lookup(args: Mapping[str, str]) -> tuple[str, str] | None:
    """Which field to look up and its value; None when the form is empty."""
    given = [(name, value) for name in LOOKUP_FIELDS if (value := param_value(args, name))]
    if not given:
        return None
    if len(given) > 1:
        raise BadRequest(
            "请只填写结算ID、就诊ID、人员编号中的一项",
            "give only one of setl_id, mdtrt_id, psn_no",
        )
    name, value = given[0]
    return name, parse_id(name, value)


def lookup(
    engine: Engine, field_name: str, value: str, number: int, per_page: int
) -> Page[SettlementHit]:
    """Settlements whose ``field_name`` (setl_id, mdtrt_id, psn_no) equals ``value``, by time,
    each with its batch and payment; BadRequest when there is none."""
    if field_name not in LOOKUP_FIELDS:
        raise BadRequest(f"不支持按 {field_name} 查询", f"cannot look up by {field_name!r}")
    condition = getattr(Settlement, field_name) == value
    with engine.connect() as conn:
        total = conn.execute(select(func.count(Settlement.id)).where(condition)).scalar_one()
        if total == 0:
            raise BadRequest(
                f"登记簿中没有{LABELS[field_name]}为 {value} 的结算",
                f"{field_name}: no settlement {value} in the register",
            )
        check_page(number, per_page, total)
        rows = conn.execute(
            select(
                *ROW_SELECT,
                func.coalesce(Institution.name, Settlement.fixmedins_code),
                ClearingBatch.link,
                Posting.voucher,
                Posting.paid_on,
            )
            .join(Institution, Institution.code == Settlement.fixmedins_code, isouter=True)
            .join(ClearingBatch, batch_member(Settlement, ClearingBatch), isouter=True)
            .join(Posting, Posting.batch_id == ClearingBatch.id, isouter=True)
            .where(condition)
            .order_by(Settlement.setl_time, Settlement.id)
            .limit(per_page)
            .offset((number - 1) * per_page)
        ).all()
    n = len(ROW_COLUMNS)
    hits = tuple(SettlementHit(settlement_row(row), *row[n:]) for row in rows)
    return Page(hits, number, per_page, total)
