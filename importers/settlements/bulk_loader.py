"""The bulk import of CSV settlement exports: Arrow blocks into the register, one transaction.

``bulk_import`` takes an import when every file is a CSV export of the plain shape
(``bulk_csv``); it returns None, having written nothing, when any file or row is not for it,
and the caller runs the row path, which explains what is wrong or takes the rows one by one.
What the row path checks per row is checked here per block (``bulk_csv``) or by the database:

- a setl_id seen before (in the register or earlier in the import): SQLite's unique index
  refuses it; on PostgreSQL, where the monthly partitions keep setl_id unique only within a
  month, the import's setl_ids are looked up across months once, at the end
  (``ledger.register.bulk``);
- refunds: after the last file, one query counts the refunds of this import that do not reverse
  exactly one known settlement of the same person and institution, amount for amount.

Either way a refusal rolls the whole import back, and the row path takes it from the start.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from importers.settlements.bulk_reader import (
    TOTAL_FIGURES,
    TOTAL_KEY,
    Block,
    CsvShape,
    Institutions,
    Irregular,
    KnownInstitution,
    csv_shape,
    merge_totals,
    read_blocks,
)
from importers.settlements.results import FileSummary, ImportResult, Progress
from importers.settlements.rules import REFUND_MUST_MATCH, SAME_SETTLEMENT_FIELDS
from importers.sources import detect_format
from ledger.register.bulk import BulkSession, bulk_session
from ledger.register.models import MONEY_FIELDS


class _Scan(NamedTuple):
    sha256: str
    line_feeds: int
    ends_with_feed: bool


def _scan(path: Path) -> _Scan:
    """The file's hash, on a thread of its own (hashlib lets go of the GIL), while its line
    feeds are counted here: the two passes take the time of one."""
    digest = hashlib.sha256()
    failed: list[BaseException] = []

    def hash_file() -> None:
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except BaseException as exc:  # raised by the caller: a partial hash is no hash
            failed.append(exc)

    hasher = threading.Thread(target=hash_file, name="bulk-hash")
    hasher.start()
    lines = 0
    last = b""
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                lines += block.count(b"\n")
                last = block[-1:]
    finally:
        hasher.join()
    if failed:
        raise failed[0]
    return _Scan(digest.hexdigest(), lines, last == b"\n")


def bulk_import(
    engine: Any,
    paths: Sequence[Path],
    *,
    user: str,
    now: datetime.datetime,
    progress: Progress | None = None,
) -> ImportResult | None:
    """Import CSV settlement exports in bulk; None when this path does not take them."""
    if not paths or any(detect_format(path) != "csv" for path in paths):
        return None
    try:
        shapes = [csv_shape(path) for path in paths]
    except Irregular:
        return None
    try:
        with bulk_session(engine) as session:
            return _load(session, shapes, user, now, progress)
    except Irregular:
        return None
    except Exception as exc:
        if _refused_by_constraint(exc):
            return None  # a setl_id seen before, say: the row path says which and where
        raise


def _refused_by_constraint(exc: Exception) -> bool:
    """A constraint said no: PostgreSQL's integrity errors; SQLite's through ADBC come as
    driver errors whose text is SQLite's own "... constraint failed"."""
    import adbc_driver_manager
    import psycopg

    if isinstance(exc, psycopg.IntegrityError):
        return True
    return isinstance(exc, adbc_driver_manager.Error) and "constraint failed" in str(exc)


class _File(NamedTuple):
    shape: CsvShape
    scan: _Scan
    summary: FileSummary
    file_id: int


