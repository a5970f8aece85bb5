"""Drill-down queries behind the Fava extension (``reports.fava.extension``): no Flask here.

Everything is read-only and bounded: a page of settlements is one indexed query with
LIMIT/OFFSET (the batch key's index, the person's ``psn_no`` index ...), a batch's totals are
SQL sums of its settlement_totals rows, and the CSV of a batch is streamed in keyset chunks of
the register's row id, so that a batch of 100,000 settlements is never held in memory. Personal
data (psn_name, certno) and the free-form ``extra`` columns are never selected: every query
names its columns.

Parameters come in as the strings of a query string; :class:`BadRequest` says, in Chinese and
English, what is wrong with one (the extension answers it with HTTP 400).
"""

from __future__ import annotations

import datetime
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import InstrumentedAttribute

from ledger.batching import batch_key, batch_member, in_batch, totals_member
from ledger.books import Books, BooksError
from ledger.close_order import months_between, out_of_order
from ledger.locks import LOCK_TYPE, REOPEN_TYPE, books_first_month, lock_history
from ledger.models import (
    MONEY_FIELDS,
    OTHER_FUND_FIELDS,
    ClearingBatch,
    Institution,
    Money,
    Posting,
    Scaled,
    Settlement,
    SettlementTotal,
)
from ledger.money import ZERO
from ledger.register import MIGRATIONS, make_engine, resolve_url
from ledger.register_lock import RegisterLockError, lock_wait_seconds
from reports.spreadsheet import csv_text, csv_writer

T = TypeVar("T")

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500
#: Rows per chunk of a streamed CSV.
CSV_CHUNK = 2000

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: setl_id, mdtrt_id, psn_no: what the platform issues (letters, digits, ``-_.``), <= 40.
ID_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,39}$")
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,29}$")
#: ``clr-<period>-<institution>-<clr_type>``, optionally written with Beancount's ``^``.
LINK_RE = re.compile(
    r"^clr-\d{4}-(0[1-9]|1[0-2])-[0-9A-Za-z][0-9A-Za-z_.-]{0,29}-[0-9A-Za-z]{1,10}$"
)
FINDINGS_FILE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,99}\.json$")
PAGE_RE = re.compile(r"^[1-9][0-9]{0,8}$")
RULE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")

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

#: Chinese column titles.
LABELS: dict[str, str] = {
    "setl_id": "结算ID",
    "mdtrt_id": "就诊ID",
    "psn_no": "人员编号",
    "psn_type": "人员类别",
    "med_type": "医疗类别",
    "setl_time": "结算时间",
    "fixmedins_code": "定点医药机构",
    "medfee_sumamt": "医疗费总额",
    "inscp_scp_amt": "符合范围金额",
    "act_pay_dedc": "起付线",
    "hifp_pay": "统筹基金支出",
    "acct_pay": "个人账户支出",
    "acct_mulaid_pay": "账户共济支出",
    "psn_cash_pay": "现金支付",
    "fund_pay_sumamt": "基金支付总额",
    "clr_type": "清算类别",
    "refd_setl_flag": "退费",
    "init_setl_id": "原结算ID",
    "other_funds": "其他基金合计",
    "personal": "个人账户合计（含共济）",
}


