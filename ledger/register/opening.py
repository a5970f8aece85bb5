"""Opening the register: engine, SQLite pragmas, schema migrations (Alembic)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from ledger.register.lock import DEFAULT_WAIT_SECONDS

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = str(Path(__file__).with_name("migrations"))
#: The newest migration's revision (tests/test_cli.py checks it against the scripts): a
#: register already there is opened without loading Alembic and its scripts (0.14 s of
#: every command, measured).
SCHEMA_HEAD = "0014"


def resolve_url(url: str, books_dir: Path) -> str:
    """A relative SQLite path in ``mzledger.toml`` is relative to the books directory."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        if not path.is_absolute():
            return str(parsed.set(database=str((books_dir / path).resolve())))
    return url


def busy_timeout_ms(wait_seconds: float) -> int:
    """SQLite's wait for another connection's lock: as long as a command waits for another
    writing one (``ledger.register.lock``), in SQLite's unit and range.

    Writers are one at a time (the register lock); what is left to wait for is readers and a
    writer meeting. With the rollback journal a reader is locked out at the writer's commit
    and, once an import outgrows SQLite's page cache, from the first spill of its pages to
    its commit (measured, 500,000 rows: readers went through for 3.3 s, then waited 7.8 s, to
    the end of the 11.5 s import), and a writer's commit waits for the reads in progress.
    The old 10 s made either fail with "database is locked". WAL would let readers through,
    but not here: ADBC brings its own SQLite library, so two share the register in one
    process, and a connection of one closing deletes the log under the other's (the import
    tests failed with "disk I/O error").
    """
    return max(0, min(int(wait_seconds * 1000), 2**31 - 1))


def make_engine(url: str, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        # pysqlite's own transaction handling would commit behind our back before DDL and
        # never BEGIN for reads; take it over so that one import is one real transaction.
        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # Takes effect only while the file is still empty (a new register): 16 KiB pages
            # made a bulk load of a million settlements a tenth faster than 4 KiB (measured),
            # 64 KiB no faster.
            cursor.execute("PRAGMA page_size=16384")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms(wait_seconds)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def schema_revision(conn: Connection) -> str | None:
    """The register's migration revision, None for a new register."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the register's schema to the newest migration (a no-op when it is there)."""
    with engine.connect() as conn:
        if schema_revision(conn) == SCHEMA_HEAD:
            return
    from alembic import command

    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def open_register(url: str, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Engine:
    """The register, its schema brought to the newest; ``wait_seconds``: how long a SQLite
    connection waits for another's lock (:func:`busy_timeout_ms`)."""
    engine = make_engine(url, wait_seconds)
    migrate(engine)
    return engine


def bulk_insert(conn: Connection, table: Table, records: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows through the driver's executemany, with SQLAlchemy's own bind processors.

    The same values reach the database as through ``conn.execute(insert(table), records)``, but
    without building statement parameters per row, which dominates a bulk import's time.
    """
    if not records:
        return
    dialect = conn.dialect
    columns = [c for c in table.columns if c.name in records[0]]
    processors = [c.type._cached_bind_processor(dialect) for c in columns]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    take = itemgetter(*(c.name for c in columns))
    processed = [(i, p) for i, p in enumerate(processors) if p is not None]
    rows = []
    for record in records:
        values = list(take(record))
        for index, process in processed:
            values[index] = process(values[index])
        rows.append(tuple(values))
    conn.exec_driver_sql(sql, rows)
