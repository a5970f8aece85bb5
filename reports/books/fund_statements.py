"""The fund's two prescribed statements from the books, monthly and yearly (社会保险基金会计制度,
财会〔2017〕28号): 会社保01表 资产负债表 (balance sheet) and 会社保02表 收支表 (income and
expenditure).

Pure functions over the books as loaded; nothing here reads the register. The lines are data
(``statements.toml``): each is a first-level account by its national code, and its figure is
the sum of the books' accounts whose concatenated code starts with that code.

- Balance sheet: 年初余额 is the balance before the year's first day, 期末余额 (年末余额 in the
  yearly one) at the period's last day. 一般基金结余 by sub-fund is the fund's net assets of that
  sub-fund: 3001's balance plus the income and expenditure not yet carried into it. Before the
  year-end closing (``ledger.year_end``) that is the year's running result, after it 3001 alone;
  either way the same figure, so the monthly statement needs no monthly closing entries. 待转基金
  (3001's 待转 detail and the 待转 income accounts) is a line of monthly balance sheets only.
- 收支表: the flows of the month (本月数) and of the year to the month's end (本年累计数), or of
  the year (本年数), leaving out the year-end closing, which moves balances, not money.

Signs as the statements print them: assets and expenditure debit positive, liabilities, net
assets and income credit positive. An account the layout has no line for, or an income or
expenditure account without a sub-fund, is not dropped: it gets a line of its own and a warning.
"""

from __future__ import annotations

import datetime
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

from ledger.chart import SUB_FUND_NAMES, Chart, ChartAccount, sub_fund_of
from ledger.loading import LoadedBooks
from ledger.money import ZERO
from ledger.month import Month
from ledger.year_end import YEAR_END_TAG
from reports.books.ledgers import legs_of

FUND_LABELS = SUB_FUND_NAMES
OTHER_LABEL = "其他（表式外科目）"
UNASSIGNED_LABEL = "未分基金（科目无统筹/个人账户明细）"

Kind = Literal["heading", "item", "sub", "total"]


@dataclass(frozen=True)
class StatementLine:
    """One line of a statement: its 行次 (None for a heading), label, figures by column."""

    row: int | None
    label: str
    values: tuple[Decimal, ...]
    kind: Kind


@dataclass(frozen=True)
class FundStatement:
    """A statement as printed: form number, title, period, columns and lines."""

    form: str  # 会社保01表
    title: str  # 资产负债表
    fund: str  # 职工基本医疗保险基金
    unit: str
    period: str  # "2023-02" or "2023"
    period_label: str  # 2023年2月 / 2023年度
    columns: tuple[str, ...]
    lines: tuple[StatementLine, ...]
    warnings: tuple[str, ...]

    def line(self, label: str, after: str | None = None) -> StatementLine:
        """The first line labelled ``label`` (after the line labelled ``after``, if given)."""
        start = 0
        if after is not None:
            start = next(i for i, ln in enumerate(self.lines) if ln.label == after) + 1
        return next(ln for ln in self.lines[start:] if ln.label == label)


@dataclass(frozen=True)
class Item:
    label: str
    code: str
    funds: tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """``statements.toml``: the lines of both statements."""

    fund: str
    unit: str
    balance_form: tuple[str, str]
    assets: tuple[Item, ...]
    liabilities: tuple[Item, ...]
    net_assets: tuple[Item, ...]
    pending_codes: tuple[str, ...]
    pending_title: str
    income_form: tuple[str, str]
    income: tuple[Item, ...]
    expenditure: tuple[Item, ...]


def _items(raw: Sequence[dict[str, Any]]) -> tuple[Item, ...]:
    return tuple(Item(str(i["label"]), str(i["code"]), tuple(i.get("funds", ()))) for i in raw)


def load_layout() -> Layout:
    """The shipped layout (the package's ``statements.toml``)."""
    text = resources.files("reports.books").joinpath("statements.toml").read_text("utf-8")
    raw = tomllib.loads(text)
    bs, inc = raw["balance_sheet"], raw["income_statement"]
    return Layout(
        fund=str(raw["fund"]),
        unit=str(raw["unit"]),
        balance_form=(str(bs["form"]), str(bs["title"])),
        assets=_items(bs["assets"]),
        liabilities=_items(bs["liabilities"]),
        net_assets=_items(bs["net_assets"]),
        pending_codes=tuple(bs["pending_codes"]),
        pending_title=str(bs["pending_title"]),
        income_form=(str(inc["form"]), str(inc["title"])),
        income=_items(inc["income"]),
        expenditure=_items(inc["expenditure"]),
    )


