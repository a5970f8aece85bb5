"""会社保01表 资产负债表 and 会社保02表 收支表: every line of the written XLSX against BQL over the
books (beanquery, run here on the books' main file), monthly and yearly, on the demo city; and a
small case worked by hand (opening balances, a month's contributions with an in-work person, a
flexible worker and a retiree, a month of settlements paid) to the fen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import beanquery
import pytest
from openpyxl import load_workbook

from tests.conftest import Cli, settlement, write_csv

# The statements' lines as the test reads the 2017 forms, typed again here (not read from the
# package's statements.toml): label -> the accounts a line sums, as a BQL regular expression.
ASSETS = {
    "库存现金": "1001",
    "收入户存款": "1002",
    "财政专户存款": "1003",
    "支出户存款": "1004",
    "国库存款": "1005",
    "暂付款": "1101",
    "债券投资": "1201",
}
LIABILITIES = {"暂收款": "2001", "借入款项": "2101"}
INCOME = {
    "社会保险费收入": ("4001", ("统筹基金", "个人账户基金")),
    "财政补贴收入": ("4101", ("统筹基金",)),
    "利息收入": ("4201", ("统筹基金", "个人账户基金")),
    "转移收入": ("4301", ("个人账户基金",)),
    "上级补助收入": ("4401", ("统筹基金", "个人账户基金")),
    "下级上解收入": ("4402", ("统筹基金", "个人账户基金")),
    "其他收入": ("4501", ("统筹基金", "个人账户基金")),
    "待转社会保险费收入": ("4601", ()),
    "待转利息收入": ("4602", ()),
}
EXPENDITURE = {
    "社会保险待遇支出": ("5001", ("统筹基金", "个人账户基金")),
    "大病保险支出": ("5101", ("统筹基金",)),
    "转移支出": ("5201", ("个人账户基金",)),
    "上解上级支出": ("5301", ("统筹基金", "个人账户基金")),
    "补助下级支出": ("5302", ("统筹基金", "个人账户基金")),
    "其他支出": ("5401", ("统筹基金", "个人账户基金")),
}
NOT_CLOSING = "NOT ('year-end-closing' IN tags)"
#: A statement line as the test compares it: label, figures (None for a heading).
Line = tuple[str, tuple[Decimal, ...] | None]


class Books:
    """BQL over one books' main file."""

    def __init__(self, main: Path) -> None:
        self.connection = beanquery.connect(f"beancount:{main}")

    def sum(self, pattern: str, where: str) -> Decimal:
        bql = f"SELECT sum(number) AS n WHERE account ~ '{pattern}' AND {where}"
        rows = self.connection.execute(bql).fetchall()
        return Decimal(rows[0][0]) if rows and rows[0][0] is not None else Decimal("0.00")


def first_level(root: str, code: str, fund: str | None = None) -> str:
    """A first-level account's accounts, of one sub-fund (second level) when given."""
    return f"^{root}:{code}-[^:]*" + (f":[0-9]+-{fund}(:|$)" if fund else "(:|$)")


def fund_net(fund: str) -> str:
    """A sub-fund's net assets: 3001 and the income and expenditure not carried into it."""
    return f"^(Equity|Income|Expenses):[^:]+:[0-9]+-{fund}(:|$)"


def expected_balance_sheet(books: Books, dates: tuple[str, str], monthly: bool) -> list[Line]:
    """(label, values) in the form's order, each value a BQL sum (sign as printed)."""

    def at(pattern: str, sign: int) -> tuple[Decimal, ...]:
        return tuple(sign * books.sum(pattern, f"date < {d}") + 0 for d in dates)

    lines: list[Line] = [("资产", None)]
    lines += [(label, at(first_level("Assets", code), 1)) for label, code in ASSETS.items()]
    lines.append(("资产合计", at("^Assets:", 1)))
    lines.append(("负债", None))
    lines += [(lb, at(first_level("Liabilities", code), -1)) for lb, code in LIABILITIES.items()]
    lines.append(("负债合计", at("^Liabilities:", -1)))
    lines.append(("净资产", None))
    pooled, personal = at(fund_net("统筹基金"), -1), at(fund_net("个人账户基金"), -1)
    lines.append(("一般基金结余", tuple(a + b for a, b in zip(pooled, personal, strict=True))))
    lines += [("其中：统筹基金", pooled), ("个人账户基金", personal)]
    if monthly:
        lines.append(("待转基金", at("^(Income:460[12]-|Equity:3001-[^:]*:[0-9]+-待转基金)", -1)))
    lines.append(("净资产合计", at("^(Equity|Income|Expenses):", -1)))
    lines.append(("负债和净资产合计", at("^(Liabilities|Equity|Income|Expenses):", -1)))
    return lines


