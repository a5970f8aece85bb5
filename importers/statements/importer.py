"""The beangulp importer of bank statements (for Fava's import page): identifies a statement by
its header, and by the account number when given, reading only the first 64 KiB, as it is asked
about every file in a directory, settlement exports included."""

from __future__ import annotations

import datetime
from pathlib import Path

import beangulp
from beancount.core import data

from importers.statements.layouts import BankLayout, load_layout
from importers.statements.reading import read_statement
from importers.statements.table import header_problems, read_head
from ledger.problems import Problem
from ledger.statements import Statement

SUFFIXES = (".csv", ".txt")


class StatementImporter(beangulp.Importer):  # type: ignore[misc]
    """支出户银行对账单: one disbursement account's bank statements, in one bank's layout.

    ``extract`` gives no entries, as for settlement exports: the books already hold the
    payments, one transaction per clearing batch (``mzledger post``), and a statement line is
    evidence that a batch was paid, not a second booking of it. Matching lines to batches is
    reconciliation against the register, which is done there, not by creating entries here.
    """

    def __init__(
        self,
        account: str,
        layout: BankLayout | str = "generic",
        account_number: str | None = None,
    ) -> None:
        """``account``: the books account the statements are of (no default: the pooled fund
        and the personal accounts each have their own). ``account_number``: when given, a file
        is identified only if it names that number above its header (banks print 账号 in their
        title lines) or in its file name, so that importers of accounts sharing a layout each
        take only their own statements."""
        self._account = account
        self.layout = load_layout(layout) if isinstance(layout, str) else layout
        self.account_number = account_number

    @property
    def name(self) -> str:
        return f"mzledger.statement.{self.layout.name}:{self._account}"

    def identify(self, filepath: str) -> bool:
        path = Path(filepath)
        if path.suffix.lower() not in SUFFIXES:
            return False
        table = read_head(path, self.layout)
        if table is None or header_problems(path, table, self.layout):
            return False
        number = self.account_number
        return number is None or number in table.title or number in path.name

    def account(self, filepath: str) -> str:
        return self._account

    def date(self, filepath: str) -> datetime.date | None:
        """The statement's last day, when the file reads without problems."""
        statement, _ = self.statement(filepath)
        return None if statement is None else statement.last_date

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        """No entries: payments are booked per clearing batch; see the class docstring."""
        return []

    def statement(self, filepath: str) -> tuple[Statement | None, list[Problem]]:
        return read_statement(Path(filepath), self.layout)
