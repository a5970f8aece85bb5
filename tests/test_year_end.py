"""The year-end closing (年终结账): income and expenditure carried into 3001 一般基金结余 by
sub-fund at the close of December, as the 2017 system says ("期末结账后应无余额")."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data

from ledger.chart import DEFAULT_CHART_TEXT, Chart, parse_chart, render_accounts, sub_fund_of
from ledger.year_end import YEAR_END_TAG
from postings.year_end import closing_text, year_end_closing
from reports.controls.balance_sides import wrong_sides
from tests.conftest import Cli

GOLDEN = Path(__file__).parent / "golden" / "closing"
UPDATE = os.environ.get("MZLEDGER_UPDATE_GOLDEN") == "1"
CHART = parse_chart(DEFAULT_CHART_TEXT)

FISCAL = "Assets:1003-财政专户存款"
BANK_POOLED = "Assets:1004-支出户存款:01-统筹基金"
BANK_PERSONAL = "Assets:1004-支出户存款:02-个人账户基金"
FUND_POOLED = "Equity:3001-一般基金结余:01-统筹基金"
FUND_PERSONAL = "Equity:3001-一般基金结余:02-个人账户基金"
CONTRIB_POOLED = "Income:4001-社会保险费收入:01-统筹基金"
CONTRIB_PERSONAL = "Income:4001-社会保险费收入:02-个人账户基金"
INTEREST_POOLED = "Income:4201-利息收入:01-统筹基金"
INTEREST_PERSONAL = "Income:4201-利息收入:02-个人账户基金"
CHRONIC = "Expenses:5001-社会保险待遇支出:01-统筹基金:02-门诊大病费用支出"
OUTPATIENT = "Expenses:5001-社会保险待遇支出:01-统筹基金:03-门诊统筹费用支出"
CLINIC = "Expenses:5001-社会保险待遇支出:02-个人账户基金:02-门诊费用支出"
PHARMACY = "Expenses:5001-社会保险待遇支出:02-个人账户基金:03-药店医药费用支出"
CHARGES_POOLED = "Expenses:5401-其他支出:01-统筹基金"


def _txn(day: str, narration: str, *legs: tuple[str, str], tag: str = "") -> str:
    head = f'{day} * "{narration}"' + (f" #{tag}" if tag else "")
    return "\n".join([head, *(f"  {account}  {amount} CNY" for account, amount in legs)]) + "\n"


# 2022: contributions of 100.00 closed by 2022's closing; then a 5.00 expense booked into 2022
# after it (a late correction), which 2022's closing does not hold: 2023's carries it.
# 2023: contributions split by sub-fund and a retiree's crediting; a transfer to the
# disbursement accounts; benefits of both sub-funds; a pharmacy refund larger than the year's
# pharmacy spending (its balance is a credit); interest on both accounts, a bank charge.
YEAR = "\n".join(
    [
        render_accounts(CHART),
        _txn("2022-12-25", "征缴", (FISCAL, "100.00"), (CONTRIB_POOLED, "-100.00")),
        _txn(
            "2022-12-31",
            "2022年年终结账",
            (CONTRIB_POOLED, "100.00"),
            (FUND_POOLED, "-100.00"),
            tag=YEAR_END_TAG,
        ),
        _txn("2022-12-31", "补记", (OUTPATIENT, "5.00"), (FISCAL, "-5.00")),
        _txn(
            "2023-01-25",
            "征缴",
            (FISCAL, "1500.00"),
            (CONTRIB_POOLED, "-1200.00"),
            (CONTRIB_PERSONAL, "-300.00"),
        ),
        _txn("2023-01-25", "划入", (CONTRIB_POOLED, "60.00"), (CONTRIB_PERSONAL, "-60.00")),
        _txn(
            "2023-02-01",
            "拨入",
            (FISCAL, "-1000.00"),
            (BANK_POOLED, "600.00"),
            (BANK_PERSONAL, "400.00"),
        ),
        _txn(
            "2023-02-10",
            "结算",
            (OUTPATIENT, "380.00"),
            (CHRONIC, "120.10"),
            (BANK_POOLED, "-500.10"),
            (CLINIC, "45.50"),
            (BANK_PERSONAL, "-45.50"),
        ),
        _txn("2023-03-10", "药店", (PHARMACY, "7.70"), (BANK_PERSONAL, "-7.70")),
        _txn("2023-04-10", "退费", (PHARMACY, "-20.00"), (BANK_PERSONAL, "20.00")),
        _txn("2023-06-21", "结息", (BANK_POOLED, "1.23"), (INTEREST_POOLED, "-1.23")),
        _txn("2023-06-21", "结息", (BANK_PERSONAL, "0.45"), (INTEREST_PERSONAL, "-0.45")),
        _txn("2023-06-21", "手续费", (CHARGES_POOLED, "0.50"), (BANK_POOLED, "-0.50")),
    ]
)
#: A closing of 2023 the books held before (reopened, then changed): the closing is made from
#: the books without it.
STALE_CLOSING = _txn(
    "2023-12-31", "旧的结账", (CONTRIB_POOLED, "1.00"), (FUND_POOLED, "-1.00"), tag=YEAR_END_TAG
)
NEXT_YEAR = _txn("2024-01-05", "次年", (OUTPATIENT, "99.00"), (BANK_POOLED, "-99.00"))


def _entries(text: str) -> list[data.Directive]:
    entries, errors, _options = loader.load_string(text)
    assert errors == []
    return list(entries)


def test_the_hand_worked_year_closes_to_the_fen() -> None:
    """Pooled: income 1,140.00 + 1.23; expenditure 385.00 (5.00 of 2022 unclosed) + 120.10 +
    0.50; surplus 635.63. Personal: income 360.00 + 0.45; expenditure 45.50 and the pharmacy's
    7.70 - 20.00 = -12.30; surplus 327.25."""
    closing = year_end_closing(_entries(YEAR + STALE_CLOSING + NEXT_YEAR), CHART, 2023)
    assert closing.problems == ()
    entry = closing.entry
    assert entry is not None
    assert (entry.date, entry.flag, entry.tags) == (
        datetime.date(2023, 12, 31),
        "*",
        frozenset({YEAR_END_TAG}),
    )
    assert entry.narration == "2023年年终结账：收入、支出结转一般基金结余"
    assert _legs(entry) == [
        (FUND_POOLED, Decimal("-635.63"), "CNY"),
        (FUND_PERSONAL, Decimal("-327.25"), "CNY"),
        (CHRONIC, Decimal("-120.10"), "CNY"),
        (OUTPATIENT, Decimal("-385.00"), "CNY"),
        (CLINIC, Decimal("-45.50"), "CNY"),
        (PHARMACY, Decimal("12.30"), "CNY"),
        (CHARGES_POOLED, Decimal("-0.50"), "CNY"),
        (CONTRIB_POOLED, Decimal("1140.00"), "CNY"),
        (CONTRIB_PERSONAL, Decimal("360.00"), "CNY"),
        (INTEREST_POOLED, Decimal("1.23"), "CNY"),
        (INTEREST_PERSONAL, Decimal("0.45"), "CNY"),
    ]
    assert closing.surplus == (("pooled", Decimal("635.63")), ("personal", Decimal("327.25")))
    # the books with this closing in place of the stale one: every income and expense account
    # is zero on the last day, 3001 holds 2022's and 2023's surpluses, and it is on its side
    books = _entries(YEAR + NEXT_YEAR + "\n" + closing_text(closing))
    balances = _balances(books, datetime.date(2023, 12, 31))
    assert {a: b for a, b in balances.items() if a.startswith(("Income", "Expenses"))} == {}
    assert balances[FUND_POOLED] == Decimal("-735.63")
    assert balances[FUND_PERSONAL] == Decimal("-327.25")
    assert wrong_sides(books, datetime.date(2023, 12, 31)) == []
    # made again from books that hold it: the same transaction
    assert year_end_closing(books, CHART, 2023).entry == entry
    # the next year closes its own flows only
    following = year_end_closing(books, CHART, 2024).entry
    assert following is not None
    assert [(account, number) for account, number, _currency in _legs(following)] == [
        (FUND_POOLED, Decimal("99.00")),
        (OUTPATIENT, Decimal("-99.00")),
    ]


def _legs(entry: data.Transaction) -> list[tuple[str, Decimal, str]]:
    legs = []
    for posting in entry.postings:
        assert posting.units is not None and isinstance(posting.units.number, Decimal)
        legs.append((posting.account, posting.units.number, posting.units.currency))
    return legs


def _balances(entries: list[data.Directive], until: datetime.date) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction) and entry.date <= until:
            for account, number, _currency in _legs(entry):
                found[account] = found.get(account, Decimal(0)) + number
    return {a: b for a, b in found.items() if b}


def test_sub_funds_are_read_from_the_second_level() -> None:
    assert sub_fund_of(CONTRIB_PERSONAL) == "personal"
    assert sub_fund_of(OUTPATIENT) == "pooled"
    assert sub_fund_of(FUND_POOLED) == "pooled"
    assert sub_fund_of("Income:4004-利息收入") is None
    assert sub_fund_of("Expenses:5301-其他支出:01-银行手续费") is None
    assert sub_fund_of("Income:4001-社会保险费收入:02个人账户基金") is None  # no code, no hyphen


def _chart_without(*names: str, adding: str = "") -> Chart:
    text = DEFAULT_CHART_TEXT
    for name in names:
        block = next(b for b in text.split("[[account]]") if f'"{name}"' in b)
        text = text.replace("[[account]]" + block, "")
    return parse_chart(text + adding)


def test_what_cannot_be_closed_is_a_problem_and_no_transaction() -> None:
    old_interest = '\n[[account]]\nname = "Income:4004-利息收入"\nrole = "old-interest"\n'
    chart = _chart_without(FUND_PERSONAL, adding=old_interest)
    text = "\n".join(
        [
            render_accounts(chart),
            _txn("2023-06-21", "结息", (FISCAL, "12.34"), ("Income:4004-利息收入", "-12.34")),
            _txn("2023-07-01", "退费", (PHARMACY, "-3.00"), (BANK_PERSONAL, "3.00")),
            _txn("2023-07-02", "结算", (OUTPATIENT, "3.00"), (BANK_POOLED, "-3.00")),
        ]
    )
    closing = year_end_closing(_entries(text), chart, 2023)
    assert closing.entry is None
    assert [str(p) for p in closing.problems] == [
        "2023-12: Income:4004-利息收入: a balance of -12.34 on 2023-12-31, cannot close it into "
        "3001: no sub-fund (found nothing, expected a second level naming it, 01-统筹基金 or "
        "02-个人账户基金, as in ledger/chart.toml)",
        "2023-12: the books' chart has no 3001 一般基金结余 account of the personal fund "
        "(个人账户基金): cannot close its 1 income and expense accounts (found nothing, expected "
        'an account of role "fund-balance", fund "personal", as in ledger/chart.toml)',
    ]
    # a 3001 account in the chart but not opened in the books (accounts.beancount not written)
    opens = render_accounts(CHART).replace(f"open {FUND_POOLED} ", "open Equity:X ")
    entries = _entries(opens + "\n" + _txn("2023-07-02", "x", (OUTPATIENT, "3"), (FISCAL, "-3")))
    [problem] = year_end_closing(entries, CHART, 2023).problems
    assert problem.message == (
        f"{FUND_POOLED}, the 3001 account of the pooled fund (统筹基金), is not open on 2023-12-31"
    )


def test_nothing_to_close_and_one_unsplit_fund_balance() -> None:
    opens = render_accounts(CHART)
    assert year_end_closing(_entries(opens), CHART, 2023) == year_end_closing([], CHART, 2023)
    nothing = year_end_closing(_entries(opens), CHART, 2023)
    assert (nothing.entry, nothing.problems) == (None, ())
    # a chart whose one 3001 account serves both sub-funds (fund not given): one leg, both nets
    one = '\n[[account]]\nname = "Equity:3001-一般基金结余"\nrole = "fund-balance"\n'
    chart = _chart_without(FUND_POOLED, FUND_PERSONAL, adding=one)
    text = "\n".join(
        [
            render_accounts(chart),
            _txn("2023-06-21", "结息", (BANK_POOLED, "1.00"), (INTEREST_POOLED, "-1.00")),
            _txn("2023-06-21", "结息", (BANK_PERSONAL, "2.00"), (INTEREST_PERSONAL, "-2.00")),
        ]
    )
    entry = year_end_closing(_entries(text), chart, 2023).entry
    assert entry is not None
    assert [(account, number) for account, number, _currency in _legs(entry)] == [
        ("Equity:3001-一般基金结余", Decimal("-3.00")),
        (INTEREST_POOLED, Decimal("1.00")),
        (INTEREST_PERSONAL, Decimal("2.00")),
    ]


# ---------------------------------------------------------------------------------------------
# Through the command line, on books whose only month is December 2023: opened on 2023-12-01,
# a collection received on the 25th, November's settlements paid from both disbursement
# accounts by the December statements, with interest and a charge. The cheapest real close of
# a year: its first month is its last.

TRIAL_BALANCE = (
    "科目编码,科目名称,借方余额,贷方余额\n"
    "1003,财政专户存款,1000000.00,\n"
    "300101,一般基金结余——统筹基金,,800000.00\n"
    "300102,一般基金结余——个人账户基金,,200000.00\n"
)
COLLECTION = (
    "period,psn_no,psn_type,contribution_base,employer_amount,employee_amount\n"
    "2023-12,P1,1101,5000.00,400.00,100.00\n"
    "2023-12,P2,1101,20000.00,1600.00,400.00\n"
    "2023-12,P3,1201,0.00,0.00,0.00\n"
)
STATEMENT_HEADER = "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要\n"
POOLED_STATEMENT = [
    ("2023-12-01", "", "1000.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
    ("2023-12-10", "400.00", "", "示例社区卫生服务中心", "门诊统筹结算款 clr-2023-11-H21030101-11"),
    ("2023-12-21", "", "1.23", "", "结息"),
    ("2023-12-21", "0.50", "", "", "手续费"),
]
PERSONAL_STATEMENT = [
    ("2023-12-01", "", "1000.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
    ("2023-12-10", "250.00", "", "示例社区卫生服务中心", "门诊统筹结算款"),
    ("2023-12-10", "90.00", "", "示例大药房", "结算款 P21030102"),
    ("2023-12-21", "", "0.45", "", "结息"),
]


def _statement(path: Path, lines: list[tuple[str, str, str, str, str]]) -> Path:
    balance = Decimal("0.00")
    text = STATEMENT_HEADER
    for day, out, into, counterparty, summary in lines:
        balance += Decimal(into or "0") - Decimal(out or "0")
        account = "6222000000000000001" if counterparty else ""
        text += f"{day},{out},{into},{balance:.2f},{counterparty},{account},{summary}\n"
    path.write_text(text, "utf-8")
    return path


def _december_books(books: Path, cli: Cli) -> None:
    """Books that can close 2023-12: pooled income 1,940.00 (2,000.00 collected less a retiree's
    60.00 crediting) + interest 1.23, expenditure 400.00 (门诊大病) + 0.50 charges: 1,540.73;
    personal income 560.00 + 0.45, expenditure 250.00 (clinic) + 90.00 (pharmacy): 220.45."""
    work = books.parent
    (work / "tb.csv").write_text(TRIAL_BALANCE, "utf-8")
    cli("import", "opening-balances", "tb.csv", "--on", "2023-12-01", "--books", "books")
    (work / "c.csv").write_text(COLLECTION, "utf-8")
    cli("import", "contributions", "c.csv", "--received-on", "2023-12-25", "--books", "books")
    # the January rows of the two-months case, settled in November instead (refund included)
    golden = Path(__file__).parent / "golden" / "post" / "two_months" / "settlements.csv"
    rows = golden.read_text("utf-8").splitlines()[:8]
    (work / "s.csv").write_text("\n".join(rows).replace("2023-01-", "2023-11-") + "\n", "utf-8")
    cli("import", "settlements", "s.csv", "--books", "books")
    cli("post", "--period", "2023-11", "--books", "books")
    for name, account, lines in (
        ("pooled.csv", BANK_POOLED, POOLED_STATEMENT),
        ("personal.csv", BANK_PERSONAL, PERSONAL_STATEMENT),
    ):
        _statement(work / name, lines)
        cli("import", "statement", name, "--account", account, "--books", "books")


def _files(books: Path) -> dict[str, str]:
    """Every file of the books by its sha256 (the lock file of the running command aside)."""
    return {
        p.relative_to(books).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(books.rglob("*"))
        if p.is_file() and p.name != "mzledger.lock"
    }


def _loaded(books: Path) -> list[data.Directive]:
    entries, errors, _options = loader.load_file(str(books / "main.beancount"))
    assert errors == []
    return list(entries)


def test_closing_december_carries_the_year_into_3001(books: Path, cli: Cli) -> None:
    _december_books(books, cli)
    _code, out, _err = cli("close", "2023-12", "--books", "books")
    assert "2023-12 can close" in out
    assert (
        "year-end closing 2023 (年终结账) into 3001 一般基金结余: 统筹基金 +1,540.73, "
        "个人账户基金 +220.45; closing/2023.beancount written when the month is locked (--lock)"
    ) in out
    assert not (books / "closing").exists()
    _code, out, _err = cli("close", "2023-12", "--books", "books", "--lock")
    assert "closing/2023.beancount written\n2023-12 locked (12 entries fingerprinted)" in out
    written = (books / "closing" / "2023.beancount").read_text("utf-8")
    expected = GOLDEN / "expected-2023.beancount"
    if UPDATE:
        expected.write_text(written, "utf-8")
    assert written == expected.read_text("utf-8")
    assert 'include "closing/2023.beancount"' in (books / "main.beancount").read_text("utf-8")
    # bean-check with the lock plugin: the closing is an entry of the locked December
    entries = _loaded(books)
    manifest = (books / "locks" / "2023-12.json").read_text("utf-8")
    assert "2023年年终结账：收入、支出结转一般基金结余" in manifest
    last = datetime.date(2023, 12, 31)
    balances = _balances(entries, last)
    assert {a: b for a, b in balances.items() if a.startswith(("Income", "Expenses"))} == {}
    assert balances[FUND_POOLED] == Decimal("-801540.73")
    assert balances[FUND_PERSONAL] == Decimal("-200220.45")
    assert wrong_sides(entries, last) == []  # 3001 in credit after the closing
    cli("check", "--books", "books")
    # December's reports and saved queries show the month's flows, not the closing
    _code, out, _err = cli("report", "--period", "2023-12", "--books", "books")
    assert "books and register agree" in out
    _code, out, _err = cli(
        "query", "--saved", "待遇支出按月按科目", "--format", "json", "--books", "books"
    )
    assert sorted(row[4] for row in json.loads(out)["rows"]) == ["250.00", "400.00", "90.00"]
    # a second close, locked or not, changes no byte
    before = _files(books)
    _code, _out, err = cli("close", "2023-12", "--books", "books", "--lock", expect=1)
    assert "2023-12 is already locked" in err
    _code, out, _err = cli("close", "2023-12", "--books", "books")
    assert "closing/2023.beancount in the books, locked with the month" in out
    assert _files(books) == before
    # an edited closing is caught by the lock, as any entry of a locked month
    closing = books / "closing" / "2023.beancount"
    closing.write_text(written.replace("-1540.73", "-1540.70").replace("1.23 CNY", "1.20 CNY"))
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert "locked month 2023-12" in err and "closing/2023.beancount" in err
    closing.write_text(written, "utf-8")


def test_a_reopened_december_closes_again_from_the_books_then(books: Path, cli: Cli) -> None:
    _december_books(books, cli)
    cli("close", "2023-12", "--books", "books", "--lock")
    cli("reopen", "2023-12", "--reason", "补记利息", "--books", "books")
    with (books / "manual.beancount").open("a", encoding="utf-8") as manual:
        manual.write(_txn("2023-12-28", "补记利息", (FISCAL, "10.00"), (INTEREST_POOLED, "-10.00")))
    _code, out, _err = cli("close", "2023-12", "--books", "books", "--lock")
    assert "统筹基金 +1,550.73, 个人账户基金 +220.45; closing/2023.beancount written" in out
    balances = _balances(_loaded(books), datetime.date(2023, 12, 31))
    assert INTEREST_POOLED not in balances
    assert balances[FUND_POOLED] == Decimal("-801550.73")
    cli("check", "--books", "books")


def test_an_account_without_sub_fund_refuses_the_close(books: Path, cli: Cli) -> None:
    """An account of a chart made before the 2017 system's: exit 1, its balance named, nothing
    written (no closing, no summary, no lock)."""
    _december_books(books, cli)
    with (books / "manual.beancount").open("a", encoding="utf-8") as manual:
        manual.write("\n2022-12-01 open Income:4004-利息收入 CNY\n\n")
        manual.write(
            _txn("2023-12-28", "旧科目利息", (FISCAL, "10.00"), ("Income:4004-利息收入", "-10.00"))
        )
    before = _files(books)
    _code, out, err = cli("close", "2023-12", "--books", "books", "--lock", expect=1)
    assert err.splitlines() == [
        "2023-12: Income:4004-利息收入: a balance of -10.00 on 2023-12-31, cannot close it "
        "into 3001: no sub-fund (found nothing, expected a second level naming it, 01-统筹基金 or "
        "02-个人账户基金, as in ledger/chart.toml)",
        "refused: the year-end closing of 2023 cannot be made (1 problem); nothing was written",
    ]
    assert "2023-12 can close" not in out and "2023-12 locked" not in out
    assert _files(books) == before
    assert not (books / "closing").exists() and not (books / "close").exists()