def expected_income_statement(books: Books, windows: list[tuple[str, str]]) -> list[Line]:
    def flow(pattern: str, sign: int) -> tuple[Decimal, ...]:
        return tuple(
            sign * books.sum(pattern, f"date >= {a} AND date <= {b} AND {NOT_CLOSING}") + 0
            for a, b in windows
        )

    lines: list[Line] = []
    for heading, items, root, sign in (
        ("一、基金收入", INCOME, "Income", -1),
        ("二、基金支出", EXPENDITURE, "Expenses", 1),
    ):
        lines.append((heading, flow(f"^{root}:", sign)))
        lines.append(("其中：统筹基金", flow(f"^{root}:[^:]+:[0-9]+-统筹基金", sign)))
        lines.append(("个人账户基金", flow(f"^{root}:[^:]+:[0-9]+-个人账户基金", sign)))
        for label, (code, funds) in items.items():
            lines.append((label, flow(first_level(root, code), sign)))
            for i, fund in enumerate(funds):
                text = f"其中：{fund}" if i == 0 else fund
                lines.append((text, flow(first_level(root, code, fund), sign)))
    lines.append(("三、本期收支结余", flow("^(Income|Expenses):", -1)))
    lines.append(("其中：统筹基金", flow("^(Income|Expenses):[^:]+:[0-9]+-统筹基金", -1)))
    lines.append(("个人账户基金", flow("^(Income|Expenses):[^:]+:[0-9]+-个人账户基金", -1)))
    return lines


def sheet_lines(path: Path, name: str) -> list[Line]:
    """(label, values) of a statement sheet as written: headings have no values."""
    sheet = load_workbook(path, read_only=True)[name]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    found: list[Line] = []
    for row in rows:
        label = row[0]
        if not isinstance(label, str) or label.startswith("提示"):
            continue
        values = [v for v in row[2:] if v is not None]
        money = tuple(Decimal(str(v)).quantize(Decimal("0.01")) for v in values)
        found.append((label.strip("　"), money or None))
    return found


@dataclass
class Demo:
    root: Path
    books: Books


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("statements")
    Cli(root)("demo", "city")
    yield Demo(root / "city", Books(root / "city" / "main.beancount"))


def test_the_monthly_statements_equal_bql_over_the_books(demo: Demo) -> None:
    Cli(demo.root)("report", "--period", "2023-02")
    path = demo.root / "reports" / "2023-02" / "fund-report-2023-02.xlsx"
    names = load_workbook(path, read_only=True).sheetnames
    assert names[:3] == ["月报", "资产负债表", "收支表"]
    balance = sheet_lines(path, "资产负债表")
    assert balance == expected_balance_sheet(demo.books, ("2023-01-01", "2023-03-01"), True)
    flows = sheet_lines(path, "收支表")
    windows = [("2023-02-01", "2023-02-28"), ("2023-01-01", "2023-02-28")]
    assert flows == expected_income_statement(demo.books, windows)
    # the demo's February: a fund the agency can sign
    lines = {label: values for label, values in balance if values is not None}
    assert lines["财政专户存款"][1] > 0 and lines["支出户存款"][1] > 0
    assert lines["资产合计"] == lines["负债和净资产合计"]
    assert lines["其中：统筹基金"][1] > 0 and lines["个人账户基金"][1] > 0


