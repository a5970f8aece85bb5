"""Clearing batches and their settlements, for the extension's pages: every query names its
columns (never psn_name, certno or extra), a page is one indexed query, a batch's totals are
sums of its settlement_totals rows, and its CSV is streamed in keyset chunks of the row id."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    false,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import InstrumentedAttribute

from ledger.money import ZERO
from ledger.month import Month
from ledger.register.batching import batch_key, in_batch, totals_member
from ledger.register.models import (
    MONEY_FIELDS,
    OTHER_FUND_FIELDS,
    ClearingBatch,
    Institution,
    Money,
    Posting,
    Scaled,
    Settlement,
    SettlementTotal,
    personal_part,
)
from reports.fava.params import BadRequest, Page, check_page, param_value
from reports.spreadsheet import csv_text, csv_writer

#: Rows per chunk of a streamed CSV.
CSV_CHUNK = 2000

#: Columns a page of settlements may be sorted by (each with the row id as tie-breaker).
SORT_KEYS: dict[str, InstrumentedAttribute[Any]] = {
    "setl_id": Settlement.setl_id,
    "setl_time": Settlement.setl_time,
    "psn_no": Settlement.psn_no,
    "med_type": Settlement.med_type,
    "inscp_scp_amt": Settlement.inscp_scp_amt,
    "hifp_pay": Settlement.hifp_pay,
    "acct_pay": Settlement.acct_pay,
    "psn_cash_pay": Settlement.psn_cash_pay,
    "refd_setl_flag": Settlement.refd_setl_flag,
}
DEFAULT_SORT = "setl_id"

#: What a page shows of a settlement (never psn_name, certno or extra).
ROW_COLUMNS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "psn_type",
    "med_type",
    "setl_time",
    "fixmedins_code",
    "medfee_sumamt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "fund_pay_sumamt",
    "clr_type",
    "refd_setl_flag",
    "init_setl_id",
)

#: The CSV of a batch: the settlement result's fields in the platform's order, without
#: personal data.
CSV_COLUMNS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "psn_type",
    "insutype",
    "med_type",
    "setl_time",
    "setl_period",
    "fixmedins_code",
    "fixmedins_name",
    *MONEY_FIELDS[: MONEY_FIELDS.index("hifp_pay") + 1],
    "pool_prop_selfpay",
    *MONEY_FIELDS[MONEY_FIELDS.index("hifp_pay") + 1 :],
    "clr_type",
    "clr_way",
    "clr_optins",
    "refd_setl_flag",
    "init_setl_id",
    "emergency_flag",
    "rx_no",
    "rx_institution",
    "rx_date",
    "drug_code",
)
PERSONAL_COLUMNS = frozenset({"psn_name", "certno", "extra"})
assert not PERSONAL_COLUMNS & {*ROW_COLUMNS, *CSV_COLUMNS}

#: Sums shown for a batch, in this order.
TOTAL_FIELDS = (
    "medfee_sumamt",
    "inscp_scp_amt",
    "hifp_pay",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "fund_pay_sumamt",
    *OTHER_FUND_FIELDS,
)


@dataclass(frozen=True)
class Batch:
    """A clearing batch as the register has it, with its payment if booked."""

    id: int
    link: str
    period: str
    institution_code: str
    institution_name: str
    clr_type: str
    settlement_count: int
    refund_count: int
    voucher: str | None
    paid_on: datetime.date | None
    books_file: str | None
    clr_optins: str | None = None  # 异地就医: paid through this clearing agency

    @property
    def paid(self) -> bool:
        return self.voucher is not None


@dataclass(frozen=True)
class BatchTotals:
    """SQL sums over every settlement of a batch."""

    count: int
    refunds: int
    sums: dict[str, Decimal]

    @property
    def personal(self) -> Decimal:
        """The personal-account leg: own account plus mutual aid (个人账户 + 共济)."""
        return personal_part(self.sums)

    @property
    def other_funds(self) -> Decimal:
        return sum((self.sums[name] for name in OTHER_FUND_FIELDS), ZERO)

    @property
    def booked(self) -> Decimal:
        """What the books should carry as expenditure: pooled + personal."""
        return self.sums["hifp_pay"] + self.personal


@dataclass(frozen=True)
class SettlementRow:
    """What a page shows of one settlement: no personal data."""

    setl_id: str
    mdtrt_id: str
    psn_no: str
    psn_type: str
    med_type: str
    setl_time: datetime.datetime
    fixmedins_code: str
    medfee_sumamt: Decimal
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    fund_pay_sumamt: Decimal
    clr_type: str
    refd_setl_flag: bool
    init_setl_id: str | None


ROW_SELECT = tuple(getattr(Settlement, name) for name in ROW_COLUMNS)


def settlement_row(values: Sequence[Any]) -> SettlementRow:
    return SettlementRow(*values[: len(ROW_COLUMNS)])


def _batch_select() -> Select[*tuple[Any, ...]]:
    return (
        select(
            ClearingBatch.id,
            ClearingBatch.link,
            ClearingBatch.period,
            ClearingBatch.fixmedins_code,
            func.coalesce(Institution.name, ClearingBatch.fixmedins_code),
            ClearingBatch.clr_type,
            ClearingBatch.settlement_count,
            ClearingBatch.refund_count,
            Posting.voucher,
            Posting.paid_on,
            Posting.books_file,
            ClearingBatch.clr_optins,
        )
        .join(Institution, Institution.code == ClearingBatch.fixmedins_code, isouter=True)
        .join(Posting, Posting.batch_id == ClearingBatch.id, isouter=True)
    )


def batch_by_link(engine: Engine, link: str) -> Batch:
    """The batch of a link; BadRequest when the register has none."""
    with engine.connect() as conn:
        row = conn.execute(_batch_select().where(ClearingBatch.link == link)).first()
    if row is None:
        raise BadRequest(f"登记簿中没有清算批次 {link}", f"link: no batch {link} in the register")
    return Batch(*row)


def list_batches(
    engine: Engine, number: int, per_page: int, period: Month | None = None
) -> Page[Batch]:
    """The register's batches, newest clearing period first, a page at a time."""
    where = [ClearingBatch.period == period.period] if period else []
    with engine.connect() as conn:
        total = conn.execute(select(func.count(ClearingBatch.id)).where(*where)).scalar_one()
        check_page(number, per_page, total)
        rows = conn.execute(
            _batch_select()
            .where(*where)
            .order_by(
                ClearingBatch.period.desc(), ClearingBatch.fixmedins_code, ClearingBatch.clr_type
            )
            .limit(per_page)
            .offset((number - 1) * per_page)
        ).all()
    return Page(tuple(Batch(*row) for row in rows), number, per_page, total)


