"""The monthly fund report (基金收支月报) of outpatient pooling, with its trial balance and ledgers.

Two sources, read only:
- the BOOKS (cash basis, 收付实现制): expenditure by account is the sum of the postings to each
  expense account dated in the month (the payment date), for the month, the year to date and
  the previous year's same month;
- the REGISTER: the breakdowns (by institution level, by institution type, in work / retired),
  the settlement counts and the distinct persons come from the settlements of the clearing
  batches paid in the month (settlements -> clearing_batches -> postings, ``paid_on`` in the
  month), summed in SQL.
The register is mapped to accounts by the posting rule's own mapping (the pooled part by the
chart's med_type roles, the personal-account part by the institution's type), and the report
checks that both sources give the same totals per account (核对).

Personal data never leaves the register: persons are counted (distinct ``psn_no``), never
listed, and ``psn_name``/``certno`` are not read at all.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from beancount.core import data
from sqlalchemy import ColumnElement, Connection, Engine, case, func, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute

from ledger.chart import Chart
from ledger.loading import LoadedBooks, error_text, load_books
from ledger.money import ZERO
from ledger.month import Month
from ledger.register.batching import batch_member
from ledger.register.models import (
    PERSONAL_PART,
    ClearingBatch,
    Institution,
    Money,
    Posting,
    Settlement,
)
from ledger.year_end import YEAR_END_TAG
from reports.books.fund_statements import FundStatement, fund_statements
from reports.books.ledgers import (
    DetailLedger,
    TrialBalance,
    books_since,
    build_detail_ledger,
    build_trial_balance,
)

#: Expense roles of the report, in its order, with the group each belongs to.
POOLED_ROLES = ("pooled-outpatient", "pooled-chronic")
PERSONAL_ROLES = ("personal-clinic", "personal-pharmacy")
#: Disbursement accounts that get a detail ledger.
LEDGER_ROLES = ("bank-pooled", "bank-personal")

LINK_PREFIX = "clr-"


# ---------------------------------------------------------------------------------------------
# the report's data


@dataclass(frozen=True)
class Figures:
    """Register figures of a set of settlements: fund parts, counts, distinct persons."""

    pooled: Decimal  # hifp_pay, 统筹基金支付
    personal: Decimal  # acct_pay + acct_mulaid_pay, 个人账户支付 (含共济)
    settlements: int  # settlement rows, refunds included (as the batches count them)
    refunds: int  # of which refunds (退费)
    persons: int  # distinct psn_no

    @property
    def total(self) -> Decimal:
        return self.pooled + self.personal


NO_FIGURES = Figures(ZERO, ZERO, 0, 0, 0)


@dataclass(frozen=True)
class BreakdownRow:
    """One category of a breakdown: month, year to date, previous year's month (None when the
    books do not cover it)."""

    key: str
    label: str
    month: Figures
    ytd: Figures
    prior: Figures | None


@dataclass(frozen=True)
class Breakdown:
    """A breakdown of the register's figures; ``total`` is over all settlements, so its persons
    are distinct over the whole set, not the sum of the rows'."""

    name: str  # level | type | psn
    title: str
    rows: tuple[BreakdownRow, ...]
    total: BreakdownRow


RowKind = Literal["account", "subtotal", "total"]


@dataclass(frozen=True)
class AccountRow:
    """Expenditure of one expense account (or a subtotal): books and register side by side."""

    kind: RowKind
    role: str  # the chart role, or pooled / personal / total for the subtotal rows
    account: str
    code: str
    title: str
    month: Decimal  # books
    ytd: Decimal  # books
    prior: Decimal | None  # books, previous year's same month; None: books do not cover it
    register_month: Decimal
    register_ytd: Decimal

    @property
    def change(self) -> Decimal | None:
        """Month against the previous year's same month (比上年同月增减)."""
        return None if self.prior is None else self.month - self.prior

    @property
    def difference(self) -> Decimal:
        return self.month - self.register_month

    @property
    def ytd_difference(self) -> Decimal:
        return self.ytd - self.register_ytd


@dataclass(frozen=True)
class MonthTotal:
    """Books' expenditure of one month of the year, for the chart."""

    period: str
    pooled: Decimal
    personal: Decimal

    @property
    def total(self) -> Decimal:
        return self.pooled + self.personal


CheckKind = Literal["money", "count"]


@dataclass(frozen=True)
class Check:
    """Two figures that must agree (核对)."""

    label: str
    left_label: str
    left: Decimal
    right_label: str
    right: Decimal
    kind: CheckKind = "money"

    @property
    def ok(self) -> bool:
        return self.left == self.right

    @property
    def difference(self) -> Decimal:
        return self.left - self.right


