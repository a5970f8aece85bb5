"""Contributions (征缴明细): a month's collection detail, person by person.

``mzledger import contributions FILE --received-on DATE``: a CSV (UTF-8 or GB18030) or XLSX
with the columns period, psn_no, psn_type, contribution_base, employer_amount,
employee_amount; one row per insured person and month, retirees with zero amounts. Every row
is checked (a month, a platform code, a known 人员类别, amounts of at most 2 decimals and never
negative, nothing paid for a retiree), then the file (one month, each person once, and nobody
of that month already in the register). Nothing is written unless all of it holds; the split
between the sub-funds is the posting's (``postings.contributions``).
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from importers.fields import code_problem
from importers.lists import ListFile, begin_file, end_file, line_of, read_list
from importers.settlements.rules import KNOWN_PSN_TYPES
from ledger.money import ZERO, parse_amount
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.models import ContributionRow, ImportedFile

KIND = "contributions"
COLUMNS = (
    "period",
    "psn_no",
    "psn_type",
    "contribution_base",
    "employer_amount",
    "employee_amount",
)
AMOUNTS = {
    "contribution_base": "base",
    "employer_amount": "employer",
    "employee_amount": "employee",
}
AMOUNT_EXPECTED = "yuan with at most 2 decimals, 0 or more"


@dataclass
class ContributionsRead:
    """A collection file read: its rows, its month, its problems."""

    listed: ListFile
    period: str | None = None

    @property
    def problems(self) -> list[Problem]:
        return self.listed.problems


@dataclass
class ContributionsImport:
    path: Path
    period: str | None
    received_on: datetime.date
    rows: int = 0
    already_imported: bool = False
    problems: list[Problem] = field(default_factory=list)


def parse_contribution(raw: dict[str, Any], location: str) -> tuple[dict[str, Any], list[Problem]]:
    """One row -> a contributions record; pure."""
    problems: list[Problem] = []

    def exact(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value)

    record: dict[str, Any] = {}
    period = exact("period").strip()
    try:
        record["period"] = str(Month.parse(period))
    except ValueError:
        problems.append(Problem(location, "period", "not a month", period, "YYYY-MM"))
        record["period"] = period
    for name, length in (("psn_no", 30), ("psn_type", 6)):
        code = exact(name)
        record[name] = code
        wrong = code_problem(code, length) if code else None
        if not code:
            problems.append(Problem(location, name, "required field is empty", "", "a code"))
        elif wrong is not None:
            problems.append(Problem(location, name, *wrong))
    if record["psn_type"] and record["psn_type"] not in KNOWN_PSN_TYPES:
        known = ", ".join(sorted(KNOWN_PSN_TYPES))
        problems.append(
            Problem(
                location, "psn_type", "not a 人员类别 mzledger knows", record["psn_type"], known
            )
        )
    for column, key in AMOUNTS.items():
        text = exact(column).strip()
        try:
            value = parse_amount(text) if text else ZERO
        except ValueError as exc:
            problems.append(
                Problem(location, column, f"not an amount: {exc}", text, AMOUNT_EXPECTED)
            )
            value = ZERO
        if value < 0:
            problems.append(
                Problem(location, column, "a contribution is never negative", text, AMOUNT_EXPECTED)
            )
        record[key] = value
    paid = record["employer"] + record["employee"]
    if record["psn_type"].startswith("12") and paid:
        problems.append(
            Problem(location, "employer_amount", "a retiree pays no contribution", f"{paid}", "0")
        )
    return record, problems


def read_contributions(path: Path) -> ContributionsRead:
    """Every row checked, then the file: one month, each person once."""
    listed = read_list(path, COLUMNS, parse_contribution)
    read = ContributionsRead(listed)
    if listed.problems:
        return read
    periods = sorted({record["period"] for _, record in listed.records})
    if len(periods) > 1:
        listed.problems.append(
            Problem(
                str(path),
                "period",
                "a file is one month's collection",
                ", ".join(periods),
                "one month",
            )
        )
        return read
    read.period = periods[0]
    seen: dict[str, str] = {}
    for location, record in listed.records:
        first = seen.setdefault(record["psn_no"], location)
        if first != location:
            listed.problems.append(
                Problem(
                    location,
                    "psn_no",
                    f"listed twice (first at {first})",
                    record["psn_no"],
                    "each person once a month",
                )
            )
    return read


def import_contributions(
    engine: Engine, read: ContributionsRead, received_on: datetime.date, user: str | None = None
) -> ContributionsImport:
    """Register a checked collection file in one transaction; the same bytes again change
    nothing; a person of the month already in the register refuses the whole file."""
    listed = read.listed
    result = ContributionsImport(listed.path, read.period, received_on, listed.rows)
    result.problems = listed.problems
    if result.problems:
        return result
    with contextlib.suppress(_Refused):  # refused inside: rolled back, said in the result
        _register(engine, read, received_on, user, result)
    return result


class _Refused(Exception):
    """Raised inside the transaction to roll it back."""


def _register(
    engine: Engine,
    read: ContributionsRead,
    received_on: datetime.date,
    user: str | None,
    result: ContributionsImport,
) -> None:
    listed = read.listed
    with engine.begin() as conn:
        file_id = begin_file(conn, KIND, listed, user)
        if file_id is None:
            result.already_imported = not listed.problems
            return
        people = [record["psn_no"] for _, record in listed.records]
        known = conn.execute(
            select(ContributionRow.psn_no, ImportedFile.name, ContributionRow.line)
            .join(ImportedFile, ImportedFile.id == ContributionRow.file_id)
            .where(ContributionRow.period == read.period, ContributionRow.psn_no.in_(people))
            .order_by(ContributionRow.psn_no)
            .limit(20)
        ).all()
        if known:
            for psn_no, name, line in known:
                result.problems.append(
                    Problem(
                        str(listed.path),
                        "psn_no",
                        f"already in the register for {read.period}",
                        psn_no,
                        f"not in {name}:{line}",
                    )
                )
            raise _Refused
        conn.execute(
            insert(ContributionRow),
            [
                {
                    **record,
                    "file_id": file_id,
                    "line": line_of(location),
                    "received_on": received_on,
                }
                for location, record in listed.records
            ],
        )
        end_file(conn, file_id, listed.rows, listed.rows)


__all__ = ["ContributionsImport", "import_contributions", "read_contributions"]
