"""Opening balances (期初余额, 建账): the old system's trial balance the books open with.

``mzledger import opening-balances FILE --on DATE``: a CSV (UTF-8 or GB18030, as
``importers.sources`` reads every CSV) or XLSX with the columns 科目编码, 科目名称, 借方余额,
贷方余额, one row per detail account of the chart, its code concatenated as a Chinese chart
writes it (``1003``, ``100401``, ``300102``). Every row is checked, then the file as a whole:
each code once, debits equal to credits to the fen. Nothing is written unless all of it holds,
and the books have one opening: a second file is refused unless it replaces the first on
purpose. The balances are booked on the day before DATE (``postings.opening``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from importers.fields import code_problem, text_problem
from importers.lists import ListFile, begin_file, end_file, line_of, read_list
from ledger.chart import Chart
from ledger.money import ZERO, parse_amount
from ledger.problems import Problem
from ledger.register.models import ImportedFile, OpeningBalance

KIND = "opening-balances"
CODE, NAME, DEBIT, CREDIT = "科目编码", "科目名称", "借方余额", "贷方余额"
COLUMNS = (CODE, NAME, DEBIT, CREDIT)
AMOUNT_EXPECTED = "yuan with at most 2 decimals, 0 or more, such as 1234.56"


@dataclass
class OpeningImport:
    """What an import of opening balances did."""

    path: Path
    booked_on: datetime.date
    rows: int = 0
    debits: Decimal = ZERO
    credits: Decimal = ZERO
    already_imported: bool = False
    replaced: str | None = None  # the file whose balances these replace
    problems: list[Problem] = field(default_factory=list)


def read_opening_balances(path: Path, chart: Chart) -> ListFile:
    """Every row checked against the chart, then the file's codes and totals."""
    accounts = {acc.code: acc.name for acc in chart.accounts}

    def parse(raw: dict[str, Any], location: str) -> tuple[dict[str, Any], list[Problem]]:
        return parse_opening_row(raw, location, accounts)

    listed = read_list(path, COLUMNS, parse)
    if listed.problems:
        return listed
    seen: dict[str, str] = {}
    for location, record in listed.records:
        if record["code"] in seen:
            listed.problems.append(
                Problem(
                    location,
                    CODE,
                    f"listed twice (first at {seen[record['code']]})",
                    record["code"],
                    "each account once",
                )
            )
        seen.setdefault(record["code"], location)
    debits, credits = totals(listed)
    if debits != credits:
        listed.problems.append(
            Problem(
                str(path),
                DEBIT,
                "the trial balance does not balance",
                f"debits {debits}, credits {credits}",
                "debits equal to credits, to the fen",
            )
        )
    return listed


def parse_opening_row(
    raw: dict[str, Any], location: str, accounts: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """One row -> (code, account, name, debit, credit); pure. ``accounts`` maps the chart's
    concatenated codes to its accounts."""
    problems: list[Problem] = []

    def exact(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value)

    code, name = exact(CODE), exact(NAME)
    record: dict[str, Any] = {"code": code, "name": name, "account": accounts.get(code, "")}
    wrong = code_problem(code, 30) if code else None
    if not code:
        problems.append(Problem(location, CODE, "required field is empty", "", "a chart code"))
    elif wrong is not None:
        problems.append(Problem(location, CODE, *wrong))
    elif code not in accounts:
        details = sorted(c for c in accounts if c.startswith(code) and c != code)
        expected = ", ".join(details) if details else "a detail account of the chart"
        why = "not a detail account of the chart" if details else "not an account of the chart"
        problems.append(Problem(location, CODE, why, code, expected))
    wrong = text_problem(name, 200) if name else None
    if not name:
        problems.append(Problem(location, NAME, "required field is empty", "", "the name"))
    elif wrong is not None:
        problems.append(Problem(location, NAME, *wrong))
    for column, key in ((DEBIT, "debit"), (CREDIT, "credit")):
        text = exact(column).strip()
        try:
            value = parse_amount(text) if text else ZERO
            if value < 0:
                raise ValueError("negative")
        except ValueError as exc:
            problems.append(
                Problem(location, column, f"not an amount: {exc}", text, AMOUNT_EXPECTED)
            )
            value = ZERO
        record[key] = value
    if record["debit"] and record["credit"]:
        problems.append(
            Problem(
                location,
                CREDIT,
                "an account's balance is on one side",
                f"debit {record['debit']} and credit {record['credit']}",
                "one of them 0",
            )
        )
    return record, problems


class _Refused(Exception):
    """Raised inside the transaction to roll it back."""


def _rows(listed: ListFile, file_id: int, booked_on: datetime.date) -> list[dict[str, Any]]:
    return [
        {
            "file_id": file_id,
            "line": line_of(location),
            "code": record["code"],
            "account": record["account"],
            "name": record["name"],
            "debit": record["debit"],
            "credit": record["credit"],
            "booked_on": booked_on,
        }
        for location, record in listed.records
    ]


def totals(listed: ListFile) -> tuple[Decimal, Decimal]:
    debits = sum((record["debit"] for _, record in listed.records), ZERO)
    credits = sum((record["credit"] for _, record in listed.records), ZERO)
    return debits, credits


def import_opening_balances(
    engine: Engine,
    chart: Chart,
    path: Path,
    on: datetime.date,
    *,
    replace: bool = False,
    user: str | None = None,
) -> OpeningImport:
    """Check the file, then register its balances in one transaction, booked on the day
    before ``on``; the same bytes again change nothing."""
    result = OpeningImport(path, on - datetime.timedelta(days=1))
    listed = read_opening_balances(path, chart)
    result.rows = listed.rows
    result.debits, result.credits = totals(listed)
    result.problems = listed.problems
    if result.problems:
        return result
    try:
        with engine.begin() as conn:
            earlier = conn.execute(
                select(ImportedFile.name)
                .join(OpeningBalance, OpeningBalance.file_id == ImportedFile.id)
                .limit(1)
            ).scalar()
            file_id = begin_file(conn, KIND, listed, user)
            if file_id is None:
                result.already_imported = not listed.problems
                return result
            if earlier is not None and not replace:
                result.problems.append(
                    Problem(
                        str(path),
                        "replace_opening",
                        "the books have their opening balances",
                        f"from {earlier}",
                        "one opening",
                    )
                )
                raise _Refused
            if earlier is not None:
                conn.execute(delete(OpeningBalance))
                result.replaced = str(earlier)
            conn.execute(insert(OpeningBalance), _rows(listed, file_id, result.booked_on))
            end_file(conn, file_id, listed.rows, listed.rows)
    except _Refused:
        pass
    return result


__all__ = ["OpeningImport", "import_opening_balances", "read_opening_balances"]
