"""The prescribed statements written out: an XLSX sheet each (named 资产负债表 and 收支表, as the
forms are) and an HTML table each, in the monthly report and in the yearly statements.

The yearly statements (年报) are their own files, ``fund-statements-<year>.xlsx`` and ``.html``,
in ``<books>/reports/<year>/``, reproducible byte for byte like the monthly report.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from ledger.books import atomic_write
from reports.books.fund_statements import FundStatement, StatementLine
from reports.books.html_style import money_cell, page_end, page_head
from reports.books.xlsx_style import MONEY_FORMAT, Sheet, saved_workbook

#: A sub-fund line is indented under its item, as the printed forms do.
INDENT = "　　"


def line_label(line: StatementLine) -> str:
    return INDENT + line.label if line.kind == "sub" else line.label


def meta_line(statement: FundStatement, keeper: str) -> str:
    """编制单位, fund, period and unit, as a form's second line prints them."""
    return (
        f"编制单位：{keeper}　　基金：{statement.fund}　　{statement.period_label}　　"
        f"单位：{statement.unit}"
    )


def statement_sheet(workbook: Any, statement: FundStatement, keeper: str) -> None:
    """The statement as a sheet named by its title (资产负债表, 收支表)."""
    s = Sheet(workbook.create_sheet(statement.title))
    s.text(f"{statement.title}（{statement.form}）", s.title_font)
    s.text(meta_line(statement, keeper))
    s.header(("项目", "行次", *statement.columns))
    s.sheet.freeze_panes = "A4"
    money = (None, None, *([MONEY_FORMAT] * len(statement.columns)))
    for line in statement.lines:
        if line.kind == "heading":
            s.values([line.label, None, *([None] * len(statement.columns))], money, total=True)
            continue
        s.values([line_label(line), line.row, *line.values], money, total=line.kind == "total")
    for warning in statement.warnings:
        s.text(f"提示：{warning}")
    s.widths((34, 8, *([18] * len(statement.columns))))


def statement_table(statement: FundStatement, keeper: str) -> str:
    """The statement as an HTML section: a heading, the form's line and the table."""
    head = "".join(f"<th>{escape(h)}</th>" for h in ("项目", "行次", *statement.columns))
    rows = [f"<tr>{head}</tr>"]
    for line in statement.lines:
        if line.kind == "heading":
            span = len(statement.columns) + 2
            rows.append(f'<tr class="total"><td colspan="{span}">{escape(line.label)}</td></tr>')
            continue
        cells = [f"<td>{escape(line_label(line))}</td>", f'<td class="num">{line.row}</td>']
        cells += [money_cell(v) for v in line.values]
        opening = '<tr class="total">' if line.kind == "total" else "<tr>"
        rows.append(opening + "".join(cells) + "</tr>")
    parts = [
        f"<h2>{escape(statement.title)}（{escape(statement.form)}）</h2>",
        f'<p class="meta">{escape(meta_line(statement, keeper))}</p>',
        "<table>",
        *rows,
        "</table>",
    ]
    parts += [f'<p class="note">提示：{escape(w)}</p>' for w in statement.warnings]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# the yearly statements (年报)


def year_dir(books_root: Path, year: int) -> Path:
    return books_root / "reports" / f"{year:04d}"


def render_year_xlsx(statements: Sequence[FundStatement], keeper: str, year: int) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for statement in statements:
        statement_sheet(workbook, statement, keeper)
    fixed = datetime.datetime(year, 12, 31)
    return saved_workbook(workbook, f"{keeper} 基金会计报表 {year}年度", fixed)


def render_year_html(statements: Sequence[FundStatement], keeper: str, year: int) -> str:
    title = f"{keeper}　基金会计报表　{year}年度"
    parts = page_head(title)
    parts += [f"<h1>{escape(title)}</h1>", *(statement_table(s, keeper) for s in statements)]
    parts += page_end()
    return "\n".join(parts)


def write_year_statements(
    statements: Sequence[FundStatement], keeper: str, year: int, out_dir: Path
) -> list[Path]:
    """Write ``fund-statements-<year>.xlsx`` and ``.html`` into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx = out_dir / f"fund-statements-{year:04d}.xlsx"
    page = out_dir / f"fund-statements-{year:04d}.html"
    atomic_write(xlsx, render_year_xlsx(statements, keeper, year))
    atomic_write(page, render_year_html(statements, keeper, year))
    return [xlsx, page]
