"""The fiscal special account's statement (财政专户对账单, 1003): each kind of line judged (pure),
the interest split, the golden import, a transfer booked once whichever statement comes first,
an older chart's missing roles, idempotence and locks.

The golden case is ``tests/golden/statements/fiscal_special_1003``: ``in.csv`` (read by
``tests/test_statements.py`` like every statement case, ``expected.txt``), imported into books
opened with ``tests/golden/opening/trial-balance-utf8.csv`` and the month's contributions
(``tests/golden/contributions/collection-utf8.csv``, received 2023-01-25): what the command
says is ``expected-import.txt``, the bank file it writes ``expected-bank-2023-01.beancount``.
``MZLEDGER_UPDATE_GOLDEN=1`` rewrites them.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from hypothesis import given
from hypothesis import strategies as st

from ledger.books import Books, lock_month
from ledger.chart import DEFAULT_CHART_TEXT, parse_chart
from ledger.month import Month
from postings.payments import (
    BookedTransfer,
    FiscalDecision,
    Line,
    Receipt,
    decide_fiscal,
    split_interest,
)
from tests.conftest import Cli
from tests.test_bank import _statement as bank_statement

GOLDEN = Path(__file__).parent / "golden"
CASE = GOLDEN / "statements" / "fiscal_special_1003"
UPDATE = os.environ.get("MZLEDGER_UPDATE_GOLDEN") == "1"
CHART = parse_chart(DEFAULT_CHART_TEXT)
FISCAL = "Assets:1003-财政专户存款"
POOLED = "Assets:1004-支出户存款:01-统筹基金"
PERSONAL = "Assets:1004-支出户存款:02-个人账户基金"
DAY = datetime.date(2023, 1, 21)
NetPair = tuple[Decimal, Decimal]


def _line(amount: str, summary: str, counterparty: str = "", number: str = "") -> Line:
    return Line(2, DAY, Decimal(amount), counterparty, summary, summary, number)


def _no_net_assets(day: datetime.date) -> tuple[Decimal, Decimal]:
    raise AssertionError("net assets asked for a line that needs none")


def _decide(
    line: Line,
    receipts: tuple[Receipt, ...] = (),
    transfers: tuple[BookedTransfer, ...] = (),
    chart_text: str = DEFAULT_CHART_TEXT,
) -> FiscalDecision:
    return decide_fiscal(line, parse_chart(chart_text), receipts, transfers, _no_net_assets)


def _legs(*legs: tuple[str, str]) -> tuple[tuple[str, Decimal], ...]:
    return tuple((account, Decimal(amount)) for account, amount in legs)


# --- each kind of line ----------------------------------------------------------------------

SUBSIDY = "Income:4101-财政补贴收入:01-统筹基金"
TRANSFER_IN = "Income:4301-转移收入:02-个人账户基金"
TRANSFER_OUT = "Expenses:5201-转移支出:02-个人账户基金"
OTHER_POOLED, OTHER_PERSONAL = (
    "Income:4501-其他收入:01-统筹基金",
    "Income:4501-其他收入:02-个人账户基金",
)
BOOKED = [
    ("200000.00", "财政补贴收入", "鞍山市财政局", "fiscal-subsidy", SUBSIDY),
    ("5000.00", "省级补助资金", "辽宁省财政厅", "fiscal-subsidy", SUBSIDY),
    ("5321.09", "个人账户转入", "大连市医保中心", "transfer-in", TRANSFER_IN),
    ("88.00", "跨统筹区转移", "", "transfer-in", TRANSFER_IN),
    ("1234.56", "追回2022年度统筹基金待遇", "示例市中心医院", "recovery", OTHER_POOLED),
    ("12.00", "追缴个人账户违规支付", "示例大药房", "recovery", OTHER_PERSONAL),
    ("7.00", "统筹基金待遇退回", "", "recovery", OTHER_POOLED),
    ("31.10", "个人账户基金结息", "", "interest", "Income:4201-利息收入:02-个人账户基金"),
    ("-2100.50", "个人账户转出", "沈阳市医保中心", "transfer-out", TRANSFER_OUT),
    ("-15.00", "手续费", "", "bank-charge", "Expenses:5401-其他支出:01-统筹基金"),
]


@pytest.mark.parametrize(("amount", "summary", "counterparty", "kind", "account"), BOOKED)
def test_booked_kinds(
    amount: str, summary: str, counterparty: str, kind: str, account: str
) -> None:
    decision = _decide(_line(amount, summary, counterparty))
    assert (decision.kind, decision.legs) == (kind, _legs((account, f"{-Decimal(amount)}")))
    assert decision.matched_file_id is None and decision.matched_line_id is None


UNDECIDED = [
    ("300.00", "退回多付待遇", "", "benefits recovered: name the sub-fund in the summary"),
    ("300.00", "追回统筹基金及个人账户基金", "", "the summary names both sub-funds"),
    ("10.00", "统筹及个人账户结息", "", "the summary names both sub-funds"),
    ("99.00", "往来款", "某某", "往来款: no known kind (contribution: 征缴/社保费/保险费/医保费/"),
    ("-99.00", "货款", "某某公司", "货款: no known kind (to-disbursement: 支出户/拨付/划拨;"),
    ("-50.00", "利息", "", "利息: no known kind"),
    ("100.00", "财政补贴转入", "", "the summary reads as fiscal-subsidy and as transfer-in"),
    ("-100.00", "个人账户划拨转出", "", "reads as to-disbursement and as transfer-out"),
    ("100.00", "统筹基金支出户退回", "", "money back from a disbursement account"),
    ("-100.00", "拨付支出户", "", "a transfer to a disbursement account, but to which"),
    ("0.00", "结息", "", "a line of 0.00"),
]  # fmt: skip


@pytest.mark.parametrize(("amount", "summary", "counterparty", "note"), UNDECIDED)
def test_what_is_left_to_decide(amount: str, summary: str, counterparty: str, note: str) -> None:
    decision = _decide(_line(amount, summary, counterparty))
    assert decision.kind == "undecided" and decision.legs == ()
    assert note in decision.note, decision.note


def test_a_contribution_receipt_matches_the_books_receipt_of_its_day_and_amount() -> None:
    receipts = (
        Receipt(7, "2023-01.csv", DAY, Decimal("1172.14")),
        Receipt(8, "2023-01.csv", DAY - datetime.timedelta(days=1), Decimal("1172.13")),
        Receipt(9, "2023-01-b.csv", DAY, Decimal("1172.13")),
    )
    for line in (
        _line("1172.13", "社保费征缴 2023-01"),
        _line("1172.13", "入库", "国家税务总局鞍山市税务局"),  # the counterparty tells
        _line("1172.13", "医疗保险费"),
    ):
        decision = _decide(line, receipts)
        assert (decision.kind, decision.matched_file_id, decision.legs) == ("contribution", 9, ())
        assert decision.note == "booked by `import contributions` from 2023-01-b.csv"
    # books whose contributions the tax bureau collects into 1005 国库存款: none to match here,
    # the line is the treasury's transfer of them, 借 1003 贷 1005
    treasury = decide_fiscal(_line("1172.13", "社保费征缴"), CHART, None, (), _no_net_assets)
    assert (treasury.kind, treasury.legs) == (
        "from-treasury",
        (("Assets:1005-国库存款", Decimal("-1172.13")),),
    )
    moved = decide_fiscal(_line("800.00", "国库划转"), CHART, None, (), _no_net_assets)
    assert moved.kind == "from-treasury"
    missing = _decide(_line("1172.13", "社保费征缴"), receipts[:2])
    assert missing.kind == "undecided"
    assert missing.note == (
        "a contribution receipt, and the books hold none of 1172.13 on 2023-01-21: import the "
        "month's contributions first (`mzledger import contributions FILE --received-on "
        "2023-01-21`)"
    )


def test_a_transfer_to_a_disbursement_account_matches_or_is_booked() -> None:
    booked = (
        BookedTransfer(3, POOLED, DAY, Decimal("70000.00"), "bank-100401-2023-01.csv:2"),
        BookedTransfer(4, PERSONAL, DAY, Decimal("70000.00"), "bank-100402-2023-01.csv:2"),
        BookedTransfer(5, PERSONAL, DAY, Decimal("90000.00"), "bank-100402-2023-01.csv:3"),
    )
    matched = _decide(_line("-70000.00", "拨付个人账户基金支出户"), transfers=booked)
    assert (matched.kind, matched.matched_line_id, matched.legs) == ("matched-transfer", 4, ())
    assert matched.note == "booked from bank-100402-2023-01.csv:2"
    # one account's transfer of the day and amount: the summary need not name it
    alone = _decide(_line("-90000.00", "划拨"), transfers=booked)
    assert (alone.kind, alone.matched_line_id) == ("matched-transfer", 5)
    both = _decide(_line("-70000.00", "拨付支出户"), transfers=booked)
    assert both.kind == "undecided" and f"to {POOLED}, {PERSONAL}: name the sub-fund" in both.note
    # nothing booked yet: booked here, to the account the summary names
    here = _decide(_line("-70000.00", "拨付统筹基金支出户"), transfers=booked[1:])
    assert (here.kind, here.legs) == ("fiscal-transfer", _legs((POOLED, "70000.00")))


def test_the_counterparty_account_number_tells_the_disbursement_account() -> None:
    numbered = DEFAULT_CHART_TEXT.replace(
        'role = "bank-personal"\n', 'role = "bank-personal"\nbank_account = "6222000000000000402"\n'
    )
    line = _line("-8000.00", "资金调拨", "医保中心", "6222000000000000402")
    decision = _decide(line, chart_text=numbered)
    assert (decision.kind, decision.legs) == ("fiscal-transfer", _legs((PERSONAL, "8000.00")))
    conflict = _decide(
        _line("-8000.00", "拨付统筹基金", "", "6222000000000000402"), chart_text=numbered
    )
    assert conflict.kind == "undecided" and "the summary names 统筹基金" in conflict.note
    back = _decide(_line("8000.00", "退回", "", "6222000000000000402"), chart_text=numbered)
    assert back.note == "money back from a disbursement account: book it by hand"


def test_interest_naming_no_sub_fund_is_split_by_net_assets_of_the_day_before() -> None:
    asked: list[datetime.date] = []

    def net_assets(day: datetime.date) -> tuple[Decimal, Decimal]:
        asked.append(day)
        return Decimal("603720.06"), Decimal("903220.59")

    decision = decide_fiscal(_line("1201.37", "结息"), CHART, (), (), net_assets)
    assert asked == [DAY]
    assert decision.kind == "interest"
    assert decision.legs == _legs(
        ("Income:4201-利息收入:01-统筹基金", "-481.30"),
        ("Income:4201-利息收入:02-个人账户基金", "-720.07"),
    )
    assert decision.note == (
        "interest split by net assets at the end of 2023-01-20 (统筹基金 603,720.06, "
        "个人账户基金 903,220.59)"
    )
    for pooled, personal in (("0.00", "0.00"), ("-1.00", "5.00"), ("5.00", "-0.01")):
        figures = (Decimal(pooled), Decimal(personal))

        def given(_day: datetime.date, figures: tuple[Decimal, Decimal] = figures) -> NetPair:
            return figures

        refused = decide_fiscal(_line("1201.37", "利息"), CHART, (), (), given)
        assert refused.kind == "undecided" and "give no proportion" in refused.note
    only = decide_fiscal(
        _line("10.00", "利息"), CHART, (), (), lambda _d: (Decimal("0.00"), Decimal("5.00"))
    )
    assert only.legs == _legs(("Income:4201-利息收入:02-个人账户基金", "-10.00"))


def test_split_interest_by_hand() -> None:
    assert split_interest(Decimal("0.01"), Decimal("1"), Decimal("1")) == (
        Decimal("0.00"),
        Decimal("0.01"),
    )  # the tie rounds half up, to the personal accounts; the pooled fund takes the rest
    assert split_interest(Decimal("0.03"), Decimal("2"), Decimal("1")) == (
        Decimal("0.02"),
        Decimal("0.01"),
    )
    assert split_interest(Decimal("100.00"), Decimal("1"), Decimal("0")) == (
        Decimal("100.00"),
        Decimal("0.00"),
    )
    assert split_interest(Decimal("1.00"), Decimal("0"), Decimal("0")) is None


money = st.integers(min_value=-(10**12), max_value=10**12).map(lambda n: Decimal(n).scaleb(-2))
net = st.integers(min_value=0, max_value=10**14).map(lambda n: Decimal(n).scaleb(-2))


@given(money, net, net)
def test_the_two_legs_always_sum_to_the_line(
    amount: Decimal, pooled: Decimal, personal: Decimal
) -> None:
    split = split_interest(amount, pooled, personal)
    if pooled + personal == 0:
        assert split is None
        return
    assert split is not None
    pooled_leg, personal_leg = split
    assert pooled_leg + personal_leg == amount  # never a fen made or lost
    assert pooled_leg.as_tuple().exponent == personal_leg.as_tuple().exponent == -2
    exact = amount * personal / (pooled + personal)
    assert abs(personal_leg - exact) <= Decimal("0.005")  # the share, half up to the fen


@given(
    money, st.integers(min_value=-(10**12), max_value=-1).map(lambda n: Decimal(n).scaleb(-2)), net
)
def test_a_negative_net_asset_gives_no_split(
    amount: Decimal, negative: Decimal, other: Decimal
) -> None:
    assert split_interest(amount, negative, other) is None
    assert split_interest(amount, other, negative) is None


# --- an older chart -------------------------------------------------------------------------

OLD_CHART = (Path(__file__).parent / "fixtures" / "release-0c36b51" / "chart.toml").read_text(
    "utf-8"
)


@pytest.mark.parametrize(
    ("amount", "summary", "role", "named"),
    [
        ("100.00", "财政补贴收入", "fiscal-subsidy", "Income:4101-财政补贴收入:01-统筹基金"),
        ("100.00", "个人账户转入", "transfer-in", "Income:4301-转移收入:02-个人账户基金"),
        ("-100.00", "个人账户转出", "transfer-out", "Expenses:5201-转移支出:02-个人账户基金"),
        ("100.00", "追回统筹基金待遇", "other-income", "Income:4501-其他收入:01-统筹基金"),
    ],
)
def test_an_older_chart_without_the_role_leaves_the_line_to_decide(
    amount: str, summary: str, role: str, named: str
) -> None:
    decision = _decide(_line(amount, summary), chart_text=OLD_CHART)
    assert decision.kind == "undecided"
    assert decision.note == (
        f"the books' chart has no account of role {role} (a chart made before it): add {named} "
        "from ledger/chart.toml to chart.toml, or book it by hand"
    )


def test_an_older_chart_books_interest_and_charges_to_its_one_account() -> None:
    interest = _decide(_line("10.00", "结息"), chart_text=OLD_CHART)
    assert interest.legs == _legs(("Income:4004-利息收入", "-10.00"))
    charge = _decide(_line("-1.00", "手续费"), chart_text=OLD_CHART)
    assert charge.legs == _legs(("Expenses:5301-其他支出:01-银行手续费", "1.00"))


# --- through the command line ---------------------------------------------------------------


def _statement(path: Path, opening: str, lines: list[tuple[str, str, str, str, str]]) -> Path:
    """(date, out, in, counterparty, summary) -> a generic-layout CSV from ``opening``."""
    return bank_statement(path, lines, opening)


def _opened(cli: Cli) -> None:
    """Books opened with 1003 1,300,000.00 and 100401 2,500.50 (3001 by sub-fund), and
    January's contributions received on the 25th: 1,172.13 into 1003."""
    shutil.copy(GOLDEN / "opening" / "trial-balance-utf8.csv", cli.cwd / "tb.csv")
    shutil.copy(GOLDEN / "contributions" / "collection-utf8.csv", cli.cwd / "collection.csv")
    cli("import", "opening-balances", "tb.csv", "--on", "2023-01-01", "--books", "books")
    cli(
        "import",
        "contributions",
        "collection.csv",
        "--received-on",
        "2023-01-25",
        "--books",
        "books",
    )


