"""The register opened so that it cannot be written (the Fava extension's pages)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Engine,
)
from sqlalchemy.engine import URL, make_url

from ledger.books import Books, BooksError
from ledger.register.lock import RegisterLockError, lock_wait_seconds
from ledger.register.opening import MIGRATIONS, make_engine, resolve_url


class RegisterUnavailable(RuntimeError):
    """The register cannot be read (no books settings, no database, an old schema)."""


def open_register_readonly(root: Path) -> Engine:
    """The books' register (``mzledger.toml`` in ``root``), opened so that it cannot be
    written: SQLite in ``mode=ro``, PostgreSQL in read-only transactions. Unlike
    ``ledger.register.opening.open_register`` it never migrates: a register whose schema is not the
    newest is refused (any mzledger command brings it up to date)."""
    try:
        config = Books(root).read_config()
        # SQLite: how long a page waits for an import's commit
        # (ledger.register.opening.busy_timeout_ms)
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
