"""Posting clearing periods: golden books files, refusals, re-posting, and `check`.

The golden cases run on SQLite and on PostgreSQL: the same register content must give the
same books, byte for byte.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from ledger.books import Books
from ledger.register.models import ClearingBatch, Posting, Settlement
from ledger.register.opening import resolve_url
from tests.conftest import Cli

GOLDEN = Path(__file__).parent / "golden" / "post"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
UPDATE = os.environ.get("MZLEDGER_UPDATE_GOLDEN") == "1"


def _periods(case: Path) -> list[tuple[str, str]]:
    lines = (case / "periods.txt").read_text("utf-8").split("\n")
    return [(p, d) for p, d in (line.split() for line in lines if line.strip())]


def _import_case(cli: Cli, case: Path) -> None:
    shutil.copy(case / "settlements.csv", cli.cwd / "settlements.csv")
    cli("import", "settlements", "settlements.csv", "--books", "books")


def _count(books: Path, model: type) -> int:
    config = Books(books).read_config()
    engine = create_engine(resolve_url(config.db_url, books))
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(count)


def _rows(books: Path, model: type) -> list[tuple[object, ...]]:
    config = Books(books).read_config()
    engine = create_engine(resolve_url(config.db_url, books))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(model.__table__).order_by("id"))]  # type: ignore[attr-defined]
    engine.dispose()
    return rows


@pytest.mark.parametrize("case", CASES)
def test_golden_books(case: str, books: Path, cli: Cli) -> None:
    """settlements.csv, posted period by period -> expected/*.beancount, then `check` agrees."""
    case_dir = GOLDEN / case
    _import_case(cli, case_dir)
    for period, paid_on in _periods(case_dir):
        cli("post", "--period", period, "--paid-on", paid_on, "--books", "books")
    produced = {p.relative_to(books).as_posix(): p for p in books.rglob("*.beancount")}
    expected_dir = case_dir / "expected"
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for name, path in produced.items():
            (expected_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, expected_dir / name)
    expected = {
        p.relative_to(expected_dir).as_posix(): p for p in expected_dir.rglob("*.beancount")
    }
    assert sorted(produced) == sorted(expected)
    for name, path in produced.items():
        assert path.read_text("utf-8") == expected[name].read_text("utf-8"), name
    _code, stdout, _stderr = cli("check", "--books", "books")
    assert "books equal the register" in stdout


def test_repost_needs_replace_and_is_reproducible(books: Path, cli: Cli) -> None:
    _import_case(cli, GOLDEN / "two_months")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    first = (books / "clearing" / "2023-01.beancount").read_bytes()
    _code, _out, err = cli(
        "post", "--period", "2023-01", "--paid-on", "2023-02-11", "--books", "books", expect=1
    )
    assert "already posted" in err and "--replace" in err
    assert (books / "clearing" / "2023-01.beancount").read_bytes() == first
    postings = _rows(books, Posting)
    _code, out, _err = cli(
        "post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books", "--replace"
    )
    assert "nothing new" in out
    assert (books / "clearing" / "2023-01.beancount").read_bytes() == first
    assert _rows(books, Posting) == postings  # the register was left alone
    # a hand edit of the generated file is undone by the same command
    path = books / "clearing" / "2023-01.beancount"
    path.write_text(path.read_text("utf-8").replace("结算4笔", "结算5笔"), "utf-8")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books", "--replace")
    assert path.read_bytes() == first
    # another payment date re-forms the batches, with the same voucher numbers
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-12", "--books", "books", "--replace")
    moved = path.read_text("utf-8")
    assert moved == first.decode("utf-8").replace("2023-02-10 *", "2023-02-12 *")
    assert _count(books, ClearingBatch) == _count(books, Posting) == 3


def _write_rows(path: Path, template: Path, edits: list[dict[str, str]]) -> None:
    """A CSV with the template's header and one row per edit of the template's first row,
    each a visit of its own (a row repeating another's visit, person, time and amounts under a
    new setl_id would be held for a decision)."""
    import csv

    with template.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        first = next(reader)
        header = reader.fieldnames or []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        for edit in edits:
            writer.writerow({**first, "mdtrt_id": f"M{edit['setl_id']}", **edit})


def test_unmapped_med_type_refuses_the_period(books: Path, cli: Cli) -> None:
    template = GOLDEN / "two_months" / "settlements.csv"
    _write_rows(
        cli.cwd / "in.csv",
        template,
        [
            {"setl_id": "U1"},
            {"setl_id": "U2", "med_type": "21"},
            {"setl_id": "U3", "med_type": "9901"},
        ],
    )
    _code, _out, err = cli("import", "settlements", "in.csv", "--books", "books")
    assert "9901" in err and "21" in err  # kept and reported at import
    _code, _out, err = cli(
        "post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books", expect=1
    )
    assert "U2 (med_type 21)" in err and "U3 (med_type 9901)" in err
    assert not (books / "clearing" / "2023-01.beancount").exists()
    assert _count(books, ClearingBatch) == 0


def test_refusals_name_the_domain_field_and_each_front_end_its_own(books: Path, cli: Cli) -> None:
    """Postings return Problems in the domain's words (the field ``paid_on``, ``account``,
    ``replace``; the period or the file as the location); the command line names its options,
    Fava's import page its Chinese labels."""
    import datetime

    from ledger.month import Month
    from mzledger.fava_import import FIELD_LABELS
    from mzledger.terminal import problem_lines
    from mzledger.workflows import import_statement_file, open_books
    from postings.period import post_period

    _import_case(cli, GOLDEN / "two_months")
    cli("post", "--period", "2023-01", "--books", "books")
    opened = open_books(books)
    january = Month(2023, 1)
    books_, config, chart, engine = opened
    early = post_period(engine, books_, config, chart, january, datetime.date(2023, 1, 31))
    posted = post_period(engine, books_, config, chart, january, None)
    (cli.cwd / "s.csv").write_text(
        "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要\n2023-02-10,1.00,,-1.00,x,1,y\n",
        "utf-8",
    )
    statement = import_statement_file(
        opened, cli.cwd / "s.csv", "Income:4001-社会保险费收入:01-统筹基金", "generic"
    )
    opened.engine.dispose()
    assert statement.result is not None
    problems = [*early.problems, *posted.problems, *statement.result.problems]
    assert [(p.location, p.field) for p in problems] == [
        ("", "paid_on"),
        ("2023-01", "replace"),
        ("", "account"),
    ]
    assert not any("--" in str(p) for p in problems)
    clearing = books / "clearing" / "2023-01.beancount"
    assert problem_lines(problems) == [
        "--paid-on: payment must come after the clearing period ends (found 2023-01-31, "
        "expected a date after 2023-01-31)",
        f"2023-01: already posted (3 batches in {clearing}); give --replace to post it again",
        "--account: not a disbursement account or the fiscal special account of the chart "
        "(found 'Income:4001-社会保险费收入:01-统筹基金', expected Assets:1003-财政专户存款 or "
        "Assets:1004-支出户存款:01-统筹基金 or Assets:1004-支出户存款:02-个人账户基金)",
    ]
    assert problems[2].render(FIELD_LABELS).startswith("账户: not a disbursement account")
    assert str(problems[1]) == f"2023-01: replace: already posted (3 batches in {clearing})"


def test_a_refused_replace_leaves_the_register_as_it_was(books: Path, cli: Cli) -> None:
    """Posting again removes the period's batches before it checks the settlements: a refusal
    after that (here a late settlement whose med_type the chart does not map) rolls the
    removal back with the rest. (It used to be committed: the batches were gone, the books
    file still booked them.)"""
    _import_case(cli, GOLDEN / "two_months")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    before = _rows(books, ClearingBatch), _rows(books, Posting)
    template = GOLDEN / "two_months" / "settlements.csv"
    _write_rows(cli.cwd / "late.csv", template, [{"setl_id": "L9", "med_type": "21"}])
    cli("import", "settlements", "late.csv", "--books", "books")
    _code, _out, err = cli(
        "post",
        "--period",
        "2023-01",
        "--paid-on",
        "2023-02-10",
        "--books",
        "books",
        "--replace",
        expect=1,
    )
    assert "L9 (med_type 21)" in err and "refused: nothing was posted for 2023-01" in err
    assert (_rows(books, ClearingBatch), _rows(books, Posting)) == before
    _code, out, _err = cli("check", "--books", "books")
    assert "books equal the register" in out


@pytest.mark.parametrize(
    ("period", "paid_on", "message"),
    [
        ("2023-01", "2023-01-31", "after the clearing period ends"),
        ("2023-13", "2024-02-01", "not a month"),
        ("2023-05", "2023-06-10", "no settlements"),
    ],
)
def test_post_refusals(books: Path, cli: Cli, period: str, paid_on: str, message: str) -> None:
    _import_case(cli, GOLDEN / "two_months")
    _code, _out, err = cli(
        "post", "--period", period, "--paid-on", paid_on, "--books", "books", expect=1
    )
    assert message in err
    assert _count(books, Posting) == 0
    assert Books(books).clearing_periods() == []


def test_bad_payment_date_is_a_usage_error(books: Path, cli: Cli) -> None:
    _code, _out, err = cli(
        "post", "--period", "2023-01", "--paid-on", "10/02/2023", "--books", "books", expect=2
    )
    assert "expected YYYY-MM-DD" in err


def test_late_settlement_is_reported_then_taken_in_by_replace(books: Path, cli: Cli) -> None:
    _import_case(cli, GOLDEN / "two_months")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    _write_rows(
        cli.cwd / "late.csv", GOLDEN / "two_months" / "settlements.csv", [{"setl_id": "L1"}]
    )
    _code, _out, err = cli("import", "settlements", "late.csv", "--books", "books")
    assert "already posted" in err
    _code, _out, err = cli("check", "--books", "books")
    assert "2023-01: 1 settlements imported after the period was posted" in err
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books", "--replace")
    _code, _out, err = cli("check", "--books", "books")
    assert "warning" not in err
    assert _count(books, Settlement) == 10


def test_check_finds_an_edited_books_file(books: Path, cli: Cli) -> None:
    _import_case(cli, GOLDEN / "two_months")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    path = books / "clearing" / "2023-01.beancount"
    text = path.read_text("utf-8")
    # Move 0.01 between the pooled expense and the bank: still balanced, no longer the register.
    edited = text.replace("400.00 CNY", "400.01 CNY", 1).replace("-400.00 CNY", "-400.01 CNY", 1)
    assert edited != text
    path.write_text(edited, "utf-8")
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert "difference 0.01 CNY" in err
    path.write_text(text.replace("^clr-2023-01-H21030301-11", ""), "utf-8")
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert "clr-2023-01-H21030301-11: batch is in the register but not in the books" in err


def test_personal_data_never_reaches_the_books(books: Path, cli: Cli) -> None:
    _import_case(cli, GOLDEN / "two_months")
    outputs: list[str] = []
    for period, paid_on in _periods(GOLDEN / "two_months"):
        outputs += cli("post", "--period", period, "--paid-on", paid_on, "--books", "books")[1:]
    outputs += cli("check", "--books", "books")[1:]
    texts = [p.read_text("utf-8") for p in books.rglob("*.beancount")] + outputs
    assert texts
    for text in texts:
        assert "测试某" not in text and "210302197001010011" not in text


def test_post_refuses_to_write_into_a_locked_month(books: Path, cli: Cli) -> None:
    import datetime

    from beancount import loader

    from ledger.books import atomic_write
    from ledger.locks import append_to_locks_file, prepare_lock
    from ledger.month import Month

    _import_case(cli, GOLDEN / "two_months")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    entries, errors, _ = loader.load_file(str(books / "main.beancount"))
    assert errors == []
    files = prepare_lock(
        entries, Month(2023, 2), "审计", datetime.datetime(2023, 3, 5, 10, 0), root=books
    )
    atomic_write(books / files.manifest_path, files.manifest_text)
    locks_file = books / "locks.beancount"
    atomic_write(locks_file, append_to_locks_file(locks_file.read_text("utf-8"), files.entry_text))
    before = {p: p.read_bytes() for p in books.rglob("*.beancount")}
    _code, _out, err = cli(
        "post", "--period", "2023-02", "--paid-on", "2023-02-28", "--books", "books", expect=1
    )
    assert "after the clearing period ends" in err  # (checked first)
    _code, _out, err = cli(
        "post",
        "--period",
        "2023-01",
        "--paid-on",
        "2023-02-11",
        "--books",
        "books",
        "--replace",
        expect=1,
    )
    assert "2023-02, which is locked" in err
    _code, _out, err = cli(
        "post",
        "--period",
        "2023-01",
        "--paid-on",
        "2023-03-01",
        "--books",
        "books",
        "--replace",
        expect=1,
    )
    assert "booked in 2023-02, which is locked" in err
    assert {p: p.read_bytes() for p in books.rglob("*.beancount")} == before
    cli("post", "--period", "2023-02", "--paid-on", "2023-03-10", "--books", "books")
    _code, out, _err = cli("check", "--books", "books")
    assert "books equal the register" in out


def test_report_command_writes_the_month_and_checks_it(books: Path, cli: Cli) -> None:
    _import_case(cli, GOLDEN / "two_months")
    for period, paid_on in _periods(GOLDEN / "two_months"):
        cli("post", "--period", period, "--paid-on", paid_on, "--books", "books")
    _code, out, _err = cli("report", "--period", "2023-03", "--books", "books")
    assert "books and register agree" in out
    written = sorted(p.name for p in (books / "reports" / "2023-03").iterdir())
    assert written == ["fund-report-2023-03.html", "fund-report-2023-03.xlsx"]
    html = (books / "reports" / "2023-03" / "fund-report-2023-03.html").read_text("utf-8")
    assert "-400.00" in html  # February's refund of a chronic-disease visit, paid in March
    cli("report", "--period", "2023-3", "--books", "books", expect=2)


def test_platform_totals_command(books: Path, cli: Cli) -> None:
    _import_case(cli, GOLDEN / "two_months")
    header = (
        "insutype,clr_type,clr_optins,medfee_sumamt,fund_pay_sumamt,acct_pay,fixmedins_setl_cnt"
    )
    # January by hand: clinic (11) medfee 500+800+300+20-500, funds 120+400+60-120, account
    # 200+100+100-200 over 5 rows; pharmacy (13) 88.50+100, account 60 over 2 rows
    agreed = f"{header}\n310,11,210300,1120.00,460.00,200.00,5\n310,13,210300,188.50,0.00,60.00,2\n"
    (cli.cwd / "ok.csv").write_text(agreed, "utf-8")
    _code, out, _err = cli(
        "import", "platform-totals", "ok.csv", "--period", "2023-01", "--books", "books"
    )
    assert "一致 2 组，不一致 0 组" in out
    (cli.cwd / "off.csv").write_text(agreed.replace("460.00", "460.01"), "utf-8")
    _code, out, _err = cli(
        "import", "platform-totals", "off.csv", "--period", "2023-01", "--books", "books", expect=4
    )
    assert "不一致：基金支付总额" in out
    (cli.cwd / "bad.csv").write_text(agreed.replace("460.00", "4x"), "utf-8")
    _code, _out, err = cli(
        "import", "platform-totals", "bad.csv", "--period", "2023-01", "--books", "books", expect=1
    )
    assert "bad.csv:2: fund_pay_sumamt" in err
