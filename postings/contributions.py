"""Contributions -> the fund's income by sub-fund (征缴收入, 社会保险费收入); pure rules.

Cash basis: a month's collection is booked on the day it is received, into 4001 by sub-fund,
against the receiving account (1003 财政专户存款, or 1005 国库存款 when the tax bureau collects:
the books' ``contributions_received_into``). The split is the region's crediting rule
(``ledger.crediting``, from its policy file): an in-work person's personal account gets
``in_work_share`` of their own contribution base (half up, to the fen), the rest of what they
and their employer paid goes to the pooled fund; a person without a personal account (flexible
workers, psn_type 1103 and 1203) pays everything into the pooled fund.

Each retiree with a personal account (12xx but 1203) is credited ``retiree_monthly`` from the
pooled fund. No cash moves: it is a second transaction of the same day that moves that income
from 4001 统筹基金 to 4001 个人账户基金 (借 社会保险费收入——统筹基金,
贷 社会保险费收入——个人账户基金).
Why in 4001 and not as an expense of the pooled fund: the retiree's crediting is the part of the
pooled contributions the rules assign to personal accounts (Anshan art. 12: "由统筹基金按定额
计入"), the same kind of entry as the in-work 2% that never reaches the pooled fund; booked as
income of the personal accounts it keeps 4001 by sub-fund equal to what each sub-fund received,
the two together to the cash, and the pooled fund's expenditure (5001) to benefits paid. The
2017 system's text could not be read here on this point (docs/accounting-system-2017.md, §5).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from beancount.core import data
from beancount.core.amount import Amount
from beancount.parser import printer
from sqlalchemy import Engine, select

from ledger.books import Books, atomic_write
from ledger.chart import Chart
from ledger.crediting import CreditingRule
from ledger.money import ZERO
from ledger.register.models import ContributionRow, ImportedFile

CENT = Decimal("0.01")
#: Persons without a personal account: flexible workers in work and retired (Anshan art. 12).


@dataclass(frozen=True)
class Contribution:
    """One person's contribution of a month, as registered."""

    psn_no: str
    psn_type: str
    base: Decimal
    employer: Decimal
    employee: Decimal
    source: str  # file:line

    @property
    def paid(self) -> Decimal:
        return self.employer + self.employee

    @property
    def retired(self) -> bool:
        return self.psn_type.startswith("12")


def personal_part(row: Contribution, rule: CreditingRule) -> Decimal:
    """What of the row's cash goes to the personal accounts (the rest: the pooled fund)."""
    if row.retired or not rule.has_personal_account(row.psn_type):
        return ZERO
    return (row.base * rule.in_work_share).quantize(CENT, rounding=ROUND_HALF_UP)


def retiree_crediting(row: Contribution, rule: CreditingRule) -> Decimal:
    """What the pooled fund credits the row's personal account this month."""
    if row.retired and rule.has_personal_account(row.psn_type):
        return rule.retiree_monthly
    return ZERO


def split_problems(rows: Sequence[Contribution], rule: CreditingRule) -> list[tuple[str, str, str]]:
    """(where, found, expected) of each row whose personal-account share is more than what was
    paid for it: the pooled fund would receive less than nothing."""
    wrong = []
    for row in rows:
        personal = personal_part(row, rule)
        if personal > row.paid:
            wrong.append((row.source, f"{personal} of {row.base}", f"at most {row.paid}"))
    return wrong


@dataclass(frozen=True)
class Collection:
    """A month's collection (one file), split by sub-fund."""

    period: str
    persons: int
    paid: Decimal  # the cash received
    pooled: Decimal  # of the cash
    personal: Decimal  # of the cash
    retirees: int  # credited from the pooled fund
    crediting: Decimal  # their crediting, together


def collect(period: str, rows: Sequence[Contribution], rule: CreditingRule) -> Collection:
    """The sums of a month's rows; pooled + personal is the cash to the fen, by construction."""
    paid = sum((row.paid for row in rows), ZERO)
    personal = sum((personal_part(row, rule) for row in rows), ZERO)
    credited = [retiree_crediting(row, rule) for row in rows]
    retirees = sum(1 for amount in credited if amount)
    return Collection(
        period, len(rows), paid, paid - personal, personal, retirees, sum(credited, ZERO)
    )


