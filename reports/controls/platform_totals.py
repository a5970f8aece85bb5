"""The register's totals against the platform's (对总账 3201), group by group, to the fen and to
the row (``compare``), and the comparison as a table (``render_comparison``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.money import ZERO
from ledger.month import Month
from ledger.register.platform_totals import COUNT_FIELD, FIGURES, Key, PlatformGroup

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


__all__ = ["GroupComparison", "compare", "render_comparison"]