def _import(cli: Cli, path: Path, account: str, expect: int = 0) -> tuple[str, str]:
    _code, out, err = cli(
        "import", "statement", path.name, "--account", account, "--books", "books", expect=expect
    )
    return out, err


def _entries(books: Path) -> tuple[list[data.Directive], list[object]]:
    entries, errors, _ = loader.load_file(str(books / "main.beancount"))
    return entries, list(errors)


def _golden(actual: str, name: str) -> None:
    expected = CASE / name
    if UPDATE:
        expected.write_text(actual, "utf-8")
    assert actual == expected.read_text("utf-8")


def test_golden_import_of_the_fiscal_special_accounts_statement(books: Path, cli: Cli) -> None:
    _opened(cli)
    statement = cli.cwd / "bank-1003-2023-01.csv"
    shutil.copy(CASE / "in.csv", statement)
    out, err = _import(cli, statement, FISCAL)
    _golden(out + err, "expected-import.txt")
    # line 10's interest, 1,201.37, is split by the net assets at the end of 01-20: the opening's
    # 3001 and this statement's earlier lines (pooled 402,500.50 + 200,000.00 + 1,234.56 - 15.00,
    # personal 900,000.00 + 5,321.09 - 2,100.50), the contributions of the 25th not yet: 481.30
    # to the pooled fund, 720.07 to the personal accounts
    bank = (books / "bank" / "2023-01.beancount").read_text("utf-8")
    _golden(bank, "expected-bank-2023-01.beancount")
    # the bank's balance holds the two lines left to decide (300.00 in, 99.00 out)
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert "Balance failed for 'Assets:1003-财政专户存款'" in err and "(201.00 too little)" in err
    # the same file again changes nothing
    before = {p: p.read_bytes() for p in books.rglob("*.beancount")}
    out, _err = _import(cli, statement, FISCAL)
    assert "already imported" in out
    assert {p: p.read_bytes() for p in books.rglob("*.beancount")} == before


