"""The monthly fund report, trial balance and detail ledgers, on the demo city's books.

Every figure is compared with sources read here independently: the books through beancount's
loader, the register through plain SQL.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data
from openpyxl import load_workbook
from sqlalchemy import Date, Engine, bindparam, text

from ledger.books import Books
from ledger.chart import Chart, load_chart
from ledger.month import Month
from ledger.register.opening import open_register, resolve_url
from reports.books.fund_report import MonthReport, build_month_report
from reports.books.html_page import render_html
from reports.books.ledgers import DetailLedger
from reports.books.output import report_dir, write_month_report
from reports.books.svg_charts import Series, bar_chart
from reports.books.xlsx_workbook import render_xlsx
from tests.conftest import Cli

PERIOD = "2023-02"
FEB = Month(2023, 2)
EXPENSE_ROLES = ("pooled-outpatient", "pooled-chronic", "personal-clinic", "personal-pharmacy")


@dataclass
class Demo:
    books: Books
    chart: Chart
    engine: Engine
    report: MonthReport
    files: list[Path]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("fund-report")
    Cli(root)("demo", "city")
    books = Books(root / "city")
    config = books.read_config()
    chart = load_chart(books.chart_path)
    engine = open_register(resolve_url(config.db_url, books.root))
    report = build_month_report(books.main, engine, chart, Month.parse(PERIOD))
    files = write_month_report(report, report_dir(books.root, PERIOD))
    yield Demo(books, chart, engine, report, files)
    engine.dispose()


# ------------------------------------------------------------------ independent sources


def book_sums(main: Path, first: datetime.date, last: datetime.date) -> dict[str, Decimal]:
    """account -> sum of its postings dated first..last, straight from beancount."""
    entries, errors, _ = loader.load_file(str(main))
    assert errors == []
    sums: dict[str, Decimal] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction) and first <= entry.date <= last:
            for posting in entry.postings:
                assert posting.units is not None and posting.units.number is not None
                number: Decimal = posting.units.number
                sums[posting.account] = sums.get(posting.account, Decimal(0)) + number
    return sums


REGISTER_SQL = """
SELECT s.med_type, i.fixmedins_type, i.medins_lv, substr(s.psn_type, 1, 2) AS grp,
       s.psn_no, s.hifp_pay, s.acct_pay + s.acct_mulaid_pay AS personal
FROM settlements s
JOIN clearing_batches b ON b.period = s.setl_period AND b.fixmedins_code = s.fixmedins_code
  AND b.clr_type = s.clr_type AND s.file_id <= b.last_file_id
JOIN postings p ON p.batch_id = b.id
JOIN institutions i ON i.code = b.fixmedins_code
WHERE p.paid_on BETWEEN :first AND :last
"""


def register_rows(engine: Engine, first: datetime.date, last: datetime.date) -> list[Any]:
    with engine.connect() as conn:
        # typed: sqlite3's default date adapter is deprecated from Python 3.12
        query = text(REGISTER_SQL).bindparams(
            bindparam("first", type_=Date), bindparam("last", type_=Date)
        )
        return list(conn.execute(query, {"first": first, "last": last}))


def fen(value: Any) -> Decimal:
    """Register money is stored in integer fen."""
    return Decimal(int(value)).scaleb(-2)


def register_by_account(demo: Demo, first: datetime.date, last: datetime.date) -> dict[str, Any]:
    chart = demo.chart
    sums = {chart.account(role): Decimal("0.00") for role in EXPENSE_ROLES}
    for row in register_rows(demo.engine, first, last):
        sums[chart.account(chart.med_type_roles[row.med_type])] += fen(row.hifp_pay)
        personal = "personal-pharmacy" if row.fixmedins_type == "2" else "personal-clinic"
        sums[chart.account(personal)] += fen(row.personal)
    return sums


VOUCHER = re.compile(r"2023-02-记-\d{4}")
BANK_LINE = re.compile(r"bank-10040[12]-2023-02\.csv:\d+")


def _pays_batches(text: str) -> bool:
    """A statement line that pays batches: an institution's (its link) or an agency's."""
    return "clr-" in text or "异地就医清算资金" in text


def statement_lines(path: Path) -> list[tuple[int, Decimal, str]]:
    """(line number, signed amount, counterparty and summary) of each line of a bank statement
    CSV; the line number counts the header as line 1, as ``bank_line`` does."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("gb18030")
    found = []
    for number, row in enumerate(csv.DictReader(content.splitlines()), start=2):
        debit, credit = row["借方金额"].strip(), row["贷方金额"].strip()
        amount = Decimal(credit) if credit else -Decimal(debit)
        found.append((number, amount, f"{row['对方户名']} {row['摘要']}"))
    return found


