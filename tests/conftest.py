"""Shared fixtures: a register on SQLite and on a real PostgreSQL, and books around it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from mzledger.cli import app

PG_URL = os.environ.get("MZLEDGER_TEST_PG_URL")
SHARED = Path(__file__).resolve().parents[2] / "shared"


def postgres_url_or_skip() -> str:
    """The PostgreSQL URL; outside CI a missing one skips, under CI it fails."""
    if PG_URL:
        return PG_URL
    if os.environ.get("CI"):
        pytest.fail("MZLEDGER_TEST_PG_URL is not set, and CI must run the PostgreSQL tests")
    pytest.skip("MZLEDGER_TEST_PG_URL is not set: PostgreSQL tests run in CI (.ci/run sets it)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def register_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty register: a SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'register.sqlite'}"
        return
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Cli:
    """Runs ``mzledger`` in-process, in a working directory, and keeps what it said."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int | None = 0) -> tuple[int, str, str]:
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            result = self.runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            os.chdir(old)
        if expect is not None:
            assert result.exit_code == expect, (
                f"mzledger {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def books(tmp_path: Path, register_url: str, cli: Cli) -> Path:
    """Initialised books in tmp_path/books, on the parametrised register."""
    cli("init", "books", "--db", register_url)
    return tmp_path / "books"