TRANSFERS = [
    ("2023-01-05", "10000.00", "", "统筹基金支出户", "拨付统筹基金支出户"),
    ("2023-01-05", "8000.00", "", "个人账户基金支出户", "拨付个人账户基金支出户"),
    ("2023-01-25", "", "1172.13", "国家税务总局鞍山市税务局", "社保费征缴 2023-01"),
]
TRANSFERS_IN = {
    POOLED: (
        "2500.50",
        [("2023-01-05", "", "10000.00", "鞍山市社会保险基金财政专户", "财政专户拨入")],
    ),
    PERSONAL: (
        "0.00",
        [("2023-01-05", "", "8000.00", "鞍山市社会保险基金财政专户", "财政专户拨入")],
    ),
}


def _transfers(entries: list[data.Directive]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Transactions moving money between 1003 and a disbursement account."""
    return sorted(
        (
            e.date.isoformat(),
            tuple(sorted((p.account, f"{p.units.number}") for p in e.postings if p.units)),
        )
        for e in entries
        if isinstance(e, data.Transaction)
        and {p.account.split(":")[1][:4] for p in e.postings} == {"1003", "1004"}
    )


@pytest.mark.parametrize("fiscal_first", [True, False], ids=["1003-first", "1004-first"])
def test_a_transfer_is_booked_once_whichever_statement_comes_first(
    books: Path, cli: Cli, fiscal_first: bool
) -> None:
    _opened(cli)
    fiscal = _statement(cli.cwd / "bank-1003-2023-01.csv", "1300000.00", TRANSFERS)
    disbursement = [
        _statement(cli.cwd / f"bank-{code}-2023-01.csv", opening, lines)
        for code, (opening, lines) in zip(("100401", "100402"), TRANSFERS_IN.values(), strict=True)
    ]
    said = {}
    order = [(fiscal, FISCAL)] if fiscal_first else []
    order += list(zip(disbursement, TRANSFERS_IN, strict=True))
    order += [] if fiscal_first else [(fiscal, FISCAL)]
    for path, account in order:
        said[account], err = _import(cli, path, account)
        assert err == ""
    if fiscal_first:
        assert "contribution 1, fiscal-transfer 2" in said[FISCAL]
        assert "matched-transfer 1" in said[POOLED] and "matched-transfer 1" in said[PERSONAL]
    else:
        assert "contribution 1, matched-transfer 2" in said[FISCAL]
        assert "fiscal-transfer 1" in said[POOLED] and "fiscal-transfer 1" in said[PERSONAL]
    entries, errors = _entries(books)
    assert errors == []  # every statement's closing balance holds: nothing twice, nothing missed
    assert _transfers(entries) == [
        ("2023-01-05", ((FISCAL, "-10000.00"), (POOLED, "10000.00"))),
        ("2023-01-05", ((FISCAL, "-8000.00"), (PERSONAL, "8000.00"))),
    ]
    _code, out, _err = cli("check", "--books", "books")
    assert "books equal the register" in out


def test_a_locked_month_refuses_the_fiscal_statement(books: Path, cli: Cli) -> None:
    _opened(cli)
    target = Books(books)
    when = datetime.datetime(2023, 2, 5, 9, 0)
    for month in (Month(2022, 12), Month(2023, 1)):
        lock_month(target, month, "审计", when, CHART.opened_on)
    fiscal = _statement(cli.cwd / "bank-1003-2023-01.csv", "1300000.00", TRANSFERS)
    before = {p: p.read_bytes() for p in books.rglob("*") if p.is_file() and p.suffix != ".sqlite"}
    _out, err = _import(cli, fiscal, FISCAL, expect=1)
    assert "lines dated in 2023-01, which is locked (locks.beancount): reopen it first" in err
    after = {p: p.read_bytes() for p in books.rglob("*") if p.is_file() and p.suffix != ".sqlite"}
    assert after == before


def test_older_books_leave_the_new_kinds_to_decide(tmp_path: Path, cli: Cli) -> None:
    """Books of release 0c36b51 (their chart has no 4101, 4301, 5201, 4501): the lines of those
    kinds are to decide, naming the role; interest books to their one interest account."""
    shutil.copytree(Path(__file__).parent / "fixtures" / "release-0c36b51", tmp_path / "books")
    fiscal = _statement(
        cli.cwd / "bank-1003-2023-02.csv",
        "500000.00",
        [
            ("2023-02-06", "", "200000.00", "鞍山市财政局", "财政补贴收入"),
            ("2023-02-12", "2100.50", "", "沈阳市医保中心", "个人账户转出"),
            ("2023-02-21", "", "10.00", "", "结息"),
        ],
    )
    out, err = _import(cli, fiscal, FISCAL)
    assert "interest 1, undecided 2" in out
    assert "Traceback" not in err
    assert "the books' chart has no account of role fiscal-subsidy (a chart made before it)" in err
    assert "the books' chart has no account of role transfer-out" in err
    bank = (tmp_path / "books" / "bank" / "2023-02.beancount").read_text("utf-8")
    assert re.search(r"\n  Income:4004-利息收入 +-10\.00 CNY\n", bank)


def test_the_close_asks_for_the_fiscal_statement_once_there_is_one(books: Path, cli: Cli) -> None:
    """Books that never imported a 1003 statement close without one (books made before); once
    one is imported, every month from its first asks for one, and reconciles 1003 too."""
    import json

    _opened(cli)
    for code, (opening, lines) in zip(("100401", "100402"), TRANSFERS_IN.values(), strict=True):
        account = POOLED if code == "100401" else PERSONAL
        _import(cli, _statement(cli.cwd / f"bank-{code}-2023-01.csv", opening, lines), account)
    # before the fiscal special account's statement: 1003 is not asked for, not reconciled
    _code, out, _err = cli("close", "2023-01", "--books", "books")
    assert "2023-01 can close" in out and "余额调节表 Assets:1003" not in out
    _import(cli, _statement(cli.cwd / "bank-1003-2023-01.csv", "1300000.00", TRANSFERS), FISCAL)
    _code, out, _err = cli("close", "2023-01", "--books", "books", "--lock")
    assert "2023-01 can close" in out
    summary = json.loads((books / "close" / "2023-01.json").read_text("utf-8"))
    fiscal = next(r for r in summary["reconciliation"] if r["account"] == FISCAL)
    # the opening is brought forward; the transfers (booked from the disbursement accounts'
    # lines) and the contributions are each on a line of 1003's statement
    assert fiscal == {
        "account": FISCAL,
        "book_balance": "1283172.13",
        "bank_balance": "1283172.13",
        "bank_not_in_books": [],
        "books_not_in_bank": [],
        "adjusted_book_balance": "1283172.13",
        "adjusted_bank_balance": "1283172.13",
        "agrees": True,
    }
    # a February line on 1003 nobody booked: on the bank only, and to decide
    _import(
        cli,
        _statement(
            cli.cwd / "bank-1003-2023-02.csv",
            "1283172.13",
            [("2023-02-03", "", "50.00", "某某", "往来款")],
        ),
        FISCAL,
    )
    _code, out, _err = cli("close", "2023-02", "--books", "books", expect=4)
    assert "Assets:1004-支出户存款:01-统筹基金: no bank statement covers 2023-02" in out
    assert "Assets:1003-财政专户存款: no bank statement covers" not in out
    assert "Assets:1003-财政专户存款 2023-02-03 50.00 某某: 往来款: no known kind" in out
    summary = json.loads((books / "close" / "2023-02.json").read_text("utf-8"))
    fiscal = next(r for r in summary["reconciliation"] if r["account"] == FISCAL)
    assert fiscal["bank_not_in_books"] == [["2023-02-03 某某", "50.00"]]
    assert fiscal["agrees"] is True
    # a month after the first 1003 statement without one of its own is a gap
    _code, out, _err = cli("close", "2023-03", "--books", "books", expect=4)
    assert "Assets:1003-财政专户存款: no bank statement covers 2023-03" in out


def test_books_collecting_into_the_treasury_match_no_contributions_on_1003(
    books: Path, cli: Cli
) -> None:
    """``contributions_received_into = "1005"``: the receipts are 国库存款's, so the money
    reaching 1003 is the treasury's transfer of them: 借 1003 贷 1005, nothing matched."""
    config = books / "mzledger.toml"
    config.write_text(config.read_text("utf-8") + 'contributions_received_into = "1005"\n', "utf-8")
    _opened(cli)
    receipt = [("2023-01-27", "", "1172.13", "国家税务总局鞍山市税务局", "社保费征缴 2023-01")]
    out, err = _import(cli, _statement(cli.cwd / "b.csv", "1300000.00", receipt), FISCAL)
    assert "from-treasury 1" in out and err == ""
    entries, errors = _entries(books)
    assert errors == []
    treasury = [
        (e.date, p.units.number)
        for e in entries
        if isinstance(e, data.Transaction)
        for p in e.postings
        if p.account == "Assets:1005-国库存款" and p.units is not None
    ]
    # received on the 25th into 1005, moved to 1003 on the 27th: 1005 ends at zero
    assert treasury == [
        (datetime.date(2023, 1, 25), Decimal("1172.13")),
        (datetime.date(2023, 1, 27), Decimal("-1172.13")),
    ]


def test_a_transfer_booked_from_1003_is_on_1004s_bank_only_once_its_statement_shows_it(
    books: Path, cli: Cli
) -> None:
    from ledger.register.opening import open_register, resolve_url
    from reports.controls.reconciliation import reconcile

    _opened(cli)
    _import(cli, _statement(cli.cwd / "bank-1003-2023-01.csv", "1300000.00", TRANSFERS), FISCAL)
    last = datetime.date(2023, 1, 31)

    def reconciled(account: str) -> tuple[tuple[str, Decimal], ...]:
        engine = open_register(resolve_url(Books(books).read_config().db_url, books))
        try:
            entries, _errors = _entries(books)
            return reconcile(entries, engine, account, last).books_not_in_bank
        finally:
            engine.dispose()

    # booked from 1003's line: on 1003's bank; on 1004's books only, in transit
    assert reconciled(FISCAL) == ()
    assert reconciled(POOLED) == (
        ("2023-01-05 统筹基金支出户 拨付统筹基金支出户", Decimal("10000.00")),
    )
    opening, lines = TRANSFERS_IN[POOLED]
    _import(cli, _statement(cli.cwd / "bank-100401-2023-01.csv", opening, lines), POOLED)
    assert reconciled(POOLED) == ()  # its statement's line matched the booking
