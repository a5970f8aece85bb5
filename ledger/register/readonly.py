"""The register opened so that it cannot be written (the Fava extension's pages)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from ledger.register.opening import SCHEMA_HEAD, make_engine, schema_revision


class RegisterUnavailable(RuntimeError):
    """The register cannot be read (no books settings, no database, an old schema)."""


__all__ = ["RegisterUnavailable", "open_register_readonly"]


def open_register_readonly(url: str, wait_seconds: float) -> Engine:
    """The register at ``url``, opened so that it cannot be written: SQLite in ``mode=ro``,
    PostgreSQL in read-only transactions. Unlike ``ledger.register.opening.open_register`` it
    never migrates: a register whose schema is not the newest is refused (any mzledger command
    brings it up to date). ``wait_seconds``: how long SQLite waits for an import's commit
    (``ledger.register.opening.busy_timeout_ms``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        if not path.is_file():
            raise RegisterUnavailable(f"{path}: no register (run `mzledger init`)")
        # A SQLite URI (percent-encoded path) in mode=ro; rendered by SQLAlchemy so that its
        # own parsing gives the URI back unchanged, whatever the path holds (spaces, # ? ...).
        readonly = URL.create(
            "sqlite",
            database=f"file:{quote(str(path.resolve()))}",
            query={"mode": "ro", "uri": "true"},
        )
        engine = make_engine(readonly.render_as_string(hide_password=False), wait_seconds)
    else:
        engine = make_engine(parsed.render_as_string(hide_password=False), wait_seconds)
        if engine.dialect.name == "postgresql":
            engine = engine.execution_options(postgresql_readonly=True)
    try:
        with engine.connect() as conn:
            current = schema_revision(conn)
    except Exception as exc:
        engine.dispose()
        raise RegisterUnavailable(f"cannot read the register: {exc}") from None
    if current != SCHEMA_HEAD:
        engine.dispose()
        raise RegisterUnavailable(
            f"the register's schema is at {current}, not {SCHEMA_HEAD}: run `mzledger check` "
            "once to bring it up to date"
        )
    return engine
