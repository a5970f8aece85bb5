"""Month-end close (月结): every check a month must pass, the bank reconciliation statement
(余额调节表), the month's outstanding payments, and a machine-readable verdict.

The month is a books month: entries dated in it (cash basis). Checks that fail keep the month
open, among them an earlier month of the books not locked yet (months close in order, see
``ledger.close_order``) and batches of earlier clearing periods still unpaid at the month's end
(the month's outstanding payments, listed with their amounts). ``close_month`` is the one
orchestrator: it loads the books once, makes the context, and runs the checks of
``reports.controls.close_checks`` in their order; the summary is ``reports.controls.summary``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ledger.chart import Chart
from ledger.loading import LoadedBooks, load_books
from ledger.month import Month
from reports.controls.close_checks import (
    CLOSE_CHECKS,
    CloseContext,
    outstanding_payments,
    statement_accounts,
)
from reports.controls.reconciliation import Reconciliation, reconcile
from reports.controls.summary import CloseCheck, CloseSummary, OutstandingPayment


@dataclass(frozen=True)
class CloseResult:
    """A month's close: each check in order, the reconciliation statements, what is unpaid."""

    month: Month
    checks: tuple[CloseCheck, ...]
    reconciliations: tuple[Reconciliation, ...]
    outstanding: tuple[OutstandingPayment, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def summary(self) -> CloseSummary:
        """The verdict as ``close/YYYY-MM.json`` keeps it."""
        return CloseSummary(
            month=str(self.month),
            can_close=self.ok,
            checks=self.checks,
            reconciliation=tuple(r.summary() for r in self.reconciliations),
            outstanding_payments=self.outstanding,
        )

    def summary_json(self) -> str:
        """``close/YYYY-MM.json``."""
        return self.summary().to_json()


def close_month(main_file: Path, engine: Engine, chart: Chart, month: Month) -> CloseResult:
    """Load the books of ``main_file`` once and run every check of ``month``'s close on them."""
    return close_loaded(load_books(main_file), engine, chart, month)


def close_loaded(books: LoadedBooks, engine: Engine, chart: Chart, month: Month) -> CloseResult:
    """Every check of ``month``'s close on books already loaded (the year-end closing of a
    December is made from the same load, ``mzledger.workflows``)."""
    context = CloseContext(
        books,
        engine,
        chart,
        month,
        outstanding=outstanding_payments(engine, month),
        reconciliations=tuple(
            reconcile(books.entries, engine, account, month.last)
            for account in statement_accounts(engine, chart, month)
        ),
    )
    checks = tuple(check(context) for check in CLOSE_CHECKS)
    return CloseResult(month, checks, context.reconciliations, context.outstanding)
