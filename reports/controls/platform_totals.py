"""Platform totals (对总账): the register's month grouped as the national platform reconciles it.

The platform's reconciliation of totals (transaction 3201, 医药机构费用结算对总账) compares,
per 险种 × 清算类别 × 经办机构, four figures: medfee_sumamt (医疗费总额), fund_pay_sumamt
(基金支付总额), acct_pay (个人账户支付金额) and fixmedins_setl_cnt (结算笔数). Here the agency
computes the same
four figures from its register (``register_totals``), reads the platform's figures from a small
CSV or XLSX (``read_platform_totals``), and compares them group by group (``compare``), to the
fen and to the row.

Which settlements a month holds:

- a settlement belongs to the month of its ``setl_time`` (the platform reconciles by settlement
  time), whether or not it has been posted into a clearing batch;
- a refund (refd_setl_flag 1) belongs to the month of its own ``setl_time``, whatever month the
  settlement it reverses was in; its negative amounts are summed with the rest;
- every row counts once in the settlement count, a refund included: the platform counts a
  refund in fixmedins_setl_cnt as a row of its own (3201's default, refd_setl_flag empty or 1:
  refunds included), so a visit settled and refunded in one month counts 2, with amounts 0.

The platform file has one row per group, columns ``insutype, clr_type, clr_optins,
medfee_sumamt, fund_pay_sumamt, acct_pay, fixmedins_setl_cnt`` (other columns are ignored);
amounts in yuan with at most 2 decimals (never rounded), the count a whole number. Every problem
is reported as ``file:line: field: what is wrong (found X, expected Y)``, and a file with any
problem yields no groups: nothing is compared on a guess.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, type_coerce

from importers.sources import SourceError, missing_columns, open_source, shape_problem
from ledger.money import ZERO, parse_amount
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.models import Money, PlatformTotal, Settlement

#: The grouping key, in the platform's order (3201 input fields).
KEY_FIELDS = ("insutype", "clr_type", "clr_optins")
#: The amounts compared, in the platform's order.
AMOUNT_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
#: The platform's name of the settlement count.
COUNT_FIELD = "fixmedins_setl_cnt"
#: Columns a platform file must have.
REQUIRED = (*KEY_FIELDS, *AMOUNT_FIELDS, COUNT_FIELD)

#: Chinese titles of the figures, for the table.
TITLES = {
    "insutype": "险种",
    "clr_type": "清算类别",
    "clr_optins": "清算经办机构",
    "medfee_sumamt": "医疗费总额",
    "fund_pay_sumamt": "基金支付总额",
    "acct_pay": "个人账户支付",
    COUNT_FIELD: "结算笔数",
}

Key = tuple[str, str, str]


@dataclass(frozen=True)
class PlatformGroup:
    """One group's totals: insutype × clr_type × clr_optins, as the register or the platform
    has them. ``count`` is the settlement count (3201 fixmedins_setl_cnt), refunds included."""

    insutype: str
    clr_type: str
    clr_optins: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    count: int

    @property
    def key(self) -> Key:
        return (self.insutype, self.clr_type, self.clr_optins)

    def figure(self, name: str) -> Decimal | int:
        """A compared figure by its platform name (``fixmedins_setl_cnt`` is ``count``)."""
        if name == COUNT_FIELD:
            return self.count
        value: Decimal = getattr(self, name)
        return value


#: The compared figures, by platform name, in the platform's order.
FIGURES = (*AMOUNT_FIELDS, COUNT_FIELD)


def register_totals(engine: Engine, month: Month) -> list[PlatformGroup]:
    """The register's totals of ``month``, one group per insutype × clr_type ×
    clr_optins, sorted by that key; summed in the database.

    The month is taken by settlement time (``setl_time``, kept as ``setl_period``): every
    settlement settled in it, posted or not. Refunds (refd_setl_flag 1) are included with
    their negative amounts and each counts as one row in ``count``, as the platform counts
    them in fixmedins_setl_cnt. A month without settlements gives an empty list.
    """
    key = (Settlement.insutype, Settlement.clr_type, Settlement.clr_optins)
    query = (
        select(
            *key,
            *(type_coerce(func.sum(getattr(Settlement, f)), Money).label(f) for f in AMOUNT_FIELDS),
            func.count().label("n"),
        )
        .where(Settlement.setl_period == month.period)
        .group_by(*key)
    )
    with engine.connect() as conn:
        groups = [
            PlatformGroup(
                insutype=row.insutype,
                clr_type=row.clr_type,
                clr_optins=row.clr_optins,
                medfee_sumamt=row.medfee_sumamt,
                fund_pay_sumamt=row.fund_pay_sumamt,
                acct_pay=row.acct_pay,
                count=int(row.n),
            )
            for row in conn.execute(query)
        ]
    # Sorted here, not by the database: string collations differ between SQLite and PostgreSQL.
    return sorted(groups, key=lambda g: g.key)


def stored_platform_totals(engine: Engine, month: Month) -> list[PlatformGroup] | None:
    """The platform's figures last imported for ``month``; None when none were."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                PlatformTotal.insutype,
                PlatformTotal.clr_type,
                PlatformTotal.clr_optins,
                PlatformTotal.medfee_sumamt,
                PlatformTotal.fund_pay_sumamt,
                PlatformTotal.acct_pay,
                PlatformTotal.count,
            ).where(PlatformTotal.period == month.period)
        ).all()
    if not rows:
        return None
    return sorted((PlatformGroup(*row) for row in rows), key=lambda g: g.key)


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