def bank_lines(ledger: DetailLedger) -> list[tuple[datetime.date, str, Decimal, Decimal]]:
    """The bank's own lines of a detail ledger (no running balance)."""
    return [(x.date, x.bank_line, x.debit, x.credit) for x in ledger.lines if x.bank_line]


def xlsx_cell(value: Any) -> Decimal:
    """A number as openpyxl reads it back, on the fen."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def signed(side: str, amount: Any) -> Decimal:
    return -xlsx_cell(amount) if side == "贷" else xlsx_cell(amount)


# ------------------------------------------------------------------ the month report


def test_xlsx_account_totals_equal_books_and_register(demo: Demo) -> None:
    workbook = load_workbook(demo.files[0])
    assert workbook.sheetnames == [
        "月报",
        "资产负债表",
        "收支表",
        "科目余额表",
        "明细账-统筹基金",
        "明细账-个人账户基金",
    ]
    sheet = workbook["月报"]
    by_code = {row[0].value: row for row in sheet.iter_rows() if row[0].value}
    books = book_sums(demo.books.main, FEB.first, FEB.last)
    register = register_by_account(demo, FEB.first, FEB.last)
    ytd_books = book_sums(demo.books.main, FEB.year_start, FEB.last)
    for acc in demo.chart.accounts:
        if acc.role not in EXPENSE_ROLES:
            continue
        row = by_code[acc.code]
        month, ytd, register_month = (xlsx_cell(row[i].value) for i in (2, 3, 6))
        assert month == books.get(acc.name, Decimal(0)) == register[acc.name], acc.name
        assert ytd == ytd_books.get(acc.name, Decimal(0)), acc.name
        assert register_month == register[acc.name]
        assert xlsx_cell(row[7].value) == 0  # difference
        assert row[2].number_format == "#,##0.00"
        assert str(row[10].value).startswith("=IF(")  # formula check column
    total = next(r for r in sheet.iter_rows() if r[1].value == "待遇支出合计")
    assert xlsx_cell(total[2].value) == sum(register.values())
    assert total[2].font.b
    assert sheet.freeze_panes == "A4"
    assert any(
        r[1].value == "账簿与登记簿按科目核对" and r[2].value == "一致" for r in sheet.iter_rows()
    )
    assert demo.report.ok and all(c.ok for c in demo.report.checks)


def test_breakdowns_add_up_to_the_account_totals(demo: Demo) -> None:
    report = demo.report
    pooled = report.account_row("pooled").month
    personal = report.account_row("personal").month
    assert pooled > 0 and personal > 0
    for breakdown in report.breakdowns:
        assert sum(r.month.pooled for r in breakdown.rows) == pooled, breakdown.name
        assert sum(r.month.personal for r in breakdown.rows) == personal, breakdown.name
        assert sum(r.month.settlements for r in breakdown.rows) == report.summary.month.settlements
        assert sum(r.ytd.total for r in breakdown.rows) == report.account_row("total").ytd
        assert breakdown.total.month.pooled == pooled
    levels = {r.key: r for r in report.breakdown("level").rows}
    types = {r.key: r for r in report.breakdown("type").rows}
    # pharmacies: their personal-account part is the pharmacy account, their pooled part (if
    # any) is 门诊统筹 like the hospitals'
    assert levels["2/"].month.personal == report.account_row("personal-pharmacy").month
    assert types["2"].month.personal == report.account_row("personal-pharmacy").month
    assert types["1"].month.personal == report.account_row("personal-clinic").month
    assert {r.key for r in report.breakdown("psn").rows} == {"11", "12"}


def test_counts_and_persons_are_distinct_person_numbers(demo: Demo) -> None:
    rows = register_rows(demo.engine, FEB.first, FEB.last)
    report = demo.report
    assert report.summary.month.settlements == len(rows)
    assert report.summary.month.persons == len({r.psn_no for r in rows})
    assert report.summary.month.persons < len(rows)  # people visit more than once
    for row in report.breakdown("psn").rows:
        mine = [r for r in rows if r.grp == row.key]
        assert row.month.persons == len({r.psn_no for r in mine})
        assert row.month.settlements == len(mine)
    for row in report.breakdown("level").rows:
        mine = [
            r
            for r in rows
            if (r.fixmedins_type == "2" and row.key == "2/")
            or f"{r.fixmedins_type}/{r.medins_lv or ''}" == row.key
        ]
        assert row.month.persons == len({r.psn_no for r in mine}), row.key
    ytd = register_rows(demo.engine, FEB.year_start, FEB.last)
    assert report.summary.ytd.persons == len({r.psn_no for r in ytd})
    # the books' voucher metadata count the same settlements: the clearing transactions (their
    # ^clr- link) paid in the month; the bank's own entries and the month's contributions
    # carry no settlement_count
    entries, _, _ = loader.load_file(str(demo.books.main))
    in_month = [
        e for e in entries if isinstance(e, data.Transaction) and FEB.first <= e.date <= FEB.last
    ]
    clearing = [e for e in in_month if any(link.startswith("clr-") for link in e.links)]
    assert clearing and all("settlement_count" in e.meta for e in clearing)
    others = [e for e in in_month if e not in clearing]
    bank = [e for e in others if "bank_line" in e.meta]
    received = [e for e in others if "/contributions/" in str(e.meta["filename"])]
    assert bank and received and len(bank) + len(received) == len(others)
    assert all("settlement_count" not in e.meta for e in others)
    in_books = sum(int(e.meta["settlement_count"]) for e in clearing)
    assert in_books == len(rows)
    assert demo.report.checks[-1].right == in_books


def test_previous_year_column_only_where_the_books_have_the_month(demo: Demo) -> None:
    assert demo.report.prior_period == "2022-02" and not demo.report.prior_available
    assert all(r.prior is None for r in demo.report.accounts)
    assert "无该月数据" in demo.files[1].read_text("utf-8")
    january = build_month_report(demo.books.main, demo.engine, demo.chart, Month.parse("2024-01"))
    assert january.prior_available and january.prior_period == "2023-01"
    jan_2023 = build_month_report(demo.books.main, demo.engine, demo.chart, Month.parse("2023-01"))
    assert january.account_row("total").prior == jan_2023.account_row("total").month
    assert january.summary.prior == jan_2023.summary.month
    assert january.account_row("total").month == 0


# ------------------------------------------------------------------ trial balance, ledgers


def test_trial_balance_rolls_forward(demo: Demo) -> None:
    february = demo.report.trial_balance
    january = build_month_report(demo.books.main, demo.engine, demo.chart, Month.parse("2023-01"))
    closing_january = {r.account: r.closing for r in january.trial_balance.rows}
    assert [r.account for r in february.rows][: len(demo.chart.accounts)] == [
        a.name for a in demo.chart.accounts
    ]
    for row in february.rows:
        assert row.opening + row.debit - row.credit == row.closing, row.account
        assert row.opening == closing_january[row.account], row.account
    assert february.balanced
    upto = book_sums(demo.books.main, datetime.date(1, 1, 1), FEB.last)
    for row in february.rows:
        assert row.closing == upto.get(row.account, Decimal(0))
    # the sheet: six columns of a Chinese 科目余额表, sides reconstructed
    sheet = load_workbook(demo.files[0])["科目余额表"]
    seen = 0
    for cells in sheet.iter_rows(values_only=True):
        if cells[0] in {a.code for a in demo.chart.accounts}:
            o_d, o_c, d, c, _yd, _yc, cl_d, cl_c = (xlsx_cell(v) for v in cells[2:10])
            assert o_d - o_c + d - c == cl_d - cl_c
            row = next(r for r in february.rows if r.code == cells[0])
            assert cl_d - cl_c == row.closing and cells[1] == row.title
            seen += 1
    assert seen == len(demo.chart.accounts)
    assert "——" in february.rows[-1].title  # Chinese titles from the open metadata
    # the bank's own entries: transfers in credit 1003; interest credits 4201 of the sub-fund
    # whose disbursement account it is on (in March), 1003's split between them; the month's
    # contributions debit 1003
    march = build_month_report(demo.books.main, demo.engine, demo.chart, Month.parse("2023-03"))
    exports = demo.books.root / "exports"
    chart = demo.chart
    shares: dict[str, Decimal] = {}
    for report, account, bank, mark in (
        (demo.report, chart.account("fiscal-special"), "*", "财政专户"),
        (march, chart.account("fiscal-special"), "*", "财政专户"),
        (march, chart.fund_account("interest-income", "pooled"), "100401", "结息"),
        (march, chart.fund_account("interest-income", "personal"), "100402", "结息"),
    ):
        row = report.trial_balance.row(account)
        expected = sum(
            (
                amount
                for path in exports.glob(f"bank-{bank}-{report.period}.csv")
                for _number, amount, text in statement_lines(path)
                if mark in text
            ),
            Decimal(0),
        )
        assert expected > 0, (report.period, account)
        debit = Decimal(0)
        if account == chart.account("fiscal-special"):
            with (exports / f"contributions-{report.period}.csv").open(encoding="utf-8") as f:
                collected = sum(
                    (
                        Decimal(r["employer_amount"]) + Decimal(r["employee_amount"])
                        for r in csv.DictReader(f)
                    ),
                    Decimal(0),
                )
            # 1003's own statement: the contributions as received, the transfers as the
            # disbursement accounts received them; its other lines (a transfer in, in
            # February; in March a subsidy, interest and a transfer out) booked from it
            fiscal = statement_lines(exports / f"bank-1003-{report.period}.csv")
            assert [a for _n, a, text in fiscal if "社保费征缴" in text] == [collected] != [0]
            assert sum((-a for _n, a, text in fiscal if "拨付" in text), Decimal(0)) == expected
            debit = sum((a for _n, a, _text in fiscal if a > 0), Decimal(0))
            expected += sum(
                (-a for _n, a, text in fiscal if a < 0 and "拨付" not in text), Decimal(0)
            )
            assert debit > collected
        if mark == "结息":
            # and its share of 1003's interest, split between the sub-funds (below)
            shares[account] = row.credit - expected
            expected = row.credit
        assert (row.debit, row.credit) == (debit, expected), (report.period, account)
    fiscal_interest = [
        a for _n, a, text in statement_lines(exports / "bank-1003-2023-03.csv") if "结息" in text
    ]
    assert sum(shares.values(), Decimal(0)) == fiscal_interest[0] and min(shares.values()) > 0
    assert march.trial_balance.balanced


def test_detail_ledgers_end_at_the_month_end_balance(demo: Demo) -> None:
    upto = book_sums(demo.books.main, datetime.date(1, 1, 1), FEB.last)
    workbook = load_workbook(demo.files[0])
    for ledger, sheet_name in zip(
        demo.report.ledgers, ("明细账-统筹基金", "明细账-个人账户基金"), strict=True
    ):
        assert ledger.lines, ledger.account
        assert ledger.lines[-1].balance == ledger.closing == upto[ledger.account]
        balance = ledger.opening
        for line in ledger.lines:
            balance += line.debit - line.credit
            assert balance == line.balance
            assert FEB.first <= line.date <= FEB.last
            if line.voucher:  # a clearing batch: its voucher, its institution
                assert VOUCHER.fullmatch(line.voucher) and line.payee and not line.bank_line
            else:  # the bank's own entry: its statement line
                assert BANK_LINE.fullmatch(line.bank_line) and line.narration
            assert line.reference == (line.voucher or line.bank_line)
        # every line of the account's February statement that is not a batch payment (to an
        # institution, or to a clearing agency for its batches: 异地就医清算资金) is there
        code = next(a.code for a in demo.chart.accounts if a.name == ledger.account)
        statement = demo.books.root / "exports" / f"bank-{code}-{PERIOD}.csv"
        from_bank = [line for line in ledger.lines if line.bank_line]
        assert [(line.bank_line, line.debit - line.credit) for line in from_bank] == [
            (f"{statement.name}:{number}", amount)
            for number, amount, summary in statement_lines(statement)
            if not _pays_batches(summary)
        ]
        # and the batch payments on it are the vouchers' postings, to the fen
        assert sum(line.debit - line.credit for line in ledger.lines if line.voucher) == sum(
            amount for _number, amount, text in statement_lines(statement) if _pays_batches(text)
        )
        assert any(line.voucher for line in ledger.lines) and from_bank
        sheet = workbook[sheet_name]
        rows = list(sheet.iter_rows(values_only=True))
        opening = next(r for r in rows if r[3] == "期初余额")
        month_total = next(r for r in rows if r[3] == "本月合计")
        postings = [
            r for r in rows if r[1] and (VOUCHER.fullmatch(r[1]) or BANK_LINE.fullmatch(r[1]))
        ]
        assert [r[1] for r in postings] == [line.reference for line in ledger.lines]
        assert signed(opening[6], opening[7]) == ledger.opening
        assert signed(postings[-1][6], postings[-1][7]) == upto[ledger.account]
        assert signed(month_total[6], month_total[7]) == upto[ledger.account]
        assert xlsx_cell(month_total[5]) == sum(xlsx_cell(r[5]) for r in postings)


# ------------------------------------------------------------------ output files


def test_html_has_the_tables_and_charts_and_is_reproducible(demo: Demo) -> None:
    xlsx, page = demo.files
    html = page.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and demo.report.title in html
    for heading in ("月报", "科目余额表", "明细账", "按医疗机构等级", "按在职、退休人员", "核对"):
        assert heading in html
    assert html.count("<table>") >= 8 and html.count("<svg") == 4
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert f"{demo.report.account_row('total').month:,.2f}" in html
    again = build_month_report(demo.books.main, demo.engine, demo.chart, Month.parse(PERIOD))
    assert render_html(again).encode("utf-8") == page.read_bytes()
    assert render_xlsx(again) == xlsx.read_bytes()
    assert write_month_report(again, page.parent) == demo.files
    assert page.read_bytes() == html.encode("utf-8")


def test_no_personal_data_in_any_output(demo: Demo) -> None:
    names, certnos, persons = set(), set(), set()
    for path in (demo.books.root / "exports").glob("settlements-*.csv"):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                names.add(row["psn_name"])
                certnos.add(row["certno"])
                persons.add(row["psn_no"])
    assert names and certnos
    texts = []
    for path in demo.files:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                texts += [archive.read(n).decode("utf-8") for n in archive.namelist()]
        else:
            texts.append(path.read_text("utf-8"))
    for content in texts:
        for secret in names | certnos | persons:
            assert secret not in content


def test_a_month_without_entries_is_zeros(demo: Demo, tmp_path: Path) -> None:
    report = build_month_report(demo.books.main, demo.engine, demo.chart, Month.parse("2030-06"))
    assert report.ok and report.batches == 0
    assert all(r.month == 0 and r.register_month == 0 for r in report.accounts)
    assert report.summary.month.settlements == 0 and report.summary.month.persons == 0
    assert all(r.debit == 0 and r.credit == 0 for r in report.trial_balance.rows)
    assert all(not ledger.lines for ledger in report.ledgers)
    files = write_month_report(report, tmp_path / "out")
    assert [p.name for p in files] == ["fund-report-2030-06.xlsx", "fund-report-2030-06.html"]
    before = build_month_report(demo.books.main, demo.engine, demo.chart, Month.parse("2020-01"))
    assert all(r.opening == 0 and r.closing == 0 for r in before.trial_balance.rows)
    assert not before.prior_available


@pytest.mark.parametrize(
    "period", ["2023-13", "2023-00", "2023-2", "202302", "2023/02", "2023-02\n", "", "x"]
)
def test_malformed_period_is_refused(period: str) -> None:
    # refused where it comes in (`mzledger report --period`), before any report is built
    with pytest.raises(ValueError, match="expected YYYY-MM"):
        Month.parse(period)


def test_hand_entries_show_and_a_difference_is_reported(demo: Demo, tmp_path: Path) -> None:
    """A finance entry in manual.beancount: a new account, a transfer, a correction."""
    copy = tmp_path / "books"
    shutil.copytree(demo.books.root, copy)
    pooled_bank = demo.chart.account("bank-pooled")
    outpatient = demo.chart.account("pooled-outpatient")
    with (copy / "manual.beancount").open("a", encoding="utf-8") as handle:
        handle.write(
            "\n2022-12-01 open Equity:3101-基金结余 CNY\n\n"
            '2023-01-05 * "财政专户" "期初资金"\n'
            "  Assets:1003-财政专户存款  500000.00 CNY\n"
            "  Equity:3101-基金结余  -500000.00 CNY\n\n"
            '2023-02-15 * "财政专户" "拨入支出户"\n'
            f"  {pooled_bank}  100000.00 CNY\n"
            "  Assets:1003-财政专户存款  -100000.00 CNY\n\n"
            '2023-02-20 * "示例医院" "更正"\n'
            f"  {outpatient}  -10.00 CNY\n"
            f"  {pooled_bank}  10.00 CNY\n"
        )
    engine = open_register(resolve_url("sqlite:///register.sqlite", copy))
    try:
        report = build_month_report(
            copy / "main.beancount", engine, demo.chart, Month.parse(PERIOD)
        )
    finally:
        engine.dispose()
    trial = report.trial_balance
    assert trial.balanced
    equity = trial.row("Equity:3101-基金结余")
    assert (equity.code, equity.title, equity.opening) == ("3101", "基金结余", Decimal("-500000"))
    expense = trial.row(outpatient)
    assert expense.credit == Decimal("10.00")
    ledger = report.ledgers[0]
    # hand entries: neither a voucher nor a bank statement line
    hand = [line for line in ledger.lines if not line.voucher and not line.bank_line]
    assert [line.debit for line in hand] == [Decimal("100000.00"), Decimal("10.00")]
    assert all(line.reference == "" for line in hand)
    assert ledger.closing == demo.report.ledgers[0].closing + Decimal("100010.00")

    # the bank's own lines are still there, unchanged
    assert bank_lines(ledger) == bank_lines(demo.report.ledgers[0]) != []
    # the bank never saw the hand-made 100,010.00: its later statement balances fail, and the
    # report says so, naming the bank file (not the clearing file of the same month)
    assert demo.report.warnings == ()
    failed = [w for w in report.warnings if "Balance failed" in w and pooled_bank in w]
    assert failed and all("100010.00 too much" in w for w in failed)
    assert all(re.search(r"：bank/\d{4}-\d{2}\.beancount:\d+: ", w) for w in failed)
    assert not report.ok
    bad = [c for c in report.checks if not c.ok]
    assert bad and all(abs(c.difference) == Decimal("10.00") for c in bad)
    assert report.account_row("pooled-outpatient").difference == Decimal("-10.00")
    html = render_html(report)
    assert "不一致" in html and "存在差异" in html


def test_bar_chart_draws_negative_values_below_zero() -> None:
    svg = bar_chart(
        "测试",
        ["1月", "2月"],
        [Series("统筹基金", "#000", (Decimal("120.50"), Decimal("-30.25")))],
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "-30.25" in svg and 'class="zero"' in svg
    heights = re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)
    assert len(heights) == 3  # legend swatch + two bars
    empty = bar_chart("空", [], [])
    assert "<svg" in empty


def test_same_report_from_a_register_built_on_either_database(
    demo: Demo, books: Path, cli: Cli
) -> None:
    """The register side is summed in SQL: SQLite and PostgreSQL must give the same report.

    The books are built as the demo builds them, up to February: the opening balances, the
    periods cleared unpaid,
    then both accounts' bank statements, month by month, book the batches on the bank's dates
    and bring the bank's own entries (transfers in from the fiscal special account), and the
    fiscal special account's, its own entries."""
    exports = demo.books.root / "exports"
    opening = str(exports / "opening-balances.csv")
    cli("import", "opening-balances", opening, "--on", "2022-12-01", "--books", str(books))
    for month in ("2023-01", "2023-02", "2023-03"):
        collection = str(exports / f"contributions-{month}.csv")
        received = f"{month}-25"
        cli("import", "contributions", collection, "--received-on", received, "--books", str(books))
    cli("import", "institutions", str(exports / "institutions.csv"), "--books", str(books))
    months = ("2022-12", "2023-01")
    files = [str(exports / f"settlements-{m}.csv") for m in months]
    cli("import", "settlements", *files, "--books", str(books))
    for period in months:
        cli("post", "--period", period, "--books", str(books))
    accounts = json.loads((exports / "bank-accounts.json").read_text("utf-8"))
    statements = sorted(  # as the demo: a month's fiscal special account's statement last
        (name[-11:-4], account["code"] == "1003", account["account"], name)
        for account in accounts
        for name in account["files"]
        if name[-11:-4] <= PERIOD
    )
    assert [month for month, *_ in statements] == ["2023-01"] * 3 + ["2023-02"] * 3
    for _month, _fiscal, account_name, name in statements:
        statement = str(exports / name)
        cli("import", "statement", statement, "--account", account_name, "--books", str(books))
    target = Books(books)
    engine = open_register(resolve_url(target.read_config().db_url, books))
    try:
        report = build_month_report(target.main, engine, demo.chart, Month.parse(PERIOD))
    finally:
        engine.dispose()
    assert report.ok
    assert report.summary == demo.report.summary
    assert report.breakdowns == demo.report.breakdowns
    assert report.accounts == demo.report.accounts
    assert report.trial_balance == demo.report.trial_balance
    assert report.ledgers == demo.report.ledgers
    assert report.checks == demo.report.checks
