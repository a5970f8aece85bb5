"""A bank statement (银行对账单) of one disbursement account, as read and checked: what the
statement's import (``importers.statements``) gives and the payments (``postings``) take."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class StatementLine:
    line: int  # physical line in the file, counted from 1
    date: datetime.date
    amount: Decimal  # signed as the account sees it: negative = money out, positive = money in
    balance: Decimal | None  # running balance after this line, when the bank gives it
    counterparty: str
    counterparty_account: str
    summary: str
    reference: str


@dataclass(frozen=True)
class Statement:
    path: Path
    layout: str
    lines: tuple[StatementLine, ...]  # oldest first, whatever the file's order
    opening_balance: Decimal | None  # before the first line: its balance minus its amount
    closing_balance: Decimal | None  # after the last line
    first_date: datetime.date | None
    last_date: datetime.date | None


__all__ = ["Statement", "StatementLine"]
