"""The command line's options and arguments: how each is parsed where it comes in (a month
into ``Month``, a date into ``datetime.date``), once, before any command runs."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ledger.month import Month
from mzledger.terminal import err

BooksOption = Annotated[
    Path,
    typer.Option(
        "--books",
        envvar="MZLEDGER_BOOKS",
        help="Books directory (else MZLEDGER_BOOKS, else the current directory).",
        show_default=False,
    ),
]


def file_argument(help: str) -> Any:
    return typer.Argument(help=help, exists=True, dir_okay=False)


def month_parameter(kind: Callable[..., Any], help: str, metavar: str = "YYYY-MM") -> Any:
    """A month option or argument, parsed where it comes in, then passed on as ``Month``."""
    return kind(parser=parse_month, metavar=metavar, help=help)


def parse_month(value: str) -> Month:
    """A month where it comes in (an option or argument): parsed once, then passed on."""
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def parse_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not a date (found '{value}', expected YYYY-MM-DD)") from None


def refuse(*lines: str) -> NoReturn:
    """End the command: the input was refused (exit 1), each line said on stderr."""
    for line in lines:
        err.print(line, markup=False, soft_wrap=True)
    raise typer.Exit(1)


@dataclass(frozen=True)
class ReportPeriod:
    """What ``report --period`` names: a month (``YYYY-MM``), or a whole year (``YYYY``)."""

    month: Month | None
    year: int


def parse_month_or_year(value: str) -> ReportPeriod:
    """``YYYY-MM`` as that month, ``YYYY`` as the year."""
    if len(value) == 4 and value.isascii() and value.isdigit() and value != "0000":
        return ReportPeriod(None, int(value))
    try:
        month = Month.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}, or a year YYYY") from None
    return ReportPeriod(month, month.year)
