"""The platform's 3201 totals of a month (对总账): read from its file, checked, and kept in
the register so that `close` compares them.

The platform file has one row per group, columns ``insutype, clr_type, clr_optins,
medfee_sumamt, fund_pay_sumamt, acct_pay, fixmedins_setl_cnt`` (other columns are ignored);
amounts in yuan with at most 2 decimals (never rounded), the count a whole number. Every problem
is reported as ``file:line: field: what is wrong (found X, expected Y)``, and a file with any
problem yields no groups: nothing is compared on a guess. The last file imported for a month
replaces the month's figures (a corrected file from the platform supersedes the first), in one
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert

from importers.imported_files import earlier_import, record_file
from importers.sources import SourceError, missing_columns, open_source, shape_problem
from ledger.money import parse_amount
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.models import PlatformTotal
from ledger.register.platform_totals import (
    AMOUNT_FIELDS,
    COUNT_FIELD,
    KEY_FIELDS,
    Key,
    PlatformGroup,
)

#: Columns a platform file must have.
REQUIRED = (*KEY_FIELDS, *AMOUNT_FIELDS, COUNT_FIELD)


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else str(value).strip()


def parse_platform_row(
    raw: dict[str, Any], location: str, present: Iterable[str] | None = None
) -> tuple[PlatformGroup | None, list[Problem]]:
    """One row of a platform file -> its group, or None and every problem of the row; pure.

    ``present``: the columns the file has (None: all); a missing column is the header's
    problem, reported once, so it is not reported again on every row.
    """
    columns = set(REQUIRED if present is None else present)
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    for name in KEY_FIELDS:
        texts[name] = _text(raw, name)
        if name in columns and not texts[name]:
            problems.append(Problem(location, name, "required field is empty", "", "a code"))
    amounts: dict[str, Decimal] = {}
    for name in AMOUNT_FIELDS:
        if name not in columns:
            continue
        text = _text(raw, name)
        if not text:
            problems.append(
                Problem(location, name, "required amount is empty", "", "yuan such as 12.34")
            )
            continue
        try:
            amounts[name] = parse_amount(text)
        except ValueError as exc:
            problems.append(
                Problem(
                    location, name, f"not an amount: {exc}", text, "yuan with at most 2 decimals"
                )
            )
    count: int | None = None
    if COUNT_FIELD in columns:
        text = _text(raw, COUNT_FIELD)
        if not text:
            problems.append(
                Problem(location, COUNT_FIELD, "required count is empty", "", "a whole number")
            )
        elif not (text.isascii() and text.isdigit()):
            problems.append(
                Problem(location, COUNT_FIELD, "not a count", text, "a whole number, 0 or more")
            )
        else:
            count = int(text)
    if (
        problems
        or count is None
        or len(amounts) != len(AMOUNT_FIELDS)
        or not columns.issuperset(KEY_FIELDS)
    ):
        return None, problems
    group = PlatformGroup(
        insutype=texts["insutype"],
        clr_type=texts["clr_type"],
        clr_optins=texts["clr_optins"],
        medfee_sumamt=amounts["medfee_sumamt"],
        fund_pay_sumamt=amounts["fund_pay_sumamt"],
        acct_pay=amounts["acct_pay"],
        count=count,
    )
    return group, []


def read_platform_totals(path: Path) -> tuple[list[PlatformGroup], list[Problem]]:
    """The platform's totals from a CSV (UTF-8, UTF-8 with BOM or GB18030) or XLSX file.

    Returns the groups sorted by key, and every problem of the file: missing columns (and the
    rows are still checked for the columns that are there), unreadable rows, empty or malformed
    fields, a group given twice (naming the line of its first row), a file without rows. When
    there is any problem the list of groups is empty: nothing is compared on a guess.
    """
    problems: list[Problem] = []
    try:
        source = open_source(path)
    except SourceError as exc:
        return [], [exc.problem]
    groups: dict[Key, tuple[str, PlatformGroup]] = {}
    rows = 0
    try:
        problems += missing_columns(source, REQUIRED)
        present = source.columns
        for raw in source.rows:
            rows += 1
            unreadable = shape_problem(raw)
            if unreadable is not None:
                problems.append(unreadable)
                continue
            group, row_problems = parse_platform_row(raw.fields, raw.location, present)
            problems += row_problems
            if group is None:
                continue
            first = groups.get(group.key)
            if first is not None:
                problems.append(
                    Problem(
                        raw.location,
                        "clr_optins",
                        f"group given twice, first at {first[0]}",
                        "/".join(group.key),
                        "one row per insutype, clr_type and clr_optins",
                    )
                )
                continue
            groups[group.key] = (raw.location, group)
    finally:
        source.close()
    if rows == 0 and not problems:
        problems.append(Problem(f"{path}:1", "file", "no rows", "", "at least one row"))
    if problems:
        return [], problems
    return sorted((g for _, g in groups.values()), key=lambda g: g.key), []


def store_platform_totals(
    engine: Engine,
    month: Month,
    groups: Sequence[Mapping[str, Any]],
    path: Path,
    sha256: str,
    *,
    user: str | None = None,
) -> bool:
    """Replace ``month``'s platform figures; False when these bytes were imported before."""
    period = month.period
    with engine.begin() as conn:
        if earlier_import(conn, sha256) is not None:
            return False
        file_id = record_file(
            conn,
            kind="platform-totals",
            name=str(path),
            sha256=sha256,
            file_format=path.suffix.lstrip(".").lower() or "csv",
            rows=len(groups),
            inserted=len(groups),
            user=user,
        )
        conn.execute(delete(PlatformTotal).where(PlatformTotal.period == period))
        for group in groups:
            conn.execute(insert(PlatformTotal).values(**group, period=period, file_id=file_id))
    return True