@dataclass(frozen=True)
class GroupComparison:
    """One group on both sides. ``differences``: (figure, register, platform) for each figure
    that differs, by the platform's field names (medfee_sumamt, fund_pay_sumamt, acct_pay,
    fixmedins_setl_cnt); for a group on one side only, the missing side counts as zero there
    (so that the differences add up to the difference of the totals), yet the group is never
    agreed, even with all figures zero: ``only_in`` names the side that has it."""

    key: Key
    register: PlatformGroup | None
    platform: PlatformGroup | None
    differences: tuple[tuple[str, Decimal | int, Decimal | int], ...]

    @property
    def agreed(self) -> bool:
        return self.register is not None and self.platform is not None and not self.differences

    @property
    def only_in(self) -> str | None:
        """``"register"`` or ``"platform"`` for a group on one side only, else None."""
        if self.platform is None:
            return "register"
        if self.register is None:
            return "platform"
        return None


def _zero(name: str) -> Decimal | int:
    return 0 if name == COUNT_FIELD else ZERO


def compare(
    register: Sequence[PlatformGroup], platform: Sequence[PlatformGroup]
) -> list[GroupComparison]:
    """Every group of either side, sorted by key; pure. A key given twice on one side raises
    ValueError (``register_totals`` and ``read_platform_totals`` never give one)."""
    sides: list[dict[Key, PlatformGroup]] = []
    for name, groups in (("register", register), ("platform", platform)):
        by_key: dict[Key, PlatformGroup] = {}
        for group in groups:
            if group.key in by_key:
                raise ValueError(f"{name}: group {'/'.join(group.key)} given twice")
            by_key[group.key] = group
        sides.append(by_key)
    ours, theirs = sides
    comparisons = []
    for key in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(key), theirs.get(key)
        differences = []
        for name in FIGURES:
            a = mine.figure(name) if mine is not None else _zero(name)
            b = other.figure(name) if other is not None else _zero(name)
            if a != b:
                differences.append((name, a, b))
        comparisons.append(GroupComparison(key, mine, other, tuple(differences)))
    return comparisons


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _figure_text(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}"


def _signed_text(value: Decimal | int) -> str:
    text = _figure_text(value)
    return f"+{text}" if value > 0 else text


def render_comparison(comparisons: Sequence[GroupComparison], month: Month) -> str:
    """A plain-text table for the terminal, Chinese headings: per group a line for the register
    (登记簿) and one for the platform (平台), and for a group that differs a line of the
    differences (登记簿 − 平台); then a summary line."""
    headings = [
        TITLES["insutype"],
        TITLES["clr_type"],
        TITLES["clr_optins"],
        "来源",
        *(TITLES[name] for name in FIGURES),
        "结果",
    ]
    numeric = {4, 5, 6, 7}
    lines: list[list[str]] = []
    for comparison in comparisons:
        if comparison.agreed:
            verdict = "一致"
        elif comparison.only_in == "register":
            verdict = "不一致：仅登记簿有"
        elif comparison.only_in == "platform":
            verdict = "不一致：仅平台有"
        else:
            names = "、".join(TITLES[name] for name, _, _ in comparison.differences)
            verdict = f"不一致：{names}"
        for source, group in (("登记簿", comparison.register), ("平台", comparison.platform)):
            key = list(comparison.key) if source == "登记簿" else ["", "", ""]
            figures = [
                _figure_text(group.figure(name) if group is not None else None) for name in FIGURES
            ]
            lines.append([*key, source, *figures, verdict if source == "登记簿" else ""])
        if comparison.differences:
            differing = {name: a - b for name, a, b in comparison.differences}
            figures = [
                _signed_text(differing[name]) if name in differing else "" for name in FIGURES
            ]
            lines.append(["", "", "", "差额", *figures, ""])
    widths = [_width(h) for h in headings]
    for line in lines:
        widths = [max(w, _width(cell)) for w, cell in zip(widths, line, strict=True)]

    def render(cells: list[str]) -> str:
        padded = [
            _pad(cell, width, index in numeric)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    agreed = sum(1 for c in comparisons if c.agreed)
    title = f"平台对总账核对 {month.period}（按结算时间；含退费，退费单独计笔）"
    out = [title, "", render(headings), render(["-" * w for w in widths])]
    out += [render(line) for line in lines]
    out.append("")
    if any(c.differences for c in comparisons):
        out.append("差额 = 登记簿 − 平台；一方没有的组，其数按 0 计")
    if comparisons:
        out.append(
            f"共 {len(comparisons)} 组：一致 {agreed} 组，不一致 {len(comparisons) - agreed} 组"
        )
    else:
        out.append("登记簿与平台本月均无结算")
    return "\n".join(out) + "\n"


__all__ = [
    "FIGURES",
    "REQUIRED",
    "GroupComparison",
    "PlatformGroup",
    "compare",
    "parse_platform_row",
    "read_platform_totals",
    "register_totals",
    "render_comparison",
]
