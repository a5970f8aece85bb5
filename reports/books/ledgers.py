"""Ledgers from the books: the trial balance (科目余额表) and detail ledgers (明细账).

Pure functions over the books as loaded (``ledger.loading``); nothing here reads the
register. Amounts are the books' own ``Decimal`` numbers in the chart's currency; a posting in
another currency is left out and named in the ledger's warnings.

Conventions:
- debit (借方) = the sum of a month's positive postings to an account, credit (贷方) = the sum of
  its negative postings, as a positive number; a refund batch's negative expense posting is
  therefore a credit to the expense account, as a reversal (红字冲销 shown as 贷方) would be;
- a balance is signed, debit positive; ``direction`` names its side (借 / 贷 / 平);
- balances are those the books hold: the books carry no period-end transfer of expenditure to
  the fund balance (期末结转), so an expense account's balance is its total since the books
  opened. When finance books such transfers in ``manual.beancount`` they show here as postings.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from beancount.core import data

from ledger.chart import Chart, ChartAccount
from ledger.loading import LoadedBooks
from ledger.money import ZERO
from ledger.month import Month


def direction(balance: Decimal) -> str:
    """Side of a signed balance: 借 (debit), 贷 (credit) or 平 (zero)."""
    if balance > ZERO:
        return "借"
    if balance < ZERO:
        return "贷"
    return "平"


@dataclass(frozen=True)
class AccountInfo:
    """An account of the books: its name, code and Chinese title (from the ``open`` metadata)."""

    name: str
    code: str
    title: str
    role: str | None
    opened_on: datetime.date | None


def accounts_of(books: LoadedBooks, chart: Chart) -> tuple[AccountInfo, ...]:
    """The chart's accounts in chart order, then any other account the books open, by name.

    Code and title come from the ``open`` directive's metadata; an account without them (one
    opened by hand) gets the ones its name implies (``1001-现金`` -> code 1001, title 现金).
    """
    opens: dict[str, data.Open] = {}
    for entry in books.entries:
        if isinstance(entry, data.Open) and entry.account not in opens:
            opens[entry.account] = entry
    roles = {acc.name: acc.role for acc in chart.accounts}
    names = [acc.name for acc in chart.accounts]
    names += sorted(name for name in opens if name not in roles)
    infos = []
    for name in names:
        derived = ChartAccount(name, roles.get(name, ""))
        opened = opens.get(name)
        meta: dict[str, Any] = dict(opened.meta or {}) if opened is not None else {}
        infos.append(
            AccountInfo(
                name=name,
                code=str(meta.get("code") or derived.code),
                title=str(meta.get("title") or derived.title),
                role=roles.get(name),
                opened_on=opened.date if opened is not None else None,
            )
        )
    return tuple(infos)


def books_since(books: LoadedBooks) -> datetime.date | None:
    """The first day the books cover: the earliest ``open`` directive."""
    dates = [e.date for e in books.entries if isinstance(e, data.Open)]
    return min(dates) if dates else None


@dataclass(frozen=True)
class Leg:
    """One posting in the chart's currency, with the transaction it belongs to."""

    entry: data.Transaction
    account: str
    number: Decimal

    @property
    def date(self) -> datetime.date:
        return self.entry.date


def legs_of(books: LoadedBooks, currency: str) -> tuple[list[Leg], list[str]]:
    """Every posting of every transaction in loader order, in ``currency``; others named."""
    found: list[Leg] = []
    skipped: list[str] = []
    for entry in books.entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            units = posting.units
            if units is None or units.number is None:
                continue
            if units.currency != currency:
                skipped.append(
                    f"{entry.date} {posting.account}: {units.number} {units.currency} "
                    f"left out (not {currency})"
                )
                continue
            found.append(Leg(entry, posting.account, units.number))
    return found, skipped


@dataclass(frozen=True)
class Movement:
    """An account's figures for a month: signed balances, debits and credits (positive)."""

    opening: Decimal
    debit: Decimal
    credit: Decimal
    ytd_debit: Decimal
    ytd_credit: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit


def _movement(amounts: Sequence[tuple[datetime.date, Decimal]], month: Month) -> Movement:
    opening = debit = credit = ytd_debit = ytd_credit = ZERO
    for day, number in amounts:
        if day < month.first:
            opening += number
        elif day <= month.last:
            if number > ZERO:
                debit += number
            else:
                credit -= number
        if month.year_start <= day <= month.last:
            if number > ZERO:
                ytd_debit += number
            else:
                ytd_credit -= number
    return Movement(opening, debit, credit, ytd_debit, ytd_credit)


@dataclass(frozen=True)
class TrialBalanceRow:
    """One account's line of the trial balance; balances signed, debit positive."""

    account: str
    code: str
    title: str
    opening: Decimal
    debit: Decimal
    credit: Decimal
    ytd_debit: Decimal
    ytd_credit: Decimal
    closing: Decimal

    @property
    def opening_debit(self) -> Decimal:
        return max(self.opening, ZERO)

    @property
    def opening_credit(self) -> Decimal:
        return max(-self.opening, ZERO)

    @property
    def closing_debit(self) -> Decimal:
        return max(self.closing, ZERO)

    @property
    def closing_credit(self) -> Decimal:
        return max(-self.closing, ZERO)


@dataclass(frozen=True)
class TrialBalanceTotals:
    """Column totals of the six-column layout; each balance side is summed on its own."""

    opening_debit: Decimal
    opening_credit: Decimal
    debit: Decimal
    credit: Decimal
    ytd_debit: Decimal
    ytd_credit: Decimal
    closing_debit: Decimal
    closing_credit: Decimal


