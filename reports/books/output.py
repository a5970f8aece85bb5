"""The monthly report written out: one XLSX workbook and one self-contained HTML page.

``write_month_report(report, out_dir)`` writes ``fund-report-<period>.xlsx`` and
``fund-report-<period>.html`` into ``out_dir`` (the CLI passes ``<books>/reports/<period>/``),
each through a temporary file and a rename. Both are reproducible byte for byte: the HTML has
no timestamp, and the workbook's zip entries and document properties carry fixed dates.

Money cells are numbers written from ``Decimal`` with the format ``#,##0.00``; totals are the
report's checked ``Decimal`` totals, and a "公式核对" column recomputes them in Excel.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from ledger.books import atomic_write
from ledger.month import Month
from reports.books.fund_report import (
    AccountRow,
    Breakdown,
    BreakdownRow,
    Check,
    Figures,
    MonthReport,
)
from reports.books.ledgers import DetailLedger, TrialBalance, direction
from reports.books.svg_charts import Series, bar_chart
from reports.spreadsheet import Formula, set_value

MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"
POOLED_COLOR = "#2f6fb0"
PERSONAL_COLOR = "#e08a1e"
#: Fixed date for the workbook's zip entries (the zip format's earliest date).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


#: Columns of the expenditure-by-account table, the same in the workbook and the page.
ACCOUNT_HEADINGS = (
    "科目编码",
    "科目名称",
    "本月",
    "本年累计",
    "上年同月",
    "比上年同月增减",
    "登记簿本月",
    "本月差额",
    "登记簿本年累计",
    "本年累计差额",
)


def report_dir(books_root: Path, period: str) -> Path:
    """Where a month's report goes: ``<books>/reports/<period>/``."""
    return books_root / "reports" / period


def file_stem(report: MonthReport) -> str:
    return f"fund-report-{report.period}"


