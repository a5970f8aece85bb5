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
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import beangulp
from beancount.core import data

from importers.fields import text_problem
from importers.sources import SAMPLE_BYTES, csv_dialect, detect_encoding
from ledger.money import parse_amount
from ledger.problems import Problem
from ledger.statements import Statement, StatementLine

if TYPE_CHECKING:
    import _csv

LAYOUTS_PACKAGE = "importers"
LAYOUTS_DIR = "bank_layouts"
SIGNS = ("negative-is-out", "positive-is-out")
ORDERS = ("oldest-first", "newest-first")
SUFFIXES = (".csv", ".txt")

_KEYS = (
    "name",
    "description",
    "date",
    "date_formats",
    "debit",
    "credit",
    "empty_values",
    "amount",
    "amount_sign",
    "balance",
    "counterparty",
    "counterparty_account",
    "summary",
    "reference",
    "skip_rows",
    "order",
)
_LAYOUT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: Commas only as thousands separators: 1,234.56 and -12,345,678 but not 1,23 or 12,3456.
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_DIGITS = re.compile(r"[0-9]+")
_AMOUNT_EXPECTED = "yuan with at most 2 decimals, such as 1234.56 or 1,234.56"


# --- layouts ------------------------------------------------------------------------------


class LayoutError(ValueError):
    """A layout file is not usable; one problem per wrong key, all at once."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class BankLayout:
    """One bank's statement columns, as read from its TOML file (see ``generic.toml``)."""

    name: str
    description: str
    source: str  # where the layout was read from, for messages
    date: str
    date_formats: tuple[str, ...]
    # Either debit and credit (money out, money in) or amount and amount_sign.
    debit: str | None
    credit: str | None
    empty_values: tuple[str, ...]
    amount: str | None
    amount_sign: Literal["negative-is-out", "positive-is-out"] | None
    balance: str | None
    counterparty: str | None
    counterparty_account: str | None
    summary: str | None
    reference: str | None
    skip_rows: int = 0
    order: Literal["oldest-first", "newest-first"] = "oldest-first"

    def columns(self) -> tuple[str, ...]:
        """The header columns the layout needs, each once, in the layout's order."""
        named = (
            self.date,
            self.debit,
            self.credit,
            self.amount,
            self.balance,
            self.counterparty,
            self.counterparty_account,
            self.summary,
            self.reference,
        )
        return tuple(dict.fromkeys(c for c in named if c is not None))


def shipped_layouts() -> list[str]:
    """The names of the layouts in ``importers/bank_layouts/``."""
    folder = resources.files(LAYOUTS_PACKAGE).joinpath(LAYOUTS_DIR)
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def load_layout(name_or_path: str) -> BankLayout:
    """A shipped layout by name (``"generic"``), or a layout file by its path.

    The argument is a path when it ends in ``.toml`` or holds a ``/``; else a shipped name.
    Raises LayoutError naming every problem of the file.
    """
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise LayoutError(
                [Problem(str(path), "file", f"cannot read the layout: {reason}")]
            ) from None
        return parse_layout(text, str(path))
    shipped = shipped_layouts()
    if not _LAYOUT_NAME.fullmatch(name_or_path) or name_or_path not in shipped:
        raise LayoutError(
            [
                Problem(
                    "layout",
                    "name",
                    "no such shipped layout",
                    name_or_path,
                    f"one of {', '.join(shipped)}, or the path of a .toml file",
                )
            ]
        )
    resource = resources.files(LAYOUTS_PACKAGE).joinpath(LAYOUTS_DIR, f"{name_or_path}.toml")
    return parse_layout(resource.read_text("utf-8"), f"{LAYOUTS_DIR}/{name_or_path}.toml")


def _shown(value: object) -> str:
    return value if isinstance(value, str) else f"{type(value).__name__} {value!r}"


