"""Bank statements pay the batches: matching, booking on the bank's date, what is left to decide.

Uses the two_months posting case: January has three batches: 示例社区卫生服务中心 (pooled
400.00, personal 250.00), 示例大药房 (personal 90.00) and 示例市中心医院 (cash only: nothing to
pay from either account).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from beancount import loader
from beancount.core import data

from tests.conftest import Cli
from tests.test_postings import GOLDEN

POOLED = "Assets:1004-支出户存款:01-统筹基金"
PERSONAL = "Assets:1004-支出户存款:02-个人账户基金"
CLINIC = "clr-2023-01-H21030101-11"
HEADER = "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要\n"


def _statement(
    path: Path, lines: list[tuple[str, str, str, str, str]], opening: str = "0.00"
) -> Path:
    """(date, out, in, counterparty, summary) -> a generic-layout CSV with running balances,
    from ``opening``."""
    from decimal import Decimal

    balance = Decimal(opening)
    text = HEADER
    for date, out, into, counterparty, summary in lines:
        balance += Decimal(into or "0") - Decimal(out or "0")
        text += f"{date},{out},{into},{balance:.2f},{counterparty},6222000000000000001,{summary}\n"
    path.write_text(text, "utf-8")
    return path


def _cleared_january(cli: Cli) -> None:
    shutil.copy(GOLDEN / "two_months" / "settlements.csv", cli.cwd / "settlements.csv")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    _code, out, _err = cli("post", "--period", "2023-01", "--books", "books")
    assert "3 batches cleared, unpaid" in out


def _transactions(books: Path, clean: bool = True) -> list[data.Transaction]:
    entries, errors, _ = loader.load_file(str(books / "main.beancount"))
    assert errors == [] or not clean
    return [e for e in entries if isinstance(e, data.Transaction)]


def test_statements_book_each_batch_on_the_banks_date(books: Path, cli: Cli) -> None:
    _cleared_january(cli)
    assert _transactions(books) == []  # cleared but unpaid: nothing in the books yet
    _statement(cli.cwd / "pooled.csv", [
        ("2023-02-02", "", "1000.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
        ("2023-02-10", "400.00", "", "示例社区卫生服务中心", f"门诊统筹结算款 {CLINIC}"),
    ])  # fmt: skip
    _code, out, err = cli(
        "import", "statement", "pooled.csv", "--account", POOLED, "--books", "books"
    )
    assert "batch-payment 1, fiscal-transfer 1" in out and "booked" not in out
    assert err == ""  # the clinic's personal part has not been paid yet: nothing to decide
    _statement(cli.cwd / "personal.csv", [
        ("2023-02-02", "", "1000.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
        ("2023-02-10", "250.00", "", "示例社区卫生服务中心", "门诊统筹结算款"),
        ("2023-02-10", "90.00", "", "示例大药房", "结算款 P21030102"),
    ])  # fmt: skip
    _code, out, _err = cli(
        "import", "statement", "personal.csv", "--account", PERSONAL, "--books", "books"
    )
    assert "booked 2 batches on the bank's dates" in out
    booked = [t for t in _transactions(books) if t.links]
    assert sorted((t.date.isoformat(), t.meta["voucher"], t.payee) for t in booked) == [
        ("2023-02-10", "2023-02-记-0001", "示例社区卫生服务中心"),
        ("2023-02-10", "2023-02-记-0002", "示例大药房"),
    ]
    bank = (books / "bank" / "2023-02.beancount").read_text("utf-8")
    assert "balance Assets:1004-支出户存款:01-统筹基金" in bank and "600.00 CNY" in bank
    assert "balance Assets:1004-支出户存款:02-个人账户基金" in bank and "660.00 CNY" in bank
    _code, out, _err = cli("check", "--books", "books")
    assert "ok: 2 transactions, 2 batches" in out
    # batches paid through the bank cannot be formed again
    _code, _out, err = cli("post", "--period", "2023-01", "--replace", "--books", "books", expect=1)
    assert "bank statement lines are matched to its batches" in err
    # the same statement again changes nothing
    before = {p: p.read_bytes() for p in books.rglob("*.beancount")}
    _code, out, _err = cli(
        "import", "statement", "personal.csv", "--account", PERSONAL, "--books", "books"
    )
    assert "already imported" in out
    assert {p: p.read_bytes() for p in books.rglob("*.beancount")} == before


def test_what_matches_nothing_is_listed_and_the_balance_tells(books: Path, cli: Cli) -> None:
    _cleared_january(cli)
    _statement(cli.cwd / "personal.csv", [
        ("2023-02-02", "", "1000.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
        ("2023-02-10", "90.00", "", "示例大药房", "结算款"),
        ("2023-02-10", "12.34", "", "某某公司", "货款"),
        ("2023-02-11", "250.00", "", "示例社区卫生服务中心", "门诊统筹结算款"),
    ])  # fmt: skip
    _code, out, err = cli(
        "import", "statement", "personal.csv", "--account", PERSONAL, "--books", "books"
    )
    assert "undecided 1" in out
    assert "personal.csv:4: 2023-02-10 -12.34 某某公司: 某某公司: not an institution" in err
    _statement(cli.cwd / "pooled.csv", [
        ("2023-02-10", "400.00", "", "示例社区卫生服务中心", "门诊统筹结算款"),
    ])  # fmt: skip
    _code, out, err = cli(
        "import", "statement", "pooled.csv", "--account", POOLED, "--books", "books"
    )
    # the clinic's two parts were paid on two days: one voucher cannot carry both dates
    assert "^clr-2023-01-H21030101-11: its parts were paid on 2023-02-10, 2023-02-11" in err
    assert [t.payee for t in _transactions(books, clean=False) if t.links] == ["示例大药房"]
    # the books do not reach the bank's balance: the undecided line and the unbooked batch
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert "Balance failed for 'Assets:1004-支出户存款:02-个人账户基金'" in err


def test_statement_refusals(books: Path, cli: Cli) -> None:
    _cleared_january(cli)
    path = _statement(cli.cwd / "s.csv", [("2023-02-10", "90.00", "", "示例大药房", "结算款")])
    _code, _out, err = cli(
        "import",
        "statement",
        "s.csv",
        "--account",
        "Income:4001-社会保险费收入:01-统筹基金",
        "--books",
        "books",
        expect=1,
    )
    assert "--account: not a disbursement account or the fiscal special account" in err
    path.write_text(HEADER + "2023-02-10,9.999,,1.00,x,1,y\n", "utf-8")
    _code, _out, err = cli(
        "import", "statement", "s.csv", "--account", PERSONAL, "--books", "books", expect=1
    )
    assert "s.csv:2: 借方金额" in err and "nothing was imported" in err
    assert not (books / "bank").exists()
