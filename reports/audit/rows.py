"""What the audit reads of the register: settlements (结算) with their institution and batch,
ordered by person and time and streamed; fee details (费用明细) the same way; person records
(备案, 欠费) as date spans; family bindings (家庭共济) with what the register says of each
holder's psn_type; the designated medical institutions; the settlements a refund (退费)
reverses."""

from __future__ import annotations

import bisect
import datetime
import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, get_type_hints

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


class Row(NamedTuple):
    """One settlement with what the audit needs of its institution and batch. A named tuple:
    the audit builds ten million of them a year, and a tuple is made in one step."""

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
#: Money fields, read as the stored integer fen and made Decimal here (``yuan``): the
#: register's type would build a Decimal through ``scaleb`` for every one, zeros included.
MONEY_COLUMNS = frozenset(name for name, kind in get_type_hints(Row).items() if kind is Decimal)


def _column(name: str, sqlite: bool) -> Any:
    column = getattr(Settlement, name)
    if name in MONEY_COLUMNS:
        return type_coerce(column, BigInteger)
    if sqlite and name in ("setl_time", "rx_date"):
        # SQLite keeps them as ISO text; fromisoformat reads it faster than the type's regex
        return type_coerce(column, String)
    return column


_YUAN: dict[int, Decimal] = {}


def yuan(fen: int) -> Decimal:
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


#: A part of the people by psn_no, from the first to before the second (None: no bound); the
#: audit splits the register into such parts, one a worker (``reports.audit.shards``).
Shard = tuple[str | None, str | None]
#: Rows fetched from the database at a time: large ordered blocks, the hot path of the audit.
BLOCK = 20_000