class _LayoutReader:
    """Reads the keys of one layout file, collecting every problem."""

    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.problems: list[Problem] = []

    def add(self, key: str, message: str, found: object = None, expected: str = "") -> None:
        shown = "" if found is None else _shown(found)
        self.problems.append(Problem(self.source, key, message, shown, expected))

    def text(self, key: str, *, required: bool, what: str) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.add(key, "missing", None, what)
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(key, "not a non-empty text in quotes", value, what)
            return None
        return value.strip()

    def column(self, key: str, *, required: bool = False) -> str | None:
        return self.text(key, required=required, what="a column name in quotes")

    def choice(self, key: str, choices: tuple[str, ...], default: str | None) -> str | None:
        value = self.raw.get(key, default)
        if value not in choices:
            self.add(key, "not a known value", value, " or ".join(f'"{c}"' for c in choices))
            return None
        return cast(str, value)

    def texts(self, key: str, *, required: bool, what: str, check: str = "") -> tuple[str, ...]:
        value = self.raw.get(key, None if required else [])
        if (
            not isinstance(value, list)
            or (required and not value)
            or not all(isinstance(v, str) and check in v for v in value)
        ):
            self.add(key, "not a list of texts", value, what)
            return ()
        return tuple(cast(list[str], value))


def parse_layout(text: str, source: str) -> BankLayout:
    """Parse and check a layout file's text; ``source`` names it in the problems."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError([Problem(source, "file", f"not valid TOML: {exc}")]) from None
    r = _LayoutReader(raw, source)
    for key in raw:
        if key not in _KEYS:
            r.add(key, "unknown key", None, f"one of {', '.join(_KEYS)}")
    name = r.text("name", required=True, what="the layout's name in quotes")
    description = r.text("description", required=False, what="a line of text") or ""
    date = r.column("date", required=True)
    formats = r.texts("date_formats", required=True, what='formats such as ["%Y-%m-%d"]', check="%")
    debit = credit = amount = None
    sign: str | None = None
    empty_values: tuple[str, ...] = ()
    if "amount" in raw:
        amount = r.column("amount", required=True)
        sign = r.choice("amount_sign", SIGNS, None)
        for key in ("debit", "credit", "empty_values"):
            if key in raw:
                r.add(
                    key,
                    "not with amount: the money is either one signed amount column "
                    "or debit and credit",
                    None,
                    "amount and amount_sign, or debit and credit",
                )
    else:
        debit = r.column("debit", required=True)
        credit = r.column("credit", required=True)
        empty_values = r.texts("empty_values", required=False, what='texts such as ["0.00"]')
        if "amount_sign" in raw:
            r.add("amount_sign", "only with amount", None, "no amount_sign with debit and credit")
        if debit is not None and debit == credit:
            r.add("credit", "the same column as debit", credit, "a column of its own")
    balance = r.column("balance")
    counterparty = r.column("counterparty")
    counterparty_account = r.column("counterparty_account")
    summary = r.column("summary")
    reference = r.column("reference")
    skip_rows = raw.get("skip_rows", 0)
    if not isinstance(skip_rows, int) or isinstance(skip_rows, bool) or skip_rows < 0:
        r.add("skip_rows", "not a count of lines", skip_rows, "0 or more, unquoted")
        skip_rows = 0
    order = r.choice("order", ORDERS, "oldest-first")
    if r.problems or name is None or date is None or order is None:
        raise LayoutError(r.problems)
    return BankLayout(
        name=name,
        description=description,
        source=source,
        date=date,
        date_formats=formats,
        debit=debit,
        credit=credit,
        empty_values=empty_values,
        amount=amount,
        amount_sign=cast(Literal["negative-is-out", "positive-is-out"] | None, sign),
        balance=balance,
        counterparty=counterparty,
        counterparty_account=counterparty_account,
        summary=summary,
        reference=reference,
        skip_rows=skip_rows,
        order=cast(Literal["oldest-first", "newest-first"], order),
    )


# --- statements ---------------------------------------------------------------------------


@dataclass
class _Table:
    """A statement's text cut into the part above the header, the header and the rows."""

    title: str  # the lines above the header (skipped, and blank), as text
    header_line: int
    header: tuple[str, ...]
    reader: _csv.Reader
    offset: int  # physical lines before the reader's first line

    def line(self) -> int:
        """The physical line the reader stands on (a quoted value may span lines)."""
        return self.offset + self.reader.line_num