class BadRequest(ValueError):
    """A parameter is malformed or names nothing: answered with HTTP 400."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


class RegisterUnavailable(RuntimeError):
    """The register cannot be read (no books settings, no database, an old schema)."""


def open_register_readonly(root: Path) -> Engine:
    """The books' register (``mzledger.toml`` in ``root``), opened so that it cannot be
    written: SQLite in ``mode=ro``, PostgreSQL in read-only transactions. Unlike
    ``ledger.register.open_register`` it never migrates: a register whose schema is not the
    newest is refused (any mzledger command brings it up to date)."""
    try:
        config = Books(root).read_config()
        # SQLite: how long a page waits for an import's commit (ledger.register.busy_timeout_ms)
        wait = lock_wait_seconds(config.lock_wait_seconds)
    except (BooksError, RegisterLockError) as exc:
        raise RegisterUnavailable(str(exc)) from None
    url = make_url(resolve_url(config.db_url, root))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        if not path.is_file():
            raise RegisterUnavailable(f"{path}: no register (run `mzledger init`)")
        # A SQLite URI (percent-encoded path) in mode=ro; rendered by SQLAlchemy so that its
        # own parsing gives the URI back unchanged, whatever the path holds (spaces, # ? ...).
        readonly = URL.create(
            "sqlite",
            database=f"file:{quote(str(path.resolve()))}",
            query={"mode": "ro", "uri": "true"},
        )
        engine = make_engine(readonly.render_as_string(hide_password=False), wait)
    else:
        engine = make_engine(url.render_as_string(hide_password=False), wait)
        if engine.dialect.name == "postgresql":
            engine = engine.execution_options(postgresql_readonly=True)
    alembic_config = Config()
    alembic_config.set_main_option("script_location", MIGRATIONS)
    head = ScriptDirectory.from_config(alembic_config).get_current_head()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:
        engine.dispose()
        raise RegisterUnavailable(f"cannot read the register: {exc}") from None
    if current != head:
        engine.dispose()
        raise RegisterUnavailable(
            f"the register's schema is at {current}, not {head}: run `mzledger check` once "
            "to bring it up to date"
        )
    return engine


# ---------------------------------------------------------------------------------------------
# Parameters


def _param(args: Mapping[str, str], name: str) -> str | None:
    """A parameter's value, stripped; an empty one counts as absent (empty form fields)."""
    value = args.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_page(args: Mapping[str, str]) -> int:
    value = _param(args, "page")
    if value is None:
        return 1
    if not PAGE_RE.match(value):
        raise BadRequest(
            f"页码无效（{value[:20]}），应为正整数",
            f"page: expected a positive integer (found {value[:20]!r})",
        )
    return int(value)


def parse_per_page(args: Mapping[str, str]) -> int:
    value = _param(args, "per_page")
    if value is None:
        return DEFAULT_PER_PAGE
    if not PAGE_RE.match(value) or int(value) > MAX_PER_PAGE:
        raise BadRequest(
            f"每页条数无效（{value[:20]}），应为 1 至 {MAX_PER_PAGE}",
            f"per_page: expected 1 to {MAX_PER_PAGE} (found {value[:20]!r})",
        )
    return int(value)


def parse_sort(args: Mapping[str, str]) -> tuple[str, Literal["asc", "desc"]]:
    sort = _param(args, "sort") or DEFAULT_SORT
    if sort not in SORT_KEYS:
        raise BadRequest(
            f"排序字段无效（{sort[:40]}），可用：{', '.join(SORT_KEYS)}",
            f"sort: expected one of {', '.join(SORT_KEYS)} (found {sort[:40]!r})",
        )
    order = _param(args, "order") or "asc"
    if order == "asc":
        return sort, "asc"
    if order == "desc":
        return sort, "desc"
    raise BadRequest(
        f"排序方向无效（{order[:20]}），应为 asc 或 desc",
        f"order: expected asc or desc (found {order[:20]!r})",
    )


def parse_link(value: str | None) -> str:
    """A batch link, ``clr-2023-01-H21030101-11`` (a leading ``^`` is allowed)."""
    if value is None or not value.strip():
        raise BadRequest("缺少清算批次（link 参数）", "link: missing (expected clr-YYYY-MM-...)")
    link = value.strip().removeprefix("^")
    if len(link) > 100 or not LINK_RE.match(link):
        raise BadRequest(
            f"清算批次标识无效：{link[:100]}",
            f"link: expected clr-<YYYY-MM>-<institution>-<clr_type> (found {link[:100]!r})",
        )
    return link


def parse_id(name: str, value: str) -> str:
    if not ID_RE.match(value):
        raise BadRequest(
            f"{LABELS.get(name, name)}格式无效：{value[:40]}",
            f"{name}: expected letters, digits, '-', '_' or '.', at most 40 (found {value[:40]!r})",
        )
    return value


