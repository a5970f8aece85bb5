"""``mzledger import fee-details FILE...``: fee details (费用明细) into the register.

The settlement import's rules (README, "Choices where the issue was silent"): every row of
every file is checked first, each problem as ``file:line: field: ...``; one problem refuses
the whole command and nothing of any file is written; the files go in one database
transaction; a file whose sha256 was imported before is skipped; an item already in the
register (its key: mdtrt_id, fixmedins_code, feedetl_sn) is skipped when identical and refuses
the import when it differs, naming where the first copy came from.

Items are not joined to their settlements here: the settlement may come after its items (and
an item's settlement may never come). Whether they add up is the audit's question
(``reports.audit.rules.fee_details``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from importers.fee_details.record import parse_fee_detail
from importers.fee_details.rules import ITEM_CONTENT, ITEM_KEY, REQUIRED_COLUMNS
from importers.lists import ListFile, ListImport, begin_file, end_file, read_list
from ledger.problems import Notice, Problem
from ledger.register.models import FeeDetail, ImportedFile

KIND = "fee-details"
VISITS_PER_QUERY = 500  # bound parameters per lookup of the register's items


@dataclass
class FeeDetailsImport:
    """What one command did: per file, rows read and items new; notices; or the problems."""

    files: list[ListImport] = field(default_factory=list)
    notices: list[tuple[str, Notice]] = field(default_factory=list)  # (location, notice)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Refused(Exception):
    """Raised inside the transaction so that nothing of it is kept."""


@dataclass(frozen=True)
class _Seen:
    where: str  # file:line of the first copy
    content: tuple[Any, ...]


def _read(path: Path, result: FeeDetailsImport) -> ListFile:
    def parse(raw: dict[str, Any], location: str) -> tuple[dict[str, Any], list[Problem]]:
        record, problems, notices = parse_fee_detail(raw, location)
        result.notices.extend((location, notice) for notice in notices)
        return record or {}, problems

    return read_list(path, REQUIRED_COLUMNS, parse)


def import_fee_details(
    engine: Engine, paths: Sequence[Path], *, user: str | None = None
) -> FeeDetailsImport:
    """The files' items into the register, all in one transaction, or nothing."""
    result = FeeDetailsImport()
    listed = [_read(path, result) for path in paths]
    for one in listed:
        result.problems += one.problems
    if result.problems:
        return result
    try:
        with engine.begin() as conn:
            seen: dict[tuple[str, ...], _Seen] = {}
            for one in listed:
                result.files.append(_import_file(conn, one, seen, user, result.problems))
            if result.problems:
                raise _Refused
    except _Refused:
        result.files = []
    skipped = {str(f.path) for f in result.files if f.already_imported}
    result.notices = [
        (where, notice)
        for where, notice in result.notices
        if where.rsplit(":", 1)[0] not in skipped
    ]
    return result


def _import_file(
    conn: Connection,
    listed: ListFile,
    seen: dict[tuple[str, ...], _Seen],
    user: str | None,
    problems: list[Problem],
) -> ListImport:
    summary = ListImport(listed.path, rows=listed.rows)
    file_id = begin_file(conn, KIND, listed, user)
    if file_id is None:
        problems += listed.problems  # imported before as another kind
        summary.already_imported = not listed.problems
        return summary
    records = [record for _location, record in listed.records]
    seen.update(_in_register(conn, {r["mdtrt_id"] for r in records} - {k[0] for k in seen}))
    new = []
    for location, record in listed.records:
        key = tuple(record[name] for name in ITEM_KEY)
        content = tuple(record[name] for name in ITEM_CONTENT)
        first = seen.get(key)
        if first is None:
            seen[key] = _Seen(location, content)
            new.append({**record, "file_id": file_id})
        elif first.content != content:
            differ = [
                n for n, a, b in zip(ITEM_CONTENT, first.content, content, strict=True) if a != b
            ]
            problems.append(
                Problem(
                    location,
                    "feedetl_sn",
                    f"the same item as {first.where}, with different {', '.join(differ)}",
                    record["feedetl_sn"],
                    "the same content or a new feedetl_sn",
                )
            )
    if new:
        conn.execute(insert(FeeDetail), new)
    summary.written = len(new)
    end_file(conn, file_id, summary.written, summary.rows)
    return summary


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