def _table(path: Path, text: str, layout: BankLayout) -> _Table | Problem:
    buffer = io.StringIO(text, newline="")
    skipped = [buffer.readline() for _ in range(layout.skip_rows)]
    rest = buffer.read()
    first = next((line for line in rest.splitlines() if line.strip()), None)
    if first is None or "" in skipped:
        where = f"below the {layout.skip_rows} title line(s) the layout skips"
        return Problem(
            f"{path}:1",
            "header",
            "empty file" if not text.strip() else f"no header row {where}",
            "",
            f"a header row with the columns of layout {layout.name}",
        )
    reader = csv.reader(io.StringIO(rest, newline=""), csv_dialect(first))
    table = _Table("".join(skipped), 0, (), reader, layout.skip_rows)
    for values in reader:
        if any(v.strip() for v in values):
            table.header_line = table.line()
            table.header = tuple(v.strip() for v in values)
            break
        table.title += "\n"
    return table


def _columns_problems(path: Path, table: _Table, layout: BankLayout) -> list[Problem]:
    where = f"{path}:{table.header_line}"
    names = [h.casefold() for h in table.header]
    problems: list[Problem] = []
    wanted = layout.columns()
    hint = ""
    if not any(column.casefold() in names for column in wanted):
        hint = f" (line {table.header_line} has none of them: title lines above it? skip_rows)"
    for column in wanted:
        count = names.count(column.casefold())
        if count == 0:
            problems.append(
                Problem(
                    where,
                    column,
                    f"column of layout {layout.name} missing from the header{hint}",
                    "",
                    f"a column {column}",
                )
            )
        elif count > 1:
            problems.append(
                Problem(where, column, "column twice in the header", f"{count} times", "once")
            )
    return problems


def parse_money(text: str) -> Decimal:
    """An amount as banks write it: at most 2 decimals, commas only as thousands separators.

    Raises ValueError with a short reason (``ledger.money.parse_amount``'s)."""
    text = text.strip()
    if "," in text:
        if not _THOUSANDS.fullmatch(text):
            raise ValueError("not a number: commas only as thousands separators")
        text = text.replace(",", "")
    return parse_amount(text)


def parse_date(text: str, formats: tuple[str, ...]) -> datetime.date:
    """The day ``text`` names in one of ``formats``; zero padding optional. Raises ValueError
    when no format reads it, or when two formats read it as different days."""
    days: dict[datetime.date, str] = {}
    for fmt in formats:
        try:
            moment = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        # strptime is lenient ("2023210" reads as %Y%m%d); the text must be what the format
        # writes, up to leading zeros, so that no digit is taken for another field.
        if _unpadded(moment.strftime(fmt)) == _unpadded(text):
            days.setdefault(moment.date(), fmt)
    if not days:
        raise ValueError("not a date in any of the layout's formats")
    if len(days) > 1:
        read = ", ".join(f"{day} by {fmt}" for day, fmt in days.items())
        raise ValueError(f"ambiguous date: {read}")
    return next(iter(days))


def _formats(formats: tuple[str, ...]) -> str:
    listed = ", ".join(formats[:-1]) + " or " if len(formats) > 1 else ""
    return f"a date written {listed}{formats[-1]}"


def _unpadded(text: str) -> str:
    return _DIGITS.sub(lambda m: str(int(m.group())), text)


@dataclass
class _Row:
    """One line as read, before the checks between lines; None where a field was refused."""

    line: int
    date: datetime.date | None
    date_text: str
    amount: Decimal | None
    balance: Decimal | None
    balance_text: str
    counterparty: str
    counterparty_account: str
    summary: str
    reference: str


