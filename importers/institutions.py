"""The institution list (定点医药机构名单): code, name, type, level, specialty, region.

``mzledger import institutions FILE`` (CSV or XLSX). The list is authoritative: a row replaces
what the register knew of that code. All rows are checked before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from importers.fields import code_problem, text_problem
from importers.lists import ListImport, begin_file, end_file, read_list
from ledger.problems import Problem
from ledger.register.models import Institution

COLUMNS = ("fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv", "spec_hosp", "admdvs")
REQUIRED = ("fixmedins_code", "fixmedins_name", "fixmedins_type")
FIELD_LENGTHS = {"fixmedins_code": 30, "fixmedins_name": 200}  # as in settlements


def parse_institution(raw: dict[str, Any], location: str) -> tuple[dict[str, Any], list[Problem]]:
    """One list row -> an ``institutions`` record; pure."""

    def text(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value).strip()

    def exact(name: str) -> str:  # a code or a name: as the file has it (importers.fields)
        value = raw.get(name)
        return "" if value is None else str(value)

    problems: list[Problem] = []
    for name in REQUIRED:
        if not exact(name):
            problems.append(Problem(location, name, "required field is empty", "", "a value"))
    for name, check in (("fixmedins_code", code_problem), ("fixmedins_name", text_problem)):
        wrong = check(exact(name), FIELD_LENGTHS[name]) if exact(name) else None
        if wrong is not None:
            problems.append(Problem(location, name, *wrong))
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
        "code": exact("fixmedins_code"),
        "name": exact("fixmedins_name"),
        "fixmedins_type": kind,
        "medins_lv": level or None,
        "spec_hosp": spec == "1",
        "admdvs": admdvs or None,
    }
    return record, problems


def import_institutions(
    engine: Engine, path: Path, *, user: str | None = None
) -> tuple[ListImport, list[Problem]]:
    listed = read_list(path, REQUIRED, parse_institution)
    summary = ListImport(path, rows=listed.rows)
    records: dict[str, dict[str, Any]] = {}
    for location, record in listed.records:
        if records.get(record["code"], record) != record:
            listed.problems.append(
                Problem(
                    location,
                    "fixmedins_code",
                    "listed twice with different data",
                    record["code"],
                    "once",
                )
            )
        records[record["code"]] = record
    if listed.problems:
        return summary, listed.problems
    with engine.begin() as conn:
        file_id = begin_file(conn, "institutions", listed, user)
        if file_id is None:
            summary.already_imported = not listed.problems
            return summary, listed.problems
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
                    Institution.listed,
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
                True,
            ):
                continue
            values = {**record, "listed": True, "source_file_id": file_id}
            if old is None:
                conn.execute(insert(Institution).values(**values))
            else:  # settlements refer to the code: change the row in place
                conn.execute(update(Institution).where(Institution.code == code).values(**values))
            summary.written += 1
        end_file(conn, file_id, summary.written, summary.rows)
    return summary, []
