"""The monthly report as one XLSX workbook: the month's sheet (月报), the prescribed statements
(资产负债表, 收支表: ``statement_output``), the trial balance (科目余额表) and a sheet per detail
ledger (明细账).

Reproducible byte for byte: the workbook's zip entries and document properties carry fixed
dates. Money cells are numbers written from ``Decimal`` with the format ``#,##0.00``; totals are
the report's checked ``Decimal`` totals, and a "公式核对" column recomputes them in Excel.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from reports.books import layout
from reports.books.fund_report import Breakdown, Figures, MonthReport
from reports.books.ledgers import DetailLedger, TrialBalance, direction
from reports.books.statement_output import statement_sheet
from reports.books.xlsx_style import COUNT_FORMAT, MONEY_FORMAT, Sheet, saved_workbook
from reports.spreadsheet import Formula


def _figure_values(figures: Figures | None) -> list[Decimal | int | None]:
    if figures is None:
        return [None] * len(layout.BREAKDOWN_COLUMNS)
    return [
        figures.pooled,
        figures.personal,
        figures.total,
        figures.settlements,
        figures.persons,
    ]


def render_xlsx(report: MonthReport) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    workbook.remove(first)
    _month_sheet(workbook, report)
    for statement in report.statements:
        statement_sheet(workbook, statement, report.title)
    _trial_sheet(workbook, report, report.trial_balance)
    used = {"月报", "科目余额表", *(s.title for s in report.statements)}
    for ledger in report.ledgers:
        name = _sheet_name(f"明细账-{ledger.short_name}", used)
        used.add(name)
        _ledger_sheet(workbook, report, ledger, name)
    fixed = datetime.datetime.combine(report.month.last, datetime.time())
    return saved_workbook(workbook, f"{report.title} 基金收支月报 {report.period}", fixed)


def _sheet_name(wanted: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "_", wanted)[:31]
    candidate, n = name, 2
    while candidate in used:
        suffix = f"({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    return candidate


def _col(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(column))


def _month_sheet(workbook: Any, report: MonthReport) -> None:
    s = Sheet(workbook.create_sheet("月报"))
    s.text(f"{report.title}　基金收支月报", s.title_font)
    s.text(layout.period_line(report))
    s.text(layout.batches_line(report))
    s.sheet.freeze_panes = "A4"
    _accounts_section(s, report)
    _summary_section(s, report)
    numerals = ("三", "四", "五", "六", "七")
    for numeral, breakdown in zip(numerals, report.breakdowns, strict=False):
        s.blank()
        s.text(f"{numeral}、{breakdown.title}（登记簿）", s.section_font)
        _breakdown_table(s, breakdown)
    s.text(layout.PERSONS_NOTE)
    _checks_section(s, report)
    if report.warnings:
        s.blank()
        s.text("提示", s.section_font)
        for warning in report.warnings:
            s.text(warning)
    s.widths((16, 44, 16, 16, 16, 16, 16, 16, 16, 16, 12, 14, 14, 12, 12, 16, 16))


def _accounts_section(s: Sheet, report: MonthReport) -> None:
    """一、待遇支出: books and register by account, with a formula that compares them."""
    s.blank()
    s.text("一、待遇支出（按会计科目：账簿与登记簿核对）", s.section_font)
    s.header((*layout.ACCOUNT_HEADINGS, "公式核对"))
    money = (None, None, *([MONEY_FORMAT] * 8), None)
    for row in report.accounts:
        r = s.row + 1
        s.values(
            [
                row.code,
                row.title,
                row.month,
                row.ytd,
                row.prior,
                row.change,
                row.register_month,
                row.difference,
                row.register_ytd,
                row.ytd_difference,
                Formula(f'=IF(AND(ROUND(C{r}-G{r},2)=0,ROUND(D{r}-I{r},2)=0),"一致","不一致")'),
            ],
            money,
            total=row.kind != "account",
        )
    agree = all(r.difference == 0 and r.ytd_difference == 0 for r in report.accounts)
    s.values(["核对", "账簿与登记簿按科目核对", "一致" if agree else "不一致"], (), total=True)
    s.text(layout.ACCOUNT_NOTE)
    note = layout.prior_note(report)
    if note:
        s.text(note)


def _summary_section(s: Sheet, report: MonthReport) -> None:
    """二、结算概况: the register's totals, counts and persons."""
    s.blank()
    s.text("二、结算概况（登记簿：本月支付的清算批次）", s.section_font)
    s.header(("项目", "", "本月", "本年累计", "上年同月"))
    summary = report.summary
    for label, attribute, kind in layout.SUMMARY_ROWS:
        fmt = MONEY_FORMAT if kind == "money" else COUNT_FORMAT
        s.values(
            [
                label,
                "",
                *(layout.summary_value(f, attribute) for f in layout.summary_windows(summary)),
            ],
            (None, None, fmt, fmt, fmt),
        )


