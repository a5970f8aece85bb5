"""Person records: checked whole before anything is written, and imported once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select

from ledger.books import Books
from ledger.register.models import PersonRecord
from ledger.register.opening import resolve_url
from tests.conftest import Cli

GOOD = """psn_no,record,begndate,enddate
Q1,long-term-residence,2022-06-01,
Q2,referral,2023-01-01,2023-03-31
Q3,arrears,2023-02-01,2023-02-28
"""


def _records(books: Path) -> int:
    engine = create_engine(resolve_url(Books(books).read_config().db_url, books))
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(PersonRecord)).scalar_one())
    engine.dispose()
    return count


def test_import_once_then_skip_known_records(books: Path, cli: Cli) -> None:
    (cli.cwd / "p.csv").write_text(GOOD, "utf-8")
    _code, out, _err = cli("import", "persons", "p.csv", "--books", "books")
    assert "p.csv: 3 records, 3 new or changed" in out
    _code, out, _err = cli("import", "persons", "p.csv", "--books", "books")
    assert "already imported (same sha256)" in out
    (cli.cwd / "p2.csv").write_text(GOOD + "Q4,arrears,2023-05-01,2023-05-31\n", "utf-8")
    _code, out, _err = cli("import", "persons", "p2.csv", "--books", "books")
    assert "p2.csv: 4 records, 1 new or changed" in out
    assert _records(books) == 4


def test_a_bad_file_says_every_problem_and_writes_nothing(books: Path, cli: Cli) -> None:
    (cli.cwd / "bad.csv").write_text(
        "psn_no,record,begndate,enddate\n"
        "Q1,holiday,2023-01-01,\n"
        ",arrears,2023/01/01,\n"
        "Q3,referral,2023-03-01,2023-02-01\n",
        "utf-8",
    )
    _code, _out, err = cli("import", "persons", "bad.csv", "--books", "books", expect=1)
    assert err.splitlines() == [
        "bad.csv:2: record: unknown kind of record (found 'holiday', expected "
        "long-term-residence, referral, arrears)",
        "bad.csv:3: psn_no: required field is empty (found nothing, expected a value)",
        "bad.csv:3: begndate: not a date (found '2023/01/01', expected yyyy-MM-dd)",
        "bad.csv:4: enddate: ends before it begins (found '2023-02-01', expected 2023-03-01 or "
        "later)",
        "refused: 4 problems; nothing was imported",
    ]
    assert _records(books) == 0
    (cli.cwd / "cols.csv").write_text("psn_no,record\nQ1,arrears\n", "utf-8")
    _code, _out, err = cli("import", "persons", "cols.csv", "--books", "books", expect=1)
    assert "cols.csv:1: begndate: required column missing from the header" in err
