"""The close summary (月结结果, ``close/YYYY-MM.json``): one model, written by ``mzledger close``
and read by Fava's months page through the same code.

Money is text with its two decimals (``"1234.50"``), as the file has always held it. A summary
is read for what it says, as the months page always has, so that one of an older mzledger or one
edited by hand still shows: a check that is not an object, or whose ``ok`` is not true or false,
is left out; a check without a name is ``?``; a list that is not a list is empty, and a row of
one that is not an object is read as an empty one (so that it still counts); an item of a
reconciliation that is not a ``[what, amount]`` pair is left out. Only a file that is not JSON,
not an object, or without a true or false ``can_close`` is not a close summary
(``SummaryError``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


class SummaryError(ValueError):
    """The file is JSON, but not a close summary."""


@dataclass(frozen=True)
class CloseCheck:
    """One check of the close (月结检查): its name, whether it passed, what it found."""

    name: str
    ok: bool
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutstandingPayment:
    """A batch of an earlier clearing period not paid by the month's end (未付批次)."""

    batch: str  # the batch's link, clr-...
    institution: str
    pooled: str  # 统筹基金, money as text
    personal: str  # 个人账户 (含共济), money as text


@dataclass(frozen=True)
class ReconciliationSummary:
    """余额调节表 of one disbursement account, as the summary keeps it (money as text; a bank
    balance of None: no statement reaches the month)."""

    account: str
    book_balance: str | None
    bank_balance: str | None
    bank_not_in_books: tuple[tuple[str, str | None], ...]
    books_not_in_bank: tuple[tuple[str, str | None], ...]
    adjusted_book_balance: str | None
    adjusted_bank_balance: str | None
    agrees: bool


@dataclass(frozen=True)
class CloseSummary:
    """What the close of a month found: can it close, each check, the bank reconciliation
    statements, the outstanding payments."""

    month: str
    can_close: bool
    checks: tuple[CloseCheck, ...]
    reconciliation: tuple[ReconciliationSummary, ...]
    outstanding_payments: tuple[OutstandingPayment, ...]

    @property
    def failed_checks(self) -> tuple[CloseCheck, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def to_json(self) -> str:
        """The file's text: keys sorted, two spaces, Chinese as is, a final newline."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CloseSummary:
        """The summary in ``text``; json.JSONDecodeError when it is not JSON, SummaryError when
        it is not a close summary."""
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("can_close"), bool):
            raise SummaryError("not a close summary (no can_close)")
        return cls(
            month=str(raw.get("month", "")),
            can_close=raw["can_close"],
            checks=tuple(
                CloseCheck(str(row.get("name", "?")), row["ok"], _texts(row.get("details")))
                for row in _rows(raw.get("checks"))
                if isinstance(row.get("ok"), bool)
            ),
            reconciliation=tuple(_reconciliation(row) for row in _rows(raw.get("reconciliation"))),
            outstanding_payments=tuple(
                OutstandingPayment(
                    str(row.get("batch", "")),
                    str(row.get("institution", "")),
                    str(row.get("pooled", "")),
                    str(row.get("personal", "")),
                )
                for row in _rows(raw.get("outstanding_payments"))
            ),
        )


def _rows(value: Any) -> list[dict[str, Any]]:
    """The objects of a list; a row that is not one as an empty one, no list as no rows."""
    if not isinstance(value, list):
        return []
    return [row if isinstance(row, dict) else {} for row in value]


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value or ())


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def _reconciliation(row: dict[str, Any]) -> ReconciliationSummary:
    def items(name: str) -> tuple[tuple[str, str | None], ...]:
        pairs = row.get(name)
        return tuple(
            (str(pair[0]), _money(pair[1]))
            for pair in (pairs if isinstance(pairs, list) else [])
            if isinstance(pair, list) and len(pair) == 2
        )

    return ReconciliationSummary(
        account=str(row.get("account", "")),
        book_balance=_money(row.get("book_balance")),
        bank_balance=_money(row.get("bank_balance")),
        bank_not_in_books=items("bank_not_in_books"),
        books_not_in_bank=items("books_not_in_bank"),
        adjusted_book_balance=_money(row.get("adjusted_book_balance")),
        adjusted_bank_balance=_money(row.get("adjusted_bank_balance")),
        agrees=row.get("agrees") is True,
    )