def write_month_report(report: MonthReport, out_dir: Path) -> list[Path]:
    """Write the XLSX and the HTML into ``out_dir``; returns their paths (xlsx, html)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx = out_dir / f"{file_stem(report)}.xlsx"
    page = out_dir / f"{file_stem(report)}.html"
    atomic_write(xlsx, render_xlsx(report))
    atomic_write(page, render_html(report))
    return [xlsx, page]


# ---------------------------------------------------------------------------------------------
# shared wording


def period_line(report: MonthReport) -> str:
    m = report.month
    return (
        f"期间：{m.label}（{m.first.isoformat()} 至 {m.last.isoformat()}，"
        f"收付实现制：按支付日期）　单位：元"
    )


def batches_line(report: MonthReport) -> str:
    if not report.batches:
        return "本月无支付的清算批次。"
    return (
        f"本月支付的清算批次 {report.batches} 个，清算期间 {'、'.join(report.clearing_periods)}。"
    )


def prior_note(report: MonthReport) -> str | None:
    if report.prior_available or report.prior_period is None:
        return None
    since = report.books_since.isoformat() if report.books_since else "（无科目）"
    return f"上年同月（{report.prior_period}）：账簿自 {since} 起，无该月数据，不列示。"


PERSONS_NOTE = (
    "结算笔数含退费；人数按人员编号去重，同一人在多个类别结算的，在各类别分别计数，"
    "合计行为全部结算去重后的人数，不等于各行之和。在职、退休按结算时的人员类别（11xx、12xx）。"
)
ACCOUNT_NOTE = (
    "账簿：本月支付日期的分录合计（收付实现制）；登记簿：本月支付的清算批次所含结算，"
    "统筹基金按医疗类别映射科目，个人账户（含共济）按机构类型：医疗机构计普通门诊支出，"
    "定点零售药店计定点药店医药费支出；药店购药的统筹基金支付计门诊统筹。"
)
TRIAL_NOTE = (
    "借方为本期正数分录合计，贷方为负数分录合计（取正数）；退费冲减支出记入贷方。"
    "账簿未做期末收支结转，支出类科目余额为建账以来累计。"
)

#: Columns of a detail ledger; a bank entry without a voucher shows its statement line
#: (``file.csv:line``) in the voucher column, and its counterparty (e.g. the fiscal special
#: account for a transfer in) as 对方单位.
LEDGER_HEADERS = ("日期", "凭证号／银行流水", "对方单位", "摘要", "借方", "贷方", "借或贷", "余额")
LEDGER_NOTE = (
    "凭证号为清算批次的记账凭证号；银行自身的分录（财政专户拨入、利息、手续费）无凭证号，"
    "列示银行对账单文件及行号。"
)

BREAKDOWN_COLUMNS = ("统筹基金支出", "个人账户支出", "支出合计", "结算笔数", "人数")


def _figure_values(figures: Figures | None) -> list[Decimal | int | None]:
    if figures is None:
        return [None] * len(BREAKDOWN_COLUMNS)
    return [
        figures.pooled,
        figures.personal,
        figures.total,
        figures.settlements,
        figures.persons,
    ]


#: The summary table: label, Figures attribute, money or count.
SUMMARY_ROWS = (
    ("统筹基金支付", "pooled", "money"),
    ("个人账户支付（含共济）", "personal", "money"),
    ("支付合计", "total", "money"),
    ("结算笔数（含退费）", "settlements", "count"),
    ("其中：退费笔数", "refunds", "count"),
    ("结算人数（按人员编号去重）", "persons", "count"),
)


def _windows(row: BreakdownRow) -> tuple[Figures, Figures, Figures | None]:
    return row.month, row.ytd, row.prior


def _summary_value(figures: Figures | None, attribute: str) -> Decimal | int | None:
    if figures is None:
        return None
    value = getattr(figures, attribute)
    assert isinstance(value, Decimal | int)
    return value


def _check_result(check: Check) -> str:
    return "一致" if check.ok else "不一致"


def _count(value: Decimal) -> int:
    return int(value)


# ---------------------------------------------------------------------------------------------
# XLSX


def render_xlsx(report: MonthReport) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    workbook.remove(first)
    _month_sheet(workbook, report)
    _trial_sheet(workbook, report, report.trial_balance)
    used = {"月报", "科目余额表"}
    for ledger in report.ledgers:
        name = _sheet_name(f"明细账-{ledger.short_name}", used)
        used.add(name)
        _ledger_sheet(workbook, report, ledger, name)
    fixed = datetime.datetime.combine(report.month.last, datetime.time())
    workbook.properties.creator = "mzledger"
    workbook.properties.title = f"{report.title} 基金收支月报 {report.period}"
    workbook.properties.created = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _reproducible_zip(buffer.getvalue(), fixed)


def _sheet_name(wanted: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "_", wanted)[:31]
    candidate, n = name, 2
    while candidate in used:
        suffix = f"({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    return candidate


def _reproducible_zip(data: bytes, fixed: datetime.datetime) -> bytes:
    """The same workbook with fixed zip dates and a fixed ``modified`` property."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