@dataclass(frozen=True)
class TrialBalance:
    """科目余额表 for a month: every account of the chart, and any other account the books open
    by the month's end (or post to), with column totals over all of them."""

    period: str
    rows: tuple[TrialBalanceRow, ...]
    warnings: tuple[str, ...]

    @property
    def total(self) -> TrialBalanceTotals:
        rows = self.rows
        return TrialBalanceTotals(
            opening_debit=sum((r.opening_debit for r in rows), ZERO),
            opening_credit=sum((r.opening_credit for r in rows), ZERO),
            debit=sum((r.debit for r in rows), ZERO),
            credit=sum((r.credit for r in rows), ZERO),
            ytd_debit=sum((r.ytd_debit for r in rows), ZERO),
            ytd_credit=sum((r.ytd_credit for r in rows), ZERO),
            closing_debit=sum((r.closing_debit for r in rows), ZERO),
            closing_credit=sum((r.closing_credit for r in rows), ZERO),
        )

    @property
    def balanced(self) -> bool:
        """Debits equal credits: balances, the month's and the year's movements (试算平衡)."""
        t = self.total
        return (
            t.opening_debit == t.opening_credit
            and t.debit == t.credit
            and t.ytd_debit == t.ytd_credit
            and t.closing_debit == t.closing_credit
        )

    def row(self, account: str) -> TrialBalanceRow:
        for row in self.rows:
            if row.account == account:
                return row
        raise KeyError(account)


def _row(name: str, code: str, title: str, m: Movement) -> TrialBalanceRow:
    return TrialBalanceRow(
        name, code, title, m.opening, m.debit, m.credit, m.ytd_debit, m.ytd_credit, m.closing
    )


def build_trial_balance(books: LoadedBooks, chart: Chart, month: Month) -> TrialBalance:
    legs, skipped = legs_of(books, chart.currency)
    by_account: dict[str, list[tuple[datetime.date, Decimal]]] = {}
    for leg in legs:
        by_account.setdefault(leg.account, []).append((leg.date, leg.number))
    rows = []
    chart_names = {acc.name for acc in chart.accounts}
    for info in accounts_of(books, chart):
        amounts = by_account.get(info.name, [])
        opened_later = info.opened_on is None or info.opened_on > month.last
        if info.name not in chart_names and not amounts and opened_later:
            continue
        rows.append(_row(info.name, info.code, info.title, _movement(amounts, month)))
    known = {row.account for row in rows}
    for name in sorted(set(by_account) - known):  # posted to, never opened: bean-check says so
        derived = ChartAccount(name, "")
        rows.append(_row(name, derived.code, derived.title, _movement(by_account[name], month)))
    return TrialBalance(month.period, tuple(rows), tuple(skipped))


@dataclass(frozen=True)
class LedgerLine:
    """One posting of a detail ledger, with the running balance after it (signed).

    ``voucher`` is the voucher number of a clearing batch (``voucher`` metadata); the bank's own
    entries (transfers in, interest, charges) have none and name their statement line instead
    (``bank_line`` metadata, ``file.csv:line``); a hand entry may have neither.
    """

    date: datetime.date
    voucher: str
    bank_line: str
    payee: str
    narration: str
    debit: Decimal
    credit: Decimal
    balance: Decimal

    @property
    def reference(self) -> str:
        """What the ledger shows in its voucher column: the voucher, else the bank line."""
        return self.voucher or self.bank_line


@dataclass(frozen=True)
class DetailLedger:
    """明细账 of one account for a month: opening, every posting, month and year totals."""

    account: str
    code: str
    title: str
    role: str | None
    period: str
    opening: Decimal
    lines: tuple[LedgerLine, ...]
    debit: Decimal
    credit: Decimal
    ytd_debit: Decimal
    ytd_credit: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit

    @property
    def short_name(self) -> str:
        """The last component's name: ``Assets:1004-支出户存款:01-统筹基金`` -> 统筹基金."""
        return self.account.rsplit(":", 1)[-1].split("-", 1)[-1]


def build_detail_ledger(
    books: LoadedBooks, chart: Chart, account: str, month: Month
) -> DetailLedger:
    """The detail ledger of ``account``: every posting to it in loader order (by date), the
    clearing batches' and the bank's own entries (from ``bank/``) alike."""
    legs, _skipped = legs_of(books, chart.currency)
    mine = [leg for leg in legs if leg.account == account]
    m = _movement([(leg.date, leg.number) for leg in mine], month)
    balance = m.opening
    lines = []
    for leg in mine:
        entry, number = leg.entry, leg.number
        if not month.first <= entry.date <= month.last:
            continue
        balance += number
        meta = entry.meta or {}
        lines.append(
            LedgerLine(
                date=entry.date,
                voucher=str(meta.get("voucher") or ""),
                bank_line=str(meta.get("bank_line") or ""),
                payee=entry.payee or "",
                narration=entry.narration or "",
                debit=number if number > ZERO else ZERO,
                credit=-number if number < ZERO else ZERO,
                balance=balance,
            )
        )
    info = next((a for a in accounts_of(books, chart) if a.name == account), None)
    derived = ChartAccount(account, "")
    return DetailLedger(
        account=account,
        code=info.code if info else derived.code,
        title=info.title if info else derived.title,
        role=info.role if info else None,
        period=month.period,
        opening=m.opening,
        lines=tuple(lines),
        debit=m.debit,
        credit=m.credit,
        ytd_debit=m.ytd_debit,
        ytd_credit=m.ytd_credit,
    )
