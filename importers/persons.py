"""Person records (人员备案): 异地长期居住备案, 转诊转院备案, and arrears periods (欠费期间).

``mzledger import persons FILE`` (CSV or XLSX), one row per record: ``psn_no, record,
begndate, enddate`` (ISO dates, enddate inclusive, empty = open). Records add up: a record
already in the register is skipped; nothing is deleted by a later file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from importers.fields import code_problem
from importers.lists import ListImport, date_span, import_records
from ledger.problems import Problem
from ledger.register.models import PERSON_RECORDS, PersonRecord

REQUIRED = ("psn_no", "record", "begndate", "enddate")


def parse_person_record(raw: dict[str, Any], location: str) -> tuple[dict[str, Any], list[Problem]]:
    """One row -> a ``person_records`` record; pure."""

    def text(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value).strip()

    problems: list[Problem] = []
    psn_no = raw.get("psn_no")
    record: dict[str, Any] = {
        "psn_no": "" if psn_no is None else str(psn_no),  # a code: as the file has it
        "record": text("record"),
    }
    if not record["psn_no"]:
        problems.append(Problem(location, "psn_no", "required field is empty", "", "a value"))
    elif (wrong := code_problem(record["psn_no"], 30)) is not None:
        problems.append(Problem(location, "psn_no", *wrong))
    if record["record"] not in PERSON_RECORDS:
        problems.append(
            Problem(
                location,
                "record",
                "unknown kind of record",
                record["record"],
                ", ".join(PERSON_RECORDS),
            )
        )
    dates, date_problems = date_span(raw, location)
    record.update(dates)
    problems += date_problems
    return record, problems


def import_persons(
    engine: Engine, path: Path, *, user: str | None = None
) -> tuple[ListImport, list[Problem]]:
    """The file's records into the register (``importers.lists.import_records``)."""
    key = (PersonRecord.psn_no, PersonRecord.record, PersonRecord.begndate, PersonRecord.enddate)
    spec = ("persons", REQUIRED, parse_person_record)
    return import_records(engine, path, spec, PersonRecord, key, user)
