"""A statement file's text, and that text cut into title lines, header and rows.

The encoding is detected as for settlement exports (``importers.sources``: UTF-8, UTF-8 with
BOM or GB18030) and the delimiter sniffed from the header row. Banks print a title (账号, 户名,
the period) above the header; the layout's ``skip_rows`` says how many lines of it to step over.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from importers.sources import (
    SAMPLE_BYTES,
    csv_dialect,
    decode_sample,
    detect_encoding,
    read_sample,
    whole_lines,
)
from importers.statements.layouts import BankLayout
from ledger.problems import Problem

if TYPE_CHECKING:
    import _csv


@dataclass
class Table:
    """A statement's text cut into the part above the header, the header and the rows."""

    title: str  # the lines above the header (skipped, and blank), as text
    header_line: int
    header: tuple[str, ...]
    reader: _csv.Reader
    offset: int  # physical lines before the reader's first line

    def line(self) -> int:
        """The physical line the reader stands on (a quoted value may span lines)."""
        return self.offset + self.reader.line_num


def read_table(path: Path, text: str, layout: BankLayout) -> Table | Problem:
    """``text`` below the layout's title lines: the header row found, the reader on the row
    after it; or the problem when there is no header row."""
    buffer = io.StringIO(text, newline="")
    skipped = [buffer.readline() for _ in range(layout.skip_rows)]
    rest = buffer.read()
    first = next((line for line in rest.splitlines() if line.strip()), None)
    if first is None or "" in skipped:
        where = f"below the {layout.skip_rows} title line(s) the layout skips"
        return Problem(
            f"{path}:1",
            "header",
            "empty file" if not text.strip() else f"no header row {where}",
            "",
            f"a header row with the columns of layout {layout.name}",
        )
    reader = csv.reader(io.StringIO(rest, newline=""), csv_dialect(first))
    table = Table("".join(skipped), 0, (), reader, layout.skip_rows)
    for values in reader:
        if any(v.strip() for v in values):
            table.header_line = table.line()
            table.header = tuple(v.strip() for v in values)
            break
        table.title += "\n"
    return table


def header_problems(path: Path, table: Table, layout: BankLayout) -> list[Problem]:
    """One problem per column of the layout the header lacks or holds twice (case ignored)."""
    where = f"{path}:{table.header_line}"
    names = [h.casefold() for h in table.header]
    problems: list[Problem] = []
    wanted = layout.columns()
    hint = ""
    if not any(column.casefold() in names for column in wanted):
        hint = f" (line {table.header_line} has none of them: title lines above it? skip_rows)"
    for column in wanted:
        count = names.count(column.casefold())
        if count == 0:
            problems.append(
                Problem(
                    where,
                    column,
                    f"column of layout {layout.name} missing from the header{hint}",
                    "",
                    f"a column {column}",
                )
            )
        elif count > 1:
            problems.append(
                Problem(where, column, "column twice in the header", f"{count} times", "once")
            )
    return problems


def decode(path: Path, raw: bytes) -> str | Problem:
    """A whole statement file as text, or the problem naming the line it stops being text."""
    sample = raw[:SAMPLE_BYTES]
    if len(raw) > SAMPLE_BYTES:
        sample = whole_lines(sample)
    expected = "UTF-8, UTF-8 with BOM or GB18030"
    try:
        encoding = detect_encoding(sample)
    except ValueError as exc:
        return Problem(f"{path}:1", "encoding", str(exc), "", expected)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        found = raw[exc.start : exc.end].hex(" ")
        return Problem(f"{path}:{line}", "encoding", f"not valid {encoding} text", found, expected)


def read_head(path: Path, layout: BankLayout) -> Table | None:
    """The header of a file read with ``layout``, from its first 64 KiB; None if unreadable."""
    try:
        with path.open("rb") as handle:
            sample = read_sample(handle)
    except OSError:
        return None
    try:
        encoding = detect_encoding(sample)
    except ValueError:
        return None
    table = read_table(path, decode_sample(sample, encoding), layout)
    return None if isinstance(table, Problem) else table
