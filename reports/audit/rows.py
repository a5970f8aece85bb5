"""What the audit reads of the register: settlements (结算) with their institution and batch,
ordered by person and time and streamed; fee details (费用明细) the same way; person records
(备案, 欠费) as date spans; family bindings (家庭共济) with what the register says of each
holder's psn_type; the designated medical institutions; the settlements a refund (退费)
reverses."""

from __future__ import annotations

import bisect
import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    String,
    and_,
    exists,
    func,
    or_,
    select,
    type_coerce,
)

from ledger.month import Month
from ledger.register.models import (
    ClearingBatch,
    ContributionRow,
    FamilyBinding,
    FeeDetail,
    Institution,
    PersonRecord,
    Settlement,
)


@dataclass(frozen=True, slots=True)
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
    acct_mulaid_pay: Decimal
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


@dataclass(frozen=True)
class Binding:
    """A family binding of a user (家庭共济): the holder whose account pays, the user's relation
    to them, its dates (inclusive, open end when ``until`` is None), and the holder's psn_types
    as the register shows them: (the first day each is seen, psn_type), in date order, from
    the holder's own settlements and contribution rows; empty when the register has neither."""

    holder_psn_no: str
    relation: str
    since: datetime.date
    until: datetime.date | None
    holder_types: tuple[tuple[datetime.date, str], ...] = ()

    def covers(self, day: datetime.date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)

    def holder_psn_type(self, day: datetime.date) -> str | None:
        """The holder's psn_type on ``day``: the last one first seen by then, else the first
        one seen after it; None when the register has none."""
        if not self.holder_types:
            return None
        index = bisect.bisect_right(self.holder_types, day, key=lambda seen: seen[0])
        return self.holder_types[max(index - 1, 0)][1]


#: The Row fields read from the institution; the batch is worked out from the batches' keys.
INSTITUTION_COLUMNS = ("fixmedins_type", "medins_lv", "spec_hosp", "admdvs", "listed")
#: Money fields, read as the stored integer fen and made Decimal here (``_yuan``): the
#: register's type would build a Decimal through ``scaleb`` for every one, zeros included.
MONEY_COLUMNS = frozenset(f.name for f in dataclasses.fields(Row) if f.type in ("Decimal", Decimal))


def _column(name: str, sqlite: bool) -> Any:
    if name in INSTITUTION_COLUMNS:
        return getattr(Institution, name)
    column = getattr(Settlement, name)
    if name in MONEY_COLUMNS:
        return type_coerce(column, BigInteger)
    if sqlite and name in ("setl_time", "rx_date"):
        # SQLite keeps them as ISO text; fromisoformat reads it faster than the type's regex
        return type_coerce(column, String)
    return column


_YUAN: dict[int, Decimal] = {}


def _yuan(fen: int) -> Decimal:
    """Integer fen as Decimal yuan, exact; the values repeat, so they are kept once made."""
    found = _YUAN.get(fen)
    if found is None:
        found = Decimal(fen).scaleb(-2)
        if len(_YUAN) < 65_536:
            _YUAN[fen] = found
    return found


def _batch_links(conn: Connection) -> dict[tuple[str, str, str], tuple[int, str]]:
    """(period, institution, clr_type) -> (the batch's file watermark, its link): a settlement
    of that key from a file up to the watermark is the batch's (ledger.register.batching)."""
    return {
        (period, code, clr_type): (last_file_id, link)
        for period, code, clr_type, last_file_id, link in conn.execute(
            select(
                ClearingBatch.period,
                ClearingBatch.fixmedins_code,
                ClearingBatch.clr_type,
                ClearingBatch.last_file_id,
                ClearingBatch.link,
            )
        )
    }


def read_rows(engine: Engine, since: datetime.date, until: datetime.date) -> Iterator[Row]:
    """The settlements dated from ``since`` to ``until`` inclusive, by person, time, setl_id.

    The hot path of the audit: one ordered query streamed in blocks, money as integer fen made
    Decimal once per distinct value, each Row built positionally."""
    sqlite = engine.dialect.name == "sqlite"
    names = [f.name for f in dataclasses.fields(Row) if f.name != "batch"]
    query = (
        select(
            *(_column(name, sqlite) for name in names),
            Settlement.setl_period,
            Settlement.clr_type,
            Settlement.file_id,
        )
        .join(Institution, Institution.code == Settlement.fixmedins_code)
        .where(
            Settlement.setl_time >= datetime.datetime.combine(since, datetime.time()),
            Settlement.setl_time
            < datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time()),
        )
        .order_by(Settlement.psn_no, Settlement.setl_time, Settlement.setl_id)
        .execution_options(yield_per=20_000)
    )
    money = [index for index, name in enumerate(names) if name in MONEY_COLUMNS]
    time_at, date_at = names.index("setl_time"), names.index("rx_date")
    code_at = names.index("fixmedins_code")
    parse_time, parse_date = datetime.datetime.fromisoformat, datetime.date.fromisoformat
    with engine.connect() as conn:
        batches = _batch_links(conn)
        for values in conn.execute(query):
            *fields, period, clr_type, file_id = values
            for index in money:
                fields[index] = _yuan(fields[index])
            if sqlite:
                fields[time_at] = parse_time(fields[time_at])
                if fields[date_at] is not None:
                    fields[date_at] = parse_date(fields[date_at][:10])
            batch = batches.get((period, fields[code_at], clr_type))
            link = batch[1] if batch is not None and file_id <= batch[0] else None
            fields.append(link)
            yield Row(*fields)