def _checks_section(s: Sheet, report: MonthReport) -> None:
    """核对: every check of the report and the verdict."""
    s.blank()
    s.text("核对", s.section_font)
    s.header(("核对项目", "", "项目一", "金额一", "项目二", "金额二", "差额", "结果"))
    for check in report.checks:
        fmt = MONEY_FORMAT if check.kind == "money" else COUNT_FORMAT
        left: Decimal | int = check.left if check.kind == "money" else layout.as_count(check.left)
        right: Decimal | int = (
            check.right if check.kind == "money" else layout.as_count(check.right)
        )
        diff: Decimal | int = (
            check.difference if check.kind == "money" else layout.as_count(check.difference)
        )
        s.values(
            [
                check.label,
                "",
                check.left_label,
                left,
                check.right_label,
                right,
                diff,
                layout.check_result(check),
            ],
            (None, None, None, fmt, None, fmt, fmt, None),
        )
    s.values(["核对结论", "", "全部一致" if report.ok else "存在差异，请查明"], (), total=True)


def _breakdown_table(s: Sheet, breakdown: Breakdown) -> None:
    n = len(layout.BREAKDOWN_COLUMNS)
    groups = ("本月", "本年累计", "上年同月")
    first_row: list[str | None] = ["类别"]
    merges = []
    for index, group in enumerate(groups):
        first_row += [group] + [None] * (n - 1)
        start = 2 + index * n
        merges.append((start, start + n - 1))
    s.header(first_row, merges)
    s.header(["", *(list(layout.BREAKDOWN_COLUMNS) * len(groups))])
    s.sheet.merge_cells(start_row=s.row - 1, start_column=1, end_row=s.row, end_column=1)
    formats = (None, *((MONEY_FORMAT,) * 3 + (COUNT_FORMAT,) * 2) * len(groups))
    for row in (*breakdown.rows, breakdown.total):
        s.values(
            [
                row.label,
                *_figure_values(row.month),
                *_figure_values(row.ytd),
                *_figure_values(row.prior),
            ],
            formats,
            total=row is breakdown.total,
        )


def _trial_sheet(workbook: Any, report: MonthReport, balance: TrialBalance) -> None:
    s = Sheet(workbook.create_sheet("科目余额表"))
    s.text(f"{report.title}　科目余额表", s.title_font)
    s.text(layout.period_line(report))
    s.blank()
    s.header(
        (
            "科目编码",
            "科目名称",
            "期初余额",
            None,
            "本期发生额",
            None,
            "本年累计发生额",
            None,
            "期末余额",
            None,
            "公式核对",
        ),
        ((3, 4), (5, 6), (7, 8), (9, 10)),
    )
    s.header(("", "", "借方", "贷方", "借方", "贷方", "借方", "贷方", "借方", "贷方", ""))
    for column in (1, 2, 11):
        s.sheet.merge_cells(
            start_row=s.row - 1, start_column=column, end_row=s.row, end_column=column
        )
    s.sheet.freeze_panes = f"C{s.row + 1}"
    formats = (None, None, *([MONEY_FORMAT] * 8), MONEY_FORMAT)
    first = s.row + 1
    for row in balance.rows:
        r = s.row + 1
        s.values(
            [
                row.code,
                row.title,
                *layout.trial_figures(row),
                Formula(f"=ROUND(C{r}-D{r}+E{r}-F{r}-(I{r}-J{r}),2)"),
            ],
            formats,
        )
    last = s.row
    t = balance.total
    r = s.row + 1
    sums = (
        ",".join(
            f"ROUND(SUM({_col(c)}{first}:{_col(c)}{last})-{_col(c)}{r},2)=0" for c in range(3, 11)
        )
        if last >= first
        else "TRUE"
    )
    s.values(
        [
            "",
            "合计",
            *layout.trial_figures(t),
            Formula(f'=IF(AND({sums},C{r}=D{r},E{r}=F{r},G{r}=H{r},I{r}=J{r}),"平衡","不平衡")'),
        ],
        formats,
        total=True,
    )
    s.values(["试算平衡", "", "平衡" if balance.balanced else "不平衡"], (), total=True)
    s.text(layout.TRIAL_NOTE)
    s.widths((12, 50, 15, 15, 15, 15, 15, 15, 15, 15, 12))


def _ledger_sheet(workbook: Any, report: MonthReport, ledger: DetailLedger, name: str) -> None:
    s = Sheet(workbook.create_sheet(name))
    s.text(f"{report.title}　明细账　{ledger.code} {ledger.title}", s.title_font)
    s.text(layout.period_line(report))
    s.blank()
    s.header(layout.LEDGER_HEADERS)
    s.sheet.freeze_panes = f"A{s.row + 1}"
    formats = ("yyyy-mm-dd", None, None, None, MONEY_FORMAT, MONEY_FORMAT, None, MONEY_FORMAT)
    for date, voucher, payee, text, debit, credit, balance, total in layout.ledger_rows(ledger):
        s.values(
            [date, voucher, payee, text, debit, credit, direction(balance), abs(balance)],
            formats,
            total=total,
        )
    s.text(layout.LEDGER_NOTE)
    s.widths((12, 26, 28, 52, 15, 15, 8, 16))
