"""``mzledger demo``: demo books from a generated city, every step of a clerk's month run in
order (``demo``); each step is a workflow of ``mzledger.workflows``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.books import DEFAULT_DB_URL, Books, BooksConfig, initialise
from ledger.month import Month
from ledger.register.lock import DEFAULT_WAIT_SECONDS, lock_wait_seconds
from ledger.register.opening import resolve_url
from mzledger.workflows import (
    BooksChecked,
    BooksReady,
    DemoStep,
    FeeDetailsImported,
    Hold,
    ListImported,
    PeriodPosted,
    SettlementsImported,
    import_contributions_file,
    import_opening,
    import_statement_file,
    open_books,
)

if TYPE_CHECKING:
    from mzledger.synth import CitySpec


def demo(directory: Path, hold: Hold, spec: CitySpec | None = None) -> Iterator[DemoStep]:
    """Demo books in ``directory``: a small city's exports generated (``mzledger.synth``) into
    ``exports/``, the books created, the lists, settlements and fee details imported, each
    month posted (cleared, unpaid), the bank statements imported month by month (they pay
    the batches), the books checked. Each step is yielded when done; a refused one ends the
    demo. Run again, it finds everything done and changes nothing."""
    from importers.family_bindings import import_family_bindings
    from importers.fee_details.loader import import_fee_details
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
        # whose personal account pays for whom (家庭共济): the settlements' acct_mulaid_pay
        (exports / synth.FAMILY_BINDINGS_FILE, import_family_bindings, "bindings"),
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
    # their items (费用明细, 2204): the audit holds each visit's items to its settlements
    fees = [path for name, path in sorted(files.items()) if name.startswith("fee-details-")]
    step = FeeDetailsImported(import_fee_details(engine, fees))
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


__all__ = ["demo"]
