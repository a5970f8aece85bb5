"""The use cases of more than one step, wired from the rooms below: open the books, compare the
platform's totals with the register's and keep them, import a bank statement file, close a
month (a December with its year-end closing), the books' audit policy, the demo.

Each takes its inputs and returns what happened as values (problems included); none prints,
exits or holds the books by itself: ``mzledger.cli`` holds them (``hold``), calls one of these
and shows the result. As in the commands, the heavier modules are imported by the function
that uses them.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from beancount.core import data
from sqlalchemy import Engine

from importers.imported_files import file_sha256
from ledger.books import Books, BooksConfig, atomic_write, initialise
from ledger.chart import Chart, load_chart
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.lock import DEFAULT_WAIT_SECONDS, RegisterBusy, lock_wait_seconds
from ledger.register.opening import open_register, resolve_url
from reports.audit.policy import Policy
from reports.audit.policy import books_policy as policy_of_books

if TYPE_CHECKING:
    from importers.contributions import ContributionsImport
    from importers.fee_details.loader import FeeDetailsImport
    from importers.lists import ListImport
    from importers.opening_balances import OpeningImport
    from importers.settlements.results import ImportResult
    from ledger.chart_migration import ChartMove
    from ledger.crediting import CreditingRule
    from ledger.statements import Statement
    from postings.contributions import Collection
    from postings.period import PostResult
    from postings.statement_import import StatementResult
    from postings.year_end import YearEndClosing
    from reports.controls.books_vs_register import CheckResult
    from reports.controls.close import CloseResult
    from reports.controls.platform_totals import GroupComparison

#: Holds the books at a root and the register at a URL, waiting up to so many seconds, until
#: the command ends (``mzledger.cli``; ``ledger.register.lock``).
Hold = Callable[[Path, str, float], None]


class OpenBooks(NamedTuple):
    """What a command works on (unpacked by most: ``books, config, chart, engine``)."""

    books: Books
    config: BooksConfig
    chart: Chart
    engine: Engine


def open_books(books_dir: Path, hold: Hold | None = None) -> OpenBooks:
    """The books and their register (at the newest migration). ``hold`` (for a command that
    writes either) is called before the chart is read or the register migrated."""
    books = Books(books_dir)
    config = books.read_config()
    url = resolve_url(config.db_url, books.root)
    wait = lock_wait_seconds(config.lock_wait_seconds)
    if hold is not None:
        hold(books.root, url, wait)
    chart = load_chart(books.chart_path)
    # a reader waits for a writer's commit as long as a writer waits for another
    return OpenBooks(books, config, chart, open_register(url, wait))


@dataclass(frozen=True)
class BooksReady:
    books: Books
    config: BooksConfig
    ok: bool = True


def create_books(directory: Path, config: BooksConfig, hold: Hold) -> BooksReady:
    """New books in ``directory`` (``ledger.books.initialise``; the same again changes
    nothing), held first. A directory made here is removed again when the books cannot be
    created (nothing claims books that do not exist), unless another command holds it."""
    books = Books(directory)
    created = not books.root.exists()
    try:
        # made here for its lock file; removed below as initialise would have
        books.root.mkdir(parents=True, exist_ok=True)
        existing = books.read_config() if books.config_path.exists() else None
        wait = lock_wait_seconds(existing.lock_wait_seconds if existing else DEFAULT_WAIT_SECONDS)
        try:
            hold(books.root, resolve_url(config.db_url, books.root), wait)
        except RegisterBusy:
            created = False  # another init has the directory: its to keep or remove
            raise
        initialise(books, config)
    except Exception:
        if created:
            shutil.rmtree(books.root, ignore_errors=True)
        raise
    return BooksReady(books, config)


def books_policy(books: Books, config: BooksConfig) -> Policy:
    """The books' own policy.toml if there is one, else the one shipped for the region."""
    return policy_of_books(books.root, config.region)


@dataclass(frozen=True)
class PlatformTotalsCheck:
    """The platform's totals of a month beside the register's (一致 / 不一致), and whether
    they were kept for the close now (False: the same file was kept before)."""

    month: Month
    problems: list[Problem]  # the file refused: nothing compared, nothing kept
    comparisons: list[GroupComparison]
    stored: bool

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def agreed(self) -> bool:
        return all(c.agreed for c in self.comparisons)


