"""The workbooks' shared make: number formats, the styled sheet writer, reproducible zips.

Every value goes into a cell through ``reports.spreadsheet.set_value`` (text stays text)."""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Sequence
from typing import Any

from reports.spreadsheet import set_value

MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"
#: Fixed date for the workbook's zip entries (the zip format's earliest date).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def saved_workbook(workbook: Any, title: str, fixed: datetime.datetime) -> bytes:
    """The workbook's bytes, reproducible: fixed properties and zip dates (``fixed``)."""
    workbook.properties.creator = "mzledger"
    workbook.properties.title = title
    workbook.properties.created = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return reproducible_zip(buffer.getvalue(), fixed)


def reproducible_zip(data: bytes, fixed: datetime.datetime) -> bytes:
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


class Sheet:
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
