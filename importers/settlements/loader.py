"""Loading settlement exports into the register: validate, deduplicate, insert, all or nothing.

One call is one database transaction over all the files given: if any row of any file is
refused, nothing of any of them is written. Rows stream through in chunks, so memory does not
grow with the file: duplicates and refund originals are looked up in the register itself
(rows of the same import included, inside the open transaction).
"""

from __future__ import annotations

import datetime
import getpass
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, insert, select, update

from importers.imported_files import earlier_import, file_sha256, record_file
from importers.settlements.record import differing_fields, parse_settlement, same_settlement_key
from importers.settlements.refunds import check_refunds
from importers.settlements.results import (
    MAX_PROBLEMS_PER_FILE,
    FileSummary,
    HeldRow,
    ImportResult,
    Progress,
    plural,
    stored_location,
)
from importers.settlements.rows import read_settlements
from importers.settlements.rules import (
    REQUIRED_MONEY,
    REQUIRED_TEXT,
    SAME_SETTLEMENT_FIELDS,
)
from importers.sources import Source, SourceError, missing_columns, open_source
from ledger.money import ZERO
from ledger.problems import Problem
from ledger.register.batching import lock_for_import
from ledger.register.models import (
    MONEY_FIELDS,
    ClearingBatch,
    HeldSettlement,
    ImportedFile,
    Institution,
    Settlement,
    SettlementTotal,
)
from ledger.register.opening import bulk_insert
from ledger.register.partitions import ensure_partitions

CHUNK = 2000
SETTLEMENTS = Settlement.metadata.tables[Settlement.__tablename__]
SETTLEMENT_TOTALS = SettlementTotal.metadata.tables[SettlementTotal.__tablename__]


class _Known(NamedTuple):
    code: str
    name: str
    fixmedins_type: str
    medins_lv: str | None


class _Refused(Exception):
    """Raised inside the transaction to roll it back."""


def import_settlements(
    engine: Engine,
    paths: Iterable[Path],
    *,
    institution: str | None = None,
    progress: Progress | None = None,
    user: str | None = None,
    now: datetime.datetime | None = None,
    bulk: bool = True,
) -> ImportResult:
    """Import settlement exports; ``institution`` is the code for files that carry none
    (raw 2207 responses are one institution's export and do not name it).

    CSV exports of the plain shape go the bulk path (``bulk_loader``) unless ``bulk`` is
    False; whatever it does not take (another format, a row it would not accept exactly as
    this path does) comes here, row by row, where every problem is named with its line."""
    user = user or getpass.getuser()
    now = now or datetime.datetime.now().replace(microsecond=0)
    paths = list(paths)
    if bulk and institution is None:
        # Imported here, not at the top: the bulk path brings Arrow (about 35 MB and a third of
        # a second), which no other command needs.
        from importers.settlements.bulk_loader import bulk_import

        done = bulk_import(engine, paths, user=user, now=now, progress=progress)
        if done is not None:
            return done
    result = ImportResult([], [], 0)
    try:
        with engine.begin() as conn:
            for path in paths:
                summary = FileSummary(path, file_sha256(path))
                result.files.append(summary)
                _import_file(conn, summary, result, institution, progress, user, now)
            if result.problem_count == 0:
                check_refunds(conn, result)
            if result.problem_count:
                raise _Refused
    except _Refused:
        for summary in result.files:
            summary.inserted = 0
            summary.held.clear()
    return result


