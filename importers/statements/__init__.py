"""Bank statements of the disbursement accounts (支出户银行对账单), read and checked.

A statement is a CSV file (UTF-8, UTF-8 with BOM or GB18030, detected as for settlement
exports; the delimiter is sniffed from the header row) whose columns a *layout* names: the date,
the money (a debit and a credit column, or one signed amount column), and optionally the running
balance, the counterparty's name and account, a summary and a reference. ``read_statement``
gives every line as a ``StatementLine`` whose ``amount`` is signed as the account sees it
(negative = money out, a payment; positive = money in), or the problems that refuse the file,
all of them, as ``file:line: field: what is wrong (found X, expected Y)``. Nothing is guessed:
the header must carry every column the layout names, each line must follow the rules of
``lines`` (a date in one of the layout's formats, yuan to the fen, exactly one of debit and
credit, date order, balances that follow), and a file without lines is refused. Blank lines
are skipped.

Adding a bank needs no code: write ``importers/bank_layouts/<bank>.toml`` (copy ``generic.toml``,
whose comments describe every key) and load it with ``load_layout("<bank>")``; a layout file
kept elsewhere is loaded by its path (``load_layout("books/layouts/bank.toml")``).

Statements are small (a month of one account), so a file is read whole; ``identify`` reads only
the first 64 KiB, as it is asked about every file in a directory, settlement exports included.

The modules, by job: ``layouts`` (the bank layouts and their TOML), ``table`` (a file's text
cut into title lines, header and rows), ``lines`` (a line's rules and those between lines),
``reading`` (``read_statement``: the file to a ``ledger.statements.Statement`` or its problems)
and ``importer`` (the beangulp importer).
"""

from __future__ import annotations

from importers.statements.importer import SUFFIXES, StatementImporter
from importers.statements.layouts import (
    LAYOUTS_DIR,
    LAYOUTS_PACKAGE,
    ORDERS,
    SIGNS,
    BankLayout,
    LayoutError,
    load_layout,
    parse_layout,
    shipped_layouts,
)
from importers.statements.lines import parse_date, parse_money
from importers.statements.reading import read_statement

__all__ = [
    "LAYOUTS_DIR",
    "LAYOUTS_PACKAGE",
    "ORDERS",
    "SIGNS",
    "SUFFIXES",
    "BankLayout",
    "LayoutError",
    "StatementImporter",
    "load_layout",
    "parse_date",
    "parse_layout",
    "parse_money",
    "read_statement",
    "shipped_layouts",
]