# ---------------------------------------------------------------------------------------------
# the books' amounts


@dataclass(frozen=True)
class _Amount:
    account: str
    day: datetime.date
    number: Decimal
    closing: bool  # part of a year-end closing (年终结账)


@dataclass(frozen=True)
class _Books:
    amounts: tuple[_Amount, ...]
    warnings: tuple[str, ...]

    def balances(self, before: datetime.date) -> dict[str, Decimal]:
        """Each account's signed balance of the entries dated before ``before``."""
        found: dict[str, Decimal] = {}
        for a in self.amounts:
            if a.day < before:
                found[a.account] = found.get(a.account, ZERO) + a.number
        return found

    def flows(self, first: datetime.date, last: datetime.date) -> dict[str, Decimal]:
        """Each account's signed movement from ``first`` to ``last``, closings left out."""
        found: dict[str, Decimal] = {}
        for a in self.amounts:
            if first <= a.day <= last and not a.closing:
                found[a.account] = found.get(a.account, ZERO) + a.number
        return found


def _books_amounts(books: LoadedBooks, chart: Chart) -> _Books:
    legs, skipped = legs_of(books, chart.currency)
    amounts = tuple(
        _Amount(leg.account, leg.date, leg.number, YEAR_END_TAG in (leg.entry.tags or ()))
        for leg in legs
    )
    return _Books(amounts, tuple(f"非记账本位币分录未计入：{w}" for w in skipped))


def code_of(account: str) -> str:
    """An account name's concatenated code: ``Assets:1004-支出户存款:01-统筹基金`` -> 100401."""
    return ChartAccount(account, "").code


def _root(account: str) -> str:
    return account.split(":", 1)[0]


def _accounts(root: str, code: str = "", fund: str | None = None) -> Callable[[str], bool]:
    """Which accounts a figure sums: under ``root``, with a code starting with ``code``, and of
    sub-fund ``fund`` when one is given."""

    def keep(account: str) -> bool:
        if _root(account) != root or not code_of(account).startswith(code):
            return False
        return fund is None or sub_fund_of(account) == fund

    return keep


# ---------------------------------------------------------------------------------------------
# lines