def test_the_yearly_statements_equal_bql_over_the_books(demo: Demo) -> None:
    _code, out, _err = Cli(demo.root)("report", "--period", "2023")
    path = demo.root / "reports" / "2023" / "fund-statements-2023.xlsx"
    assert f"written: reports/2023/{path.name}" in out
    assert load_workbook(path, read_only=True).sheetnames == ["资产负债表", "收支表"]
    balance = sheet_lines(path, "资产负债表")
    assert balance == expected_balance_sheet(demo.books, ("2023-01-01", "2024-01-01"), False)
    assert "待转基金" not in dict(balance)  # monthly balance sheets only
    flows = sheet_lines(path, "收支表")
    assert flows == expected_income_statement(demo.books, [("2023-01-01", "2023-12-31")])
    before = path.read_bytes()
    Cli(demo.root)("report", "--period", "2023")
    assert path.read_bytes() == before  # reproducible byte for byte


def test_the_html_has_both_statements(demo: Demo) -> None:
    Cli(demo.root)("report", "--period", "2023-02")
    page = (demo.root / "reports" / "2023-02" / "fund-report-2023-02.html").read_text("utf-8")
    assert "资产负债表（会社保01表）" in page and "收支表（会社保02表）" in page
    assert "基金：职工基本医疗保险基金" in page and "2023年2月" in page


@pytest.mark.parametrize("period", ["23", "2023-13", "0000", "２０２３"])
def test_a_period_that_is_neither_month_nor_year_is_refused(demo: Demo, period: str) -> None:
    _code, _out, err = Cli(demo.root)("report", "--period", period, expect=2)
    assert "Invalid value for '--period'" in err and "or a year YYYY" in err


# ---------------------------------------------------------------------------------------------
# a small case by hand

OPENING = """科目编码,科目名称,借方余额,贷方余额
1003,财政专户存款,50000.00,
100401,支出户存款——统筹基金,3000.00,
100402,支出户存款——个人账户基金,2000.00,
300101,一般基金结余——统筹基金,,40000.00
300102,一般基金结余——个人账户基金,,15000.00
"""
# P1 in work, base 6,000.00, paid 480.00 + 120.00; P2 flexible worker (1103), base 4,000.00,
# paid 360.00 (all to the pool); P3 retired (1201), pays nothing, credited 60.00.
COLLECTION = """period,psn_no,psn_type,contribution_base,employer_amount,employee_amount
2023-01,P1,1101,6000.00,480.00,120.00
2023-01,P2,1103,4000.00,360.00,0.00
2023-01,P3,1201,0.00,0.00,0.00
"""