def check_platform_totals(engine: Engine, file: Path, month: Month) -> PlatformTotalsCheck:
    """Read the platform's 3201 totals of ``month``, compare them with the register's, and
    keep them for the month's close (whatever the comparison says)."""
    from importers.platform_totals import read_platform_totals, store_platform_totals
    from ledger.register.platform_totals import register_totals
    from reports.controls.platform_totals import compare

    ours = register_totals(engine, month)
    theirs, problems = read_platform_totals(file)
    if problems:
        return PlatformTotalsCheck(month, problems, [], stored=False)
    comparisons = compare(ours, theirs)
    groups = [dataclasses.asdict(group) for group in theirs]
    stored = store_platform_totals(engine, month, groups, file, file_sha256(file))
    return PlatformTotalsCheck(month, [], comparisons, stored)


@dataclass(frozen=True)
class StatementImport:
    """A bank statement file's import: refused by its layout, by the file, or by the books
    (``result.problems``), or done."""

    file: Path
    problems: list[Problem]  # the layout's or the file's; the books' are in the result's
    layout_usable: bool = True
    statement: Statement | None = None
    result: StatementResult | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None and not self.result.problems


def import_statement_file(
    opened: OpenBooks, file: Path, account: str, layout: str
) -> StatementImport:
    """Load the bank's layout, read the statement with it, and import it into the register
    and the books (``postings.statement_import``): the batches it paid, the bank's own
    entries, its closing balance."""
    from importers.statements import LayoutError, load_layout, read_statement
    from postings.statement_import import import_statement

    try:
        bank_layout = load_layout(layout)
    except LayoutError as exc:
        return StatementImport(file, list(exc.problems), layout_usable=False)
    statement, problems = read_statement(file, bank_layout)
    if statement is None:
        return StatementImport(file, problems)
    books, config, chart = opened.books, opened.config, opened.chart
    result = import_statement(
        opened.engine, books, config, chart, statement, file_sha256(file), account
    )
    return StatementImport(file, problems, statement=statement, result=result)


@dataclass(frozen=True)
class OpeningImported:
    """The opening balances' import (建账): refused, the same file again, or booked."""

    file: Path
    result: OpeningImport

    @property
    def ok(self) -> bool:
        return not self.result.problems


def import_opening(
    opened: OpenBooks, file: Path, on: datetime.date, *, replace: bool = False
) -> OpeningImported:
    """Register the opening trial balance (``importers.opening_balances``) and book it
    (``postings.opening``). Refused while any month is locked: every later balance would
    change under the locks."""
    from importers.opening_balances import OpeningImport, import_opening_balances
    from ledger.books import lock_entries, write_main
    from ledger.loading import load_books
    from ledger.locks import first_entry_day, locked_months
    from postings.opening import render_opening

    books, chart = opened.books, opened.chart
    locked = sorted(locked_months(lock_entries(books)))
    if locked and not _imported_before(opened.engine, file):
        problem = Problem(
            str(file),
            "",
            "locked months would change under their locks: reopen them first",
            ", ".join(str(month) for month in locked),
            "no locked month",
        )
        blocked = OpeningImport(file, on - datetime.timedelta(days=1), problems=[problem])
        return OpeningImported(file, blocked)
    first = first_entry_day(load_books(books.main).entries)
    if first is not None and first < on:
        problem = Problem(
            str(file),
            "opening_day",
            "the books have entries before the opening day: the opening balances come first",
            f"{on} (first entry {first})",
            f"{first} or earlier",
        )
        early = OpeningImport(file, on - datetime.timedelta(days=1), problems=[problem])
        return OpeningImported(file, early)
    result = import_opening_balances(opened.engine, chart, file, on, replace=replace)
    if not result.problems:
        render_opening(opened.engine, books, chart)
        write_main(books, opened.config, chart.opened_on)
    return OpeningImported(file, result)