@dataclass(frozen=True)
class MonthReport:
    """Everything the monthly report shows; pure data, written by ``report_output``."""

    title: str
    period: str
    month: Month
    books_since: datetime.date | None
    prior_period: str | None
    prior_available: bool
    batches: int  # clearing batches paid in the month (register)
    clearing_periods: tuple[str, ...]  # their clearing periods
    accounts: tuple[AccountRow, ...]
    summary: BreakdownRow  # register totals: counts and persons
    breakdowns: tuple[Breakdown, ...]
    by_month: tuple[MonthTotal, ...]
    checks: tuple[Check, ...]
    trial_balance: TrialBalance
    ledgers: tuple[DetailLedger, ...]
    warnings: tuple[str, ...]
    #: 会社保01表 资产负债表 and 会社保02表 收支表 of the month (``fund_statements``)
    statements: tuple[FundStatement, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def breakdown(self, name: str) -> Breakdown:
        for b in self.breakdowns:
            if b.name == name:
                return b
        raise KeyError(name)

    def account_row(self, role: str) -> AccountRow:
        for row in self.accounts:
            if row.role == role:
                return row
        raise KeyError(role)


# ---------------------------------------------------------------------------------------------
# books


def _expense_by_role(
    books: LoadedBooks, chart: Chart, first: datetime.date, last: datetime.date
) -> dict[str, Decimal]:
    """role -> sum of the postings to its account dated first..last (cash basis); the
    year-end closing is a transfer into 3001, not expenditure, and is left out."""
    accounts = {chart.account(role): role for role in POOLED_ROLES + PERSONAL_ROLES}
    sums = dict.fromkeys(accounts.values(), ZERO)
    for entry in books.entries:
        if not isinstance(entry, data.Transaction) or not first <= entry.date <= last:
            continue
        if YEAR_END_TAG in entry.tags:
            continue
        for posting in entry.postings:
            role = accounts.get(posting.account)
            units = posting.units
            if role is None or units is None or units.number is None:
                continue
            if units.currency == chart.currency:
                sums[role] += units.number
    return sums


def _books_settlement_count(books: LoadedBooks, month: Month) -> Decimal:
    """Sum of the ``settlement_count`` metadata of the clearing transactions paid in the month."""
    count = ZERO
    for entry in books.entries:
        if not isinstance(entry, data.Transaction):
            continue
        if not month.first <= entry.date <= month.last:
            continue
        if not any(link.startswith(LINK_PREFIX) for link in entry.links):
            continue
        value = (entry.meta or {}).get("settlement_count")
        if isinstance(value, Decimal | int):
            count += Decimal(value)
    return count


# ---------------------------------------------------------------------------------------------
# register

Window = tuple[datetime.date, datetime.date]
KeyColumn = ColumnElement[Any] | InstrumentedAttribute[Any]


def _money_sum(*columns: Any) -> ColumnElement[Decimal]:
    total: Any = None
    for column in columns:
        part = func.coalesce(func.sum(column), 0)
        total = part if total is None else total + part
    return type_coerce(total, Money)


def _register_figures(
    conn: Connection, window: Window, keys: Sequence[KeyColumn]
) -> dict[tuple[Any, ...], Figures]:
    """Figures of the settlements of the batches paid in ``window``, grouped by ``keys``."""
    labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
    query = (
        select(
            *labelled,
            _money_sum(Settlement.hifp_pay).label("pooled"),
            _money_sum(*(getattr(Settlement, name) for name in PERSONAL_PART)).label("personal"),
            func.count().label("n"),
            func.coalesce(
                func.sum(case((Settlement.refd_setl_flag.is_(True), 1), else_=0)), 0
            ).label("refunds"),
            func.count(func.distinct(Settlement.psn_no)).label("persons"),
        )
        .select_from(Settlement)
        .join(ClearingBatch, batch_member(Settlement, ClearingBatch))
        .join(Posting, Posting.batch_id == ClearingBatch.id)
        .join(Institution, Institution.code == ClearingBatch.fixmedins_code)
        .where(Posting.paid_on >= window[0], Posting.paid_on <= window[1])
    )
    if labelled:
        query = query.group_by(*labelled)
    found: dict[tuple[Any, ...], Figures] = {}
    for row in conn.execute(query):
        if not labelled and int(row.n) == 0:
            continue
        key = tuple(row[i] for i in range(len(labelled)))
        found[key] = Figures(
            pooled=row.pooled if row.pooled is not None else ZERO,
            personal=row.personal if row.personal is not None else ZERO,
            settlements=int(row.n),
            refunds=int(row.refunds),
            persons=int(row.persons),
        )
    return found


PSN_GROUP = func.substr(Settlement.psn_type, 1, 2)
#: Level key computed in SQL, so that persons are counted distinct within each category:
#: ``1/3`` a level-3 medical institution, ``1/`` one without a level, ``2/`` any pharmacy.
LEVEL_KEY = case(
    (Institution.fixmedins_type == "2", "2/"),
    else_=func.coalesce(Institution.fixmedins_type, "")
    + "/"
    + func.coalesce(Institution.medins_lv, ""),
)

#: Standard categories, always shown (with zeros); others appear when the register has them.
LEVEL_ROWS = (
    ("1/3", "三级医疗机构"),
    ("1/2", "二级医疗机构"),
    ("1/1", "一级医疗机构"),
    ("2/", "定点零售药店（不分等级）"),
)
TYPE_ROWS = (("1", "定点医疗机构"), ("2", "定点零售药店"))
PSN_ROWS = (("11", "在职（11xx）"), ("12", "退休（12xx）"))


def _other_label(dimension: str, key: str) -> str:
    """Label of a category outside the standard rows."""
    if dimension == "level":
        kind, level = key.split("/", 1)
        if kind == "1":
            return f"医疗机构（等级 {level}）" if level else "医疗机构（未定级）"
        return f"机构类型 {kind or '未知'}（等级 {level or '无'}）"
    if dimension == "type":
        return f"机构类型 {key or '未知'}"
    return f"其他（人员类别 {key or '未知'}xx）"


@dataclass(frozen=True)
class _Dimension:
    name: str
    title: str
    key: KeyColumn
    standard: tuple[tuple[str, str], ...]

    def label_of(self, key: str) -> str:
        return dict(self.standard).get(key) or _other_label(self.name, key)


DIMENSIONS = (
    _Dimension("level", "按医疗机构等级", LEVEL_KEY, LEVEL_ROWS),
    _Dimension("type", "按定点医药机构类型", Institution.fixmedins_type, TYPE_ROWS),
    _Dimension("psn", "按在职、退休人员", PSN_GROUP, PSN_ROWS),
)


def _by_category(conn: Connection, dim: _Dimension, window: Window) -> dict[str, Figures]:
    raw = _register_figures(conn, window, (dim.key,))
    return {str(key[0] or ""): figures for key, figures in raw.items()}


def _breakdown(
    conn: Connection,
    dim: _Dimension,
    windows: tuple[Window, Window, Window | None],
    totals: tuple[Figures, Figures, Figures | None],
) -> Breakdown:
    month_w, ytd_w, prior_w = windows
    month = _by_category(conn, dim, month_w)
    ytd = _by_category(conn, dim, ytd_w)
    prior = _by_category(conn, dim, prior_w) if prior_w is not None else None
    keys = [k for k, _ in dim.standard]
    found = set(month) | set(ytd) | (set(prior) if prior is not None else set())
    keys += sorted(found - set(keys))
    rows = tuple(
        BreakdownRow(
            key=key,
            label=dim.label_of(key),
            month=month.get(key, NO_FIGURES),
            ytd=ytd.get(key, NO_FIGURES),
            prior=prior.get(key, NO_FIGURES) if prior is not None else None,
        )
        for key in keys
    )
    total = BreakdownRow("total", "合计", totals[0], totals[1], totals[2])
    return Breakdown(dim.name, dim.title, rows, total)


def _register_by_role(conn: Connection, chart: Chart, window: Window) -> dict[str, Decimal]:
    """role -> register amount, by the posting rule's mapping; an unmapped med_type shows as a
    role of its own (``med_type:9901``) so that it makes a difference, not a silent loss."""
    sums: dict[str, Decimal] = dict.fromkeys(POOLED_ROLES + PERSONAL_ROLES, ZERO)
    raw = _register_figures(conn, window, (Settlement.med_type, Institution.fixmedins_type))
    for (med_type, fixmedins_type), figures in raw.items():
        pooled_role = chart.med_type_roles.get(str(med_type), f"med_type:{med_type}")
        personal_role = "personal-pharmacy" if fixmedins_type == "2" else "personal-clinic"
        sums[pooled_role] = sums.get(pooled_role, ZERO) + figures.pooled
        sums[personal_role] += figures.personal
    return sums


def _paid_batches(conn: Connection, window: Window) -> tuple[int, tuple[str, ...]]:
    """How many batches were paid in ``window``, and their clearing periods."""
    periods = conn.execute(
        select(ClearingBatch.period, func.count())
        .join(Posting, Posting.batch_id == ClearingBatch.id)
        .where(Posting.paid_on >= window[0], Posting.paid_on <= window[1])
        .group_by(ClearingBatch.period)
        .order_by(ClearingBatch.period)
    ).all()
    return sum(int(n) for _, n in periods), tuple(str(p) for p, _ in periods)


def _total_figures(conn: Connection, window: Window) -> Figures:
    return _register_figures(conn, window, ()).get((), NO_FIGURES)


# ---------------------------------------------------------------------------------------------
# the report


BooksSums = tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal] | None]
RegisterSums = tuple[dict[str, Decimal], dict[str, Decimal]]


