"""Bank statement lines -> payments of clearing batches, and the bank's own entries.

A batch is paid from two disbursement accounts: its pooled part (hifp_pay) from the pooled
fund's account, its personal-account part (acct_pay + acct_mulaid_pay) from the personal
accounts' account. Each statement line is judged on its own (``decide``, pure):

- money out (or, for a batch whose refunds exceed its settlements, money back in) whose
  counterparty is an institution (its name, or its code in the summary) and whose amount is
  exactly one open part of that institution's batches -> ``batch-payment``; a batch link
  (``clr-...``) in the summary narrows the choice to that batch;
- money in from the fiscal special account (财政专户) -> ``fiscal-transfer``;
- 结息 / 利息 -> ``interest``; 手续费 -> ``bank-charge``;
- anything else, or a payment that matches no part or more than one -> ``undecided``: listed
  for a person, never booked from a guess.

A batch is booked (a voucher, its transaction dated on the bank's date) once every non-zero
part is matched and all of them were paid the same day; parts paid on different days are
listed for a person. A batch booked earlier with ``post --paid-on`` is confirmed by a line of
the same date, and listed when the bank's date differs.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from beancount.core.amount import Amount

from ledger.chart import Chart
from ledger.money import ZERO

LINK_RE = re.compile(r"clr-\d{4}-\d{2}-[A-Za-z0-9]+-[A-Za-z0-9]+")
FISCAL_MARK = "财政专户"
INTEREST_MARKS = ("结息", "利息")
CHARGE_MARK = "手续费"


@dataclass(frozen=True)
class Line:
    """A statement line as the matching sees it."""

    line: int
    date: datetime.date
    amount: Decimal  # negative: money out
    counterparty: str
    summary: str
    reference: str


@dataclass(frozen=True)
class OpenPart:
    """A batch's part payable from this account, not yet matched to a bank line."""

    batch_id: int
    link: str
    institution_code: str
    institution_name: str
    amount: Decimal  # what the bank pays out: negative when the institution pays back
    paid_on: datetime.date | None  # booked earlier by `post --paid-on`


@dataclass(frozen=True)
class Decision:
    kind: str  # batch-payment | fiscal-transfer | interest | bank-charge | undecided
    batch_id: int | None
    note: str


def decide(line: Line, parts: Sequence[OpenPart]) -> Decision:
    """What one statement line is (pure)."""
    text = f"{line.summary} {line.reference}"
    if line.amount > ZERO and (FISCAL_MARK in line.counterparty or FISCAL_MARK in text):
        return Decision("fiscal-transfer", None, "transfer in from the fiscal special account")
    if line.amount > ZERO and any(mark in text for mark in INTEREST_MARKS):
        return Decision("interest", None, "interest")
    if line.amount < ZERO and CHARGE_MARK in text:
        return Decision("bank-charge", None, "bank charge")
    paid = -line.amount
    institutional = [
        p
        for p in parts
        if p.institution_name == line.counterparty.strip() or p.institution_code in text
    ]
    named = LINK_RE.findall(text)
    if named:
        institutional = [p for p in institutional if p.link in named]
    candidates = [p for p in institutional if p.amount == paid]
    if len(candidates) == 1:
        part = candidates[0]
        if part.paid_on is not None and part.paid_on != line.date:
            return Decision(
                "undecided",
                part.batch_id,
                f"^{part.link} was booked as paid on {part.paid_on}, the bank paid it on "
                f"{line.date}",
            )
        return Decision("batch-payment", part.batch_id, f"^{part.link}")
    if candidates:
        links = ", ".join(f"^{p.link}" for p in candidates)
        return Decision("undecided", None, f"{paid} matches {len(candidates)} batches: {links}")
    if institutional:
        open_amounts = ", ".join(f"^{p.link} {p.amount}" for p in institutional[:5])
        return Decision(
            "undecided", None, f"no open batch part of {paid}; open parts: {open_amounts}"
        )
    who = line.counterparty or "(no counterparty)"
    return Decision("undecided", None, f"{who}: not an institution with an open batch part")


@dataclass(frozen=True)
class BankEntry:
    """A booked line that is not a batch payment, or a statement's closing balance."""

    account: str
    date: datetime.date
    amount: Decimal
    kind: str  # fiscal-transfer | interest | bank-charge | balance
    counterparty: str
    summary: str
    source: str  # statement file:line


def bank_directives(entries: Sequence[BankEntry], chart: Chart) -> list[data.Directive]:
    """The bank's own entries as transactions, closing balances as ``balance`` assertions."""
    other = {
        "fiscal-transfer": "fiscal-special",
        "interest": "interest-income",
        "bank-charge": "bank-charges",
    }
    directives: list[data.Directive] = []
    for entry in entries:
        meta: dict[str, object] = {"filename": "mzledger", "lineno": 0, "bank_line": entry.source}
        if entry.kind == "balance":
            # the balance after the statement's last day, as Beancount asserts at a day's start
            directives.append(
                data.Balance(
                    meta,
                    entry.date,
                    entry.account,
                    Amount(entry.amount, chart.currency),
                    None,
                    None,
                )
            )
            continue
        legs = [
            data.Posting(
                entry.account, Amount(entry.amount, chart.currency), None, None, None, None
            ),
            data.Posting(
                # the sub-fund whose bank account the line is on: its interest, its charges
                # (statements are of the two disbursement accounts only: statement_import)
                chart.fund_account(other[entry.kind], chart.fund_of(entry.account) or ""),
                Amount(-entry.amount, chart.currency),
                None,
                None,
                None,
                None,
            ),
        ]
        directives.append(
            data.Transaction(
                meta,
                entry.date,
                "*",
                entry.counterparty or None,
                entry.summary,
                frozenset(),
                frozenset(),
                legs,
            )
        )
    return directives
