"""Bulk writes to the register: one transaction, rows appended from Arrow tables.

SQLite goes through an ADBC connection to the same file: it binds whole Arrow columns in C,
where Python's sqlite3 binds value by value (about 10 microseconds a row for a settlement's
fifty-odd columns, more than everything else an import does). PostgreSQL gets COPY on the
engine's own psycopg connection. Everything else in a session is plain SQL with ``?``
parameters, the same text on both.

SQLite pragmas: WAL (readers such as Fava go on reading during an import; crash-safe) with
synchronous=NORMAL (a power cut may lose the last committed import, never corrupt the file:
the register is re-made from its imports) and a page cache big enough to keep the indexes being
extended in memory. Nothing that would trade integrity for speed (no journal_mode=OFF).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Engine

from .batching import lock_for_import
from .partitions import ensure_partitions

CACHE_KIB = 64 * 1024  # SQLite page cache of a bulk session, KiB (the 500 MB budget covers all)


class BulkSession(Protocol):
    dialect: str

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def append(self, table: str, data: pa.Table) -> None:
        """Append rows; the columns are named as the table's."""

    def present(self, table: str, column: str, values: Sequence[str]) -> list[str]:
        """Which of these values the column holds already."""

    def prepare_periods(self, periods: Sequence[str]) -> None:
        """Make room for settlements of these months (PostgreSQL: their partitions)."""

    def defer_indexes(self, table: str, incoming_rows: int) -> list[str]:
        """Drop the table's indexes when building them afresh after the load costs less than
        extending them row by row; returns the statements that rebuild them."""


class _SqliteSession:
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        self.connection = adbc_sqlite.connect(path, autocommit=True)
        self.cursor = self.connection.cursor()
        for pragma in (
            f"cache_size=-{CACHE_KIB}",
            "busy_timeout=10000",
        ):
            self.cursor.execute(f"PRAGMA {pragma}")
            self.cursor.fetchall()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql, params or None)
        return list(self.cursor.fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(sql, params or None)

    def append(self, table: str, data: pa.Table) -> None:
        self.cursor.adbc_ingest(table, data, mode="append")

    def present(self, table: str, column: str, values: Sequence[str]) -> list[str]:
        import json

        return [
            row[0]
            for row in self.rows(
                f"SELECT {column} FROM {table} WHERE {column} IN (SELECT value FROM json_each(?))",
                (json.dumps(list(values), ensure_ascii=False),),
            )
        ]

    def prepare_periods(self, periods: Sequence[str]) -> None:
        return None

    def defer_indexes(self, table: str, incoming_rows: int) -> list[str]:
        # Extending an index whose pages no longer fit the cache costs a random read per
        # row; sorting once afterwards does not. Rebuilding the existing rows' entries too
        # is worth it while they are no more than the incoming ones.
        existing = self.rows(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0]
        if incoming_rows < max(int(existing), 100_000):
            return []
        indexes = self.rows(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
        for name, _sql in indexes:
            self.run(f'DROP INDEX "{name}"')
        return [sql for _name, sql in indexes]

    def close(self) -> None:
        self.cursor.close()
        self.connection.close()


class _PostgresSession:
    dialect = "postgresql"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.raw: Any = connection.connection.driver_connection

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

    def append(self, table: str, data: pa.Table) -> None:
        buffer = io.BytesIO()
        # Valid values quoted, nulls bare: COPY's CSV reads a bare empty field as NULL.
        pa_csv.write_csv(
            data,
            buffer,
            pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        columns = ", ".join(f'"{name}"' for name in data.column_names)
        with (
            self.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
        ):
            copy.write(buffer.getbuffer())

    def present(self, table: str, column: str, values: Sequence[str]) -> list[str]:
        return [
            row[0]
            for row in self.rows(
                f"SELECT {column} FROM {table} WHERE {column} = ANY(?)", (list(values),)
            )
        ]

    def prepare_periods(self, periods: Sequence[str]) -> None:
        ensure_partitions(self.connection, periods)

    def defer_indexes(self, table: str, incoming_rows: int) -> list[str]:
        return []  # the monthly partitions keep each index small


@contextmanager
def bulk_session(engine: Engine) -> Iterator[BulkSession]:
    """One write transaction: committed when the block ends, rolled back on any exception."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("the bulk path needs a register file")
        session = _SqliteSession(database)
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