class _RowReader:
    def __init__(self, path: Path, layout: BankLayout, header: tuple[str, ...]) -> None:
        self.path = path
        self.layout = layout
        self.index = {name.casefold(): i for i, name in enumerate(header)}
        self.width = len(header)
        self.problems: list[tuple[int, Problem]] = []

    def add(self, line: int, field: str, message: str, found: str, expected: str) -> None:
        self.problems.append(
            (line, Problem(f"{self.path}:{line}", field, message, found, expected))
        )

    def money(self, line: int, column: str, text: str) -> Decimal | None:
        try:
            return parse_money(text)
        except ValueError as exc:
            self.add(line, column, str(exc), text, _AMOUNT_EXPECTED)
            return None

    def amount(self, line: int, cell: dict[str, str]) -> Decimal | None:
        layout = self.layout
        if layout.amount is not None:
            text = cell[layout.amount]
            if not text:
                self.add(line, layout.amount, "empty", "", f"a signed amount, {layout.amount_sign}")
                return None
            value = self.money(line, layout.amount, text)
            if value is None or layout.amount_sign == "negative-is-out":
                return value
            return -value
        debit, credit = cast(str, layout.debit), cast(str, layout.credit)
        out, into = cell[debit], cell[credit]
        out_filled = out not in ("", *layout.empty_values)
        into_filled = into not in ("", *layout.empty_values)
        if out_filled and into_filled:
            self.add(
                line,
                f"{debit}/{credit}",
                "both filled on one line",
                f"{out} and {into}",
                "an amount in one of the two",
            )
            return None
        if not out_filled and not into_filled:
            found = " and ".join(t for t in (out, into) if t)
            self.add(
                line, f"{debit}/{credit}", "neither filled", found, "an amount in one of the two"
            )
            return None
        if out_filled:
            value = self.money(line, debit, out)
            return None if value is None else -value
        return self.money(line, credit, into)

    def row(self, line: int, values: list[str]) -> _Row | None:
        extra = values[self.width :]
        if len(values) < self.width or any(v.strip() for v in extra):
            self.add(
                line,
                "row",
                "wrong number of values",
                f"{len(values)} values",
                f"{self.width}, one per column of the header",
            )
            return None
        layout = self.layout
        cell = {
            column: values[self.index[column.casefold()]].strip() for column in layout.columns()
        }
        date_text = cell[layout.date]
        date: datetime.date | None = None
        try:
            date = parse_date(date_text, layout.date_formats)
        except ValueError as exc:
            self.add(line, layout.date, str(exc), date_text, _formats(layout.date_formats))
        amount = self.amount(line, cell)
        balance: Decimal | None = None
        balance_text = ""
        if layout.balance is not None:
            balance_text = cell[layout.balance]
            if not balance_text:
                self.add(line, layout.balance, "empty", "", "the balance after this line")
            else:
                balance = self.money(line, layout.balance, balance_text)

        def text(column: str | None, length: int) -> str:
            if column is None:
                return ""
            wrong = text_problem(cell[column], length)
            if wrong is not None:
                self.add(line, column, *wrong)
            return cell[column]

        return _Row(
            line=line,
            date=date,
            date_text=date_text,
            amount=amount,
            balance=balance,
            balance_text=balance_text,
            # the register's widths (ledger.register.models.BankStatementLine)
            counterparty=text(layout.counterparty, 200),
            counterparty_account=text(layout.counterparty_account, 60),
            summary=text(layout.summary, 500),
            reference=text(layout.reference, 500),
        )

    def check_order(self, rows: list[_Row]) -> None:
        """Dates never go back (``rows`` oldest first)."""
        before: _Row | None = None
        for row in rows:
            if row.date is None:
                continue
            if before is not None and before.date is not None and row.date < before.date:
                self.add(
                    row.line,
                    self.layout.date,
                    f"out of date order: line {before.line} is dated {before.date} "
                    f"and the layout reads {self.layout.order}",
                    row.date_text,
                    f"{before.date} or later",
                )
            before = row

    def check_balances(self, rows: list[_Row]) -> None:
        """Each balance is the one before plus the line's amount (``rows`` oldest first)."""
        column = cast(str, self.layout.balance)
        before: _Row | None = None
        for row in rows:
            if (
                before is None
                or before.balance is None
                or row.balance is None
                or row.amount is None
            ):
                before = row
                continue
            expected = before.balance + row.amount
            if expected != row.balance:
                self.add(
                    row.line,
                    column,
                    f"does not follow from the balance on line {before.line} "
                    f"({before.balance}) and this line's amount ({row.amount}): "
                    f"off by {row.balance - expected}",
                    row.balance_text,
                    f"{expected}",
                )
            before = row


