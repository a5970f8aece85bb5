"""Batch membership (清算批次归属): by batch key and file watermark, never a link per row.

A settlement belongs to clearing batch B iff its key (setl_period, fixmedins_code, clr_type) is
B's key (period, fixmedins_code, clr_type) and it came in a file no newer than B's
``last_file_id``, the newest imported file when B was formed. Settlements of a period in no
batch (imported after the period was posted, or of a key with no batch) are *unbatched*.

The same holds for ``settlement_totals`` (清算汇总): a row of it, the sums of one file's
settlements of one key and med_type, is wholly in a batch or wholly out of it, so sums over
batches can be read from it instead of from the settlements.

Every condition here is plain SQL (SQLite and PostgreSQL), for ``where`` and ``join``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Subquery, and_, exists, select, union_all
from sqlalchemy.orm import aliased

from ledger.register.models import AgencyPaymentBatch, BankStatementLine, ClearingBatch


class BatchKey(NamedTuple):
    """What decides a batch's members: its key and its file watermark."""

    period: str
    fixmedins_code: str
    clr_type: str
    last_file_id: int


def batch_member(settlement: Any, batch: Any) -> ColumnElement[bool]:
    """``settlement`` (Settlement or an alias) is a member of ``batch`` (ClearingBatch or an
    alias): a join or EXISTS condition."""
    return and_(
        settlement.setl_period == batch.period,
        settlement.fixmedins_code == batch.fixmedins_code,
        settlement.clr_type == batch.clr_type,
        settlement.file_id <= batch.last_file_id,
    )


def totals_member(totals: Any, batch: Any) -> ColumnElement[bool]:
    """A ``settlement_totals`` row (SettlementTotal or an alias) is part of ``batch``."""
    return and_(
        totals.period == batch.period,
        totals.fixmedins_code == batch.fixmedins_code,
        totals.clr_type == batch.clr_type,
        totals.file_id <= batch.last_file_id,
    )


def in_batch(settlement: Any, key: BatchKey) -> ColumnElement[bool]:
    """Members of one batch whose key is known: bound values, so the batch-page index
    (setl_period, fixmedins_code, clr_type, setl_id, file_id) finds them."""
    return and_(
        settlement.setl_period == key.period,
        settlement.fixmedins_code == key.fixmedins_code,
        settlement.clr_type == key.clr_type,
        settlement.file_id <= key.last_file_id,
    )


def batched(settlement: Any) -> ColumnElement[bool]:
    """The settlement is in some batch (EXISTS, correlated)."""
    batch = aliased(ClearingBatch)
    return exists(select(batch.id).where(batch_member(settlement, batch)))


def unbatched(settlement: Any, period: str | None = None) -> ColumnElement[bool]:
    """The settlement (of ``period``, if given) is in no batch: what ``batch_id IS NULL``
    meant when settlements carried a batch link."""
    batch = aliased(ClearingBatch)
    condition = ~exists(select(batch.id).where(batch_member(settlement, batch)))
    if period is None:
        return condition
    return and_(settlement.setl_period == period, condition)


def totals_batched(totals: Any) -> ColumnElement[bool]:
    batch = aliased(ClearingBatch)
    return exists(select(batch.id).where(totals_member(totals, batch)))


def totals_unbatched(totals: Any, period: str | None = None) -> ColumnElement[bool]:
    """A ``settlement_totals`` row (of ``period``, if given) in no batch."""
    batch = aliased(ClearingBatch)
    condition = ~exists(select(batch.id).where(totals_member(totals, batch)))
    if period is None:
        return condition
    return and_(totals.period == period, condition)


def batch_key(conn: Connection, batch_id: int) -> BatchKey | None:
    row = conn.execute(
        select(
            ClearingBatch.period,
            ClearingBatch.fixmedins_code,
            ClearingBatch.clr_type,
            ClearingBatch.last_file_id,
        ).where(ClearingBatch.id == batch_id)
    ).first()
    return None if row is None else BatchKey(*row)


def paying_lines() -> Subquery:
    """(line_id, batch_id) of every statement line that paid a batch's part: a
    ``batch-payment`` line by its batch_id, an ``agency-payment`` line (异地就医, one line for
    all of a clearing agency's batches of a period) by ``agency_payment_batches``."""
    direct = select(
        BankStatementLine.id.label("line_id"), BankStatementLine.batch_id.label("batch_id")
    ).where(BankStatementLine.kind == "batch-payment")
    agency = select(AgencyPaymentBatch.line_id, AgencyPaymentBatch.batch_id)
    return union_all(direct, agency).subquery("paying_lines")


def lock_for_posting(conn: Connection) -> None:
    """Keep imports out while batches are formed, so that none slips under the watermark.

    PostgreSQL: an import takes ROW EXCLUSIVE on ``settlement_totals`` (:func:`lock_for_import`)
    before it gets its file id and holds it to its commit; SHARE waits for the imports in
    flight and keeps new ones waiting until the posting commits, so the watermark
    ``max(imported_files.id)`` read afterwards covers exactly the committed files.

    SQLite: nothing to do. The database has one writer at a time, and a posting reads the
    watermark and inserts its batches in one transaction: an import that commits in between
    makes the posting's first write fail (SQLITE_BUSY, or BUSY_SNAPSHOT under WAL), and the
    posting rolls back whole; an import still open holds its file id invisible and cannot
    commit while the posting's transaction reads.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE settlement_totals IN SHARE MODE")


def lock_for_import(conn: Connection) -> None:
    """Taken by an import before it inserts its ``imported_files`` row: a posting in
    progress (SHARE) makes it wait. A no-op on SQLite (one writer at a time)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE settlement_totals IN ROW EXCLUSIVE MODE")


__all__ = [
    "BatchKey",
    "batch_key",
    "batch_member",
    "batched",
    "in_batch",
    "lock_for_import",
    "lock_for_posting",
    "paying_lines",
    "totals_batched",
    "totals_member",
    "totals_unbatched",
    "unbatched",
]