def _account_rows(
    chart: Chart,
    titles: dict[str, tuple[str, str]],
    books_sums: BooksSums,
    register_sums: RegisterSums,
) -> tuple[AccountRow, ...]:
    """Each expense account, a subtotal per fund, the register's unmapped codes, the total."""
    month, ytd, prior = books_sums
    reg_month, reg_ytd = register_sums
    rows: list[AccountRow] = []
    for group, title, roles in (
        ("pooled", "统筹基金待遇支出小计", POOLED_ROLES),
        ("personal", "个人账户待遇支出小计", PERSONAL_ROLES),
    ):
        for role in roles:
            name = chart.account(role)
            code, account_title = titles.get(name, ("", name))
            rows.append(
                AccountRow(
                    kind="account",
                    role=role,
                    account=name,
                    code=code,
                    title=account_title,
                    month=month[role],
                    ytd=ytd[role],
                    prior=prior[role] if prior is not None else None,
                    register_month=reg_month.get(role, ZERO),
                    register_ytd=reg_ytd.get(role, ZERO),
                )
            )
        rows.append(_group_row("subtotal", group, title, roles, books_sums, register_sums))
    rows += _unmapped_rows(register_sums)
    rows.append(_total_row(rows, books_sums, register_sums))
    return tuple(rows)


