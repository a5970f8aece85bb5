"""Institution indicators (Shanxi art. 16): figures worked by hand, the register's counts (a
refunded settlement is no visit), the report's files re-read, and Fava's view."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl

from reports.indicators.figures import Counts, Institution, Thresholds, indicators
from tests.conftest import Cli, settlement, write_csv
from tests.test_fava_ext import Site
from tests.test_spreadsheet_safety import _refund_of

THRESHOLDS = Thresholds(
    cost_growth=Decimal("0.10"),
    self_pay_share=Decimal("0.10"),
    co_pay_share=Decimal("0.30"),
    exam_share=Decimal("0.25"),
)
KNOWN = {"H1": Institution("示例医院", "1", "2"), "D1": Institution("=示例药房", "2", "")}


def test_figures_by_hand() -> None:
    now = [
        # 1,000.00 over 3 visits: 333.33 a visit; 150.00 self-paid: 15.00% > 10%
        Counts("H1", "2023", 3, 100_000, 15_000, 20_000, 30_000),
        Counts("D1", "2023", 0, 0, 0, 0),  # refunds only: no visit, no share
    ]
    before = {("H1", "2023"): Counts("H1", "2022", 4, 120_000, 0, 0)}  # 300.00 a visit
    h1, d1 = sorted(indicators(now, before, KNOWN, THRESHOLDS), key=lambda i: i.code != "H1")
    assert (h1.cost_per_visit, h1.previous_cost_per_visit) == (Decimal("333.33"), Decimal("300.00"))
    assert h1.cost_growth == Decimal("0.1111")  # 33.33 / 300.00, half up to four places
    assert (h1.self_pay_share, h1.co_pay_share, h1.exam_share) == (
        Decimal("0.1500"),
        Decimal("0.2000"),
        Decimal("0.3000"),
    )
    assert h1.marks == ("次均费用增长", "自费比例", "检查费用占比")  # co-pay 20% is under 30%
    assert (d1.cost_per_visit, d1.self_pay_share, d1.exam_share, d1.marks) == (None, None, None, ())
    # no threshold set: nothing marked
    assert indicators(now, before, KNOWN, Thresholds())[0].marks == ()


def _books_with_two_years(cli: Cli) -> None:
    (cli.cwd / "institutions.csv").write_text(
        "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs\n"
        "H1,示例医院,1,2,0,210302\nD1,=示例药房,2,,0,210302\n",
        "utf-8",
    )
    cli("import", "institutions", "institutions.csv", "--books", "books")
    hospital = {"fixmedins_name": "示例医院", "fixmedins_type": "1", "medins_lv": "2"}
    pharmacy = {"fixmedins_name": "=示例药房", "fixmedins_type": "2", "medins_lv": ""}
    s2 = settlement("S2", "P2", "2023-01-11 09:00:00", "H1", "100.00", "50.00", **hospital)
    rows = [
        settlement("S0", "P1", "2022-01-05 09:00:00", "H1", "200.00", "100.00", **hospital),
        settlement(
            "S1", "P1", "2023-01-10 09:00:00", "H1", "300.00", "150.00",
            mdtrt_id="V1", fulamt_ownpay_amt="30.00", **hospital,
        ),
        s2,
        _refund_of(s2, "R2") | {"setl_time": "2023-01-12 09:00:00"},
        # a second settlement of visit V1: one visit
        settlement(
            "S3", "P1", "2023-01-10 09:30:00", "H1", "60.00", "30.00",
            mdtrt_id="V1", overlmt_selfpay="6.00", **hospital,
        ),
        settlement(
            "S4", "P3", "2023-02-01 10:00:00", "D1", "80.00", "0.00",
            acct="80.00", med_type="41", clr_type="13", **pharmacy,
        ),
    ]  # fmt: skip
    write_csv(cli.cwd / "settlements.csv", rows)
    cli("import", "settlements", "settlements.csv", "--books", "books")


def test_the_report_of_a_year_re_read(books: Path, cli: Cli) -> None:
    _books_with_two_years(cli)
    _code, out, _err = cli("indicators", "--year", "2023", "--books", "books")
    assert (
        "2023: 2 institutions, 2 months; above a threshold: 0 in the year, 1 institution-months"
        in out
    )
    workbook = openpyxl.load_workbook(books / "reports" / "2023" / "indicators-2023.xlsx")
    assert workbook.sheetnames == ["年度指标", "月度指标", "说明"]
    yearly = list(workbook["年度指标"].iter_rows(values_only=True))
    # H1: visits V1 only (S2 refunded), 360.00 = 300 + 60 (+100 - 100); 2022's January: 200.00.
    # 2023 holds January and February, 2022 January only: the year is not compared; its
    # months are, where 2022 has the month.
    h1 = ("2023", "H1", "示例医院", "医疗机构", "2", 1, 360, 360, None, None, 0.0833, 0.0167)
    d1 = ("2023", "D1", "=示例药房", "定点药店", None, 1, 80, 80, None, None, 0, 0)
    assert yearly[1:] == [(*h1, None, None), (*d1, None, None)]
    assert workbook["年度指标"]["C3"].data_type == "s"  # a name from input stays text
    monthly = list(workbook["月度指标"].iter_rows(values_only=True))
    assert monthly[1][:10] == ("2023-01", "H1", "示例医院", "医疗机构", "2", 1, 360, 360, 200, 0.8)
    assert monthly[1][13] == "次均费用增长"  # up 80% on 2022-01
    notes = [r[0] for r in workbook["说明"].iter_rows(values_only=True)]
    assert any("次均费用增长 > 10.00%" in n for n in notes)
    html = (books / "reports" / "2023" / "indicators-2023.html").read_text("utf-8")
    assert "<h2>年度指标</h2>" in html and "80.00%" in html and "&lt;" not in html
    _code, _out, err = cli("indicators", "--year", "2031", "--books", "books", expect=1)
    assert "--year: the register holds no settlements of 2031: nothing written" in err
    assert not (books / "reports" / "2031").exists()
    before = (books / "reports" / "2023" / "indicators-2023.xlsx").read_bytes()
    cli("indicators", "--year", "2023", "--books", "books")
    assert (books / "reports" / "2023" / "indicators-2023.xlsx").read_bytes() == before


def test_fava_shows_the_indicators(books: Path, cli: Cli) -> None:
    _books_with_two_years(cli)
    site = Site(books)
    body = site.get("?view=indicators")
    assert "机构考核指标" in body and "<h3>年度指标</h3>" in body
    assert 'class="mzl-hl"' in body and "80.00%" in body  # H1's January, marked
    assert "?view=indicators&amp;year=2022" in body
    assert "示例医院" in site.get("?view=indicators&year=2022")
    site.get("?view=indicators&year=20x3", status=400)
