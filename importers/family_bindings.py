"""Family bindings (家庭共济绑定, Anshan art. 13): whose personal account may pay for whom.

``mzledger import family-bindings FILE`` (CSV in UTF-8 or GB18030, or XLSX), one row per
binding: ``holder_psn_no, user_psn_no, relation, begndate, enddate``. The holder (账户持有人)
is the person whose personal account pays; the user (使用人) the person it pays for
(``acct_mulaid_pay`` of the user's settlements); ``relation`` what the user is to the holder
(spouse, parent, child, other); ISO dates, enddate inclusive, empty = open.

Every row is checked before the register is touched; one problem refuses the whole file.
Bindings add up as person records do: a binding already in the register is skipped, nothing
is deleted by a later file. Whether a holder or user is a flexible worker (no personal
account) is not in this file: the audit judges it (``reports.audit.rules.mutual_aid``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from importers.fields import code_problem
from importers.lists import ListImport, date_span, import_records, line_of
from ledger.problems import Problem
from ledger.register.models import FAMILY_RELATIONS, FamilyBinding

REQUIRED = ("holder_psn_no", "user_psn_no", "relation", "begndate", "enddate")
PSN_NO_LENGTH = 30  # the platform's psn_no (2207 setlinfo)


def parse_family_binding(
    raw: dict[str, Any], location: str
) -> tuple[dict[str, Any], list[Problem]]:
    """One row -> a ``family_bindings`` record; pure."""
    problems: list[Problem] = []
    record: dict[str, Any] = {}
    for name in ("holder_psn_no", "user_psn_no"):
        value = raw.get(name)
        record[name] = "" if value is None else str(value)  # a code: as the file has it
        if not record[name]:
            problems.append(Problem(location, name, "required field is empty", "", "a value"))
        elif (wrong := code_problem(record[name], PSN_NO_LENGTH)) is not None:
            problems.append(Problem(location, name, *wrong))
    if record["user_psn_no"] and record["user_psn_no"] == record["holder_psn_no"]:
        problems.append(
            Problem(
                location,
                "user_psn_no",
                "the holder themself: a binding is between two persons",
                record["user_psn_no"],
                "another person's psn_no",
            )
        )
    relation = raw.get("relation")
    record["relation"] = "" if relation is None else str(relation).strip()
    if record["relation"] not in FAMILY_RELATIONS:
        problems.append(
            Problem(
                location,
                "relation",
                "unknown relation",
                record["relation"],
                ", ".join(FAMILY_RELATIONS),
            )
        )
    dates, date_problems = date_span(raw, location)
    record.update(dates)
    problems += date_problems
    record["line"] = line_of(location)
    return record, problems


def import_family_bindings(
    engine: Engine, path: Path, *, user: str | None = None
) -> tuple[ListImport, list[Problem]]:
    """The file's bindings into the register (``importers.lists.import_records``)."""
    key = (
        FamilyBinding.user_psn_no,
        FamilyBinding.holder_psn_no,
        FamilyBinding.relation,
        FamilyBinding.begndate,
        FamilyBinding.enddate,
    )
    spec = ("family-bindings", REQUIRED, parse_family_binding)
    return import_records(engine, path, spec, FamilyBinding, key, user)


__all__ = ["REQUIRED", "import_family_bindings", "parse_family_binding"]