class FileImport:
    """State of one file's import: its row, the institutions it names, the chunk in hand."""

    def __init__(
        self,
        conn: Connection,
        summary: FileSummary,
        result: ImportResult,
        file_id: int,
        institution: str | None,
        *,
        hold_same: bool = True,
    ) -> None:
        self.conn = conn
        # False for a held row a person accepted: it is that held row, and it resembles another
        # settlement on purpose
        self.hold_same = hold_same
        self.summary = summary
        self.result = result
        self.file_id = file_id
        self.context_institution = institution
        self.institutions = {
            row.code: _Known(row.code, row.name, row.fixmedins_type, row.medins_lv)
            for row in conn.execute(
                select(
                    Institution.code,
                    Institution.name,
                    Institution.fixmedins_type,
                    Institution.medins_lv,
                )
            )
        }
        self.unknown_institutions: dict[str, tuple[str, int]] = {}
        self.chunk: dict[str, dict[str, Any]] = {}
        self.chunk_fields: dict[str, Mapping[str, Any]] = {}  # the chunk's rows as given
        self.posted = set(conn.execute(select(ClearingBatch.period).distinct()).scalars())
        self.partitions: set[str] = set()  # periods whose partition is known to exist
        # (setl_period, fixmedins_code, clr_type, med_type) -> [count, refunds, *MONEY_FIELDS]
        self.totals: dict[tuple[str, str, str, str], list[Any]] = {}

    def report(self, problem: Problem) -> None:
        self.summary.problem_count += 1
        self.result.problem_count += 1
        if self.summary.problem_count <= MAX_PROBLEMS_PER_FILE:
            self.result.problems.append(problem)

    def institution_of(self, record: dict[str, Any], location: str) -> bool:
        code = record["fixmedins_code"]
        known = self.institutions.get(code)
        if record["fixmedins_type"] is None:
            if known is None:
                first = self.unknown_institutions.get(code)
                count = first[1] + 1 if first else 1
                self.unknown_institutions[code] = (first[0] if first else location, count)
                return False
            record["fixmedins_name"] = record["fixmedins_name"] or known.name
            return True
        level = record["medins_lv"]
        if record["fixmedins_type"] == "1" and level is None:
            self.report(
                Problem(location, "medins_lv", "a medical institution needs its level", "", "1-3")
            )
            return False
        if known is None:
            if not record["fixmedins_name"]:
                self.report(
                    Problem(location, "fixmedins_name", "required field is empty", "", "a name")
                )
                return False
            known = _Known(code, record["fixmedins_name"], record["fixmedins_type"], level)
            self.conn.execute(
                insert(Institution).values(
                    code=known.code,
                    name=known.name,
                    fixmedins_type=known.fixmedins_type,
                    medins_lv=known.medins_lv,
                    spec_hosp=False,
                    admdvs=None,
                    source_file_id=self.file_id,
                )
            )
            self.institutions[code] = known
            return True
        for name, theirs in (
            ("fixmedins_type", known.fixmedins_type),
            ("medins_lv", known.medins_lv),
        ):
            if record[name] != theirs:
                self.report(
                    Problem(
                        location,
                        name,
                        f"differs from the register's institution {code}",
                        record[name] or "",
                        theirs or "empty",
                    )
                )
                return False
        record["fixmedins_name"] = record["fixmedins_name"] or known.name
        return True

    def add(self, record: dict[str, Any], line: int, fields: Mapping[str, Any]) -> None:
        record["file_id"] = self.file_id
        record["line"] = line
        same = self.chunk.get(record["setl_id"])
        if same is not None:
            self._same_setl_id(record, same, self.summary.path, self.summary.file_format)
            return
        self.chunk[record["setl_id"]] = record
        self.chunk_fields[record["setl_id"]] = fields
        if len(self.chunk) >= CHUNK:
            self.flush()

    def _same_setl_id(
        self, record: dict[str, Any], first: Mapping[str, Any], name: object, file_format: str
    ) -> None:
        """A setl_id seen before: identical content is skipped, other content refused."""
        changed = differing_fields(first, record)
        if not changed:
            self.summary.skipped_identical += 1
            return
        self.report(
            Problem(
                stored_location(self.summary.path, self.summary.file_format, record["line"]),
                "setl_id",
                f"the same setl_id as {stored_location(name, file_format, first['line'])}, "
                "with different "
                f"{', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}",
                record["setl_id"],
                "the same content or a new setl_id",
            )
        )

    def flush(self) -> None:
        if not self.chunk:
            return
        existing = self.conn.execute(
            select(Settlement.__table__, ImportedFile.name, ImportedFile.file_format)
            .join(ImportedFile, ImportedFile.id == Settlement.file_id)
            .where(Settlement.setl_id.in_(list(self.chunk)))
        ).all()
        for row in existing:
            first = dict(row._mapping)
            record = self.chunk.pop(first["setl_id"])
            self._same_setl_id(record, first, first["name"], first["file_format"])
        if self.hold_same:
            self._held_before()
            self._hold_same_settlements()
        if self.chunk:
            periods = {r["setl_period"] for r in self.chunk.values()} - self.partitions
            if periods:
                ensure_partitions(self.conn, periods)
                self.partitions |= periods
            bulk_insert(self.conn, SETTLEMENTS, list(self.chunk.values()))
            self._add_to_totals(self.chunk.values())
            self.summary.inserted += len(self.chunk)
            self.summary.posted_periods |= {
                r["setl_period"] for r in self.chunk.values() if r["setl_period"] in self.posted
            }
        self.chunk.clear()
        self.chunk_fields.clear()

    def _held_before(self) -> None:
        """Rows an earlier import held (or a person decided on) come again: identical ones are
        skipped, others refused, as for a setl_id in the register."""
        held = self.conn.execute(
            select(
                HeldSettlement.__table__,
                ImportedFile.name.label("file_name"),
                ImportedFile.file_format,
            )
            .join(ImportedFile, ImportedFile.id == HeldSettlement.file_id)
            .where(HeldSettlement.setl_id.in_(list(self.chunk)))
        ).all()
        for before in held:
            record = self.chunk.pop(before.setl_id)
            location = stored_location(before.file_name, before.file_format, before.line)
            first, _problems, _notices = parse_settlement(before.fields, location)
            if first is not None and not differing_fields(first, record):
                self.summary.already_held += 1
                continue
            self.report(
                Problem(
                    stored_location(self.summary.path, self.summary.file_format, record["line"]),
                    "setl_id",
                    f"the same setl_id as the settlement held at {location} "
                    f"({before.status}), with different content",
                    record["setl_id"],
                    "the same content or a new setl_id",
                )
            )

    def _hold_same_settlements(self) -> None:
        """Hold back the chunk's rows that repeat a settlement of the register, or an earlier
        row of this import, under another setl_id (visit, institution, person, time and
        amounts equal): a person decides (``mzledger held``), nothing is booked meanwhile."""
        if not self.chunk:
            return
        visits = {record["mdtrt_id"] for record in self.chunk.values()}
        columns = [getattr(Settlement, name) for name in SAME_SETTLEMENT_FIELDS]
        known: dict[tuple[Any, ...], tuple[str, str]] = {}
        for row in self.conn.execute(
            select(
                Settlement.setl_id,
                ImportedFile.name,
                ImportedFile.file_format,
                Settlement.line,
                *columns,
            )
            .join(ImportedFile, ImportedFile.id == Settlement.file_id)
            .where(Settlement.mdtrt_id.in_(visits))
            .order_by(Settlement.id)
        ):
            key = tuple(row[4:])
            known.setdefault(
                key, (row.setl_id, stored_location(row.name, row.file_format, row.line))
            )
        here = self.summary
        for setl_id, record in list(self.chunk.items()):
            if record["refd_setl_flag"]:
                continue  # a refund's rules refuse a second refund of one settlement
            key = same_settlement_key(record)
            location = stored_location(here.path, here.file_format, record["line"])
            same = known.get(key)
            if same is None:
                known[key] = (setl_id, location)
                continue
            del self.chunk[setl_id]
            self._hold(record, self.chunk_fields[setl_id], same)
            here.held.append(HeldRow(location, setl_id, *same))

    def _hold(
        self, record: Mapping[str, Any], fields: Mapping[str, Any], same: tuple[str, str]
    ) -> None:
        self.conn.execute(
            insert(HeldSettlement).values(
                file_id=self.file_id,
                line=record["line"],
                setl_id=record["setl_id"],
                same_as_setl_id=same[0],
                mdtrt_id=record["mdtrt_id"],
                psn_no=record["psn_no"],
                fixmedins_code=record["fixmedins_code"],
                setl_time=record["setl_time"],
                setl_period=record["setl_period"],
                medfee_sumamt=record["medfee_sumamt"],
                hifp_pay=record["hifp_pay"],
                fields=as_stored_fields(fields),
                status="held",
            )
        )

    def _add_to_totals(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Sum the inserted rows by batch key and med_type, exactly (Decimal)."""
        totals = self.totals
        for record in records:
            key = (
                record["setl_period"],
                record["fixmedins_code"],
                record["clr_type"],
                record["med_type"],
            )
            sums = totals.get(key)
            if sums is None:
                sums = totals[key] = [0, 0, *(ZERO for _ in MONEY_FIELDS)]
            sums[0] += 1
            if record["refd_setl_flag"]:
                sums[1] += 1
            for index, name in enumerate(MONEY_FIELDS, start=2):
                sums[index] += record[name]

    def write_totals(self) -> None:
        """The file's settlement_totals rows, one per (period, code, clr_type, med_type)."""
        rows = [
            {
                "file_id": self.file_id,
                "period": period,
                "fixmedins_code": code,
                "clr_type": clr_type,
                "med_type": med_type,
                "settlement_count": sums[0],
                "refund_count": sums[1],
                **dict(zip(MONEY_FIELDS, sums[2:], strict=True)),
            }
            for (period, code, clr_type, med_type), sums in sorted(self.totals.items())
        ]
        bulk_insert(self.conn, SETTLEMENT_TOTALS, rows)


def _import_file(
    conn: Connection,
    summary: FileSummary,
    result: ImportResult,
    institution: str | None,
    progress: Progress | None,
    user: str,
    now: datetime.datetime,
) -> None:
    path = summary.path
    source = _open_export(conn, summary, result)
    if source is None:
        return
    lock_for_import(conn)  # before the file id: a posting's file watermark must not pass it
    file_id = record_file(
        conn,
        kind="settlements",
        name=str(path),
        sha256=summary.sha256,
        file_format=source.file_format,
        user=user,
        now=now,
    )
    summary.file_id = file_id
    state = FileImport(conn, summary, result, file_id, institution)
    supplied = {"fixmedins_code"} if institution else set()
    missing = missing_columns(
        source, [c for c in (*REQUIRED_TEXT, *REQUIRED_MONEY) if c not in supplied]
    )
    if missing:
        source.close()
        for problem in missing:
            state.report(problem)
        return
    total = path.stat().st_size
    try:
        for count, row in enumerate(read_settlements(source, institution), start=1):
            summary.rows += 1
            for notice in row.notices:
                summary.notices[(notice.field, notice.value, notice.message)] += 1
            for problem in row.problems:
                state.report(problem)
            if row.record is not None and state.institution_of(row.record, row.location):
                state.add(row.record, row.number, row.fields or {})
            if progress is not None and count % 1000 == 0:
                progress(path, source.position(), total)
        state.flush()
        state.write_totals()
    finally:
        source.close()
    if progress is not None:
        progress(path, total, total)
    for code, (location, count) in sorted(state.unknown_institutions.items()):
        state.report(
            Problem(
                location,
                "fixmedins_code",
                f"institution unknown to the register and not described in the file "
                f"({plural(count, 'settlement')})",
                code,
                "a code of `mzledger import institutions` or fixmedins_type/medins_lv columns",
            )
        )
    if summary.rows == 0 and summary.problem_count == 0:
        state.report(Problem(f"{path}:1", "file", "no settlement rows", "", "at least one row"))
    conn.execute(
        update(ImportedFile)
        .where(ImportedFile.id == file_id)
        .values(
            row_count=summary.rows,
            inserted_count=summary.inserted,
            skipped_count=summary.skipped_identical,
        )
    )


def _open_export(conn: Connection, summary: FileSummary, result: ImportResult) -> Source | None:
    """The export opened for reading, or None: imported before (as settlements, which skips
    it, or as another kind of file, a problem) or unreadable (a problem)."""
    earlier = earlier_import(conn, summary.sha256)
    if earlier == "settlements":
        summary.already_imported = True
        return None
    try:
        if earlier is not None:
            raise SourceError(
                Problem(
                    str(summary.path),
                    "file",
                    "imported before as another kind of file",
                    earlier,
                    "settlements",
                )
            )
        source = open_source(summary.path)
    except SourceError as exc:
        summary.problem_count += 1
        result.problem_count += 1
        result.problems.append(exc.problem)
        return None
    summary.file_format = source.file_format
    return source


def as_stored_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A row's fields as JSON keeps them: text, and numbers of a JSON export as their text."""
    return {
        str(name): value if value is None or isinstance(value, str | bool | int) else str(value)
        for name, value in fields.items()
        if not str(name).startswith("_")
    }


__all__ = ["FileImport", "import_settlements"]
