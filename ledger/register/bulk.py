"""Bulk writes to the register: one transaction, rows appended from Arrow tables.

SQLite goes through an ADBC connection to the same file: it binds whole Arrow columns in C,
where Python's sqlite3 binds value by value (about 10 microseconds a row for a settlement's
fifty-odd columns, more than everything else an import does). PostgreSQL gets COPY on the
engine's own psycopg connection. Everything else in a session is plain SQL with ``?``
parameters, the same text on both.

Loading settlements is bracketed by ``start_settlements`` and ``finish_settlements``, where
each database builds its indexes the cheap way:

- SQLite, when the incoming rows outnumber those already there, drops the settlements'
  indexes and builds them once at the end (a sort each, instead of a random page access per
  row once an index outgrows the cache); a unique index refusing there rolls the import back.
- PostgreSQL loads a month that has no partition yet into a plain table of the partition's
  shape, with no index, constraint or trigger, and attaches it at the end: the attachment
  builds its indexes and checks its foreign keys in one pass each. Months that exist take
  their rows by COPY into their partition. setl_id is unique per month by constraint; across
  months (no index can span partitions) the import's setl_ids go to a temporary table with a
  primary key (duplicates inside the import) and are looked up in the register once at the
  end.

SQLite pragmas are only those safe for a file whose loss would cost its imports again: a page
cache for the session, helper threads for sorting, the default rollback journal (a load into
new pages journals almost nothing), nothing that trades integrity for speed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine

from ledger.register.batching import lock_for_import
from ledger.register.partitions import partition_name
from ledger.register.pgcopy import SIGNATURE, TRAILER, copy_data

CACHE_KIB = 32 * 1024  # SQLite page cache of a bulk session, KiB (the 500 MB budget covers all)
SORT_CACHE_KIB = 8 * 1024  # the same while the deferred indexes are built
# PostgreSQL's maintenance_work_mem for the indexes the attachment builds: enough for the
# server's default two parallel workers (32 MB each, and the leader); measured, a million
# rows' six indexes and two foreign keys: 7.9 s with 64 MB, 8.4 s with 96 MB, 9.1 s with
# 256 MB, 8.1 s with 1 GB (medians of 3; 6.0-10.2 s all told), 11.7 s with no workers.
INDEX_MEMORY = "96MB"
# Rows sent in one COPY, over all months waiting: the reader's blocks are a few thousand rows,
# and every COPY and every column's conversion costs the same whatever its rows (measured:
# 3,500-row COPYs 3.3 s of encoding a million rows, 64,000-row ones 2.0 s; 32,000 and 64,000
# alike for the whole import, the latter with 40 MB more at its peak: 404-416 MB, 445-454 MB).
COPY_ROWS = 32_000
CHECK_MEMORY = "64MB"  # work_mem for the check of setl_ids across months


class BulkSession(Protocol):
    dialect: str

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def append(self, table: str, data: pa.Table) -> None:
        """Append rows to a small table; the columns are named as the table's."""

    def start_settlements(self, incoming_rows: int) -> None:
        """Before the first ``append_settlements``: how many rows are coming, about."""

    def append_settlements(self, data: pa.Table) -> None: ...

    def finish_settlements(self, file_ids: Sequence[int]) -> int:
        """Build what was deferred; returns how many of the appended setl_ids the register
        held before (0: none; SQLite's unique index refuses them itself)."""

    def repeat_candidates(self, before: int) -> list[int]:
        """After ``finish_settlements``: the ids of this import's rows (ids above ``before``)
        that share month, person and settlement time with another settlement of the
        register, the candidates for a renumbered repeat (importers.settlements). Refunds
        are left out: their own rules refuse a second refund."""


#: The import's rows by (psn_no, setl_time): two settlements of a person at the same second
#: are rare, so these few are compared in full by the caller.
_NEW_KEYS = "psn_no, setl_time, setl_period, id"