@dataclass(frozen=True)
class Item:
    """One fee detail (费用明细) with its institution's type (None: not in the register's
    institutions) and whether any settlement of its visit is in the register at all."""

    feedetl_sn: str
    mdtrt_id: str
    psn_no: str
    fixmedins_code: str
    fee_ocur_time: datetime.datetime
    med_list_codg: str
    med_chrgitm_type: str
    rxno: str | None
    det_item_fee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_amt: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    prd_days: Decimal | None
    fixmedins_type: str | None
    settled: bool

    @property
    def visit(self) -> tuple[str, str]:
        return self.mdtrt_id, self.fixmedins_code


ITEM_COLUMNS = (
    "feedetl_sn", "mdtrt_id", "psn_no", "fixmedins_code", "fee_ocur_time", "med_list_codg",
    "med_chrgitm_type", "rxno", "det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt",
    "preselfpay_amt", "inscp_scp_amt", "prd_days",
)  # fmt: skip


def _of_visit(
    since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> Any:
    """A settlement of the fee detail's visit (the same mdtrt_id and institution) exists, set
    between ``since`` and ``until`` when given."""
    where = [
        Settlement.mdtrt_id == FeeDetail.mdtrt_id,
        Settlement.fixmedins_code == FeeDetail.fixmedins_code,
    ]
    if since is not None and until is not None:
        where += [Settlement.setl_time >= since, Settlement.setl_time < until]
    return exists(select(Settlement.id).where(and_(*where)))


def read_items(engine: Engine, since: datetime.date, until: datetime.date) -> Iterator[Item]:
    """The fee details of the days ``since`` to ``until`` inclusive and every item of a visit
    settled on those days (wherever its own time falls), by person, time, feedetl_sn."""
    start = datetime.datetime.combine(since, datetime.time())
    end = datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time())
    query = (
        select(
            *(getattr(FeeDetail, name) for name in ITEM_COLUMNS),
            Institution.fixmedins_type,
            _of_visit().label("settled"),
        )
        .outerjoin(Institution, Institution.code == FeeDetail.fixmedins_code)
        .where(
            or_(
                and_(FeeDetail.fee_ocur_time >= start, FeeDetail.fee_ocur_time < end),
                _of_visit(start, end),
            )
        )
        .order_by(FeeDetail.psn_no, FeeDetail.fee_ocur_time, FeeDetail.feedetl_sn)
        .execution_options(yield_per=5000)
    )
    with engine.connect() as conn:
        for values in conn.execute(query):
            yield Item(**{**values._mapping, "settled": bool(values.settled)})


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


#: Holders looked up per query: bound parameters, never a join across the tables (on
#: PostgreSQL settlements.psn_no sorts in "C", the other tables' numbers in the database's own).
HOLDERS_PER_QUERY = 500


def read_bindings(engine: Engine) -> dict[str, list[Binding]]:
    """Every family binding, by the user's psn_no, in (begndate, holder) order, each with its
    holder's psn_types (:class:`Binding`)."""
    with engine.connect() as conn:
        listed = conn.execute(
            select(
                FamilyBinding.user_psn_no,
                FamilyBinding.holder_psn_no,
                FamilyBinding.relation,
                FamilyBinding.begndate,
                FamilyBinding.enddate,
            ).order_by(
                FamilyBinding.user_psn_no, FamilyBinding.begndate, FamilyBinding.holder_psn_no
            )
        ).all()
        first_seen = _holder_types(conn, sorted({holder for _user, holder, *_ in listed}))
    bindings: dict[str, list[Binding]] = defaultdict(list)
    for user, holder, relation, since, until in listed:
        types = sorted((day, psn_type) for psn_type, day in first_seen[holder].items())
        bindings[user].append(Binding(holder, relation, since, until, tuple(types)))
    return bindings


def _holder_types(conn: Connection, holders: Sequence[str]) -> dict[str, dict[str, datetime.date]]:
    """holder -> psn_type -> the first day the register shows it: the holder's settlements
    (their day) and contribution rows (their month's first day)."""
    first_seen: dict[str, dict[str, datetime.date]] = defaultdict(dict)

    def seen(psn_no: str, psn_type: str, day: datetime.date) -> None:
        known = first_seen[psn_no].get(psn_type)
        if known is None or day < known:
            first_seen[psn_no][psn_type] = day

    for start in range(0, len(holders), HOLDERS_PER_QUERY):
        chunk = holders[start : start + HOLDERS_PER_QUERY]
        for psn_no, psn_type, first in conn.execute(
            select(Settlement.psn_no, Settlement.psn_type, func.min(Settlement.setl_time))
            .where(Settlement.psn_no.in_(chunk))
            .group_by(Settlement.psn_no, Settlement.psn_type)
        ):
            seen(psn_no, psn_type, first.date())
        for psn_no, psn_type, period in conn.execute(
            select(
                ContributionRow.psn_no, ContributionRow.psn_type, func.min(ContributionRow.period)
            )
            .where(ContributionRow.psn_no.in_(chunk))
            .group_by(ContributionRow.psn_no, ContributionRow.psn_type)
        ):
            seen(psn_no, psn_type, Month.parse(period).first)
    return first_seen


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
    "ITEM_COLUMNS",
    "Binding",
    "Item",
    "Row",
    "Span",
    "designated_medical_institutions",
    "read_bindings",
    "read_items",
    "read_rows",
    "read_spans",
    "refunded_settlements",
]
