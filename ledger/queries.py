"""Saved queries for auditors (稽核常用查询): BQL as data, rendered as ``queries.beancount``.

Fava lists every ``query`` directive of the books on its Query page (and in its sidebar) by
name; a click puts the BQL in the editor, where an auditor can change it and run it again. The
queries answer the questions auditors ask of a clearing ledger:

- the balance of each disbursement account (支出户存款, code 1004) at a date,
- benefit expenditure (社会保险待遇支出, code 5001) by month and account,
- payments per designated institution (定点医药机构) over a span of payment dates,
- the largest payments,
- the payments dated in a locked (closed) month.

A *payment* (支付) is a clearing batch's transfer out of the disbursement accounts: the
``Assets:1004-...`` legs of a transaction linked ``^clr-...``, summed per batch (one row per
batch link, both legs together). Bank charges and transfers in are not payments.

A saved query has no parameters, so what depends on the books is filled in when the file is
rendered (``render_queries(entries, since)``):

- ``{end}``: the last day of the month of the books' latest transaction (the end of the books).
  The balance query is given at that date, and its name says how to ask for another date: edit
  the date after ``date <=`` in Fava's editor. One query per month-end was not chosen: Fava lists
  every saved query in its sidebar, so the list would grow by twelve a year.
- ``{start}``: the books' opening date, the start of the payment span of the per-institution
  summary (whose name says to edit the dates for another period).
- ``{locked}`` / ``{locked_months}``: the months locked and not reopened (``ledger.locks``).
  BQL cannot express "dated in a month that has an ``mzledger-lock`` entry in force": the
  ``entries`` table exposes neither a custom entry's type nor its values, and whether a lock is
  in force depends on the reopenings after it, in book order. So the condition is written from
  the lock entries present when the file is rendered, consecutive months merged into one date
  range (``date >= 2023-01-01 AND date < 2023-04-01``); with no month locked it is ``FALSE``.

The file must therefore be rendered again whenever the books' latest month or their locks
change (after ``post``, ``import statement``, ``close --lock`` and ``reopen``). Rendering is
pure and byte-for-byte reproducible: the same entries give the same text.

Account selection uses the codes of the social insurance fund accounting system (1004 支出户
存款, 5001 社会保险待遇支出), which every chart keeps at the start of the account's first
component (see ``chart.toml``), so renaming an account's Chinese part changes no query.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from beancount.core import data

from ledger.locks import locked_months
from ledger.month import Month
from ledger.year_end import YEAR_END_TAG

#: The generated file, next to ``main.beancount``.
QUERIES_FILE = "queries.beancount"

#: Postings to the disbursement accounts (支出户存款, 1004), whatever their Chinese names.
DISBURSEMENT_ACCOUNTS = "^Assets:1004-"
#: Postings to benefit expenditure (社会保险待遇支出, 5001).
BENEFIT_ACCOUNTS = "^Expenses:5001-"
#: How many rows the largest-payments query keeps.
LARGEST_LIMIT = 20

# One row per clearing batch paid: the batch's link, the transaction's voucher, payee, clearing
# period and institution, and the amount paid out of the disbursement accounts (both legs). The
# link is the batch's identity, so correcting entries linked to a batch count with it.
_PAYMENTS = (
    "SELECT findfirst('^clr-', links) AS link, date, entry_meta('voucher') AS voucher, "
    "payee, entry_meta('institution') AS institution, entry_meta('period') AS period, "
    "currency, sum(neg(number)) AS paid "
    f"WHERE account ~ '{DISBURSEMENT_ACCOUNTS}' AND findfirst('^clr-', links) IS NOT NULL"
    "{and_where} "
    "GROUP BY link, date, voucher, payee, institution, period, currency"
)


@dataclass(frozen=True)
class SavedQuery:
    """One saved query: its Chinese name and its BQL, both templates.

    Placeholders (filled by :func:`saved_queries`): ``{end}``, ``{start}``, ``{locked}`` (a
    BQL condition on ``date``) and ``{locked_months}`` (the months, for the name). ``about``
    is the comment written above the directive.
    """

    name: str
    bql: str
    about: str


SAVED_QUERIES: tuple[SavedQuery, ...] = (
    SavedQuery(
        name="各支出户余额（截至{end}；改查询中 date <= 后的日期可查任意日）",
        bql=(
            'SELECT account AS "科目", currency AS "币种", sum(number) AS "余额" '
            f"WHERE account ~ '{DISBURSEMENT_ACCOUNTS}' AND date <= {{end}} "
            "GROUP BY account, currency ORDER BY account, currency"
        ),
        about="Balance of each disbursement account (1004) at the end of the books.",
    ),
    SavedQuery(
        name="待遇支出按月按科目",
        bql=(
            'SELECT year AS "年", month AS "月", account AS "科目", currency AS "币种", '
            'sum(number) AS "金额", count(*) AS "笔数" '
            f"WHERE account ~ '{BENEFIT_ACCOUNTS}' AND NOT ('{YEAR_END_TAG}' IN tags) "
            "GROUP BY year, month, account, currency ORDER BY year, month, account, currency"
        ),
        # the year-end closing moves the year's balance into 3001: it is not December's spending
        about="Benefit expenditure (5001) per month of payment (cash basis) and account, "
        "the year-end closing left out.",
    ),
    SavedQuery(
        name="按定点医药机构支付汇总（支付日{start}至{end}；改查询中的日期可换期间）",
        bql=(
            'SELECT payee AS "定点医药机构", institution AS "机构编码", currency AS "币种", '
            'sum(paid) AS "支付金额", count(*) AS "批次数" '
            "FROM ("
            + _PAYMENTS.replace("{and_where}", " AND date >= {start} AND date <= {end}")
            + ") GROUP BY payee, institution, currency "
            "ORDER BY sum(paid) DESC, institution, currency"
        ),
        about="Payments per institution (payee) paid in a span of dates: total and batches.",
    ),
    SavedQuery(
        name=f"最大额支付（前{LARGEST_LIMIT}笔）",
        bql=(
            'SELECT date AS "支付日", voucher AS "凭证号", payee AS "定点医药机构", '
            'period AS "清算期", link AS "清算批次", currency AS "币种", paid AS "支付金额" '
            "FROM (" + _PAYMENTS.replace("{and_where}", "") + ") "
            f"ORDER BY paid DESC, date, voucher LIMIT {LARGEST_LIMIT}"
        ),
        about=f"The {LARGEST_LIMIT} largest payments (one per batch), largest first.",
    ),
    SavedQuery(
        name="已锁定月份内的支付（{locked_months}）",
        bql=(
            'SELECT date AS "支付日", voucher AS "凭证号", payee AS "定点医药机构", '
            'period AS "清算期", link AS "清算批次", currency AS "币种", paid AS "支付金额" '
            "FROM (" + _PAYMENTS.replace("{and_where}", " AND ({locked})") + ") "
            "ORDER BY date, voucher, link"
        ),
        about=(
            "Payments dated in the months locked when this file was rendered "
            "(BQL cannot read the lock entries)."
        ),
    ),
)


@dataclass(frozen=True)
class QueryContext:
    """What the templates are filled with."""

    start: datetime.date
    end: datetime.date
    locked: tuple[Month, ...]


def _month_ranges(months: Iterable[Month]) -> list[tuple[Month, Month]]:
    """Sorted months merged into runs of consecutive months: (first, last)."""
    runs: list[tuple[Month, Month]] = []
    for month in sorted(set(months)):
        if runs and runs[-1][1].next() == month:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def query_context(entries: Sequence[data.Directive] | None, since: datetime.date) -> QueryContext:
    """The books' range and locks, from the loaded entries (none: the opening month only)."""
    entries = entries or ()
    last = max(
        (entry.date for entry in entries if isinstance(entry, data.Transaction)),
        default=since,
    )
    return QueryContext(
        start=since,
        end=Month.of(max(last, since)).last,
        locked=tuple(sorted(locked_months(entries))),
    )