class _SqliteSession:
    dialect = "sqlite"

    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        self.connection = adbc_sqlite.connect(path, autocommit=True)
        self.cursor = self.connection.cursor()
        self.rebuild: list[str] = []
        # threads: helper threads for the sorts of the index builds at the end
        pragmas = (
            f"cache_size=-{CACHE_KIB}",
            f"busy_timeout={busy_timeout_ms}",  # as the engine's (ledger.register.opening)
            f"threads={os.cpu_count() or 1}",
        )
        for pragma in pragmas:
            self.cursor.execute(f"PRAGMA {pragma}")
            self.cursor.fetchall()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql, params or None)
        return list(self.cursor.fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(sql, params or None)

    def append(self, table: str, data: pa.Table) -> None:
        self.cursor.adbc_ingest(table, data, mode="append")

    def start_settlements(self, incoming_rows: int) -> None:
        # Rebuilding the existing rows' entries too is worth it while they are no more than
        # the incoming ones.
        existing = self.rows("SELECT coalesce(max(id), 0) FROM settlements")[0][0]
        if incoming_rows < max(int(existing), 100_000):
            return
        # A partial index (refunds only) stays: it takes a few rows of the load, where its
        # rebuild would read the whole table once more.
        indexes = self.rows(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'settlements' AND sql IS NOT NULL AND sql NOT LIKE '% WHERE %'"
        )
        for name, _sql in indexes:
            self.run(f'DROP INDEX "{name}"')
        self.rebuild = [sql for _name, sql in indexes]

    def append_settlements(self, data: pa.Table) -> None:
        self.append("settlements", data)

    def finish_settlements(self, file_ids: Sequence[int]) -> int:
        if self.rebuild:
            # A small sorter memory builds faster here: more, smaller sorted runs for the
            # helper threads to merge (measured: 3 indexes of 1M rows 2.3-3.0 s with 8 MiB,
            # 3.7 s with 32 MiB; two of 10M rows 20 s against 23 s).
            self.run(f"PRAGMA cache_size=-{SORT_CACHE_KIB}")
        for statement in self.rebuild:
            self.run(statement)
        self.rebuild = []
        return 0

    def repeat_candidates(self, before: int) -> list[int]:
        # The new rows' keys sorted into a table of their own, then looked up in that order
        # in the person index: 1.3 s a million rows, where each new row looked up in turn
        # took 3-4 s (measured).
        self.run(
            f"CREATE TEMPORARY TABLE mzledger_new_keys AS SELECT {_NEW_KEYS} FROM settlements "
            f"WHERE id > {int(before)} AND init_setl_id IS NULL"
        )
        self.run(
            "CREATE INDEX mzledger_new_keys_order ON mzledger_new_keys (psn_no, setl_time, id)"
        )
        found = self.rows(
            "SELECT k.id FROM mzledger_new_keys k WHERE EXISTS (SELECT 1 FROM settlements o "
            "WHERE o.psn_no = k.psn_no AND o.setl_time = k.setl_time "
            "AND o.setl_period = k.setl_period AND o.id < k.id) ORDER BY k.id"
        )
        self.run("DROP TABLE mzledger_new_keys")
        return [int(row[0]) for row in found]

    def close(self) -> None:
        self.cursor.close()
        self.connection.close()


class _PostgresSession:
    dialect = "postgresql"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.raw: Any = connection.connection.driver_connection
        self.quote = connection.dialect.identifier_preparer.quote
        self.types: dict[str, dict[str, str]] = {}  # table -> column -> the server's type
        self.targets: dict[str, str] = {}  # period -> the table its rows go to
        self.staged: dict[str, str] = {}  # period -> a month's table to attach at the end
        self.attached: list[str] = []  # the months' tables attached by finish_settlements
        self.into_existing = False  # rows went into months already in the register
        self.pending: dict[str, list[pa.Table]] = {}  # table -> blocks not sent yet
        # JIT compiles the few large queries of an import for longer than they run
        self.run("SET LOCAL jit = off")

    @staticmethod
    def _sql(sql: str) -> str:
        return re.sub(r"\?", "%s", sql.replace("%", "%%"))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.raw.cursor() as cursor:
            cursor.execute(self._sql(sql), tuple(params))
            return list(cursor.fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.raw.cursor() as cursor:
            cursor.execute(self._sql(sql), tuple(params))

    def _types(self, table: str) -> dict[str, str]:
        types = self.types.get(table)
        if types is None:
            types = self.types[table] = dict(
                self.rows(
                    "SELECT a.attname, t.typname FROM pg_attribute a "
                    "JOIN pg_type t ON t.oid = a.atttypid "
                    "WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped",
                    (self.quote(table),),
                )
            )
        return types

    def append(self, table: str, data: pa.Table) -> None:
        # Binary COPY: the server takes each value as it keeps it, where text COPY parses
        # every field (measured: README, "Benchmark").
        chunks = copy_data(data, self._types(table))
        columns = ", ".join(self.quote(name) for name in data.column_names)
        statement = f"COPY {self.quote(table)} ({columns}) FROM STDIN (FORMAT binary)"
        with self.raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(SIGNATURE)
            for chunk in chunks:
                copy.write(memoryview(chunk))
            copy.write(TRAILER)

    def start_settlements(self, incoming_rows: int) -> None:
        pass

    def _target(self, period: str) -> str:
        target = self.targets.get(period)
        if target is None:
            name = partition_name(period)  # validated: safe to inline
            if self.rows("SELECT to_regclass(?)", (name,))[0][0] is None:
                self.run(f"CREATE TABLE {self.quote(name)} (LIKE settlements INCLUDING DEFAULTS)")
                self.staged[period] = name
            target = self.targets[period] = name
        return target

    def append_settlements(self, data: pa.Table) -> None:
        periods = data.column("setl_period")
        distinct = pc.unique(periods).to_pylist()
        for period in distinct:
            part = data if len(distinct) == 1 else data.filter(pc.equal(periods, period))
            target = self._target(period)
            if period not in self.staged:
                # a month already in the register: its setl_ids are kept for the check
                # across months (the staged months' tables have theirs)
                if not self.into_existing:
                    self.run(
                        "CREATE TEMPORARY TABLE mzledger_incoming "
                        "(setl_id text, setl_period text) ON COMMIT DROP"
                    )
                    self.into_existing = True
                self.append("mzledger_incoming", part.select(["setl_id", "setl_period"]))
            self.pending.setdefault(target, []).append(part)
        # bounded over all months: the rows waiting are the memory an import holds
        if sum(t.num_rows for tables in self.pending.values() for t in tables) >= COPY_ROWS:
            for target in list(self.pending):
                self._flush(target)

    def _flush(self, target: str) -> None:
        pending = self.pending.pop(target, [])
        if pending:
            self.append(target, pa.concat_tables(pending))

    def _seen_elsewhere(self) -> int:
        """How many of the import's setl_ids are in another month, of the register or of
        the import (within a month the month's unique constraint refuses them)."""
        months = self.rows(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass('settlements')"
        )[0][0]
        if len(self.staged) + int(months) <= 1:
            return 0  # one month in all: no other month to be in
        staged = [self.quote(name) for _period, name in sorted(self.staged.items())]
        checks = []
        if int(months):
            # Before the new months are attached, settlements holds the register's months,
            # with this import's rows of those months: every row of the import is looked up
            # there, which also compares a new month with the import's rows of old ones.
            incoming = [f"SELECT setl_id, setl_period FROM {name}" for name in staged]
            if self.into_existing:
                incoming.append("SELECT setl_id, setl_period FROM mzledger_incoming")
            checks.append(
                f"(SELECT count(*) FROM ({' UNION ALL '.join(incoming)}) i "
                "WHERE EXISTS (SELECT 1 FROM settlements s "
                "WHERE s.setl_id = i.setl_id AND s.setl_period <> i.setl_period))"
            )
        # The new months among themselves: two by a hash join (0.8 s for a million rows,
        # measured), more by grouping their rows once (1.6 s a million); never a join of
        # the rows with themselves without an index (quadratic).
        if len(staged) == 2:
            checks.append(
                f"(SELECT count(*) FROM {staged[0]} a JOIN {staged[1]} b USING (setl_id))"
            )
        elif len(staged) > 2:
            rows = " UNION ALL ".join(f"SELECT setl_id FROM {name}" for name in staged)
            checks.append(
                f"(SELECT count(*) FROM (SELECT 1 FROM ({rows}) i GROUP BY setl_id "
                "HAVING count(*) > 1) d)"
            )
        if not checks:
            return 0
        # the hash tables of the checks in memory, not in batches on disk
        self.run(f"SET LOCAL work_mem = '{CHECK_MEMORY}'")
        return int(self.rows("SELECT " + " + ".join(checks))[0][0])

    def finish_settlements(self, file_ids: Sequence[int]) -> int:
        for target in list(self.pending):
            self._flush(target)
        seen = self._seen_elsewhere()
        if seen:
            return seen
        self.run(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
        for period, name in sorted(self.staged.items()):
            table = self.quote(name)
            check = self.quote(f"{name}_period")
            # a valid CHECK that implies the partition's bound spares ATTACH its own scan
            self.run(f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK (setl_period = '{period}')")
            self.run(f"ALTER TABLE settlements ATTACH PARTITION {table} FOR VALUES IN ('{period}')")
            self.run(f"ALTER TABLE {table} DROP CONSTRAINT {check}")
            # A new month has no statistics (and autovacuum may be off or late): without
            # them the planner takes a merge join over the whole month for the refunds'
            # check (measured 2-3 s, against 0.2 s with them).
            self.run(f"ANALYZE {table}")
            self.attached.append(name)
        self.staged.clear()
        return 0

    def repeat_candidates(self, before: int) -> list[int]:
        # A month new to the register holds only this import's rows: grouped in one pass of
        # its partition, by time and a hash of the person (fixed-width keys: 1.2 s a million
        # rows, against 1.7-2.3 s by the text itself, measured); a hash shared by chance only
        # adds a candidate. A month the register had already: its new rows looked up in the
        # partition's person index (1.7 s a million).
        attached = {self.quote(name) for name in self.attached}
        queries = []
        for name in sorted({self.quote(name) for name in self.targets.values()}):
            if name in attached:
                queries.append(
                    f"SELECT unnest(array_agg(id)) FROM {name} WHERE init_setl_id IS NULL "
                    "GROUP BY setl_time, hashtext(psn_no) HAVING count(*) > 1"
                )
            else:
                queries.append(
                    f"SELECT n.id FROM {name} n WHERE n.id > {int(before)} "
                    "AND n.init_setl_id IS NULL AND EXISTS (SELECT 1 FROM "
                    f"{name} o WHERE o.psn_no = n.psn_no AND o.setl_time = n.setl_time "
                    "AND o.id < n.id)"
                )
        if not queries:
            return []
        self.run(f"SET LOCAL work_mem = '{CHECK_MEMORY}'")
        return sorted(int(row[0]) for row in self.rows(" UNION ALL ".join(queries)))


@contextmanager
def bulk_session(engine: Engine) -> Iterator[BulkSession]:
    """One write transaction: committed when the block ends, rolled back on any exception."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("the bulk path needs a register file")
        raw = engine.raw_connection()
        try:
            busy = int(raw.cursor().execute("PRAGMA busy_timeout").fetchone()[0])
        finally:
            raw.close()
        session = _SqliteSession(database, busy)
        try:
            # the write lock from the start: one writer at a time, as a posting expects
            session.run("BEGIN IMMEDIATE")
            try:
                yield session
            except BaseException:
                session.run("ROLLBACK")
                raise
            session.run("COMMIT")
        finally:
            session.close()
        return
    with engine.begin() as connection:
        # before the import's imported_files row: a posting in progress makes it wait
        lock_for_import(connection)
        yield _PostgresSession(connection)


__all__ = ["BulkSession", "bulk_session"]
