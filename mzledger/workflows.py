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
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Engine

from importers.imported_files import file_sha256
from ledger.books import DEFAULT_DB_URL, Books, BooksConfig, initialise
from ledger.chart import Chart, load_chart
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.lock import DEFAULT_WAIT_SECONDS, RegisterBusy, lock_wait_seconds
from ledger.register.opening import open_register, resolve_url
from reports.audit.policy import Policy
from reports.audit.policy import books_policy as policy_of_books

if TYPE_CHECKING:
    from importers.contributions import ContributionsImport
    from importers.lists import ListImport
    from importers.opening_balances import OpeningImport
    from importers.settlements.results import ImportResult
    from ledger.statements import Statement
    from mzledger.synth import CitySpec
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
    | PeriodPosted
    | StatementImport
    | BooksChecked
)
#: What a command shows (``mzledger.terminal``).
Step = DemoStep | PlatformTotalsCheck


def demo(directory: Path, hold: Hold, spec: CitySpec | None = None) -> Iterator[DemoStep]:
    """Demo books in ``directory``: a small city's exports generated (``mzledger.synth``) into
    ``exports/``, the books created, the lists and settlements imported, each month posted
    (cleared, unpaid), the bank statements imported month by month (they pay the batches),
    the books checked. Each step is yielded when done; a refused one ends the demo. Run
    again, it finds everything done and changes nothing."""
    from importers.institutions import import_institutions
    from importers.persons import import_persons
    from importers.settlements.loader import import_settlements
    from mzledger import synth
    from postings.period import post_period
    from reports.controls.books_vs_register import check_books

    spec = spec if spec is not None else synth.CitySpec()
    exports = directory / "exports"
    files = {path.name: path for path in synth.write_city(spec, exports)}
    # its steps run inside the one hold
    hold(directory, resolve_url(DEFAULT_DB_URL, directory), lock_wait_seconds(DEFAULT_WAIT_SECONDS))
    books = Books(directory)
    config = BooksConfig(spec.region, DEFAULT_DB_URL, BooksConfig.default_title(spec.region))
    initialise(books, config)
    yield BooksReady(books, config)
    opened = open_books(directory)
    engine = opened.engine
    # the books open with the old system's trial balance, the day before the first month
    opening = import_opening(
        opened, exports / "opening-balances.csv", Month.parse(spec.months[0]).first
    )
    yield opening
    if not opening.ok:
        return
    for path in sorted(exports.glob("contributions-*.csv")):
        # each month's collection, received on the day the city's fiscal statement shows it
        month = Month.parse(path.stem.removeprefix("contributions-"))
        received_on = month.first.replace(day=synth.RECEIVED_DAY)
        collected = import_contributions_file(opened, path, received_on)
        yield collected
        if not collected.ok:
            return
    for file, importer, what in (
        (files["institutions.csv"], import_institutions, "institutions"),
        (files["persons.csv"], import_persons, "records"),
    ):
        step: DemoStep = ListImported(file, what, *importer(engine, file))
        yield step
        if not step.ok:
            return
    settlements = [path for name, path in sorted(files.items()) if name.startswith("settlements")]
    step = SettlementsImported(import_settlements(engine, settlements))
    yield step
    if not step.ok:
        return
    posted = set(books.clearing_periods())
    for month in map(Month.parse, spec.months):
        result = None
        if str(month) not in posted:
            result = post_period(engine, books, opened.config, opened.chart, month, None)
        step = PeriodPosted(books, month, result)
        yield step
        if not step.ok:
            return
    for account, path in _statements(exports):
        step = import_statement_file(opened, path, account, "generic")
        yield step
        if not step.ok:
            return
    yield BooksChecked(check_books(books.main, engine, opened.chart))


def _statements(exports: Path) -> list[tuple[str, Path]]:
    """(books account, file) of every generated statement, month by month, as
    ``bank-accounts.json`` lists them (``bank-<code>-<YYYY-MM>.csv``): in each month the
    disbursement accounts' first, then the fiscal special account's, whose transfers to them
    then match the bookings their statements made."""
    accounts = json.loads((exports / "bank-accounts.json").read_text("utf-8"))
    listed = sorted(
        (Month.parse(name[-11:-4]), code == "1003", code, account["account"], name)
        for account, code in ((a, a["code"]) for a in accounts)
        for name in account["files"]
    )
    return [(account, exports / name) for *_order, account, name in listed]


__all__ = [
    "BooksChecked",
    "BooksReady",
    "DemoStep",
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
    "demo",
    "import_statement_file",
    "open_books",
]
