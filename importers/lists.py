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

from sqlalchemy import Connection, Engine, insert, select, update

from importers.imported_files import earlier_import, file_sha256, record_file
from importers.sources import (
    Source,
    SourceError,
    missing_columns,
    open_source,
    shape_problem,
)
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


def open_list(path: Path, required: Sequence[str]) -> tuple[ListFile, Source | None]:
    """The file's sha256 and format, and its rows to read; no rows (None) when it cannot be
    opened or lacks a required column, the problems in the ListFile."""
    result = ListFile(path, file_sha256(path))
    try:
        source = open_source(path)
    except SourceError as exc:
        result.problems.append(exc.problem)
        return result, None
    result.file_format = source.file_format
    result.problems += missing_columns(source, required)
    if result.problems:
        source.close()
        return result, None
    return result, source


def read_list(path: Path, required: Sequence[str], parse: RowParser) -> ListFile:
    """Every row parsed; problems collected for the whole file."""
    result, source = open_list(path, required)
    if source is None:
        return result
    try:
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
    """The file's counts once it is read: rows, rows written, the others skipped."""
    conn.execute(
        update(ImportedFile)
        .where(ImportedFile.id == file_id)
        .values(row_count=rows, inserted_count=written, skipped_count=rows - written)
    )


def import_records(
    engine: Engine,
    path: Path,
    spec: tuple[str, Sequence[str], RowParser],
    table: Any,
    key: Sequence[Any],
    user: str | None,
) -> tuple[ListImport, list[Problem]]:
    """A list of dated records (``spec``: its kind, required columns and row parser) into
    ``table``, in one transaction: nothing when any row is refused, nothing new when these
    bytes were imported before (sha256); a record already in the register (the same ``key``
    columns) is kept once."""
    kind, required, parse = spec
    listed = read_list(path, required, parse)
    summary = ListImport(path, rows=listed.rows)
    if listed.problems:
        return summary, listed.problems
    with engine.begin() as conn:
        file_id = begin_file(conn, kind, listed, user)
        if file_id is None:
            summary.already_imported = not listed.problems
            return summary, listed.problems
        known = {tuple(row) for row in conn.execute(select(*key))}
        for _location, record in listed.records:
            identity = tuple(record[column.key] for column in key)
            if identity in known:
                continue
            known.add(identity)
            conn.execute(insert(table).values(**record, file_id=file_id))
            summary.written += 1
        end_file(conn, file_id, summary.written, summary.rows)
    return summary, []