def _group_row(
    kind: RowKind,
    role: str,
    title: str,
    roles: Sequence[str],
    books_sums: BooksSums,
    register_sums: RegisterSums,
) -> AccountRow:
    month, ytd, prior = books_sums
    reg_month, reg_ytd = register_sums
    return AccountRow(
        kind=kind,
        role=role,
        account="",
        code="",
        title=title,
        month=sum((month[r] for r in roles), ZERO),
        ytd=sum((ytd[r] for r in roles), ZERO),
        prior=sum((prior[r] for r in roles), ZERO) if prior is not None else None,
        register_month=sum((reg_month.get(r, ZERO) for r in roles), ZERO),
        register_ytd=sum((reg_ytd.get(r, ZERO) for r in roles), ZERO),
    )


def _unmapped_rows(register_sums: RegisterSums) -> list[AccountRow]:
    """An unmapped med_type in the register: a row with no books side, so the check shows it."""
    reg_month, reg_ytd = register_sums
    return [
        AccountRow(
            "account",
            role,
            "",
            "",
            f"未映射的医疗类别 {role.split(':', 1)[-1]}",
            ZERO,
            ZERO,
            None,
            reg_month.get(role, ZERO),
            reg_ytd.get(role, ZERO),
        )
        for role in sorted(set(reg_month) | set(reg_ytd))
        if role not in POOLED_ROLES + PERSONAL_ROLES
    ]


def _total_row(
    rows: Sequence[AccountRow], books_sums: BooksSums, register_sums: RegisterSums
) -> AccountRow:
    """待遇支出合计: the books over the chart's roles; the register over those and any unmapped."""
    reg_month, reg_ytd = register_sums
    every = [*POOLED_ROLES, *PERSONAL_ROLES]
    extra = [r.role for r in rows if r.kind == "account" and r.role not in every]
    total = _group_row("total", "total", "待遇支出合计", every, books_sums, register_sums)
    if not extra:
        return total
    return replace(
        total,
        register_month=total.register_month + sum((reg_month.get(r, ZERO) for r in extra), ZERO),
        register_ytd=total.register_ytd + sum((reg_ytd.get(r, ZERO) for r in extra), ZERO),
    )


