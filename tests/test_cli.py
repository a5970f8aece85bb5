"""The command line as a user meets it: where the books are, refusals, exit codes, schema."""

from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ledger.register.models import Base
from ledger.register.opening import SCHEMA_HEAD, _alembic_config, open_register, schema_revision
from ledger.register.partitions import include_object_for
from tests.conftest import SAMPLES, Cli, postgres_url_or_skip


def test_books_from_environment_then_current_directory(books: Path, cli: Cli) -> None:
    os.environ["MZLEDGER_BOOKS"] = str(books)
    try:
        _code, out, _err = cli("check")
    finally:
        del os.environ["MZLEDGER_BOOKS"]
    assert "ok: 0 transactions" in out
    _code, out, _err = Cli(books)("check")
    assert "ok: 0 transactions" in out


def test_not_a_books_directory(cli: Cli) -> None:
    _code, _out, err = cli("check", "--books", "nowhere", expect=1)
    assert "nowhere: not a books directory (no mzledger.toml); create one with" in err
    assert "Traceback" not in err


def test_unreachable_register_is_a_message_not_a_traceback(cli: Cli, tmp_path: Path) -> None:
    nowhere = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    _code, _out, err = cli("init", "books", "--db", nowhere, expect=1)
    assert err.startswith("register: cannot use the database:")
    assert not (tmp_path / "books").exists()  # nothing claims books that do not exist
    cli("init", "books")
    config = tmp_path / "books" / "mzledger.toml"
    config.write_text(config.read_text("utf-8").replace("sqlite:///register.sqlite", nowhere))
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert err.startswith("register: cannot use the database:")


def test_a_missing_postgresql_schema_is_a_message_not_a_traceback(cli: Cli, tmp_path: Path) -> None:
    """Books whose register names a schema that is gone (dropped by hand, or a benchmark's):
    the driver's words, exit 1, never a traceback."""
    base = postgres_url_or_skip()
    cli("init", "books")
    config = tmp_path / "books" / "mzledger.toml"
    gone = f"{base}?options=-csearch_path%3Dmzledger_no_such_schema"
    config.write_text(config.read_text("utf-8").replace("sqlite:///register.sqlite", gone))
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert err.startswith("register: cannot use the database:"), err
    assert "Traceback" not in err


def test_init_twice_is_a_no_op_and_other_settings_are_refused(cli: Cli, tmp_path: Path) -> None:
    cli("init", "books")
    before = {p: p.read_bytes() for p in (tmp_path / "books").rglob("*.beancount")}
    cli("init", "books")
    assert {p: p.read_bytes() for p in (tmp_path / "books").rglob("*.beancount")} == before
    _code, _out, err = cli("init", "books", "--region", "140100", expect=1)
    assert "already initialised with other settings" in err
    _code, _out, err = cli("init", "other", "--region", "21", expect=1)
    assert "--region: not a region code (found '21', expected 6 digits)" in err


def test_usage_errors_exit_2(cli: Cli) -> None:
    cli("post", "--paid-on", "2023-02-10", expect=2)
    cli("import", "settlements", "missing.csv", expect=2)
    cli("frobnicate", expect=2)


def test_same_file_as_another_kind_is_refused(books: Path, cli: Cli) -> None:
    sample = SAMPLES / "settlements-sample.csv"
    cli("import", "settlements", str(sample), "--books", "books")
    _code, _out, err = cli("import", "institutions", str(sample), "--books", "books", expect=1)
    assert "imported before as another kind of file (found 'settlements'" in err


def test_migrations_build_exactly_the_models(register_url: str) -> None:
    """Alembic's migrations and the SQLAlchemy models describe the same schema, on both."""
    engine = open_register(register_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object_for(conn.dialect.name)}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_recorded_head_is_the_newest_migration(register_url: str) -> None:
    """A register at SCHEMA_HEAD is opened without Alembic: that must be the scripts' head,
    and a new register must reach it."""
    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == SCHEMA_HEAD
    engine = open_register(register_url)
    with engine.connect() as conn:
        assert schema_revision(conn) == SCHEMA_HEAD
    engine.dispose()


def test_a_csv_row_and_its_raw_2207_response_are_the_same_settlement(books: Path, cli: Cli) -> None:
    samples = SAMPLES
    cli("import", "settlements", str(samples / "settlements-sample.csv"), "--books", "books")
    _code, out, _err = cli(
        "import",
        "settlements",
        str(samples / "2207-response-sample.json"),
        "--books",
        "books",
        "--institution",
        "H21030101",
    )
    assert "1 rows, 0 imported, 1 already in the register (identical, skipped)" in out
