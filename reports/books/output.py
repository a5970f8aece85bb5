"""The monthly report written out: one XLSX workbook (``xlsx_workbook``) and one self-contained
HTML page (``html_page``), worded alike (``layout``).

``write_year_report(main_file, chart, year)`` writes the year's statements (年报:
``statement_output``) into ``<books>/reports/<year>/``.

``write_month_report(report, out_dir)`` writes ``fund-report-<period>.xlsx`` and
``fund-report-<period>.html`` into ``out_dir`` (the CLI passes ``<books>/reports/<period>/``),
each through a temporary file and a rename. Both are reproducible byte for byte: the HTML has
no timestamp, and the workbook's zip entries and document properties carry fixed dates.
"""

from __future__ import annotations

from pathlib import Path

from ledger.books import atomic_write
from ledger.chart import Chart
from ledger.loading import error_text, load_books
from reports.books.fund_report import MonthReport
from reports.books.fund_statements import fund_statements
from reports.books.html_page import render_html
from reports.books.statement_output import write_year_statements, year_dir
from reports.books.xlsx_workbook import render_xlsx


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


def write_year_report(main_file: Path, chart: Chart, year: int) -> tuple[list[Path], list[str]]:
    """The year's 资产负债表 and 收支表 from the books, written; their paths and the notes."""
    books = load_books(main_file)
    statements = fund_statements(books, chart, year)
    root = main_file.parent
    notes = [f"账簿加载错误：{error_text(e, root)}" for e in books.errors]
    notes += [f"{s.title}：{w}" for s in statements for w in s.warnings]
    paths = write_year_statements(statements, books.title, year, year_dir(root, year))
    return paths, notes
