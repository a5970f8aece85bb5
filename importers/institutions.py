"""The institution list (定点医药机构名单): code, name, type, level, specialty, region.

``mzledger import institutions FILE`` (CSV or XLSX). The list is authoritative: a row replaces
what the register knew of that code. All rows are checked before anything is written.
"""

from __future__ import annotations

import datetime
import getpass
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from ledger.models import ImportedFile, Institution

from .loader import earlier_import, file_sha256
from .problems import Problem
from .sources import SourceError, open_source, shape_problem

COLUMNS = ("fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv", "spec_hosp", "admdvs")
REQUIRED = ("fixmedins_code", "fixmedins_name", "fixmedins_type")


@dataclass
class InstitutionImport:
    path: Path
    rows: int = 0
    written: int = 0
    already_imported: bool = False


def parse_institution(raw: dict[str, Any], location: str) -> tuple[dict[str, Any], list[Problem]]:
    """One list row -> an ``institutions`` record; pure."""

    def text(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value).strip()

    problems: list[Problem] = []
    for name in REQUIRED:
        if not text(name):
            problems.append(Problem(location, name, "required field is empty", "", "a value"))
    kind, level, spec, admdvs = (
        text(n) for n in ("fixmedins_type", "medins_lv", "spec_hosp", "admdvs")
    )
    if kind and kind not in ("1", "2"):
        problems.append(
            Problem(location, "fixmedins_type", "unknown institution type", kind, "1 or 2")
        )
    if kind == "1" and level not in ("1", "2", "3"):
        problems.append(
            Problem(
                location, "medins_lv", "a medical institution needs its level", level, "1, 2 or 3"
            )
        )
    if kind == "2" and level:
        problems.append(Problem(location, "medins_lv", "a pharmacy has no level", level, "empty"))
    if spec not in ("", "0", "1"):
        problems.append(Problem(location, "spec_hosp", "not a flag", spec, "0, 1 or empty"))
    if admdvs and not re.fullmatch(r"\d{6}", admdvs):
        problems.append(
            Problem(location, "admdvs", "not a region code", admdvs, "6 digits or empty")
        )
    record = {
        "code": text("fixmedins_code"),
        "name": text("fixmedins_name"),
        "fixmedins_type": kind,
        "medins_lv": level or None,
        "spec_hosp": spec == "1",
        "admdvs": admdvs or None,
    }
    return record, problems


def import_institutions(
    engine: Engine, path: Path, *, user: str | None = None
) -> tuple[InstitutionImport, list[Problem]]:
    summary = InstitutionImport(path)
    sha = file_sha256(path)
    try:
        source = open_source(path)
    except SourceError as exc:
        return summary, [exc.problem]
    records: dict[str, dict[str, Any]] = {}  # an institution list is small: thousands of rows
    problems: list[Problem] = []
    try:
        missing = [c for c in REQUIRED if source.columns is not None and c not in source.columns]
        if missing:
            return summary, [
                Problem(
                    f"{path}:1",
                    name,
                    "required column missing from the header",
                    "",
                    f"a column {name}",
                )
                for name in missing
            ]
        for raw in source.rows:
            summary.rows += 1
            unreadable = shape_problem(raw)
            if unreadable is not None:
                problems.append(unreadable)
                continue
            record, row_problems = parse_institution(raw.fields, raw.location)
            problems += row_problems
            if record["code"] in records and records[record["code"]] != record:
                problems.append(
                    Problem(
                        raw.location,
                        "fixmedins_code",
                        "listed twice with different data",
                        record["code"],
                        "once",
                    )
                )
            records[record["code"]] = record
    finally:
        source.close()
    if problems:
        return summary, problems
    with engine.begin() as conn:
        earlier = earlier_import(conn, sha)
        if earlier == "institutions":
            summary.already_imported = True
            return summary, []
        if earlier is not None:
            problem = Problem(
                str(path),
                "file",
                "imported before as another kind of file",
                earlier,
                "institutions",
            )
            return summary, [problem]
        file_id = conn.execute(
            insert(ImportedFile)
            .values(
                kind="institutions",
                name=str(path),
                sha256=sha,
                file_format=source.file_format,
                row_count=summary.rows,
                inserted_count=0,  # set below, once known
                skipped_count=0,
                imported_at=datetime.datetime.now().replace(microsecond=0),
                imported_by=user or getpass.getuser(),
            )
            .returning(ImportedFile.id)
        ).scalar_one()
        known = {
            row.code: row
            for row in conn.execute(
                select(
                    Institution.code,
                    Institution.name,
                    Institution.fixmedins_type,
                    Institution.medins_lv,
                    Institution.spec_hosp,
                    Institution.admdvs,
                )
            )
        }
        for code, record in sorted(records.items()):
            old = known.get(code)
            if old is not None and tuple(old[1:]) == (
                record["name"],
                record["fixmedins_type"],
                record["medins_lv"],
                record["spec_hosp"],
                record["admdvs"],
            ):
                continue
            if old is None:
                conn.execute(insert(Institution).values(**record, source_file_id=file_id))
            else:  # settlements refer to the code: change the row in place
                conn.execute(
                    update(Institution)
                    .where(Institution.code == code)
                    .values(**record, source_file_id=file_id)
                )
            summary.written += 1
        conn.execute(
            update(ImportedFile)
            .where(ImportedFile.id == file_id)
            .values(inserted_count=summary.written, skipped_count=summary.rows - summary.written)
        )
    return summary, []