def _decode(path: Path, raw: bytes) -> str | Problem:
    sample = raw[:SAMPLE_BYTES]
    if len(raw) > SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # a character cut in two is neither
    expected = "UTF-8, UTF-8 with BOM or GB18030"
    try:
        encoding = detect_encoding(sample)
    except ValueError as exc:
        return Problem(f"{path}:1", "encoding", str(exc), "", expected)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        found = raw[exc.start : exc.end].hex(" ")
        return Problem(f"{path}:{line}", "encoding", f"not valid {encoding} text", found, expected)


def read_statement(path: Path, layout: BankLayout) -> tuple[Statement | None, list[Problem]]:
    """The statement in ``path`` read with ``layout``, or None and every problem that refuses
    it (in line order). Locations are ``path`` as given, so relative paths stay relative."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), "file", f"cannot be read: {exc.strerror}")]
    if not raw.strip():
        return None, [Problem(f"{path}:1", "file", "empty file", "", "a bank statement")]
    text = _decode(path, raw)
    if isinstance(text, Problem):
        return None, [text]
    table = _table(path, text, layout)
    if isinstance(table, Problem):
        return None, [table]
    missing = _columns_problems(path, table, layout)
    if missing:
        return None, missing
    reader = _RowReader(path, layout, table.header)
    rows: list[_Row] = []
    try:
        for values in table.reader:
            if not any(v.strip() for v in values):
                continue  # a blank line is not a statement line
            row = reader.row(table.line(), values)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        reader.add(table.line(), "row", "unreadable CSV", str(exc), "CSV")
    if not rows and not reader.problems:
        reader.add(
            table.header_line, "file", "no statement lines below the header", "", "one or more"
        )
    chronological = rows if layout.order == "oldest-first" else rows[::-1]
    reader.check_order(chronological)
    if layout.balance is not None:
        reader.check_balances(chronological)
    if reader.problems:
        return None, [p for _, p in sorted(reader.problems, key=lambda item: item[0])]
    lines = tuple(
        StatementLine(
            line=r.line,
            date=cast(datetime.date, r.date),
            amount=cast(Decimal, r.amount),
            balance=r.balance,
            counterparty=r.counterparty,
            counterparty_account=r.counterparty_account,
            summary=r.summary,
            reference=r.reference,
        )
        for r in chronological
    )
    first, last = lines[0], lines[-1]
    return (
        Statement(
            path=path,
            layout=layout.name,
            lines=lines,
            opening_balance=None if first.balance is None else first.balance - first.amount,
            closing_balance=last.balance,
            first_date=first.date,
            last_date=last.date,
        ),
        [],
    )


# --- beangulp -----------------------------------------------------------------------------


def _head(path: Path, layout: BankLayout) -> _Table | None:
    """The header of a file read with ``layout``, from its first 64 KiB; None if unreadable."""
    try:
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except OSError:
        return None
    if len(sample) == SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    try:
        encoding = detect_encoding(sample)
    except ValueError:
        return None
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample)
    table = _table(path, text, layout)
    return None if isinstance(table, Problem) else table


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
        table = _head(path, self.layout)
        if table is None or _columns_problems(path, table, self.layout):
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