def _checks(
    accounts: Sequence[AccountRow],
    breakdowns: Sequence[Breakdown],
    books_count: Decimal,
    summary: BreakdownRow,
) -> tuple[Check, ...]:
    checks: list[Check] = []
    for row in accounts:
        if row.kind != "account":
            continue
        checks.append(Check(f"{row.title}：本月", "账簿", row.month, "登记簿", row.register_month))
        checks.append(Check(f"{row.title}：本年累计", "账簿", row.ytd, "登记簿", row.register_ytd))
    pooled = next(r for r in accounts if r.role == "pooled")
    personal = next(r for r in accounts if r.role == "personal")
    for b in breakdowns:
        checks.append(
            Check(
                f"{b.title}：统筹基金支出合计",
                "各类别之和",
                sum((r.month.pooled for r in b.rows), ZERO),
                "账簿",
                pooled.month,
            )
        )
        checks.append(
            Check(
                f"{b.title}：个人账户支出合计",
                "各类别之和",
                sum((r.month.personal for r in b.rows), ZERO),
                "账簿",
                personal.month,
            )
        )
        checks.append(
            Check(
                f"{b.title}：结算笔数",
                "各类别之和",
                Decimal(sum(r.month.settlements for r in b.rows)),
                "登记簿合计",
                Decimal(summary.month.settlements),
                "count",
            )
        )
    checks.append(
        Check(
            "结算笔数：本月",
            "登记簿",
            Decimal(summary.month.settlements),
            "账簿凭证（settlement_count）",
            books_count,
            "count",
        )
    )
    return tuple(checks)


def build_month_report(main_file: Path, engine: Engine, chart: Chart, month: Month) -> MonthReport:
    """The month's report from the books at ``main_file`` and the register behind ``engine``.
    A month without entries gives a report of zeros."""
    books_data = load_books(main_file)
    return build_month_report_from(books_data, engine, chart, month)


def build_month_report_from(
    books_data: LoadedBooks, engine: Engine, chart: Chart, month: Month
) -> MonthReport:
    """As ``build_month_report``, from books already loaded."""
    since = books_since(books_data)
    prior_month = month.previous_year()
    prior_available = prior_month is not None and since is not None and since <= prior_month.last

    month_w: Window = (month.first, month.last)
    ytd_w: Window = (month.year_start, month.last)
    prior_w: Window | None = (
        (prior_month.first, prior_month.last)
        if prior_month is not None and prior_available
        else None
    )

    books_month = _expense_by_role(books_data, chart, *month_w)
    books_ytd = _expense_by_role(books_data, chart, *ytd_w)
    books_prior = _expense_by_role(books_data, chart, *prior_w) if prior_w else None

    trial = build_trial_balance(books_data, chart, month)
    titles = {row.account: (row.code, row.title) for row in trial.rows}

    with engine.connect() as conn:
        batches, clearing_periods = _paid_batches(conn, month_w)
        reg_month = _register_by_role(conn, chart, month_w)
        reg_ytd = _register_by_role(conn, chart, ytd_w)
        totals = (
            _total_figures(conn, month_w),
            _total_figures(conn, ytd_w),
            _total_figures(conn, prior_w) if prior_w is not None else None,
        )
        windows = (month_w, ytd_w, prior_w)
        breakdowns = tuple(_breakdown(conn, dim, windows, totals) for dim in DIMENSIONS)

    accounts = _account_rows(
        chart, titles, (books_month, books_ytd, books_prior), (reg_month, reg_ytd)
    )
    summary = BreakdownRow("total", "合计", *totals)
    by_month = []
    for m in month.year_to_date():
        sums = _expense_by_role(books_data, chart, m.first, m.last)
        by_month.append(
            MonthTotal(
                m.period,
                sum((sums[r] for r in POOLED_ROLES), ZERO),
                sum((sums[r] for r in PERSONAL_ROLES), ZERO),
            )
        )
    checks = _checks(accounts, breakdowns, _books_settlement_count(books_data, month), summary)
    ledgers = tuple(
        build_detail_ledger(books_data, chart, chart.account(role), month) for role in LEDGER_ROLES
    )
    # files named relative to the books: bank/2023-03 is not clearing/2023-03
    root = books_data.main_file.parent
    warnings = [f"账簿加载错误：{error_text(e, root)}" for e in books_data.errors]
    warnings += [f"非记账本位币分录未计入：{w}" for w in trial.warnings]
    statements = fund_statements(books_data, chart, month)
    warnings += [f"{s.title}：{w}" for s in statements for w in s.warnings]
    return MonthReport(
        title=books_data.title,
        period=month.period,
        month=month,
        books_since=since,
        prior_period=prior_month.period if prior_month is not None else None,
        prior_available=prior_available,
        batches=batches,
        clearing_periods=clearing_periods,
        accounts=accounts,
        summary=summary,
        breakdowns=breakdowns,
        by_month=tuple(by_month),
        checks=checks,
        trial_balance=trial,
        ledgers=ledgers,
        warnings=tuple(warnings),
        statements=statements,
    )