class _Sheet:
    """Appends rows to a worksheet with the report's styles."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.sheet = sheet
        self.row = 0
        self.bold = Font(bold=True)
        self.title_font = Font(bold=True, size=14)
        self.section_font = Font(bold=True, size=12)
        self.header_fill = PatternFill("solid", fgColor="DDE6F0")
        self.total_fill = PatternFill("solid", fgColor="F3F3F3")
        thin = Side(style="thin", color="999999")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def text(self, value: str, font: Any = None) -> None:
        self.row += 1
        cell = set_value(self.sheet.cell(row=self.row, column=1), value)
        if font is not None:
            cell.font = font

    def blank(self) -> None:
        self.row += 1

    def header(self, values: Sequence[str | None], merges: Sequence[tuple[int, int]] = ()) -> None:
        """A header row; ``merges`` are (first, last) column ranges merged across."""
        self.row += 1
        for column, value in enumerate(values, start=1):
            cell = set_value(self.sheet.cell(row=self.row, column=column), value)
            cell.font = self.bold
            cell.fill = self.header_fill
            cell.border = self.border
            cell.alignment = self.center
        for start, end in merges:
            self.sheet.merge_cells(
                start_row=self.row, start_column=start, end_row=self.row, end_column=end
            )

    def values(
        self,
        values: Sequence[Any],
        formats: Sequence[str | None],
        *,
        total: bool = False,
    ) -> int:
        self.row += 1
        for column, value in enumerate(values, start=1):
            cell = set_value(self.sheet.cell(row=self.row, column=column), value)
            cell.border = self.border
            fmt = formats[column - 1] if column - 1 < len(formats) else None
            if fmt is not None and not isinstance(value, str):
                cell.number_format = fmt
            if total:
                cell.font = self.bold
                cell.fill = self.total_fill
        return self.row

    def widths(self, widths: Sequence[float]) -> None:
        from openpyxl.utils import get_column_letter

        for column, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(column)].width = width


def _col(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(column))


def _month_sheet(workbook: Any, report: MonthReport) -> None:
    s = _Sheet(workbook.create_sheet("月报"))
    s.text(f"{report.title}　基金收支月报", s.title_font)
    s.text(period_line(report))
    s.text(batches_line(report))
    s.sheet.freeze_panes = "A4"

    s.blank()
    s.text("一、待遇支出（按会计科目：账簿与登记簿核对）", s.section_font)
    s.header((*ACCOUNT_HEADINGS, "公式核对"))
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
    s.text(ACCOUNT_NOTE)
    note = prior_note(report)
    if note:
        s.text(note)

    s.blank()
    s.text("二、结算概况（登记簿：本月支付的清算批次）", s.section_font)
    s.header(("项目", "", "本月", "本年累计", "上年同月"))
    summary = report.summary
    for label, attribute, kind in SUMMARY_ROWS:
        fmt = MONEY_FORMAT if kind == "money" else COUNT_FORMAT
        s.values(
            [label, "", *(_summary_value(f, attribute) for f in _windows(summary))],
            (None, None, fmt, fmt, fmt),
        )

    numerals = ("三", "四", "五", "六", "七")
    for numeral, breakdown in zip(numerals, report.breakdowns, strict=False):
        s.blank()
        s.text(f"{numeral}、{breakdown.title}（登记簿）", s.section_font)
        _breakdown_table(s, breakdown)
    s.text(PERSONS_NOTE)

    s.blank()
    s.text("核对", s.section_font)
    s.header(("核对项目", "", "项目一", "金额一", "项目二", "金额二", "差额", "结果"))
    for check in report.checks:
        fmt = MONEY_FORMAT if check.kind == "money" else COUNT_FORMAT
        left: Decimal | int = check.left if check.kind == "money" else _count(check.left)
        right: Decimal | int = check.right if check.kind == "money" else _count(check.right)
        diff: Decimal | int = (
            check.difference if check.kind == "money" else _count(check.difference)
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
                _check_result(check),
            ],
            (None, None, None, fmt, None, fmt, fmt, None),
        )
    s.values(["核对结论", "", "全部一致" if report.ok else "存在差异，请查明"], (), total=True)
    if report.warnings:
        s.blank()
        s.text("提示", s.section_font)
        for warning in report.warnings:
            s.text(warning)
    s.widths((16, 44, 16, 16, 16, 16, 16, 16, 16, 16, 12, 14, 14, 12, 12, 16, 16))


def _breakdown_table(s: _Sheet, breakdown: Breakdown) -> None:
    n = len(BREAKDOWN_COLUMNS)
    groups = ("本月", "本年累计", "上年同月")
    first_row: list[str | None] = ["类别"]
    merges = []
    for index, group in enumerate(groups):
        first_row += [group] + [None] * (n - 1)
        start = 2 + index * n
        merges.append((start, start + n - 1))
    s.header(first_row, merges)
    s.header(["", *(list(BREAKDOWN_COLUMNS) * len(groups))])
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
    s = _Sheet(workbook.create_sheet("科目余额表"))
    s.text(f"{report.title}　科目余额表", s.title_font)
    s.text(period_line(report))
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
                row.opening_debit,
                row.opening_credit,
                row.debit,
                row.credit,
                row.ytd_debit,
                row.ytd_credit,
                row.closing_debit,
                row.closing_credit,
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
            t.opening_debit,
            t.opening_credit,
            t.debit,
            t.credit,
            t.ytd_debit,
            t.ytd_credit,
            t.closing_debit,
            t.closing_credit,
            Formula(f'=IF(AND({sums},C{r}=D{r},E{r}=F{r},G{r}=H{r},I{r}=J{r}),"平衡","不平衡")'),
        ],
        formats,
        total=True,
    )
    s.values(["试算平衡", "", "平衡" if balance.balanced else "不平衡"], (), total=True)
    s.text(TRIAL_NOTE)
    s.widths((12, 50, 15, 15, 15, 15, 15, 15, 15, 15, 12))


def _ledger_sheet(workbook: Any, report: MonthReport, ledger: DetailLedger, name: str) -> None:
    s = _Sheet(workbook.create_sheet(name))
    s.text(f"{report.title}　明细账　{ledger.code} {ledger.title}", s.title_font)
    s.text(period_line(report))
    s.blank()
    s.header(LEDGER_HEADERS)
    s.sheet.freeze_panes = f"A{s.row + 1}"
    formats = ("yyyy-mm-dd", None, None, None, MONEY_FORMAT, MONEY_FORMAT, None, MONEY_FORMAT)
    for date, voucher, payee, text, debit, credit, balance, total in ledger_rows(ledger):
        s.values(
            [date, voucher, payee, text, debit, credit, direction(balance), abs(balance)],
            formats,
            total=total,
        )
    s.text(LEDGER_NOTE)
    s.widths((12, 26, 28, 52, 15, 15, 8, 16))


LedgerRow = tuple[datetime.date, str, str, str, Decimal | None, Decimal | None, Decimal, bool]


def ledger_rows(ledger: DetailLedger) -> list[LedgerRow]:
    """The ledger's lines as shown: opening, postings, month total, year total."""
    month = Month.parse(ledger.period)
    rows: list[LedgerRow] = [(month.first, "", "", "期初余额", None, None, ledger.opening, True)]
    rows += [
        (
            line.date,
            line.reference,
            line.payee,
            line.narration,
            line.debit,
            line.credit,
            line.balance,
            False,
        )
        for line in ledger.lines
    ]
    last = month.last
    rows.append((last, "", "", "本月合计", ledger.debit, ledger.credit, ledger.closing, True))
    rows.append(
        (last, "", "", "本年累计", ledger.ytd_debit, ledger.ytd_credit, ledger.closing, True)
    )
    return rows


