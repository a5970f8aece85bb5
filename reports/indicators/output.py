"""The indicators report's files: ``indicators-<year>.xlsx`` (sheets 年度指标, 月度指标, 说明) and
``.html``, both reproducible (the same register gives the same bytes). Every value reaches a
cell through ``reports.spreadsheet`` (an institution's name stays text)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from pathlib import Path

from ledger.books import atomic_write
from reports.books.html_style import money_cell, page_end, page_head
from reports.books.xlsx_style import COUNT_FORMAT, MONEY_FORMAT, saved_workbook
from reports.indicators.figures import MARKS, Indicator
from reports.indicators.register import IndicatorReport
from reports.spreadsheet import row_cells

SHARE_FORMAT = "0.00%"
KINDS = {"1": "医疗机构", "2": "定点药店"}
HEADER = (
    "期间",
    "机构编码",
    "机构名称",
    "类型",
    "等级",
    "就诊人次",
    "医疗费用总额",
    "次均费用",
    "上年同期次均费用",
    "次均费用增长",
    "自费比例",
    "自付比例",
    "检查费用占比",
    "超出阈值",
)
#: The columns' number formats after the five text columns.
FORMATS = (
    COUNT_FORMAT,
    MONEY_FORMAT,
    MONEY_FORMAT,
    MONEY_FORMAT,
    SHARE_FORMAT,
    SHARE_FORMAT,
    SHARE_FORMAT,
    SHARE_FORMAT,
)


def row_values(item: Indicator) -> list[object]:
    """One indicator as its row: None where a figure cannot be had."""
    return [
        item.span,
        item.code,
        item.name,
        KINDS.get(item.kind, item.kind),
        item.level,
        item.visits,
        item.medfee,
        item.cost_per_visit,
        item.previous_cost_per_visit,
        item.cost_growth,
        item.self_pay_share,
        item.co_pay_share,
        item.exam_share,
        "、".join(item.marks),
    ]


def notes(report: IndicatorReport) -> list[str]:
    """What the report rests on, said on its 说明 sheet and under its HTML tables."""
    limits = {name: value for name, value in report.thresholds.__dict__.items() if value}
    lines = [
        "指标依据：山西省门诊统筹经办规程第十六条（次均费用增长、自付（自费）费用比例、检查费用占比）。",
        "就诊人次：未退费结算的不同就诊流水号（mdtrt_id）数；费用为结算数，退费冲减。",
        "阈值为本地区政策文件 [indicators] 的设定（规程未给出数值）："
        + "；".join(f"{label} > {limits[field]:.2%}" for label, field in MARKS if field in limits),
    ]
    if not report.compared:
        lines.append("上年同期：登记簿中没有上年同月的全部结算，年度增长不计算。")
    lines.append("检查费用占比：需导入费用明细（fee details）；未导入时为空。")
    return lines


def render_xlsx(report: IndicatorReport) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, items in (("年度指标", report.yearly), ("月度指标", report.monthly)):
        sheet = workbook.create_sheet(title)
        sheet.append(row_cells(sheet, HEADER))
        for item in items:
            cells = row_cells(sheet, row_values(item))
            for cell, number_format in zip(cells[5:13], FORMATS, strict=True):
                cell.number_format = number_format
            sheet.append(cells)
        sheet.freeze_panes = "D2"
    sheet = workbook.create_sheet("说明")
    for line in notes(report):
        sheet.append(row_cells(sheet, [line]))
    fixed = datetime.datetime(report.year, 12, 31)
    return saved_workbook(workbook, f"定点医药机构考核指标 {report.year}年度", fixed)


def _cell(value: object, index: int) -> str:
    if value is None:
        return '<td class="num">—</td>' if index >= 5 else "<td></td>"
    if isinstance(value, Decimal) and index in (6, 7, 8):
        return money_cell(value)
    if isinstance(value, Decimal):
        return f'<td class="num">{value:.2%}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(items: Sequence[Indicator]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADER)
    rows = [
        "<tr>" + "".join(_cell(v, i) for i, v in enumerate(row_values(item))) + "</tr>"
        for item in items
    ]
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def render_html(report: IndicatorReport) -> str:
    title = f"定点医药机构考核指标　{report.year}年度"
    parts = page_head(title)
    parts += [f"<h1>{escape(title)}</h1>"]
    parts += [f'<p class="note">{escape(line)}</p>' for line in notes(report)]
    parts += ["<h2>年度指标</h2>", _table(report.yearly)]
    parts += ["<h2>月度指标</h2>", _table(report.monthly)]
    parts += page_end()
    return "\n".join(parts)


def write_indicator_report(report: IndicatorReport, out_dir: Path) -> list[Path]:
    """Write ``indicators-<year>.xlsx`` and ``.html`` into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx = out_dir / f"indicators-{report.year:04d}.xlsx"
    page = out_dir / f"indicators-{report.year:04d}.html"
    atomic_write(xlsx, render_xlsx(report))
    atomic_write(page, render_html(report))
    return [xlsx, page]


__all__ = ["render_html", "render_xlsx", "row_values", "write_indicator_report"]
