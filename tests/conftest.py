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
#: Copies of the project's input samples (``../shared/samples``), kept with the tests so that
#: the suite needs nothing outside the repository.
SAMPLES = Path(__file__).resolve().parent / "data" / "samples"


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


SAMPLE_HEADER = (SAMPLES / "settlements-sample.csv").read_text("utf-8").splitlines()[0].split(",")
AUDIT_COLUMNS = ["emergency_flag", "rx_no", "rx_institution", "rx_date", "drug_code"]


def settlement(
    setl_id: str,
    psn_no: str,
    setl_time: str,
    institution: str,
    inscp: str,
    hifp: str,
    **fields: str,
) -> dict[str, str]:
    """One settlement row that satisfies the three identities: the person pays the rest of the
    policy-scope amount, from the account (``acct``) and in cash."""
    from decimal import Decimal

    medfee, pooled = Decimal(inscp), Decimal(hifp)
    acct = Decimal(fields.pop("acct", "0"))
    person = medfee - pooled
    row = dict.fromkeys(SAMPLE_HEADER + AUDIT_COLUMNS, "")
    row.update(
        setl_id=setl_id,
        mdtrt_id=fields.pop("mdtrt_id", "M" + setl_id),
        psn_no=psn_no,
        psn_type=fields.pop("psn_type", "1101"),
        insutype="310",
        med_type=fields.pop("med_type", "11"),
        setl_time=setl_time,
        fixmedins_code=institution,
        clr_type=fields.pop("clr_type", "11"),
        clr_optins="210300",
        refd_setl_flag="0",
    )
    money = dict.fromkeys(
        [name for name in SAMPLE_HEADER if name.endswith(("_amt", "_pay", "_selfpay"))], "0.00"
    )
    money.update(
        medfee_sumamt=f"{medfee}",
        inscp_scp_amt=f"{medfee}",
        hifp_pay=f"{pooled}",
        fund_pay_sumamt=f"{pooled}",
        psn_part_amt=f"{person}",
        acct_pay=f"{acct}",
        psn_cash_pay=f"{person - acct}",
        act_pay_dedc=fields.pop("act_pay_dedc", "0.00"),
    )
    money.pop("pool_prop_selfpay", None)
    row.update(money)
    row.update(fields)
    return row


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