def _load(
    session: BulkSession,
    shapes: list[CsvShape],
    user: str,
    now: datetime.datetime,
    progress: Progress | None,
) -> ImportResult:
    result = ImportResult([], [], 0)
    book = Institutions(
        {
            code: KnownInstitution(name, kind, level)
            for code, name, kind, level in session.rows(
                "SELECT code, name, fixmedins_type, medins_lv FROM institutions"
            )
        }
    )
    posted = frozenset(
        row[0] for row in session.rows("SELECT DISTINCT period FROM clearing_batches")
    )
    stamp: Any = now if session.dialect == "postgresql" else now.isoformat(" ", "microseconds")
    # Each file is read while it is hashed and counted: the reader runs ahead into the next
    # file before the database is done with this one, and drops it if it was imported before.
    # the register's newest settlement before this import: the rows after it are the import's
    before = int(session.rows("SELECT coalesce(max(id), 0) FROM settlements")[0][0])
    files: dict[int, _File | None] = {}  # None: imported before
    totals: dict[int, pa.Table | None] = {}
    started = False
    with _Reader(shapes, book) as reader:
        for index, item in reader:
            if index not in files:
                opened = files[index] = _open_file(session, shapes[index], stamp, user, result)
                if opened is None:
                    reader.skip(index)
                elif not started:
                    session.start_settlements(_rows_coming(shapes[index:], opened))
                    started = True
            file = files[index]
            if file is None:
                continue
            if isinstance(item, Irregular):
                raise item
            summary = file.summary
            if item is None:
                _file_done(session, file, totals.get(file.file_id), progress)
                continue
            for code, known in item.new_institutions:
                session.run(
                    "INSERT INTO institutions (code, name, fixmedins_type, medins_lv, "
                    "spec_hosp, admdvs, listed, source_file_id) "
                    "VALUES (?, ?, ?, ?, false, NULL, false, ?)",
                    (code, known.name, known.fixmedins_type, known.medins_lv, file.file_id),
                )
            rows = item.table.num_rows
            session.append_settlements(
                item.table.append_column(
                    "file_id", pa.repeat(pa.scalar(file.file_id, pa.int64()), rows)
                )
            )
            summary.rows += rows
            totals[file.file_id] = merge_totals(totals.get(file.file_id), item.totals)
            summary.notices.update(item.notices)
            summary.posted_periods |= item.periods & posted
            if progress is not None and file.scan.line_feeds:
                size = file.shape.path.stat().st_size
                done = min(size, size * summary.rows // file.scan.line_feeds)
                progress(file.shape.path, done, size)
    file_ids = [f.file_id for f in files.values() if f is not None]
    if not file_ids:
        return result
    # The blocks are gone: their memory goes back before the database sorts for its indexes.
    pa.default_memory_pool().release_unused()
    # a unique index refusing here rolls the import back; the row path says which rows
    if session.finish_settlements(file_ids):
        raise Irregular("a setl_id already in the register")
    if _irregular_refunds(session, file_ids):
        raise Irregular("refunds")
    if _to_hold(session, file_ids, before):
        raise Irregular("settlements to hold for a decision")
    return result


def _open_file(
    session: BulkSession, shape: CsvShape, stamp: Any, user: str, result: ImportResult
) -> _File | None:
    """The file's record in the register, or None when it was imported before."""
    scan = _scan(shape.path)
    summary = FileSummary(shape.path, scan.sha256, file_format="csv")
    result.files.append(summary)
    earlier = session.rows("SELECT kind FROM imported_files WHERE sha256 = ?", (scan.sha256,))
    if earlier:
        if earlier[0][0] != "settlements":
            raise Irregular("imported before as another kind of file")
        summary.already_imported = True
        summary.file_format = ""
        return None
    file_id = int(
        session.rows(
            "INSERT INTO imported_files (kind, name, sha256, file_format, row_count, "
            "inserted_count, skipped_count, imported_at, imported_by) "
            "VALUES ('settlements', ?, ?, 'csv', 0, 0, 0, ?, ?) RETURNING id",
            (str(shape.path), scan.sha256, stamp, user),
        )[0][0]
    )
    summary.file_id = file_id
    return _File(shape, scan, summary, file_id)


def _rows_coming(shapes: list[CsvShape], first: _File) -> int:
    """About how many rows the import brings, from the first file's bytes per line: enough
    for the database to choose how to build its indexes (the other files' lines are counted
    only when their turn comes)."""
    per_line = first.shape.path.stat().st_size / max(first.scan.line_feeds, 1)
    return int(sum(shape.path.stat().st_size for shape in shapes) / max(per_line, 1.0))


def _file_done(
    session: BulkSession, file: _File, totals: pa.Table | None, progress: Progress | None
) -> None:
    summary, scan = file.summary, file.scan
    # One line a row, or the line numbers stored would be wrong (a quoted line break, a
    # blank line): the row path counts lines itself.
    if summary.rows + 1 != scan.line_feeds + (0 if scan.ends_with_feed else 1):
        raise Irregular("lines and rows differ")
    if summary.rows == 0:
        raise Irregular("no rows")
    summary.inserted = summary.rows
    _write_totals(session, file.file_id, totals)
    session.run(
        "UPDATE imported_files SET row_count = ?, inserted_count = ?, skipped_count = 0 "
        "WHERE id = ?",
        (summary.rows, summary.inserted, file.file_id),
    )
    if progress is not None:
        size = file.shape.path.stat().st_size
        progress(file.shape.path, size, size)


_END = object()
# Validated blocks waiting for the database (a block is some 15 MB). Measured: four instead
# of two cost 20-40 MB more and gained nothing measurable.
READ_AHEAD = 2


class _Reader:
    """The files' validated blocks, produced on a second thread: Arrow parses and checks the
    next blocks while the database takes this one (both release the GIL). Iterating yields
    (file index, a Block, None at the end of the file, or the file's Irregular).

    Every file is read before the caller knows whether it was imported already; once told to
    ``skip`` it, the reader leaves it, and the caller drops what came of it."""

    def __init__(self, shapes: list[CsvShape], book: Institutions) -> None:
        self.shapes = shapes
        self.book = book
        self.out: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
        self.stop = threading.Event()
        self.skipped: set[int] = set()
        self.worker = threading.Thread(target=self._produce, name="bulk-reader", daemon=True)

    def __enter__(self) -> _Reader:
        self.worker.start()
        return self

    def skip(self, index: int) -> None:
        self.skipped.add(index)

    def _produce(self) -> None:
        try:
            for index, shape in enumerate(self.shapes):
                try:
                    for block in read_blocks(shape, self.book):
                        if self.stop.is_set():
                            return
                        if index in self.skipped:
                            break
                        self.out.put((index, block))
                except Irregular as exc:
                    self.out.put((index, exc))
                    continue
                self.out.put((index, None))
        except BaseException as exc:  # handed to the consumer, raised there
            self.out.put(exc)
            return
        self.out.put(_END)

    def __iter__(self) -> Iterator[tuple[int, Block | Irregular | None]]:
        while True:
            item = self.out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        while self.worker.is_alive():  # a producer blocked on a full queue must see the stop
            with contextlib.suppress(queue.Empty):
                self.out.get(timeout=0.1)
        self.worker.join()


def _write_totals(session: BulkSession, file_id: int, totals: pa.Table | None) -> None:
    if totals is None or totals.num_rows == 0:
        return
    rows = totals.sort_by([(key, "ascending") for key in TOTAL_KEY])
    session.append(
        "settlement_totals",
        pa.table(
            {
                "file_id": pa.repeat(pa.scalar(file_id, pa.int64()), rows.num_rows),
                "period": rows["setl_period"],
                **{name: rows[name] for name in (*TOTAL_KEY[1:], *TOTAL_FIGURES)},
            }
        ),
    )


def _to_hold(session: BulkSession, file_ids: list[int], before: int) -> bool:
    """Whether a row of this import repeats a settlement under another setl_id, or comes again
    after an import held it: the row path holds or skips such rows, naming them.

    Two settlements of one person at the same second are rare, so those are the candidates
    (``BulkSession.repeat_candidates``); only they are compared in full."""
    candidates = session.repeat_candidates(before)
    same = " AND ".join(f"o.{name} = n.{name}" for name in ("setl_period", *SAME_SETTLEMENT_FIELDS))
    for start in range(0, len(candidates), 500):
        chunk = candidates[start : start + 500]
        if session.rows(
            f"SELECT 1 FROM settlements n JOIN settlements o ON {same} AND o.id < n.id "
            f"WHERE n.id IN ({', '.join('?' for _ in chunk)}) LIMIT 1",
            tuple(chunk),
        ):
            return True
    marks = ", ".join("?" for _ in file_ids)
    again = session.rows(
        "SELECT 1 FROM held_settlements h JOIN settlements s ON s.setl_id = h.setl_id "
        f"WHERE s.file_id IN ({marks}) LIMIT 1",
        tuple(file_ids),
    )
    return bool(again)


def _irregular_refunds(session: BulkSession, file_ids: list[int]) -> int:
    """How many refunds of this import the row path would refuse (it says which and why)."""
    marks = ", ".join("?" for _ in file_ids)
    differs = " OR ".join(
        [f"o.{name} <> r.{name}" for name in REFUND_MUST_MATCH]
        + [f"o.{name} <> -r.{name}" for name in MONEY_FIELDS]
    )
    # refd_setl_flag is 0/1 on SQLite and boolean on PostgreSQL: compared as text of a CASE
    count = session.rows(
        f"""
        SELECT count(*) FROM settlements r
        LEFT JOIN settlements o ON o.setl_id = r.init_setl_id
        WHERE r.init_setl_id IS NOT NULL AND r.file_id IN ({marks})
          AND (o.id IS NULL OR (CASE WHEN o.refd_setl_flag THEN 1 ELSE 0 END) = 1 OR {differs}
               OR EXISTS (SELECT 1 FROM settlements e
                          WHERE e.init_setl_id = r.init_setl_id AND e.id <> r.id))
        """,
        tuple(file_ids),
    )[0][0]
    return int(count)


__all__ = ["bulk_import"]