def _blocks(conn: Connection, query: Any) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` in blocks of BLOCK, as the driver gives them: on SQLite straight
    from its cursor (its columns read as they are stored: text times, integer fen, 0/1), on
    PostgreSQL from a server-side cursor."""
    if conn.dialect.name != "sqlite":
        yield from conn.execute(query.execution_options(yield_per=BLOCK)).partitions()
        return
    compiled = query.compile(dialect=conn.dialect)
    params = [_stored(compiled.params[name]) for name in compiled.positiontup or ()]
    conn.execute(select(1))  # the connection's transaction begins (make_engine's BEGIN)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        while block := cursor.fetchmany(BLOCK):
            yield block
    finally:
        cursor.close()


def _stored(value: Any) -> Any:
    """A bound value as SQLAlchemy stores it on SQLite (DateTime: ISO text with microseconds)."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _of_shard(column: Any, shard: Shard | None) -> list[Any]:
    if shard is None:
        return []
    low, high = shard
    return [
        *([] if low is None else [column >= low]),
        *([] if high is None else [column < high]),
    ]


def _day_bounds(since: datetime.date, until: datetime.date) -> tuple[datetime.datetime, ...]:
    start = datetime.datetime.combine(since, datetime.time())
    return start, datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time())


def _institutions(conn: Connection) -> dict[str, tuple[Any, ...]]:
    """code -> the Row's INSTITUTION_COLUMNS of the institution: a few hundred, looked up here
    rather than joined for every settlement."""
    columns = [getattr(Institution, name) for name in INSTITUTION_COLUMNS]
    return {code: tuple(rest) for code, *rest in conn.execute(select(Institution.code, *columns))}


def read_rows(
    engine: Engine, since: datetime.date, until: datetime.date, shard: Shard | None = None
) -> Iterator[Row]:
    """The settlements dated from ``since`` to ``until`` inclusive, by person, time, setl_id,
    of the people of ``shard`` (all when None).

    The hot path of the audit: one ordered query fetched in large blocks, money as integer fen
    made Decimal once per distinct value, each Row made as a tuple in one step."""
    sqlite = engine.dialect.name == "sqlite"
    names = [name for name in Row._fields[: -len(INSTITUTION_COLUMNS) - 1]]
    assert Row._fields[len(names) :] == (*INSTITUTION_COLUMNS, "batch")
    start, end = _day_bounds(since, until)
    query = (
        select(
            *(_column(name, sqlite) for name in names),
            Settlement.setl_period,
            Settlement.clr_type,
            Settlement.file_id,
        )
        .where(
            Settlement.setl_time >= start,
            Settlement.setl_time < end,
            *_of_shard(Settlement.psn_no, shard),
        )
        .order_by(Settlement.psn_no, Settlement.setl_time, Settlement.setl_id)
    )
    money = [index for index, name in enumerate(names) if name in MONEY_COLUMNS]
    time_at, date_at = names.index("setl_time"), names.index("rx_date")
    code_at = names.index("fixmedins_code")
    refund_at, emergency_at = names.index("refd_setl_flag"), names.index("emergency_flag")
    parse_time, parse_date = datetime.datetime.fromisoformat, datetime.date.fromisoformat
    make = Row._make
    with engine.connect() as conn:
        batches, institutions = _batch_links(conn), _institutions(conn)
        for block in _blocks(conn, query):
            for values in block:
                fields = list(values)
                file_id, clr_type, period = fields.pop(), fields.pop(), fields.pop()
                for index in money:
                    fields[index] = yuan(fields[index])
                if sqlite:  # as stored: ISO text, 0/1
                    fields[time_at] = parse_time(fields[time_at])
                    fields[refund_at] = bool(fields[refund_at])
                    if fields[emergency_at] is not None:
                        fields[emergency_at] = bool(fields[emergency_at])
                    if fields[date_at] is not None:
                        fields[date_at] = parse_date(fields[date_at][:10])
                code = fields[code_at]
                fields.extend(institutions[code])  # a settlement's institution is listed (FK)
                batch = batches.get((period, code, clr_type))
                fields.append(batch[1] if batch is not None and file_id <= batch[0] else None)
                yield make(fields)


class Item(NamedTuple):
    """One fee detail (费用明细) with its institution's type (None: not in the register's
    institutions)."""

    feedetl_sn: str
    mdtrt_id: str
    psn_no: str
    fixmedins_code: str
    fee_ocur_time: datetime.datetime
    med_list_codg: str
    med_chrgitm_type: str
    rxno: str | None
    #: Money in integer fen, as stored: the audit reads three items a settlement, and the
    #: rules add them up per visit (``from_fen`` once a visit, or in evidence).
    det_item_fee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_amt: int
    preselfpay_amt: int
    inscp_scp_amt: int
    prd_days: Decimal | None
    fixmedins_type: str | None

    @property
    def visit(self) -> tuple[str, str]:
        return self.mdtrt_id, self.fixmedins_code


ITEM_COLUMNS = Item._fields[:-1]
ITEM_MONEY = frozenset(name for name, kind in get_type_hints(Item).items() if kind is int)


def _items_query(sqlite: bool, *where: Any) -> Any:
    columns = [
        # money and days as stored, integer fen and hundredths of a day (``_item``)
        type_coerce(getattr(FeeDetail, name), BigInteger)
        if name in ITEM_MONEY or name == "prd_days"
        else type_coerce(FeeDetail.fee_ocur_time, String)
        if sqlite and name == "fee_ocur_time"
        else getattr(FeeDetail, name)
        for name in ITEM_COLUMNS
    ]
    return (
        select(*columns)
        .where(*where)
        .order_by(FeeDetail.psn_no, FeeDetail.fee_ocur_time, FeeDetail.feedetl_sn)
    )


def _settled_between(start: datetime.datetime, end: datetime.datetime) -> Any:
    """A settlement of the fee detail's visit (the same mdtrt_id and institution) is dated
    from ``start`` to before ``end``."""
    return exists(
        select(Settlement.id).where(
            Settlement.mdtrt_id == FeeDetail.mdtrt_id,
            Settlement.fixmedins_code == FeeDetail.fixmedins_code,
            Settlement.setl_time >= start,
            Settlement.setl_time < end,
        )
    )


def read_items(
    engine: Engine, since: datetime.date, until: datetime.date, shard: Shard | None = None
) -> Iterator[tuple[str, list[Item]]]:
    """The fee details of the days ``since`` to ``until`` inclusive and every item of a visit
    settled on those days (wherever its own time falls), of the people of ``shard``: each
    person's, in psn_no order, by time and feedetl_sn.

    The items of the days are one ordered scan; the others (a visit's items on the day before,
    settled after midnight) are looked for only among the items of the months outside the days,
    through their month (fee_period), and merged in."""
    sqlite = engine.dialect.name == "sqlite"
    start, end = _day_bounds(since, until)
    first, last = str(Month.of(since)), str(Month.of(until))
    days = _items_query(
        sqlite,
        FeeDetail.fee_ocur_time >= start,
        FeeDetail.fee_ocur_time < end,
        *_of_shard(FeeDetail.psn_no, shard),
    )
    around = _items_query(
        sqlite,
        or_(
            and_(FeeDetail.fee_period <= first, FeeDetail.fee_ocur_time < start),
            and_(FeeDetail.fee_period >= last, FeeDetail.fee_ocur_time >= end),
        ),
        _settled_between(start, end),
        *_of_shard(FeeDetail.psn_no, shard),
    )
    with engine.connect() as conn:
        kinds = {
            code: kind
            for code, kind in conn.execute(select(Institution.code, Institution.fixmedins_type))
        }
        others: dict[str, list[Item]] = defaultdict(list)
        for values in conn.execute(around):
            others[values[2]].append(_item(values, sqlite, kinds))
        blocks = _blocks(conn, days)
        items = (_item(values, sqlite, kinds) for block in blocks for values in block)
        yield from _merged(itertools.groupby(items, key=lambda i: i.psn_no), others)


def _merged(
    days: Iterator[tuple[str, Iterator[Item]]], others: dict[str, list[Item]]
) -> Iterator[tuple[str, list[Item]]]:
    """The days' items of each person, in psn_no order, with the person's ``others`` merged
    in time order (and the people who have only those, in their place)."""
    pending = sorted(others)
    at = 0
    for psn_no, group in days:
        items = list(group)
        while at < len(pending) and pending[at] < psn_no:
            yield pending[at], _in_order(others[pending[at]])
            at += 1
        if at < len(pending) and pending[at] == psn_no:
            items = _in_order(items + others[psn_no])
            at += 1
        yield psn_no, items
    for psn_no in pending[at:]:
        yield psn_no, _in_order(others[psn_no])


def _in_order(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda i: (i.fee_ocur_time, i.feedetl_sn))


_ITEM_TIME_AT = ITEM_COLUMNS.index("fee_ocur_time")


_ITEM_CODE_AT = ITEM_COLUMNS.index("fixmedins_code")
_ITEM_DAYS_AT = ITEM_COLUMNS.index("prd_days")


def _item(values: Any, sqlite: bool, kinds: dict[str, str]) -> Item:
    """An Item of its columns; ``kinds``: the institutions' types (an item's institution may
    not be in the register yet: None)."""
    fields = list(values)
    fields.append(kinds.get(fields[_ITEM_CODE_AT]))
    if fields[_ITEM_DAYS_AT] is not None:
        fields[_ITEM_DAYS_AT] = Decimal(fields[_ITEM_DAYS_AT]).scaleb(-2)  # Scaled(2)
    if sqlite:
        fields[_ITEM_TIME_AT] = datetime.datetime.fromisoformat(fields[_ITEM_TIME_AT])
    return Item._make(fields)


def settled_visits(engine: Engine, visits: Sequence[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """The visits (mdtrt_id, institution) of ``visits`` the register holds a settlement of."""
    found: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for start in range(0, len(visits), HOLDERS_PER_QUERY):
            chunk = visits[start : start + HOLDERS_PER_QUERY]
            found.update(
                (mdtrt_id, code)
                for mdtrt_id, code in conn.execute(
                    select(Settlement.mdtrt_id, Settlement.fixmedins_code)
                    .where(Settlement.mdtrt_id.in_(sorted({m for m, _c in chunk})))
                    .distinct()
                )
            )
    return frozenset(found) & frozenset(visits)


def in_shard(psn_no: str, shard: Shard | None) -> bool:
    """Whether the person is of the part. Compared here, in code point order (the settlements'
    "C" order, by which the parts are cut), not by the database: these tables' numbers sort in
    the database's own collation on PostgreSQL."""
    if shard is None:
        return True
    low, high = shard
    return (low is None or psn_no >= low) and (high is None or psn_no < high)


def read_spans(engine: Engine, shard: Shard | None = None) -> dict[str, list[Span]]:
    """The person records (referral, long-term residence, arrears) of the people of
    ``shard`` (everyone's when None), by psn_no."""
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
            if in_shard(psn_no, shard):
                spans[psn_no].append(Span(record, since, until))
    return spans


#: Holders looked up per query: bound parameters, never a join across the tables (on
#: PostgreSQL settlements.psn_no sorts in "C", the other tables' numbers in the database's own).
HOLDERS_PER_QUERY = 500


def read_bindings(engine: Engine, shard: Shard | None = None) -> dict[str, list[Binding]]:
    """The family bindings of the users of ``shard`` (every one when None), by the user's
    psn_no, in (begndate, holder) order, each with its holder's psn_types (:class:`Binding`)."""
    with engine.connect() as conn:
        every = conn.execute(
            select(
                FamilyBinding.user_psn_no,
                FamilyBinding.holder_psn_no,
                FamilyBinding.relation,
                FamilyBinding.begndate,
                FamilyBinding.enddate,
            ).order_by(
                FamilyBinding.user_psn_no, FamilyBinding.begndate, FamilyBinding.holder_psn_no
            )
        )
        listed = [binding for binding in every if in_shard(binding[0], shard)]
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
    "in_shard",
    "read_bindings",
    "read_items",
    "read_rows",
    "read_spans",
    "refunded_settlements",
    "yuan",
]
