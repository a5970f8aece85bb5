"""Small reference lists (institutions, person records): read whole, checked, then written.

Such lists hold thousands of rows, not millions, so they are read into memory and every row
is checked before the register is touched.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, update

from importers.imported_files import earlier_import, file_sha256, record_file
from importers.sources import SourceError, missing_columns, open_source, shape_problem
from ledger.problems import Problem
from ledger.register.models import ImportedFile

RowParser = Callable[[dict[str, Any], str], tuple[dict[str, Any], list[Problem]]]


@dataclass
class ListFile:
    path: Path
    sha256: str = ""
    file_format: str = ""
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (location, record)
    problems: list[Problem] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.records)


@dataclass
class ListImport:
    """What an import of a list did: rows read, rows new or changed, or nothing (same bytes)."""

    path: Path
    rows: int = 0
    written: int = 0
    already_imported: bool = False


def read_list(path: Path, required: Sequence[str], parse: RowParser) -> ListFile:
    """Every row parsed; problems collected for the whole file."""
    result = ListFile(path, file_sha256(path))
    try:
        source = open_source(path)
    except SourceError as exc:
        result.problems.append(exc.problem)
        return result
    result.file_format = source.file_format
    try:
        result.problems += missing_columns(source, required)
        if result.problems:
            return result
        for raw in source.rows:
            unreadable = shape_problem(raw)
            if unreadable is not None:
                result.problems.append(unreadable)
                continue
            record, problems = parse(raw.fields, raw.location)
            result.problems += problems
            result.records.append((raw.location, record))
    finally:
        source.close()
    if not result.records and not result.problems:
        result.problems.append(Problem(f"{path}:1", "file", "no rows", "", "at least one row"))
    return result


def begin_file(conn: Connection, kind: str, listed: ListFile, user: str | None) -> int | None:
    """Register the file being imported; None when these bytes were imported as this kind
    before. A problem is added when they were imported as another kind."""
    earlier = earlier_import(conn, listed.sha256)
    if earlier == kind:
        return None
    if earlier is not None:
        listed.problems.append(
            Problem(
                str(listed.path), "file", "imported before as another kind of file", earlier, kind
            )
        )
        return None
    return record_file(
        conn,
        kind=kind,
        name=str(listed.path),
        sha256=listed.sha256,
        file_format=listed.file_format,
        rows=listed.rows,
        user=user,
    )


def _iso_date(text: str) -> datetime.date:
    if len(text) != 10:
        raise ValueError(text)
    return datetime.date.fromisoformat(text)


def date_span(raw: dict[str, Any], location: str) -> tuple[dict[str, Any], list[Problem]]:
    """A row's ``begndate`` (required) and ``enddate`` (empty: open), ISO dates, the end
    inclusive and not before the beginning; pure."""
    problems: list[Problem] = []
    span: dict[str, Any] = {}
    for name, required in (("begndate", True), ("enddate", False)):
        value = raw.get(name)
        text = "" if value is None else str(value).strip()
        span[name] = None
        if not text:
            if required:
                problems.append(Problem(location, name, "required date is empty", "", "yyyy-MM-dd"))
            continue
        try:
            span[name] = _iso_date(text)
        except ValueError:
            problems.append(Problem(location, name, "not a date", text, "yyyy-MM-dd"))
    if span["begndate"] and span["enddate"] and span["enddate"] < span["begndate"]:
        problems.append(
            Problem(
                location,
                "enddate",
                "ends before it begins",
                str(span["enddate"]),
                f"{span['begndate']} or later",
            )
        )
    return span, problems


def line_of(location: str) -> int:
    """The line (or row, or record) number a row's location ends with: ``f.csv:12`` -> 12."""
    tail = location.rsplit(":", 1)[-1].rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def end_file(conn: Connection, file_id: int, written: int, rows: int) -> None:
    conn.execute(
        update(ImportedFile)
        .where(ImportedFile.id == file_id)
        .values(inserted_count=written, skipped_count=rows - written)
    )
