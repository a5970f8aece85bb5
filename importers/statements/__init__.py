"""Bank statements of the disbursement accounts (支出户银行对账单), read and checked.

A statement is a CSV file (UTF-8, UTF-8 with BOM or GB18030, detected as for settlement
exports; the delimiter is sniffed from the header row) whose columns a *layout* names: the date,
the money (a debit and a credit column, or one signed amount column), and optionally the running
balance, the counterparty's name and account, a summary and a reference. ``read_statement``
gives every line as a ``StatementLine`` whose ``amount`` is signed as the account sees it
(negative = money out, a payment; positive = money in), or the problems that refuse the file,
all of them, as ``file:line: field: what is wrong (found X, expected Y)``. Nothing is guessed:

- the header must carry every column the layout names;
- a date must read with one of the layout's formats (and not as two different days);
- amounts are yuan with at most 2 decimals (``ledger.money.parse_amount``); thousands
  separators are accepted only where they are separators (``1,234.56``, not ``1,23.4``);
- with debit and credit columns exactly one of the two is filled on each line (a negative
  figure, a reversal 冲正, counts with its sign: -100.00 in the debit column is money in);
- the lines must be in date order (the layout's ``order``);
- with a balance column, each balance must equal the one before plus the line's amount, to the
  fen (the line, the figure found and the figure expected are named);
- a file without lines is refused. Blank lines are skipped.

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
