"""``mzledger import fee-details FILE...``: fee details (费用明细) into the register.

The settlement import's rules (README, "Choices where the issue was silent"): every row of
every file is checked, each problem as ``file:line: field: ...``; one problem refuses the
whole command and nothing of any file is written; the files go in one database transaction,
streamed (a month of a city's items is millions of rows: memory does not grow with them); a
file whose sha256 was imported before is skipped; an item already in the
register (its key: mdtrt_id, fixmedins_code, feedetl_sn) is skipped when identical and refuses
the import when it differs, naming where the first copy came from.

Items are not joined to their settlements here: the settlement may come after its items (and
an item's settlement may never come). Whether they add up is the audit's question
(``reports.audit.rules.fee_details``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from importers.fee_details.record import parse_fee_detail
from importers.fee_details.rules import ITEM_CONTENT, ITEM_KEY, REQUIRED_COLUMNS
from importers.lists import ListImport, begin_file, end_file, open_list
from importers.settlements.results import MAX_PROBLEMS_PER_FILE
from importers.sources import shape_problem
from ledger.problems import Notice, Problem
from ledger.register.models import FeeDetail, ImportedFile

KIND = "fee-details"
VISITS_PER_QUERY = 500  # bound parameters per lookup of the register's items


#: Items checked against the register and written at a time: memory does not grow with the file.
CHUNK = 5000


@dataclass
class FeeDetailsImport:
    """What one command did: per file, rows read and items new; notices (the first item of
    each, and how many items had it); or the problems (at most MAX_PROBLEMS_PER_FILE a file)."""

    files: list[ListImport] = field(default_factory=list)
    notices: list[tuple[str, Notice]] = field(default_factory=list)  # (location, notice)
    notice_counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def notice(self, location: str, notice: Notice) -> None:
        key = (notice.field, notice.value, notice.message)
        if not self.notice_counts[key]:
            self.notices.append((location, notice))
        self.notice_counts[key] += 1


class _Refused(Exception):
    """Raised inside the transaction so that nothing of it is kept."""


@dataclass(frozen=True)
class _Seen:
    where: str  # file:line of the first copy
    content: tuple[Any, ...]


def import_fee_details(
    engine: Engine, paths: Sequence[Path], *, user: str | None = None
) -> FeeDetailsImport:
    """The files' items into the register, all in one transaction, or nothing. Each file is
    streamed: its items are checked and written CHUNK at a time, a problem anywhere refuses the
    whole command (the transaction is rolled back)."""
    result = FeeDetailsImport()
    try:
        with engine.begin() as conn:
            for path in paths:
                result.files.append(_import_file(conn, path, user, result))
            if result.problems:
                raise _Refused
    except _Refused:
        result.files = []
    return result


def _import_file(
    conn: Connection, path: Path, user: str | None, result: FeeDetailsImport
) -> ListImport:
    summary = ListImport(path)
    listed, source = open_list(path, REQUIRED_COLUMNS)
    if source is None:
        result.problems += listed.problems
        return summary
    try:
        file_id = begin_file(conn, KIND, listed, user)
        if file_id is None:
            result.problems += listed.problems  # imported before as another kind
            summary.already_imported = not listed.problems
            return summary
        _stream(conn, source, file_id, summary, result)
    finally:
        source.close()
    if summary.rows == 0:
        result.problems.append(Problem(f"{path}:1", "file", "no rows", "", "at least one row"))
    end_file(conn, file_id, summary.written, summary.rows)
    return summary


def _stream(
    conn: Connection, source: Any, file_id: int, summary: ListImport, result: FeeDetailsImport
) -> None:
    """Every row of the file checked; the good ones written, CHUNK at a time."""
    problems = _Problems(result)
    chunk: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}
    for raw in source.rows:
        summary.rows += 1
        unreadable = shape_problem(raw)
        if unreadable is not None:
            problems.add(unreadable)
            continue
        record, found, notices = parse_fee_detail(raw.fields, raw.location)
        for notice in notices:
            result.notice(raw.location, notice)
        for problem in found:
            problems.add(problem)
        if record is None or found:
            continue
        key = tuple(record[name] for name in ITEM_KEY)
        first = chunk.get(key)
        if first is not None:
            _same_item(raw.location, record, first[0], first[1], problems)
            continue
        chunk[key] = (raw.location, {**record, "file_id": file_id})
        if len(chunk) >= CHUNK:
            summary.written += _flush(conn, chunk, problems)
    summary.written += _flush(conn, chunk, problems)


class _Problems:
    """A file's problems into the result, at most MAX_PROBLEMS_PER_FILE of them kept (and how
    many more there were, as the last)."""

    def __init__(self, result: FeeDetailsImport) -> None:
        self.result = result
        self.count = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if self.count <= MAX_PROBLEMS_PER_FILE:
            self.result.problems.append(problem)
        elif self.count == MAX_PROBLEMS_PER_FILE + 1:
            self.result.problems.append(
                Problem(
                    problem.location.rsplit(":", 1)[0],
                    "file",
                    f"more problems than the {MAX_PROBLEMS_PER_FILE} shown",
                    "",
                    "a file with none",
                )
            )


def _same_item(
    location: str,
    record: dict[str, Any],
    where: str,
    first: dict[str, Any],
    problems: _Problems,
) -> None:
    """An item whose key was seen before: identical content is skipped, other refused."""
    differ = [n for n in ITEM_CONTENT if first[n] != record[n]]
    if differ:
        problems.add(
            Problem(
                location,
                "feedetl_sn",
                f"the same item as {where}, with different {', '.join(differ)}",
                record["feedetl_sn"],
                "the same content or a new feedetl_sn",
            )
        )


def _flush(
    conn: Connection,
    chunk: dict[tuple[Any, ...], tuple[str, dict[str, Any]]],
    problems: _Problems,
) -> int:
    """The chunk's items against the register's (earlier chunks' included: they are written
    in this transaction); the new ones written. Returns how many."""
    seen = _in_register(conn, {key[0] for key in chunk})
    new = []
    for key, (location, record) in chunk.items():
        first = seen.get(key)
        if first is None:
            new.append(record)
        else:
            stored = dict(zip(ITEM_CONTENT, first.content, strict=True))
            _same_item(location, record, first.where, stored, problems)
    if new:
        conn.execute(insert(FeeDetail), new)
    chunk.clear()
    return len(new)


def _in_register(conn: Connection, visits: Iterable[str]) -> dict[tuple[str, ...], _Seen]:
    """The register's items of these visits, by their key, with where each came from."""
    wanted = sorted(visits)
    found: dict[tuple[str, ...], _Seen] = {}
    columns = [getattr(FeeDetail, name) for name in (*ITEM_KEY, *ITEM_CONTENT)]
    for start in range(0, len(wanted), VISITS_PER_QUERY):
        chunk = wanted[start : start + VISITS_PER_QUERY]
        query = (
            select(*columns, ImportedFile.name, FeeDetail.line)
            .join(ImportedFile, ImportedFile.id == FeeDetail.file_id)
            .where(FeeDetail.mdtrt_id.in_(chunk))
        )
        for row in conn.execute(query):
            values = tuple(row)
            key, content = values[: len(ITEM_KEY)], values[len(ITEM_KEY) : -2]
            found[key] = _Seen(f"{values[-2]}:{values[-1]}", content)
    return found


__all__ = ["KIND", "FeeDetailsImport", "import_fee_details"]