def locked_condition(months: Iterable[Month]) -> str:
    """A BQL condition true for the dates in ``months``; ``FALSE`` for none."""
    parts = [
        f"date >= {first.first.isoformat()} AND date < {last.next().first.isoformat()}"
        for first, last in _month_ranges(months)
    ]
    if not parts:
        return "FALSE"
    return " OR ".join(f"({part})" for part in parts) if len(parts) > 1 else parts[0]


def locked_label(months: Iterable[Month]) -> str:
    """The locked months for a query's name: ``2023-01、2023-03 至 2023-05``."""
    runs = _month_ranges(months)
    if not runs:
        return "当前无锁定月份；锁定后重新生成"
    return "、".join(str(first) if first == last else f"{first} 至 {last}" for first, last in runs)


def _fill(template: str, context: QueryContext) -> str:
    values = {
        "{start}": context.start.isoformat(),
        "{end}": context.end.isoformat(),
        "{locked}": locked_condition(context.locked),
        "{locked_months}": locked_label(context.locked),
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def saved_queries(
    entries: Sequence[data.Directive] | None, since: datetime.date
) -> list[tuple[str, str]]:
    """The saved queries as written for these books: (name, BQL), in :data:`SAVED_QUERIES`
    order."""
    context = query_context(entries, since)
    return [(_fill(q.name, context), _fill(q.bql, context)) for q in SAVED_QUERIES]


def _bean_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_queries(entries: Sequence[data.Directive] | None, since: datetime.date) -> str:
    """The text of ``queries.beancount``: one ``query`` directive per saved query, dated
    ``since`` (the books' opening date), each under a comment saying what it answers."""
    context = query_context(entries, since)
    locked = ", ".join(map(str, context.locked)) or "none"
    lines = [
        ";; Saved queries for auditors (稽核常用查询), listed by name on Fava's Query page.",
        ";; Generated by mzledger from the books: do not edit; it is rewritten when the books'",
        ";; last month or their locks change. To ask for another date or period, edit the dates",
        ";; in the query in Fava's editor (or in `mzledger query`) and run it again.",
        f";; End of the books: {context.end.isoformat()}; locked months: {locked}.",
    ]
    for query in SAVED_QUERIES:
        lines += [
            "",
            f";; {_fill(query.about, context)}",
            f"{since.isoformat()} query {_bean_str(_fill(query.name, context))} "
            f"{_bean_str(_fill(query.bql, context))}",
        ]
    return "\n".join(lines) + "\n"