@dataclass(frozen=True)
class ContributionsImported:
    """A month's collection: refused, the same file again, or booked by sub-fund."""

    file: Path
    result: ContributionsImport
    collections: tuple[Collection, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.result.problems


def import_contributions_file(
    opened: OpenBooks, file: Path, received_on: datetime.date
) -> ContributionsImported:
    """Read the collection, find the region's crediting rule for its month (refused without
    one), register it and book the month's contributions by sub-fund
    (``postings.contributions``). Refused when the day received is in a locked month."""
    from importers.contributions import (
        ContributionsImport,
        import_contributions,
        read_contributions,
    )
    from ledger.books import lock_entries, write_main
    from ledger.crediting import rule_for
    from ledger.locks import locked_months
    from postings.contributions import Contribution, render_contributions, split_problems

    books, chart = opened.books, opened.chart
    read = read_contributions(file)
    refused = ContributionsImport(file, read.period, received_on, read.listed.rows)
    refused.problems = _chart_takes_contributions(books, opened.config, chart) or read.problems
    if refused.problems or read.period is None:
        return ContributionsImported(file, refused)
    policy = books_policy(books, opened.config)
    rule = rule_for(policy.crediting, Month.parse(read.period).first)
    if rule is None:
        refused.problems = [
            Problem(
                str(file),
                "period",
                "no personal-account crediting rule for the month in the "
                f"region's policy file ({policy.document}, [[crediting]])",
                read.period,
                "a month the policy's crediting covers",
            )
        ]
        return ContributionsImported(file, refused)
    rows = [
        Contribution(r["psn_no"], r["psn_type"], r["base"], r["employer"], r["employee"], where)
        for where, r in read.listed.records
    ]
    share = f"{(rule.in_work_share * 100).normalize():f}%"
    refused.problems = [
        Problem(
            where,
            "contribution_base",
            f"the personal account's {share} of the base is more than was paid",
            found,
            expected,
        )
        for where, found, expected in split_problems(rows, rule)
    ]
    if refused.problems:
        return ContributionsImported(file, refused)
    if Month.of(received_on) in locked_months(lock_entries(books)):
        refused.problems = [
            Problem(
                "",
                "received_on",
                "the month is locked",
                str(Month.of(received_on)),
                "an open month",
            )
        ]
        return ContributionsImported(file, refused)
    result = import_contributions(opened.engine, read, received_on)
    if result.problems:
        return ContributionsImported(file, result)
    # rendered again when the file was imported before too: the books follow the register
    receiving = chart.account(opened.config.receiving_role)
    collections = render_contributions(opened.engine, books, chart, read.period, rule, receiving)
    write_main(books, opened.config, chart.opened_on)
    return ContributionsImported(file, result, tuple(collections))


def _chart_takes_contributions(books: Books, config: BooksConfig, chart: Chart) -> list[Problem]:
    """Nothing, or why the books' chart cannot book contributions (a chart made before, or
    without the account they are received into)."""
    wanted = {
        "contribution-income": "4001 社会保险费收入 by sub-fund, as in ledger/chart.toml",
        config.receiving_role: f"{config.contributions_received_into} (the books' "
        "contributions_received_into), as in ledger/chart.toml",
    }
    roles = {acc.role for acc in chart.accounts}
    return [
        Problem(
            str(books.chart_path),
            role,
            "no account of this role in the books' chart (a chart made before contributions)",
            "",
            expected,
        )
        for role, expected in wanted.items()
        if role not in roles
    ]


@dataclass(frozen=True)
class MonthClosed:
    """A month's close (月结): its checks; a December's year-end closing (年终结账), made when
    they pass; with ``lock``, the lock or why it was refused."""

    month: Month
    result: CloseResult
    summary: Path | None  # close/YYYY-MM.json; None when nothing was written
    lock: bool
    locked_before: bool  # the month was locked already: nothing of it is written
    closing: YearEndClosing | None = None
    closing_written: bool = False
    locked: int | None = None  # entries fingerprinted
    lock_refused: str = ""


def close_books_month(
    opened: OpenBooks, month: Month, *, lock: bool, who: str, when: datetime.datetime
) -> MonthClosed:
    """Run the month's close checks (``reports.controls.close``) and write its summary; with
    ``lock``, lock a month that passes them.

    A December that passes also gets the year-end closing (``postings.year_end``), made from the
    books the checks ran on, which never hold half a closing: when it cannot be made, nothing
    is written, not even the summary. With ``lock`` it is written, and ``main.beancount`` with
    it, before the lock, so that the lock fingerprints it as an entry of December; an already
    locked December is left as it is (the lock refuses it)."""
    from ledger.books import atomic_write, lock_month, write_main
    from ledger.loading import load_books
    from ledger.locks import locked_months
    from postings.year_end import write_closing, year_end_closing
    from reports.controls.close import close_loaded

    books, chart = opened.books, opened.chart
    loaded = load_books(books.main)
    result = close_loaded(loaded, opened.engine, chart, month)
    before = month in locked_months(loaded.entries)
    closing = None
    if month.month == 12 and result.ok:
        closing = year_end_closing(loaded.entries, chart, month.year)
        if not closing.ok:
            return MonthClosed(month, result, None, lock, before, closing)
    summary = books.root / "close" / f"{month}.json"
    atomic_write(summary, result.summary_json())
    if not result.ok or not lock:
        return MonthClosed(month, result, summary, lock, before, closing)
    written = False
    if closing is not None and not before:
        written = write_closing(books, closing)
        write_main(books, opened.config, chart.opened_on)
    try:
        count = lock_month(books, month, who, when, chart.opened_on)
    except ValueError as exc:
        refused = f"{month}: {exc}"
        return MonthClosed(month, result, summary, lock, before, closing, written, None, refused)
    return MonthClosed(month, result, summary, lock, before, closing, written, count)


@dataclass(frozen=True)
class ChartMoved:
    """The books moved to the national chart (``ledger.chart_migration``), or why not."""

    renames: dict[str, str]
    split: dict[str, tuple[str, ...]]
    problems: tuple[str, ...] = ()
    relocked: tuple[Month, ...] = ()  # locked months reopened and locked again
    already: bool = False  # the books' chart is the national one: nothing to do

    @property
    def ok(self) -> bool:
        return not self.problems


#: The reason a chart move reopens the locked months with starts so: a move stopped half-way
#: is run again and locks them again.
MOVE_REASON = "migrate-chart: "


def migrate_chart(opened: OpenBooks, reason: str, who: str, when: datetime.datetime) -> ChartMoved:
    """Move the books to the chart ``ledger/chart.toml`` ships: refused, writing nothing, when
    an account has no counterpart, an entry kept by hand (or a name the register keeps) is on
    an account the new chart splits by sub-fund, or no reason is given. Otherwise the locked
    months are reopened (latest first, with ``reason``), the register's and manual.beancount's
    account names renamed, every generated file written again from the register with the new
    chart, the year-end closings made again, the chart written, and the months locked again.
    Stopped half-way, it is run again: each step redoes what is left, and the months a move
    reopened are locked again."""
    from ledger.books import lock_entries, lock_month, reopen_month, write_main
    from ledger.chart import DEFAULT_CHART_TEXT, parse_chart
    from ledger.chart_migration import plan_chart_move, rename_accounts
    from ledger.loading import load_books
    from ledger.locks import locked_months
    from ledger.register.accounts import rename_stored_accounts
    from postings.rerender import render_books
    from postings.year_end import write_closing, year_end_closing

    books, engine = opened.books, opened.engine
    move = plan_chart_move(opened.chart, DEFAULT_CHART_TEXT)
    reopened = _reopened_by_a_move(lock_entries(books))
    if books.chart_path.read_text("utf-8") == move.chart_text and not reopened:
        return ChartMoved({}, {}, already=True)
    crediting = books_policy(books, opened.config).crediting
    problems = _move_problems(opened, move, crediting, reason)
    if problems:
        return ChartMoved(move.renames, move.split, tuple(problems))
    locked = sorted(locked_months(lock_entries(books)))
    for month in reversed(locked):
        reopen_month(books, month, MOVE_REASON + reason, who, when, opened.chart.opened_on)
    with engine.begin() as conn:
        rename_stored_accounts(conn, move.renames)
    atomic_write(books.manual, rename_accounts(books.manual.read_text("utf-8"), move.renames))
    chart = parse_chart(move.chart_text, str(books.chart_path))
    render_books(engine, books, opened.config, chart, crediting)
    entries = load_books(books.main).entries
    for year in books.closing_years():
        write_closing(books, year_end_closing(entries, chart, year))
    atomic_write(books.chart_path, move.chart_text)
    write_main(books, opened.config, chart.opened_on)
    relock = sorted(set(locked) | reopened)
    for month in relock:
        lock_month(books, month, who, when, chart.opened_on)
    return ChartMoved(move.renames, move.split, relocked=tuple(relock))


def _move_problems(
    opened: OpenBooks, move: ChartMove, crediting: Sequence[CreditingRule], reason: str
) -> list[str]:
    """Why the books cannot move to the new chart (``migrate_chart``), each naming its place."""
    from beancount.core import getters
    from beancount.parser import parser

    from ledger.chart_migration import unmovable
    from ledger.crediting import rule_for
    from ledger.register.accounts import stored_accounts

    books = opened.books
    problems = list(move.problems)
    if books.manual.exists():
        entries, _errors, _options = parser.parse_string(books.manual.read_text("utf-8"))
        used = [
            (int(entry.meta.get("lineno", 0)), account)
            for entry in entries
            for account in sorted(getters.get_entry_accounts(entry))
        ]
        problems += unmovable(used, move, str(books.manual))
    with opened.engine.connect() as conn:
        problems += [
            f"register: {name}: the new chart keeps it by sub-fund: book it by hand first"
            for name in sorted(stored_accounts(conn) & set(move.split))
        ]
    problems += [
        f"{books.contributions_file(period)}: no crediting rule for the month to book it again"
        for period in books.contribution_periods()
        if rule_for(crediting, Month.parse(period).first) is None
    ]
    if not reason.strip():
        problems.append("--reason: the locked months are reopened with it: give one")
    return problems


def _reopened_by_a_move(entries: Sequence[data.Directive]) -> set[Month]:
    """The months whose last lock entry is a chart move's reopening: a move that stopped before
    locking them again."""
    from ledger.locks import LOCK_TYPE, REOPEN_TYPE

    last: dict[str, data.Custom] = {}
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type in (LOCK_TYPE, REOPEN_TYPE):
            last[str(entry.values[0].value)] = entry
    return {
        Month.parse(month)
        for month, entry in last.items()
        if entry.type == REOPEN_TYPE
        and len(entry.values) > 1
        and str(entry.values[1].value).startswith(MOVE_REASON)
    }


def _imported_before(engine: Engine, file: Path) -> bool:
    """These bytes were imported as the opening balances already (a second run changes
    nothing, locked months or not)."""
    from importers.imported_files import earlier_import
    from importers.opening_balances import KIND

    if not file.is_file():
        return False
    with engine.connect() as conn:
        return earlier_import(conn, file_sha256(file)) == KIND


# The demo's steps, each with what the command of the same step would show.


@dataclass(frozen=True)
class ListImported:
    """An institution list or the person records: ``what`` its rows are."""

    file: Path
    what: str
    summary: ListImport
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class FeeDetailsImported:
    """Fee details (费用明细): the files of one command, in one transaction."""

    result: FeeDetailsImport

    @property
    def ok(self) -> bool:
        return self.result.ok


@dataclass(frozen=True)
class SettlementsImported:
    result: ImportResult

    @property
    def ok(self) -> bool:
        return self.result.ok


@dataclass(frozen=True)
class PeriodPosted:
    """A clearing period's posting; no result when it was posted before and left as it is."""

    books: Books
    month: Month
    result: PostResult | None
    paid_on: datetime.date | None = None

    @property
    def ok(self) -> bool:
        return self.result is None or not self.result.problems


@dataclass(frozen=True)
class BooksChecked:
    result: CheckResult

    @property
    def ok(self) -> bool:
        return self.result.ok


DemoStep = (
    BooksReady
    | OpeningImported
    | ContributionsImported
    | ListImported
    | SettlementsImported
    | FeeDetailsImported
    | PeriodPosted
    | StatementImport
    | BooksChecked
)
#: What a command shows (``mzledger.terminal``).
Step = DemoStep | PlatformTotalsCheck


__all__ = [
    "BooksChecked",
    "BooksReady",
    "ChartMoved",
    "DemoStep",
    "FeeDetailsImported",
    "Hold",
    "ListImported",
    "MonthClosed",
    "OpenBooks",
    "PeriodPosted",
    "PlatformTotalsCheck",
    "SettlementsImported",
    "StatementImport",
    "Step",
    "books_policy",
    "check_platform_totals",
    "close_books_month",
    "create_books",
    "import_statement_file",
    "migrate_chart",
    "open_books",
]
