"""What the audit reads of the register: settlements (结算) with their institution and batch,
ordered by person and time and streamed; person records (备案, 欠费) as date spans; the
designated medical institutions; the settlements a refund (退费) reverses."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select

from ledger.register.batching import batch_member
from ledger.register.models import ClearingBatch, Institution, PersonRecord, Settlement


@dataclass(frozen=True)
class Row:
    """One settlement with what the audit needs of its institution and batch."""

    setl_id: str
    mdtrt_id: str
    psn_no: str
    psn_type: str
    med_type: str
    setl_time: datetime.datetime
    fixmedins_code: str
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    acct_pay: Decimal
    #: The cost and the parts outside the policy scope (Shanxi arts. 20, 21): 医疗费总额,
    #: 全自费, 超限价自费, 先行自付.
    medfee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    #: Other funds' payments (their own books): 公务员医疗补助, 职工大额医疗补助.
    cvlserv_pay: Decimal
    hifob_pay: Decimal
    refd_setl_flag: bool
    init_setl_id: str | None
    emergency_flag: bool | None
    rx_no: str | None
    rx_institution: str | None
    rx_date: datetime.date | None
    drug_code: str | None
    fixmedins_type: str
    medins_lv: str | None
    spec_hosp: bool
    admdvs: str | None
    listed: bool
    batch: str | None


@dataclass(frozen=True)
class Span:
    """A person record's dates, inclusive, open end when ``until`` is None."""

    record: str
    since: datetime.date
    until: datetime.date | None

    def covers(self, day: datetime.date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


SETTLEMENT_COLUMNS = (
    "setl_id", "mdtrt_id", "psn_no", "psn_type", "med_type", "setl_time", "fixmedins_code",
    "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "acct_pay", "refd_setl_flag", "init_setl_id",
    "emergency_flag", "rx_no", "rx_institution", "rx_date", "drug_code", "medfee_sumamt",
    "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "cvlserv_pay", "hifob_pay",
)  # fmt: skip


def read_rows(engine: Engine, since: datetime.date, until: datetime.date) -> Iterator[Row]:
    """The settlements dated from ``since`` to ``until`` inclusive, by person, time, setl_id."""
    query = (
        select(
            *(getattr(Settlement, name) for name in SETTLEMENT_COLUMNS),
            Institution.fixmedins_type,
            Institution.medins_lv,
            Institution.spec_hosp,
            Institution.admdvs,
            Institution.listed,
            ClearingBatch.link.label("batch"),
        )
        .join(Institution, Institution.code == Settlement.fixmedins_code)
        .outerjoin(ClearingBatch, batch_member(Settlement, ClearingBatch))
        .where(
            Settlement.setl_time >= datetime.datetime.combine(since, datetime.time()),
            Settlement.setl_time
            < datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time()),
        )
        .order_by(Settlement.psn_no, Settlement.setl_time, Settlement.setl_id)
        .execution_options(yield_per=5000)
    )
    with engine.connect() as conn:
        for values in conn.execute(query):
            yield Row(**values._mapping)


def read_spans(engine: Engine) -> dict[str, list[Span]]:
    """Every person's records (referral, long-term residence, arrears), by psn_no."""
    spans: dict[str, list[Span]] = defaultdict(list)
    with engine.connect() as conn:
        for psn_no, record, since, until in conn.execute(
            select(
                PersonRecord.psn_no,
                PersonRecord.record,
                PersonRecord.begndate,
                PersonRecord.enddate,
            )
        ):
            spans[psn_no].append(Span(record, since, until))
    return spans


def designated_medical_institutions(engine: Engine) -> frozenset[str]:
    """The listed medical institutions (门诊统筹定点医疗机构): who may write a prescription."""
    with engine.connect() as conn:
        return frozenset(
            conn.execute(
                select(Institution.code).where(
                    Institution.listed.is_(True), Institution.fixmedins_type == "1"
                )
            ).scalars()
        )


def refunded_settlements(engine: Engine) -> frozenset[str | None]:
    """The setl_ids a refund reverses, wherever the refund is dated: a January refund cancels
    a December settlement."""
    with engine.connect() as conn:
        return frozenset(
            conn.execute(
                select(Settlement.init_setl_id).where(Settlement.refd_setl_flag.is_(True))
            ).scalars()
        )


__all__ = [
    "SETTLEMENT_COLUMNS",
    "Row",
    "Span",
    "designated_medical_institutions",
    "read_rows",
    "read_spans",
    "refunded_settlements",
]