def parse_period(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not PERIOD_RE.match(value.strip()):
        raise BadRequest(
            f"清算期间无效：{value[:20]}（应为 YYYY-MM）",
            f"period: expected YYYY-MM (found {value[:20]!r})",
        )
    return value.strip()


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list."""

    items: tuple[T, ...]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the page's first item (0 when empty)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def _check_page(number: int, per_page: int, total: int) -> None:
    pages = max(1, math.ceil(total / per_page))
    if number > pages:
        raise BadRequest(
            f"页码超出范围：第 {number} 页，共 {pages} 页",
            f"page: {number} is past the last page ({pages})",
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
        return self.sums["acct_pay"] + self.sums["acct_mulaid_pay"]

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


@dataclass(frozen=True)
class SettlementHit:
    """A settlement found by lookup, with its batch and the batch's payment (if any)."""

    row: SettlementRow
    institution_name: str
    batch: str | None
    voucher: str | None
    paid_on: datetime.date | None


_ROW_SELECT = tuple(getattr(Settlement, name) for name in ROW_COLUMNS)


def _row(values: Sequence[Any]) -> SettlementRow:
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
    engine: Engine, number: int, per_page: int, period: str | None = None
) -> Page[Batch]:
    """The register's batches, newest clearing period first, a page at a time."""
    where = [ClearingBatch.period == period] if period else []
    with engine.connect() as conn:
        total = conn.execute(select(func.count(ClearingBatch.id)).where(*where)).scalar_one()
        _check_page(number, per_page, total)
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
        _check_page(number, per_page, total)
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
            select(*_ROW_SELECT)
            .where(Settlement.id.in_(page_ids))
            .order_by(*_ordering(sort, order))
        ).all()
    return Page(tuple(_row(row) for row in rows), number, per_page, total)


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


LOOKUP_FIELDS = ("setl_id", "mdtrt_id", "psn_no")


