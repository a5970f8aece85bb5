"""``mzledger migrate-chart``: books made before the national chart (release fixtures, made by
those releases' own code) move to the 2017 system's chart: every account renamed or split by
sub-fund, the locked month locked again, the books still equal to the register."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data

from ledger.chart import DEFAULT_CHART_TEXT, load_chart, parse_chart
from ledger.chart_migration import plan_chart_move, rename_accounts
from tests.conftest import Cli
from tests.test_upgrade import RELEASES, tree_digest

OLD_22DD410 = RELEASES[1]
POOLED = "Assets:1004-支出户存款:01-统筹基金"
REASON = "科目迁移到社会保险基金会计制度（财会〔2017〕28号）的国家科目"


@pytest.fixture
def old_books(tmp_path: Path) -> Path:
    books = tmp_path / "books"
    shutil.copytree(OLD_22DD410, books)
    return books


def test_the_plan_maps_each_old_account_by_its_role() -> None:
    old = load_chart(OLD_22DD410 / "chart.toml")
    move = plan_chart_move(old, DEFAULT_CHART_TEXT)
    assert move.ok
    assert move.renames == {
        "Assets:1004-支出户存款:02-个人账户": "Assets:1004-支出户存款:02-个人账户基金",
        "Expenses:5001-社会保险待遇支出:01-统筹基金待遇支出:03-门诊统筹": (
            "Expenses:5001-社会保险待遇支出:01-统筹基金:03-门诊统筹费用支出"
        ),
        "Expenses:5001-社会保险待遇支出:01-统筹基金待遇支出:04-门诊慢特病": (
            "Expenses:5001-社会保险待遇支出:01-统筹基金:02-门诊大病费用支出"
        ),
        "Expenses:5001-社会保险待遇支出:02-个人账户待遇支出:01-普通门诊支出": (
            "Expenses:5001-社会保险待遇支出:02-个人账户基金:02-门诊费用支出"
        ),
        "Expenses:5001-社会保险待遇支出:02-个人账户待遇支出:02-定点药店医药费支出": (
            "Expenses:5001-社会保险待遇支出:02-个人账户基金:03-药店医药费用支出"
        ),
    }
    # one account for both sub-funds becomes the sub-fund's: decided entry by entry
    assert move.split == {
        "Income:4004-利息收入": (
            "Income:4201-利息收入:01-统筹基金",
            "Income:4201-利息收入:02-个人账户基金",
        ),
        "Expenses:5301-其他支出:01-银行手续费": (
            "Expenses:5401-其他支出:01-统筹基金",
            "Expenses:5401-其他支出:02-个人账户基金",
        ),
    }
    assert parse_chart(move.chart_text).accounts == parse_chart(DEFAULT_CHART_TEXT).accounts


def test_the_plan_keeps_the_agencys_bank_numbers_and_med_type_mapping() -> None:
    old_text = (OLD_22DD410 / "chart.toml").read_text("utf-8")
    old_text = old_text.replace(
        'role = "bank-pooled"\n', 'role = "bank-pooled"\nbank_account = "2103000100000099"\n'
    ).replace('"41" = "pooled-outpatient"', '"41" = "pooled-chronic"')
    move = plan_chart_move(parse_chart(old_text), DEFAULT_CHART_TEXT)
    new = parse_chart(move.chart_text)
    assert new.fund_of_bank_account("2103000100000099") == "pooled"
    assert new.med_type_roles["41"] == "pooled-chronic"


def test_rename_takes_whole_account_names_only() -> None:
    text = (
        '2023-01-05 * "x"\n  Income:4004-利息收入   -1.00 CNY ; Income:4004-利息收入\n'
        "  Income:4004-利息收入:09-其他   1.00 CNY\n"
    )
    renamed = rename_accounts(text, {"Income:4004-利息收入": "Income:4201-利息收入:01-统筹基金"})
    assert renamed.count("Income:4201-利息收入:01-统筹基金") == 2
    assert "Income:4004-利息收入:09-其他" in renamed  # a longer name is another account


def test_old_books_move_and_still_equal_the_register(old_books: Path, cli: Cli) -> None:
    # February's interest on the pooled fund's account, booked under the old chart (4004); the
    # balance is the books' after the release's `post --paid-on 2023-02-10` (no statement paid
    # those batches, so the books are below zero there: not this test's concern)
    statement = old_books / "bank-100401-2023-02.csv"
    statement.write_text(
        "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要\n2023-02-21,,1.23,-7010.55,,,结息\n",
        "utf-8",
    )
    cli("import", "statement", str(statement), "--account", POOLED, "--books", str(old_books))
    assert "Income:4004-利息收入" in (old_books / "bank" / "2023-02.beancount").read_text("utf-8")
    _code, out, _err = cli("migrate-chart", "--reason", REASON, "--books", str(old_books))
    assert "books moved to the national chart; locked again: 2023-01" in out
    old = load_chart(OLD_22DD410 / "chart.toml")
    moved = plan_chart_move(old, DEFAULT_CHART_TEXT)
    gone = [*moved.renames, *moved.split]
    for path in old_books.rglob("*.beancount"):
        text = path.read_text("utf-8")
        assert not [name for name in gone if re.search(re.escape(name) + r"\s", text)], path
    entries, errors, _ = loader.load_file(str(old_books / "main.beancount"))
    assert errors == []
    interest = [
        (p.account, p.units.number)
        for e in entries
        if isinstance(e, data.Transaction) and e.narration == "结息"
        for p in e.postings
        if p.units is not None
    ]
    assert interest == [
        (POOLED, Decimal("1.23")),
        ("Income:4201-利息收入:01-统筹基金", Decimal("-1.23")),
    ]
    _code, out, _err = cli("check", "--books", str(old_books))
    assert "books equal the register" in out
    locks = (old_books / "locks.beancount").read_text("utf-8")
    assert f'custom "mzledger-reopen" "2023-01" "migrate-chart: {REASON}"' in locks
    assert locks.count('custom "mzledger-lock" "2023-01"') == 2  # the release's, and again
    # once moved, again is nothing
    before = tree_digest(old_books)
    _code, out, _err = cli("migrate-chart", "--reason", REASON, "--books", str(old_books))
    assert "on the national chart already" in out
    assert tree_digest(old_books) == before


def test_a_hand_entry_on_a_split_account_refuses_the_move(old_books: Path, cli: Cli) -> None:
    manual = old_books / "manual.beancount"
    manual.write_text(
        manual.read_text("utf-8")
        + '\n2023-02-21 * "手工补记利息"\n  Assets:1004-支出户存款:01-统筹基金   1.00 CNY\n'
        "  Income:4004-利息收入   -1.00 CNY\n",
        "utf-8",
    )
    cli("check", "--books", str(old_books))  # the first command brings the register up to date
    before = tree_digest(old_books)
    _code, _out, err = cli("migrate-chart", "--reason", REASON, "--books", str(old_books), expect=1)
    line = manual.read_text("utf-8").splitlines().index('2023-02-21 * "手工补记利息"') + 1
    assert (
        f"manual.beancount:{line}: Income:4004-利息收入: the new chart keeps it by sub-fund" in err
    )
    assert "refused: nothing was changed" in err
    assert tree_digest(old_books) == before
    _code, _out, err = cli("migrate-chart", "--reason", " ", "--books", str(old_books), expect=1)
    assert "--reason: the locked months are reopened with it: give one" in err