def test_a_small_case_worked_by_hand(books: Path, cli: Cli) -> None:
    """By hand, to the fen:
    contributions 960.00 into 1003: P1's personal account 2% of 6,000.00 = 120.00, the pool
    480.00; P2 360.00 to the pool; P3 credited 60.00 from the pool. So 4001 统筹基金
    480.00 + 360.00 - 60.00 = 780.00, 个人账户基金 120.00 + 60.00 = 180.00.
    settlements of 2023-01 paid on 2023-02-10: at H1 (a hospital) P1 pooled 300.00, account
    45.50; at H1 P3 pooled 200.00 (a chronic visit, 14), account 10.00; at D1 (a pharmacy)
    P2 account 0 (a flexible worker has none) and P1 account 30.25. Pooled 500.00 (门诊统筹
    300.00, 门诊大病 200.00) from 100401; personal 85.75 (门诊 55.50, 药店 30.25) from 100402.
    统筹基金 40,000.00 + 780.00 - 500.00 = 40,280.00; 个人账户基金 15,000.00 + 180.00 - 85.75
    = 15,094.25; 1003 50,960.00, 100401 2,500.00, 100402 1,914.25; total 55,374.25."""
    (books.parent / "opening.csv").write_text(OPENING, "utf-8")
    cli("import", "opening-balances", "opening.csv", "--on", "2023-01-01", "--books", "books")
    (books.parent / "c.csv").write_text(COLLECTION, "utf-8")
    cli("import", "contributions", "c.csv", "--received-on", "2023-01-25", "--books", "books")
    institutions = (
        "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,admdvs\n"
        "H1,医院一,1,3,210302\nD1,药店一,2,,210302\n"
    )
    (books.parent / "inst.csv").write_text(institutions, "utf-8")
    cli("import", "institutions", "inst.csv", "--books", "books")
    rows = [
        settlement("S1", "P1", "2023-01-05 09:00:00", "H1", "400.00", "300.00", acct="45.50"),
        settlement(
            "S2",
            "P3",
            "2023-01-06 10:00:00",
            "H1",
            "250.00",
            "200.00",
            acct="10.00",
            med_type="14",
            psn_type="1201",
        ),
        settlement(
            "S3",
            "P2",
            "2023-01-07 11:00:00",
            "D1",
            "20.00",
            "0.00",
            med_type="41",
            psn_type="1103",
        ),
        settlement(
            "S4", "P1", "2023-01-08 12:00:00", "D1", "30.25", "0.00", acct="30.25", med_type="41"
        ),
    ]
    write_csv(books.parent / "s.csv", rows)
    cli("import", "settlements", "s.csv", "--books", "books")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    cli("report", "--period", "2023-02", "--books", "books")
    path = books / "reports" / "2023-02" / "fund-report-2023-02.xlsx"
    balance = dict(sheet_lines(path, "资产负债表"))
    d = Decimal
    # 年初余额: the opening balances, booked on 2022-12-31
    assert balance["财政专户存款"] == (d("50000.00"), d("50960.00"))
    assert balance["支出户存款"] == (d("5000.00"), d("4414.25"))
    assert balance["资产合计"] == (d("55000.00"), d("55374.25"))
    assert balance["其中：统筹基金"] == (d("40000.00"), d("40280.00"))
    assert balance["个人账户基金"] == (d("15000.00"), d("15094.25"))
    assert balance["负债和净资产合计"] == (d("55000.00"), d("55374.25"))
    flows = sheet_lines(path, "收支表")
    spent = flows[[label for label, _ in flows].index("社会保险待遇支出") :]
    assert spent[:3] == [
        ("社会保险待遇支出", (d("585.75"), d("585.75"))),
        ("其中：统筹基金", (d("500.00"), d("500.00"))),
        ("个人账户基金", (d("85.75"), d("85.75"))),
    ]
    income = dict(flows[:6])
    assert income["社会保险费收入"] == (d("0.00"), d("960.00"))
    assert flows[-3:] == [
        ("三、本期收支结余", (d("-585.75"), d("374.25"))),
        ("其中：统筹基金", (d("-500.00"), d("280.00"))),
        ("个人账户基金", (d("-85.75"), d("94.25"))),
    ]


def test_the_year_end_closing_changes_no_figure_of_the_statements(demo: Demo) -> None:
    """表结法 and 帐结法 give the same statements: with the year's closing booked (income and
    expenditure into 3001 by sub-fund), every line of both statements, monthly and yearly, is
    what it was before; only 3001 itself now holds the year's result."""
    from ledger.chart import load_chart
    from ledger.loading import LoadedBooks, load_books
    from ledger.month import Month
    from postings.year_end import year_end_closing
    from reports.books.fund_statements import fund_statements

    books = load_books(demo.root / "main.beancount")
    chart = load_chart(demo.root / "chart.toml")
    closing = year_end_closing(books.entries, chart, 2023)
    assert closing.ok and closing.entry is not None
    closed = LoadedBooks(books.main_file, [*books.entries, closing.entry], [], books.options)
    for period in (Month(2023, 4), Month(2023, 12), 2023):
        before = fund_statements(books, chart, period)
        after = fund_statements(closed, chart, period)
        assert [s.lines for s in after] == [s.lines for s in before], period
    assert not any(
        "年终结账尚未记账" in w for w in fund_statements(closed, chart, 2023)[0].warnings
    )
    assert any("年终结账尚未记账" in w for w in fund_statements(books, chart, 2023)[0].warnings)