class _Lines:
    """Builds a statement's lines, numbering the rows (行次) as it goes."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.lines: list[StatementLine] = []

    def heading(self, label: str) -> None:
        self.lines.append(StatementLine(None, label, (), "heading"))

    def add(self, label: str, values: Sequence[Decimal], kind: Kind = "item") -> None:
        row = sum(1 for ln in self.lines if ln.row is not None) + 1
        self.lines.append(StatementLine(row, label, tuple(values), kind))


Figure = Callable[[Callable[[str], bool]], tuple[Decimal, ...]]


def _item_lines(
    out: _Lines, items: Sequence[Item], figure: Figure, root: str
) -> tuple[tuple[Decimal, ...], set[str]]:
    """An item line per item, each followed by its sub-fund lines; returns the items' total and
    the codes covered."""
    total = [ZERO] * out.columns
    for item in items:
        values = figure(_accounts(root, item.code))
        out.add(item.label, values)
        for fund in item.funds:
            out.add(
                f"其中：{FUND_LABELS[fund]}" if fund == item.funds[0] else FUND_LABELS[fund],
                figure(_accounts(root, item.code, fund)),
                "sub",
            )
        total = [t + v for t, v in zip(total, values, strict=True)]
    return tuple(total), {item.code for item in items}


def _other_line(
    out: _Lines, figure: Figure, root: str, codes: set[str], names: Iterable[str]
) -> tuple[tuple[Decimal, ...], list[str]]:
    """The line of a root's accounts no item covers (an old chart's 4004), when it has any."""

    def outside(a: str) -> bool:
        return _root(a) == root and not any(code_of(a).startswith(c) for c in codes)

    strays = sorted({a for a in names if outside(a)})
    values = figure(outside)
    if not strays:
        return tuple([ZERO] * out.columns), []
    out.add(OTHER_LABEL, values)
    return values, [f"{OTHER_LABEL}：{'、'.join(strays)} 不在表式的任何一行"]


def _add(a: Sequence[Decimal], b: Sequence[Decimal], sign: int = 1) -> tuple[Decimal, ...]:
    return tuple(x + sign * y for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------------------------------------
# 会社保01表 资产负债表


def _balance_figure(snapshots: Sequence[dict[str, Decimal]], sign: int) -> Figure:
    def figure(keep: Callable[[str], bool]) -> tuple[Decimal, ...]:
        # ZERO + : -1 * 0 is Decimal("-0"), printed "-0.00"
        return tuple(
            ZERO + sign * sum((v for a, v in s.items() if keep(a)), ZERO) for s in snapshots
        )

    return figure


def _is_pending(account: str, layout: Layout) -> bool:
    code = code_of(account)
    if any(code.startswith(c) for c in layout.pending_codes):
        return True
    parts = account.split(":")
    return len(parts) > 2 and parts[2].split("-", 1)[-1] == layout.pending_title


def _net_asset_lines(
    out: _Lines, layout: Layout, snapshots: Sequence[dict[str, Decimal]], monthly: bool
) -> tuple[tuple[Decimal, ...], list[str]]:
    """一般基金结余 by sub-fund (3001 with the income and expenditure not carried into it yet),
    待转基金 (monthly), and whatever has no sub-fund."""
    fund_roots = ("Equity", "Income", "Expenses")
    figure = _balance_figure(snapshots, -1)
    item = layout.net_assets[0]

    def of_fund(fund: str) -> Callable[[str], bool]:
        return lambda a: (
            _root(a) in fund_roots and sub_fund_of(a) == fund and not _is_pending(a, layout)
        )

    by_fund = {fund: figure(of_fund(fund)) for fund in item.funds}
    balance = tuple(sum(col, ZERO) for col in zip(*by_fund.values(), strict=True))
    out.add(item.label, balance)
    for fund in item.funds:
        label = FUND_LABELS[fund]
        out.add(f"其中：{label}" if fund == item.funds[0] else label, by_fund[fund], "sub")
    pending = figure(lambda a: _root(a) in fund_roots and _is_pending(a, layout))
    warnings = []
    if monthly:
        out.add(layout.pending_title, pending)
    elif any(pending):
        warnings.append(f"{layout.pending_title}年末未分配：{pending[-1]}，年报未列示")

    def unassigned(a: str) -> bool:
        return _root(a) in fund_roots and sub_fund_of(a) is None and not _is_pending(a, layout)

    names = {a for s in snapshots for a, v in s.items() if v and unassigned(a)}
    rest = figure(unassigned)
    if names:
        out.add(UNASSIGNED_LABEL, rest)
        warnings.append(f"{UNASSIGNED_LABEL}：{'、'.join(sorted(names))}")
    total = _add(_add(balance, pending if monthly else [ZERO] * out.columns), rest)
    return total, warnings


def balance_sheet(
    books: LoadedBooks, chart: Chart, period: Month | int, layout: Layout | None = None
) -> FundStatement:
    """会社保01表 for a month (``Month``: 年初余额, 期末余额, 待转基金) or a year (``int``)."""
    layout = layout or load_layout()
    amounts = _books_amounts(books, chart)
    monthly = isinstance(period, Month)
    year = period.year if isinstance(period, Month) else period
    last = period.last if isinstance(period, Month) else datetime.date(year, 12, 31)
    snapshots = (
        amounts.balances(datetime.date(year, 1, 1)),
        amounts.balances(last + datetime.timedelta(days=1)),
    )
    names = {a for s in snapshots for a, v in s.items() if v}
    out = _Lines(2)
    warnings = list(amounts.warnings)

    if not monthly and not any(a.closing and a.day == last for a in amounts.amounts):
        warnings.append(
            f"{year}年年终结账尚未记账（mzledger close {year}-12 --lock）："
            "一般基金结余含未结转的本年收支"
        )
    out.heading("资产")
    assets, codes = _item_lines(out, layout.assets, _balance_figure(snapshots, 1), "Assets")
    other, found = _other_line(out, _balance_figure(snapshots, 1), "Assets", codes, names)
    warnings += found
    out.add("资产合计", _add(assets, other), "total")

    out.heading("负债")
    figure = _balance_figure(snapshots, -1)
    liabilities, codes = _item_lines(out, layout.liabilities, figure, "Liabilities")
    other, found = _other_line(out, figure, "Liabilities", codes, names)
    warnings += found
    liabilities = _add(liabilities, other)
    out.add("负债合计", liabilities, "total")

    out.heading("净资产")
    net, found = _net_asset_lines(out, layout, snapshots, monthly)
    warnings += found
    out.add("净资产合计", net, "total")
    out.add("负债和净资产合计", _add(liabilities, net), "total")
    return FundStatement(
        form=layout.balance_form[0],
        title=layout.balance_form[1],
        fund=layout.fund,
        unit=layout.unit,
        period=str(period),
        period_label=_period_label(period),
        columns=("年初余额", "期末余额" if monthly else "年末余额"),
        lines=tuple(out.lines),
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------------------------
# 会社保02表 收支表


def _flow_figure(windows: Sequence[dict[str, Decimal]], sign: int) -> Figure:
    return _balance_figure(windows, sign)


def _fund_totals(out: _Lines, windows: Sequence[dict[str, Decimal]], root: str, sign: int) -> None:
    """The section's 其中 lines by sub-fund."""
    figure = _flow_figure(windows, sign)
    for fund in FUND_LABELS:
        text = FUND_LABELS[fund]
        out.add(
            f"其中：{text}" if fund == "pooled" else text,
            figure(_accounts(root, fund=fund)),
            "sub",
        )