# ---------------------------------------------------------------------------------------------
# HTML

CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 2px solid #2f6fb0; padding-bottom: 3px; }
h3 { font-size: 15px; margin-top: 18px; }
p.meta, p.note { color: #555; font-size: 13px; margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #aaa; padding: 3px 7px; }
th { background: #dde6f0; font-weight: bold; text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.neg { color: #c00; }
tr.total td { font-weight: bold; background: #f3f3f3; }
td.ok { color: #176b2c; font-weight: bold; }
td.bad { color: #c00; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { border: 1px solid #ddd; background: #fff; }
svg .chart-title { font-size: 14px; font-weight: bold; }
svg .legend, svg .category { font-size: 12px; }
svg .tick, svg .value { font-size: 10px; fill: #444; }
svg .grid { stroke: #e3e3e3; }
svg .zero { stroke: #666; }
"""


def _money_cell(value: Decimal | None) -> str:
    if value is None:
        return '<td class="num">—</td>'
    cls = "num neg" if value < 0 else "num"
    return f'<td class="{cls}">{value:,.2f}</td>'


def _count_cell(value: int | None) -> str:
    if value is None:
        return '<td class="num">—</td>'
    return f'<td class="num">{value:,}</td>'


def _text_cell(value: str) -> str:
    return f"<td>{escape(value)}</td>"


def _tr(cells: Sequence[str], total: bool = False) -> str:
    opening = '<tr class="total">' if total else "<tr>"
    return opening + "".join(cells) + "</tr>"


def _th_row(headers: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>"


def _account_table(rows: Sequence[AccountRow]) -> str:
    lines = [
        "<table>",
        _th_row(ACCOUNT_HEADINGS),
    ]
    for row in rows:
        lines.append(
            _tr(
                [
                    _text_cell(row.code),
                    _text_cell(row.title),
                    _money_cell(row.month),
                    _money_cell(row.ytd),
                    _money_cell(row.prior),
                    _money_cell(row.change),
                    _money_cell(row.register_month),
                    _money_cell(row.difference),
                    _money_cell(row.register_ytd),
                    _money_cell(row.ytd_difference),
                ],
                total=row.kind != "account",
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _figure_cells(figures: Figures | None) -> list[str]:
    if figures is None:
        return [_money_cell(None)] * 3 + [_count_cell(None)] * 2
    return [
        _money_cell(figures.pooled),
        _money_cell(figures.personal),
        _money_cell(figures.total),
        _count_cell(figures.settlements),
        _count_cell(figures.persons),
    ]


def _breakdown_table_html(breakdown: Breakdown) -> str:
    n = len(BREAKDOWN_COLUMNS)
    lines = [
        "<table>",
        '<tr><th rowspan="2">类别</th>'
        + "".join(f'<th colspan="{n}">{g}</th>' for g in ("本月", "本年累计", "上年同月"))
        + "</tr>",
        "<tr>" + "".join(f"<th>{c}</th>" for c in BREAKDOWN_COLUMNS * 3) + "</tr>",
    ]
    rows: list[BreakdownRow] = [*breakdown.rows, breakdown.total]
    for row in rows:
        lines.append(
            _tr(
                [
                    _text_cell(row.label),
                    *_figure_cells(row.month),
                    *_figure_cells(row.ytd),
                    *_figure_cells(row.prior),
                ],
                total=row is breakdown.total,
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _summary_table(report: MonthReport) -> str:
    lines = ["<table>", _th_row(("项目", "本月", "本年累计", "上年同月"))]
    for label, attribute, kind in SUMMARY_ROWS:
        cells = [_text_cell(label)]
        for figures in _windows(report.summary):
            value = _summary_value(figures, attribute)
            if kind == "money":
                cells.append(_money_cell(value if isinstance(value, Decimal) else None))
            else:
                cells.append(_count_cell(value if isinstance(value, int) else None))
        lines.append(_tr(cells))
    lines.append("</table>")
    return "\n".join(lines)


def _checks_table(checks: Sequence[Check]) -> str:
    lines = [
        "<table>",
        _th_row(("核对项目", "项目一", "金额一", "项目二", "金额二", "差额", "结果")),
    ]
    for c in checks:
        if c.kind == "money":
            values = [_money_cell(c.left), _money_cell(c.right), _money_cell(c.difference)]
        else:
            values = [
                _count_cell(_count(c.left)),
                _count_cell(_count(c.right)),
                _count_cell(_count(c.difference)),
            ]
        lines.append(
            _tr(
                [
                    _text_cell(c.label),
                    _text_cell(c.left_label),
                    values[0],
                    _text_cell(c.right_label),
                    values[1],
                    values[2],
                    f'<td class="{"ok" if c.ok else "bad"}">{_check_result(c)}</td>',
                ]
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _trial_table(balance: TrialBalance) -> str:
    lines = [
        "<table>",
        '<tr><th rowspan="2">科目编码</th><th rowspan="2">科目名称</th>'
        '<th colspan="2">期初余额</th><th colspan="2">本期发生额</th>'
        '<th colspan="2">本年累计发生额</th><th colspan="2">期末余额</th></tr>',
        "<tr>" + "<th>借方</th><th>贷方</th>" * 4 + "</tr>",
    ]
    for row in balance.rows:
        lines.append(
            _tr(
                [
                    _text_cell(row.code),
                    _text_cell(row.title),
                    _money_cell(row.opening_debit),
                    _money_cell(row.opening_credit),
                    _money_cell(row.debit),
                    _money_cell(row.credit),
                    _money_cell(row.ytd_debit),
                    _money_cell(row.ytd_credit),
                    _money_cell(row.closing_debit),
                    _money_cell(row.closing_credit),
                ]
            )
        )
    t = balance.total
    lines.append(
        _tr(
            [
                _text_cell(""),
                _text_cell("合计"),
                *(
                    _money_cell(v)
                    for v in (
                        t.opening_debit,
                        t.opening_credit,
                        t.debit,
                        t.credit,
                        t.ytd_debit,
                        t.ytd_credit,
                        t.closing_debit,
                        t.closing_credit,
                    )
                ),
            ],
            total=True,
        )
    )
    lines.append("</table>")
    verdict = "平衡" if balance.balanced else "不平衡"
    cls = "ok" if balance.balanced else "bad"
    lines.append(f'<table><tr><td>试算平衡</td><td class="{cls}">{verdict}</td></tr></table>')
    return "\n".join(lines)


def _ledger_table(ledger: DetailLedger) -> str:
    lines = [
        "<table>",
        _th_row(LEDGER_HEADERS),
    ]
    for date, voucher, payee, text, debit, credit, balance, total in ledger_rows(ledger):
        lines.append(
            _tr(
                [
                    _text_cell(date.isoformat()),
                    _text_cell(voucher),
                    _text_cell(payee),
                    _text_cell(text),
                    _money_cell(debit) if debit is not None else "<td></td>",
                    _money_cell(credit) if credit is not None else "<td></td>",
                    _text_cell(direction(balance)),
                    _money_cell(abs(balance)),
                ],
                total=total,
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _charts(report: MonthReport) -> str:
    months = report.by_month
    charts = [
        bar_chart(
            f"{report.month.year}年各月待遇支出（账簿，按支付月份）",
            [f"{int(m.period[5:])}月" for m in months],
            [
                Series("统筹基金", POOLED_COLOR, tuple(m.pooled for m in months)),
                Series("个人账户", PERSONAL_COLOR, tuple(m.personal for m in months)),
            ],
        )
    ]
    for breakdown in report.breakdowns:
        charts.append(
            bar_chart(
                f"本月待遇支出{breakdown.title}（登记簿）",
                [row.label for row in breakdown.rows],
                [
                    Series("统筹基金", POOLED_COLOR, tuple(r.month.pooled for r in breakdown.rows)),
                    Series(
                        "个人账户", PERSONAL_COLOR, tuple(r.month.personal for r in breakdown.rows)
                    ),
                ],
            )
        )
    return '<div class="charts">\n' + "\n".join(charts) + "\n</div>"


def render_html(report: MonthReport) -> str:
    title = f"{report.title}　基金收支月报　{report.month.label}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(report.title)}　基金收支月报</h1>",
        f'<p class="meta">{escape(period_line(report))}</p>',
        f'<p class="meta">{escape(batches_line(report))}</p>',
    ]
    verdict = "账簿与登记簿核对一致" if report.ok else "账簿与登记簿存在差异，见“核对”"
    parts.append(f'<p class="meta"><strong>{escape(verdict)}</strong></p>')
    parts.append("<h2>图表</h2>")
    parts.append(_charts(report))
    parts.append("<h2>月报</h2>")
    parts.append("<h3>一、待遇支出（按会计科目：账簿与登记簿核对）</h3>")
    parts.append(_account_table(report.accounts))
    parts.append(f'<p class="note">{escape(ACCOUNT_NOTE)}</p>')
    note = prior_note(report)
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    parts.append("<h3>二、结算概况（登记簿：本月支付的清算批次）</h3>")
    parts.append(_summary_table(report))
    for numeral, breakdown in zip(("三", "四", "五", "六"), report.breakdowns, strict=False):
        parts.append(f"<h3>{numeral}、{escape(breakdown.title)}（登记簿）</h3>")
        parts.append(_breakdown_table_html(breakdown))
    parts.append(f'<p class="note">{escape(PERSONS_NOTE)}</p>')
    parts.append("<h3>核对</h3>")
    parts.append(_checks_table(report.checks))
    parts.append("<h2>科目余额表</h2>")
    parts.append(_trial_table(report.trial_balance))
    parts.append(f'<p class="note">{escape(TRIAL_NOTE)}</p>')
    for ledger in report.ledgers:
        parts.append(f"<h2>明细账　{escape(ledger.code)} {escape(ledger.title)}</h2>")
        parts.append(_ledger_table(ledger))
        parts.append(f'<p class="note">{escape(LEDGER_NOTE)}</p>')
    if report.warnings:
        parts.append("<h2>提示</h2>")
        parts += [f'<p class="note">{escape(w)}</p>' for w in report.warnings]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