def collection_entries(
    collection: Collection,
    received_on: datetime.date,
    chart: Chart,
    receiving: str,
    source: str,
) -> list[data.Transaction]:
    """The receipt (cash into ``receiving``, 4001 by sub-fund) and the retirees' crediting."""
    currency = chart.currency
    pooled = chart.fund_account("contribution-income", "pooled")
    personal = chart.fund_account("contribution-income", "personal")
    meta: dict[str, object] = {"filename": "mzledger", "lineno": 0, "source": source}

    def leg(account: str, amount: Decimal) -> data.Posting:
        return data.Posting(account, Amount(amount, currency), None, None, None, None)

    legs = [leg(receiving, collection.paid)]
    legs += [leg(pooled, -collection.pooled)] if collection.pooled else []
    legs += [leg(personal, -collection.personal)] if collection.personal else []
    narration = f"{collection.period} 征缴收入 {collection.persons}人"
    entries = [
        data.Transaction(meta, received_on, "*", None, narration, frozenset(), frozenset(), legs)
    ]
    if collection.crediting:
        narration = f"{collection.period} 退休人员个人账户划入 {collection.retirees}人"
        moved = [leg(pooled, collection.crediting), leg(personal, -collection.crediting)]
        entries.append(
            data.Transaction(
                meta, received_on, "*", None, narration, frozenset(), frozenset(), moved
            )
        )
    return entries


def period_files(
    engine: Engine, period: str
) -> list[tuple[str, datetime.date, list[Contribution]]]:
    """The register's collection files of ``period``: (file name, received on, its rows)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ImportedFile.name,
                ContributionRow.received_on,
                ContributionRow.line,
                ContributionRow.psn_no,
                ContributionRow.psn_type,
                ContributionRow.base,
                ContributionRow.employer,
                ContributionRow.employee,
            )
            .join(ImportedFile, ImportedFile.id == ContributionRow.file_id)
            .where(ContributionRow.period == period)
            .order_by(ContributionRow.file_id, ContributionRow.line)
        ).all()
    files: dict[str, tuple[datetime.date, list[Contribution]]] = {}
    for name, day, line, psn_no, psn_type, base, employer, employee in rows:
        _day, found = files.setdefault(name, (day, []))
        found.append(Contribution(psn_no, psn_type, base, employer, employee, f"{name}:{line}"))
    return [(name, day, found) for name, (day, found) in files.items()]


def period_entries(
    engine: Engine, chart: Chart, period: str, rule: CreditingRule, receiving: str
) -> tuple[list[Collection], list[data.Transaction]]:
    """The register's collections of ``period`` and their transactions: a receipt into
    ``receiving`` (1003, or 1005 when the tax bureau collects) and a retirees' crediting for
    each collection file, on its day. What the books' file holds, and what ``check`` compares
    it with."""
    entries: list[data.Transaction] = []
    collections = []
    for name, day, rows in period_files(engine, period):
        collection = collect(period, rows, rule)
        collections.append(collection)
        entries += collection_entries(collection, day, chart, receiving, name)
    return collections, entries


def render_contributions(
    engine: Engine, books: Books, chart: Chart, period: str, rule: CreditingRule, receiving: str
) -> list[Collection]:
    """Write ``contributions/<period>.beancount`` from the register (``period_entries``)."""
    collections, entries = period_entries(engine, chart, period, rule, receiving)
    header = ";; Generated by mzledger from the register's contributions. Do not edit.\n\n"
    body = "\n".join(printer.format_entry(entry) for entry in entries)
    atomic_write(books.contributions_file(period), header + body)
    return collections


__all__ = [
    "Collection",
    "Contribution",
    "collect",
    "collection_entries",
    "period_entries",
    "period_files",
    "personal_part",
    "render_contributions",
    "retiree_crediting",
]