def _misplaced(
    windows: Sequence[dict[str, Decimal]], items: Sequence[Item], root: str
) -> list[str]:
    """Flows in a sub-fund the system does not give the item (财政补贴收入 to 个人账户基金), or in
    an account without a sub-fund."""
    found = []
    for account in sorted({a for w in windows for a, v in w.items() if v and _root(a) == root}):
        item = next((i for i in items if code_of(account).startswith(i.code)), None)
        fund = sub_fund_of(account)
        if item is None or not item.funds:
            continue
        if fund is None:
            found.append(f"{account}：无统筹基金/个人账户基金明细，{item.label}的分基金数不全")
        elif fund not in item.funds:
            found.append(f"{account}：{item.label}不设{FUND_LABELS[fund]}明细")
    return found


def income_statement(
    books: LoadedBooks, chart: Chart, period: Month | int, layout: Layout | None = None
) -> FundStatement:
    """会社保02表 for a month (``Month``: 本月数, 本年累计数) or a year (``int``: 本年数)."""
    layout = layout or load_layout()
    amounts = _books_amounts(books, chart)
    windows: tuple[dict[str, Decimal], ...]
    if isinstance(period, Month):
        windows = (
            amounts.flows(period.first, period.last),
            amounts.flows(period.year_start, period.last),
        )
        columns: tuple[str, ...] = ("本月数", "本年累计数")
    else:
        windows = (amounts.flows(datetime.date(period, 1, 1), datetime.date(period, 12, 31)),)
        columns = ("本年数",)
    names = {a for w in windows for a, v in w.items() if v}
    out = _Lines(len(windows))
    warnings = list(amounts.warnings)

    sections = (
        ("一、基金收入", layout.income, "Income", -1),
        ("二、基金支出", layout.expenditure, "Expenses", 1),
    )
    totals = []
    for label, items, root, sign in sections:
        figure = _flow_figure(windows, sign)
        inner = _Lines(len(windows))
        section, codes = _item_lines(inner, items, figure, root)
        other, found = _other_line(inner, figure, root, codes, names)
        warnings += found + _misplaced(windows, items, root)
        total = _add(section, other)
        out.add(label, total, "total")
        _fund_totals(out, windows, root, sign)
        for line in inner.lines:
            out.add(line.label, line.values, line.kind)
        totals.append(total)
    out.add("三、本期收支结余", _add(totals[0], totals[1], -1), "total")
    for fund, text in FUND_LABELS.items():
        income = _flow_figure(windows, -1)(_accounts("Income", fund=fund))
        spent = _flow_figure(windows, 1)(_accounts("Expenses", fund=fund))
        out.add(f"其中：{text}" if fund == "pooled" else text, _add(income, spent, -1), "sub")
    return FundStatement(
        form=layout.income_form[0],
        title=layout.income_form[1],
        fund=layout.fund,
        unit=layout.unit,
        period=str(period),
        period_label=_period_label(period),
        columns=columns,
        lines=tuple(out.lines),
        warnings=tuple(warnings),
    )


def _period_label(period: Month | int) -> str:
    if isinstance(period, Month):
        return f"{period.year}年{period.month}月"
    return f"{period}年度"


def fund_statements(
    books: LoadedBooks, chart: Chart, period: Month | int
) -> tuple[FundStatement, FundStatement]:
    """Both statements of a month or a year: (资产负债表, 收支表)."""
    layout = load_layout()
    return (
        balance_sheet(books, chart, period, layout),
        income_statement(books, chart, period, layout),
    )