def _sum(name: str) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(getattr(SettlementTotal, name)), 0), Money)


def _members(conn: Connection, batch_id: int) -> ColumnElement[bool]:
    """The condition on settlements of the batch's members (none for an unknown id)."""
    key = batch_key(conn, batch_id)
    return false() if key is None else in_batch(Settlement, key)


def batch_totals(engine: Engine, batch_id: int) -> BatchTotals:
    """Count and sums of the batch's settlements, in one aggregate query over its
    settlement_totals rows."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                func.coalesce(func.sum(SettlementTotal.settlement_count), 0),
                func.coalesce(func.sum(SettlementTotal.refund_count), 0),
                *(_sum(name) for name in TOTAL_FIELDS),
            )
            .select_from(ClearingBatch)
            .join(SettlementTotal, totals_member(SettlementTotal, ClearingBatch))
            .where(ClearingBatch.id == batch_id)
        ).one()
    return BatchTotals(int(row[0]), int(row[1]), dict(zip(TOTAL_FIELDS, row[2:], strict=True)))


def _ordering(sort: str, order: Literal["asc", "desc"]) -> tuple[ColumnElement[Any], ...]:
    column = SORT_KEYS[sort]
    if order == "desc":
        return column.desc(), Settlement.id.desc()
    return column.asc(), Settlement.id.asc()


def batch_settlements(
    engine: Engine,
    batch_id: int,
    number: int,
    per_page: int,
    sort: str = DEFAULT_SORT,
    order: Literal["asc", "desc"] = "asc",
    *,
    total: int | None = None,
) -> Page[SettlementRow]:
    """One page of a batch's settlements: the batch key's index, ORDER BY (the sort key, then
    the row id), LIMIT/OFFSET, counted from the nearer end of the batch (a page past the middle
    is the same rows taken in the opposite order, so that OFFSET skips fewer of them).

    ``total`` (the batch's count, from :func:`batch_totals`) saves a count query.
    """
    if sort not in SORT_KEYS:
        raise BadRequest(f"排序字段无效：{sort}", f"sort: unknown key {sort!r}")
    with engine.connect() as conn:
        members = _members(conn, batch_id)
        if total is None:
            total = conn.execute(select(func.count(Settlement.id)).where(members)).scalar_one()
        check_page(number, per_page, total)
        # A deferred join: the page's ids are chosen on (sort key, id) alone, so that the sort
        # of a deep page carries two columns per row, then only those rows are read whole.
        # (sort key, id) orders the rows totally, so the reversed order gives the same page.
        offset = (number - 1) * per_page
        rows_on_page = max(0, min(per_page, total - offset))
        from_end = total - offset - rows_on_page
        if offset <= from_end:
            direction, limit = order, per_page
        else:
            direction, limit = ("desc" if order == "asc" else "asc"), rows_on_page
        page_ids = (
            select(Settlement.id)
            .where(members)
            .order_by(*_ordering(sort, direction))
            .limit(limit)
            .offset(min(offset, from_end))
        )
        rows = conn.execute(
            select(*ROW_SELECT).where(Settlement.id.in_(page_ids)).order_by(*_ordering(sort, order))
        ).all()
    return Page(tuple(settlement_row(row) for row in rows), number, per_page, total)


def page_of_settlement(
    engine: Engine,
    batch_id: int,
    setl_id: str,
    per_page: int,
    sort: str = DEFAULT_SORT,
    order: Literal["asc", "desc"] = "asc",
) -> int:
    """The page of the batch (sorted so) that holds ``setl_id``; BadRequest if it is not in
    the batch. One count over the batch's index, never the rows."""
    column = SORT_KEYS[sort]
    with engine.connect() as conn:
        members = _members(conn, batch_id)
        found = conn.execute(
            select(Settlement.id, column).where(Settlement.setl_id == setl_id, members)
        ).first()
        if found is None:
            raise BadRequest(
                f"结算 {setl_id} 不在该清算批次中",
                f"setl_id: {setl_id} is not a settlement of this batch",
            )
        row_id, value = found
        before = (
            or_(column < value, and_(column == value, Settlement.id < row_id))
            if order == "asc"
            else or_(column > value, and_(column == value, Settlement.id > row_id))
        )
        position = conn.execute(
            select(func.count(Settlement.id)).where(members, before)
        ).scalar_one()
    return int(position) // per_page + 1


def _csv_value(value: Any) -> str:
    """A register value as CSV text: strings are text from the exports (names, codes, ids) and
    formula-safe; numbers and dates are formatted here."""
    if type(value) is str:
        return csv_text(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _scaled_text(value: int | None, places: int) -> str:
    """An exact scaled integer (fen) as decimal text: 12345, 2 -> ``123.45``."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(int(value)), 10**places)
    return f"{sign}{whole}.{part:0{places}d}"


class _ScaledTexts(dict[Any, str]):
    """Memo of :func:`_scaled_text` for one number of places (amounts repeat a lot: 0.00)."""

    def __init__(self, places: int) -> None:
        super().__init__()
        self.places = places

    def __missing__(self, key: Any) -> str:
        text = _scaled_text(key, self.places)
        if len(self) < 50_000:
            self[key] = text
        return text


def _csv_plan() -> tuple[list[ColumnElement[Any]], list[Callable[[Any], str]]]:
    """The CSV's columns as selected, and how each cell becomes text: money is read as the
    stored integer and formatted here, far cheaper than a Decimal per cell."""
    columns: list[ColumnElement[Any]] = []
    formats: list[Callable[[Any], str]] = []
    memos: dict[int, _ScaledTexts] = {}
    for name in CSV_COLUMNS:
        column = getattr(Settlement, name)
        column_type = Settlement.__table__.c[name].type
        if isinstance(column_type, Scaled):
            columns.append(type_coerce(column, BigInteger))
            memo = memos.setdefault(column_type.places, _ScaledTexts(column_type.places))
            formats.append(memo.__getitem__)
        else:
            columns.append(column)
            formats.append(_csv_value)
    return columns, formats


def iter_batch_csv(engine: Engine, batch_id: int, chunk: int = CSV_CHUNK) -> Iterator[str]:
    """The batch's settlements as CSV text (UTF-8 with a BOM for spreadsheet programs),
    produced a chunk at a time: keyset pages of the register's row id within the batch
    (``<batch key> AND file_id <= ? AND id > ? ORDER BY id LIMIT chunk``),
    all read in one transaction so that the file is one consistent picture."""
    columns, formats = _csv_plan()
    plan = list(enumerate(formats, start=1))
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    with engine.connect() as conn:
        members = _members(conn, batch_id)
        last = -1
        while True:
            rows = conn.execute(
                select(Settlement.id, *columns)
                .where(members, Settlement.id > last)
                .order_by(Settlement.id)
                .limit(chunk)
            ).all()
            if not rows:
                return
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([text(row[i]) for i, text in plan] for row in rows)
            yield buffer.getvalue()
            last = rows[-1][0]
            if len(rows) < chunk:
                return


def parse_sort(args: Mapping[str, str]) -> tuple[str, Literal["asc", "desc"]]:
    sort = param_value(args, "sort") or DEFAULT_SORT
    if sort not in SORT_KEYS:
        raise BadRequest(
            f"排序字段无效（{sort[:40]}），可用：{', '.join(SORT_KEYS)}",
            f"sort: expected one of {', '.join(SORT_KEYS)} (found {sort[:40]!r})",
        )
    order = param_value(args, "order") or "asc"
    if order == "asc":
        return sort, "asc"
    if order == "desc":
        return sort, "desc"
    raise BadRequest(
        f"排序方向无效（{order[:20]}），应为 asc 或 desc",
        f"order: expected asc or desc (found {order[:20]!r})",
    )