def parse_lookup(args: Mapping[str, str]) -> tuple[str, str] | None:
    """Which field to look up and its value; None when the form is empty."""
    given = [(name, value) for name in LOOKUP_FIELDS if (value := _param(args, name))]
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
        _check_page(number, per_page, total)
        rows = conn.execute(
            select(
                *_ROW_SELECT,
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
    hits = tuple(SettlementHit(_row(row), *row[n:]) for row in rows)
    return Page(hits, number, per_page, total)


# ---------------------------------------------------------------------------------------------
# Audit findings (files written by `mzledger audit --format json --out <books>/audit/...`)


@dataclass(frozen=True)
class FindingsFile:
    name: str
    path: Path
    modified: datetime.datetime


@dataclass(frozen=True)
class FindingView:
    """One finding as the page shows it: person number only, never a name."""

    rule: str
    setl_id: str
    psn_no: str
    institution: str
    setl_time: str
    batch: str | None
    reported: str | None
    expected: str | None
    difference: str | None
    article: str
    explanation_zh: str
    explanation_en: str
    evidence: tuple[tuple[str, str], ...]

    @property
    def setl_id_ok(self) -> bool:
        return bool(ID_RE.match(self.setl_id))

    @property
    def batch_ok(self) -> bool:
        return self.batch is not None and bool(LINK_RE.match(self.batch))


class FindingsError(ValueError):
    """A findings file that is not what `mzledger audit --format json` writes."""


def findings_files(root: Path) -> list[FindingsFile]:
    """``<books>/audit/*.json``, newest first."""
    directory = root / "audit"
    if not directory.is_dir():
        return []
    stamped = [
        (path.stat().st_mtime_ns, path)
        for path in directory.glob("*.json")
        if path.is_file() and FINDINGS_FILE_RE.match(path.name)
    ]
    stamped.sort(key=lambda pair: (pair[0], pair[1].name), reverse=True)
    files = [
        FindingsFile(
            path.name,
            path,
            datetime.datetime.fromtimestamp(ns / 1e9).replace(microsecond=0),
        )
        for ns, path in stamped
    ]
    return files


def pick_findings_file(files: Sequence[FindingsFile], name: str | None) -> FindingsFile | None:
    """The file asked for (by name, from the list only), else the newest."""
    if name is None or not name.strip():
        return files[0] if files else None
    name = name.strip()
    for candidate in files:
        if candidate.name == name:
            return candidate
    raise BadRequest(
        f"没有稽核结果文件 {name[:100]}", f"file: no findings file {name[:100]!r} in audit/"
    )


def _text(item: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    value = item.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise FindingsError(f"{name}: expected a string (found {type(value).__name__})")
    return value


def load_findings(path: Path) -> list[FindingView]:
    """The findings of one file, sorted by rule, institution, time; FindingsError if the file
    is not a findings list."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FindingsError(f"{path.name}: cannot read: {exc}") from None
    if not isinstance(raw, list):
        raise FindingsError(f"{path.name}: not a JSON array of findings")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise FindingsError(f"{path.name}: item {n}: not an object")
        try:
            evidence = item.get("evidence") or {}
            if not isinstance(evidence, dict):
                raise FindingsError("evidence: expected an object")
            out.append(
                FindingView(
                    rule=_text(item, "rule"),
                    setl_id=_text(item, "setl_id"),
                    psn_no=_text(item, "psn_no"),
                    institution=_text(item, "institution"),
                    setl_time=_text(item, "setl_time"),
                    batch=_text(item, "batch", optional=True),
                    reported=_text(item, "reported_hifp_pay", optional=True),
                    expected=_text(item, "expected_hifp_pay", optional=True),
                    difference=_text(item, "difference", optional=True),
                    article=_text(item, "article", optional=True) or "",
                    explanation_zh=_text(item, "explanation_zh", optional=True) or "",
                    explanation_en=_text(item, "explanation_en", optional=True) or "",
                    evidence=tuple((str(k), str(v)) for k, v in evidence.items()),
                )
            )
        except FindingsError as exc:
            raise FindingsError(f"{path.name}: item {n}: {exc}") from None
    out.sort(key=lambda f: (f.rule, f.institution, f.setl_time, f.setl_id))
    return out


@dataclass(frozen=True)
class FindingsSummary:
    by_rule: tuple[tuple[str, int], ...]
    by_institution: tuple[tuple[str, int], ...]
    total: int


def summarize_findings(findings: Iterable[FindingView]) -> FindingsSummary:
    rules: Counter[str] = Counter()
    institutions: Counter[str] = Counter()
    total = 0
    for finding in findings:
        rules[finding.rule] += 1
        institutions[finding.institution] += 1
        total += 1
    return FindingsSummary(tuple(sorted(rules.items())), tuple(sorted(institutions.items())), total)


def parse_rule(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    rule = value.strip()
    if not RULE_RE.match(rule):
        raise BadRequest(f"稽核规则无效：{rule[:60]}", f"rule: malformed ({rule[:60]!r})")
    return rule


def parse_institution(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip()
    if not CODE_RE.match(code):
        raise BadRequest(f"机构编码无效：{code[:30]}", f"institution: malformed ({code[:30]!r})")
    return code


def filter_findings(
    findings: Sequence[FindingView], rule: str | None, institution: str | None
) -> list[FindingView]:
    return [
        f
        for f in findings
        if (rule is None or f.rule == rule)
        and (institution is None or f.institution == institution)
    ]


def paginate(items: Sequence[T], number: int, per_page: int) -> Page[T]:
    _check_page(number, per_page, len(items))
    start = (number - 1) * per_page
    return Page(tuple(items[start : start + per_page]), number, per_page, len(items))


# ---------------------------------------------------------------------------------------------
# Month status (月结状态): close summaries and locks


@dataclass(frozen=True)
class FailedCheck:
    name: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class Reopening:
    month: str
    date: datetime.date
    who: str
    when: str
    why: str


@dataclass(frozen=True)
class LockView:
    month: str
    date: datetime.date
    locked_by: str
    locked_at: str
    manifest: str
    reopening: Reopening | None

    @property
    def in_force(self) -> bool:
        return self.reopening is None


MonthState = Literal["open", "closed", "locked"]
STATE_LABELS: dict[str, str] = {"open": "未结账", "closed": "已结账", "locked": "已锁定"}


@dataclass(frozen=True)
class MonthStatus:
    month: str
    state: MonthState
    summary: bool  # a close summary exists
    can_close: bool | None
    failed_checks: tuple[FailedCheck, ...]
    outstanding: int  # batches of earlier periods unpaid at the month's end, per the summary
    locks: tuple[LockView, ...]
    summary_problem: str | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class MonthsOverview:
    months: tuple[MonthStatus, ...]
    reopenings: tuple[Reopening, ...]
    problems: tuple[str, ...] = field(default=())


def _meta(entry: Any, name: str) -> str:
    value = (getattr(entry, "meta", None) or {}).get(name)
    return value.strip() if isinstance(value, str) else ""


def _month_of(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _read_summary(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name}: cannot read: {exc}"
    if not isinstance(raw, dict) or not isinstance(raw.get("can_close"), bool):
        return None, f"{path.name}: not a close summary (no can_close)"
    return raw, None


def month_statuses(root: Path, entries: Sequence[Any]) -> MonthsOverview:
    """Every month of the books, first to last, with its close summary and lock state.

    The books' months run from their first month (``ledger.locks.books_first_month``: months
    between the chart's opening and the first entry are not the books' and need no close) to
    the last dated entry (lock, reopen and Fava's own entries left out, as they are dated when
    written), widened by any close summary or lock. A month is locked when a lock is in force,
    else closed when its summary says can_close, else open. A locked month with an earlier
    month not locked (``ledger.close_order``) is listed among the problems.
    """
    history = lock_history(entries)
    summaries: dict[str, Path] = {}
    close_dir = root / "close"
    if close_dir.is_dir():
        for path in close_dir.glob("*.json"):
            if PERIOD_RE.match(path.stem):
                summaries[path.stem] = path
    months: set[str] = set(summaries)
    dated: set[str] = set()
    for entry in entries:
        entry_type = getattr(entry, "type", None)
        if isinstance(entry_type, str) and (
            entry_type in (LOCK_TYPE, REOPEN_TYPE) or entry_type.startswith("fava-")
        ):
            continue
        date = getattr(entry, "date", None)
        if isinstance(date, datetime.date):
            dated.add(_month_of(date))
    first = books_first_month(entries)
    if dated and first is not None:
        months |= {first, max(dated)}
    months |= {lock.month for lock in history.locks}
    locks_by_month: dict[str, list[LockView]] = {}
    reopenings: list[Reopening] = []
    for lock in history.locks:
        reopening = None
        if lock.reopened_by is not None:
            reason = lock.reopened_by.values[1].value if len(lock.reopened_by.values) > 1 else ""
            reopening = Reopening(
                lock.month,
                lock.reopened_by.date,
                _meta(lock.reopened_by, "reopened_by"),
                _meta(lock.reopened_by, "reopened_at"),
                str(reason),
            )
            reopenings.append(reopening)
        locks_by_month.setdefault(lock.month, []).append(
            LockView(
                lock.month,
                lock.entry.date,
                _meta(lock.entry, "locked_by"),
                _meta(lock.entry, "locked_at"),
                lock.manifest,
                reopening,
            )
        )
    in_force = history.in_force()
    out = []
    if months:
        for month in months_between(min(months), max(months)):
            summary, problem = (None, None)
            if month in summaries:
                summary, problem = _read_summary(summaries[month])
            can_close = summary["can_close"] if summary is not None else None
            failed = tuple(
                FailedCheck(
                    str(check.get("name", "?")),
                    tuple(str(d) for d in check.get("details") or ()),
                )
                for check in (summary or {}).get("checks") or ()
                if isinstance(check, dict) and check.get("ok") is False
            )
            outstanding = (summary or {}).get("outstanding_payments") or []
            state: MonthState = "locked" if month in in_force else "closed" if can_close else "open"
            out.append(
                MonthStatus(
                    month,
                    state,
                    summary is not None,
                    can_close,
                    failed,
                    len(outstanding) if isinstance(outstanding, list) else 0,
                    tuple(locks_by_month.get(month, ())),
                    problem,
                )
            )
    problems = tuple(p.message for p in history.problems) + tuple(
        out_of_order(first, in_force.keys())
    )
    return MonthsOverview(tuple(out), tuple(reopenings), problems)


__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "SORT_KEYS",
    "BadRequest",
    "Batch",
    "BatchTotals",
    "FindingView",
    "FindingsError",
    "FindingsFile",
    "MonthStatus",
    "MonthsOverview",
    "Page",
    "RegisterUnavailable",
    "SettlementHit",
    "SettlementRow",
    "batch_by_link",
    "batch_settlements",
    "batch_totals",
    "filter_findings",
    "findings_files",
    "iter_batch_csv",
    "list_batches",
    "load_findings",
    "lookup",
    "month_statuses",
    "open_register_readonly",
    "page_of_settlement",
    "paginate",
    "parse_id",
    "parse_institution",
    "parse_link",
    "parse_lookup",
    "parse_page",
    "parse_per_page",
    "parse_period",
    "parse_rule",
    "parse_sort",
    "pick_findings_file",
    "summarize_findings",
]
