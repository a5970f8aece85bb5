"""The monthly report written out: one XLSX workbook (``xlsx_workbook``) and one self-contained
HTML page (``html_page``), worded alike (``layout``).

``write_month_report(report, out_dir)`` writes ``fund-report-<period>.xlsx`` and
``fund-report-<period>.html`` into ``out_dir`` (the CLI passes ``<books>/reports/<period>/``),
each through a temporary file and a rename. Both are reproducible byte for byte: the HTML has
no timestamp, and the workbook's zip entries and document properties carry fixed dates.
"""

from __future__ import annotations

from pathlib import Path

from ledger.books import atomic_write
from reports.books.fund_report import MonthReport
from reports.books.html_page import render_html
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
