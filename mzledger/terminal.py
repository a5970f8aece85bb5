"""What the commands show on a terminal: the two consoles, the progress bar, and each result
as its lines and rich tables.

A step of ``mzledger.workflows`` is shown by :func:`show` (what it did, and what a refused one
did before it stopped), then, when it was refused, :func:`refusal` gives the lines the command
ends with (exit 1). Problems are shown as ``Problem.render`` gives them, a domain field named by
the option that gives it (``paid_on`` -> ``--paid-on``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from importers.settlements.results import ImportResult, notices_text, plural
from importers.settlements.results import Progress as ProgressCallback
from ledger.chart import SUB_FUND_NAMES
from ledger.opening import OPENING_FILE
from ledger.problems import Problem
from ledger.register.models import PERSONAL_PART, personal_part
from ledger.year_end import closing_file_name
from mzledger import workflows

if TYPE_CHECKING:
    from importers.contributions import ContributionsImport
    from importers.fee_details.loader import FeeDetailsImport
    from importers.opening_balances import OpeningImport
    from importers.settlements.held import HeldListing
    from postings.contributions import Collection
    from postings.period import PostResult
    from postings.statement_import import StatementResult
    from postings.year_end import YearEndClosing
    from reports.audit.findings import AuditResult
    from reports.books.fund_report import MonthReport
    from reports.controls.books_vs_register import CheckResult
    from reports.indicators.register import IndicatorReport

# Piped output (scripts, CI) gets wide lines rather than rich's 80-column default, so that
# account names and messages are never cut.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(
    stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200
)

#: The options that give the domain's fields a problem can name.
OPTIONS = {
    "paid_on": "--paid-on",
    "account": "--account",
    "region": "--region",
    "received_on": "--received-on",
    "opening_day": "--on",
}
#: A problem whose field is an option not given: how to give it.
GIVE = {
    "replace": "give --replace to post it again",
    "replace_opening": "give --replace to replace them",
}


def problem_lines(problems: Iterable[Problem]) -> list[str]:
    """Each problem as the command line shows it."""
    lines = []
    for problem in problems:
        give = GIVE.get(problem.field)
        if give is not None:  # the option is the remedy: said after what is wrong
            lines.append(f"{problem.location}: {problem.message}; {give}")
        else:
            lines.append(problem.render(OPTIONS))
    return lines


def show(step: workflows.Step) -> None:
    """What the step did (nothing yet, or only the files it found imported, when refused)."""
    match step:
        case workflows.BooksReady(books=books, config=config):
            out.print(
                f"books ready in {books.root} (region {config.region}, register {config.db_url})",
                markup=False,
            )
        case workflows.ListImported(file=file, summary=summary) if step.ok:
            if summary.already_imported:
                out.print(f"{file}: already imported (same sha256), nothing to do", markup=False)
            else:
                line = f"{file}: {summary.rows} {step.what}, {summary.written} new or changed"
                out.print(line, markup=False)
        case workflows.SettlementsImported(result=result):
            _show_import(result)
        case workflows.FeeDetailsImported(result=result) if step.ok:
            _show_fee_details(result)
        case workflows.OpeningImported(file=file, result=result) if step.ok:
            _show_opening(file, result)
        case workflows.ContributionsImported(file=file, result=result) if step.ok:
            _show_contributions(file, result, step.collections)
        case workflows.PeriodPosted(month=month, result=None):
            out.print(f"{month}: already posted", markup=False)
        case workflows.PeriodPosted(result=result) if result is not None and step.ok:
            _show_post(step, result)
        case workflows.StatementImport(statement=statement, result=result) if (
            statement is not None and result is not None and step.ok
        ):
            _show_statement(step.file, len(statement.lines), result)
        case workflows.BooksChecked(result=result):
            _show_check(result)
        case workflows.PlatformTotalsCheck() if step.ok:
            _show_platform_totals(step)


def refusal(step: workflows.Step) -> list[str]:
    """The lines a refused step ends its command with: its problems, then what was not done
    (nothing when it was done)."""
    problems: list[Problem] = []
    verdict = "refused: nothing was imported"
    match step:
        case workflows.ListImported(problems=problems):
            verdict = f"refused: {plural(len(problems), 'problem')}; nothing was imported"
        case workflows.OpeningImported(result=result):
            problems = result.problems
            verdict = f"refused: {plural(len(problems), 'problem')}; nothing was imported"
        case workflows.ContributionsImported(result=result):
            problems = result.problems
            verdict = f"refused: {plural(len(problems), 'problem')}; nothing was imported"
        case workflows.SettlementsImported(result=result) if not result.ok:
            return _import_problems(result)
        case workflows.FeeDetailsImported(result=result):
            problems = result.problems
            verdict = f"refused: {plural(len(problems), 'problem')}; nothing was imported"
        case workflows.PeriodPosted(month=month, result=result) if result is not None:
            problems, verdict = result.problems, f"refused: nothing was posted for {month}"
        case workflows.StatementImport(layout_usable=False):
            problems, verdict = step.problems, "refused: the layout is not usable"
        case workflows.StatementImport(result=None):
            problems = step.problems
            verdict = f"refused: {plural(len(problems), 'problem')}; nothing was imported"
        case workflows.StatementImport(result=result) if result is not None:
            problems = result.problems
        case workflows.BooksChecked(result=checked) if not checked.ok:
            return [*checked.errors, f"check failed: {plural(len(checked.errors), 'problem')}"]
        case workflows.PlatformTotalsCheck(problems=problems):
            verdict = f"refused: {plural(len(problems), 'problem')}; nothing was compared"
    return [*problem_lines(problems), verdict] if problems else []


def _show_opening(file: Path, result: OpeningImport) -> None:
    if result.already_imported:
        out.print(f"{file}: already imported (same sha256), nothing to do", markup=False)
        return
    replaced = f", replacing those of {result.replaced}" if result.replaced else ""
    out.print(
        f"{file}: {plural(result.rows, 'account')}, debits {result.debits:,} = credits "
        f"{result.credits:,}, booked on {result.booked_on} in {OPENING_FILE}{replaced}",
        markup=False,
    )


def _show_contributions(
    file: Path, result: ContributionsImport, collections: Sequence[Collection]
) -> None:
    if result.already_imported:
        out.print(f"{file}: already imported (same sha256), nothing to do", markup=False)
        return
    mine = collections[-1] if collections else None
    if mine is None:
        return
    out.print(
        f"{file}: {result.period}, {plural(mine.persons, 'person')}, received {mine.paid:,} on "
        f"{result.received_on}: 统筹基金 {mine.pooled:,}, 个人账户基金 {mine.personal:,}; "
        f"{plural(mine.retirees, 'retiree')} credited {mine.crediting:,} from the pooled fund",
        markup=False,
    )


def _progress_wanted() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress_bar() -> Iterator[ProgressCallback | None]:
    if not _progress_wanted():
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        tasks: dict[Path, object] = {}

        def update(path: Path, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = progress.add_task(path.name, total=total)
            progress.update(tasks[path], completed=done)  # type: ignore[arg-type]

        yield update


def _show_import(result: ImportResult) -> None:
    for summary in result.files:
        if summary.already_imported:
            out.print(
                f"{summary.path}: already imported (same sha256), nothing to do", markup=False
            )
            continue
        if result.ok:
            for line in notices_text(summary):
                err.print(f"note: {line}", markup=False, soft_wrap=True)
            out.print(
                f"{summary.path}: {summary.rows} rows, {summary.inserted} imported, "
                f"{summary.skipped_identical} already in the register (identical, skipped)"
                + (f", {len(summary.held)} held for a decision" if summary.held else "")
                + (
                    f", {summary.already_held} held before (skipped)"
                    if summary.already_held
                    else ""
                ),
                markup=False,
            )
            for held in summary.held:
                err.print(
                    f"held: {held.location}: setl_id {held.setl_id} has the visit, institution, "
                    f"person, time and amounts of settlement {held.same_as} "
                    f"({held.same_as_location}); not imported until a person decides: "
                    f"`mzledger held accept|reject {held.setl_id} --reason ...`",
                    markup=False,
                )
            for period in sorted(summary.posted_periods):
                err.print(
                    f"note: {summary.path}: settlements of {period}, which is already posted; "
                    f"they stay out of the books until `mzledger post --period {period} --replace` "
                    "(refused once the bank has paid that period's batches)",
                    markup=False,
                )


def _show_fee_details(result: FeeDetailsImport) -> None:
    for location, notice in result.notices:
        count = result.notice_counts[(notice.field, notice.value, notice.message)]
        more = f" ({plural(count, 'item')} in all)" if count > 1 else ""
        err.print(
            f"note: {location}: {notice.field} '{notice.value}': {notice.message}{more}",
            markup=False,
            soft_wrap=True,
        )
    for summary in result.files:
        if summary.already_imported:
            out.print(
                f"{summary.path}: already imported (same sha256), nothing to do", markup=False
            )
            continue
        out.print(
            f"{summary.path}: {plural(summary.rows, 'item')}, {summary.written} imported, "
            f"{summary.rows - summary.written} already in the register (identical, skipped)",
            markup=False,
        )


def _import_problems(result: ImportResult) -> list[str]:
    """The refusal of a settlement import: the problems kept, how many more, the verdict."""
    shown = len(result.problems)
    more = result.problem_count - shown
    return [
        *problem_lines(result.problems),
        *([f"... and {more} more problems"] if more > 0 else []),
        f"refused: {plural(result.problem_count, 'problem')}; nothing was imported",
    ]


def show_held(listed: Sequence[HeldListing]) -> None:
    table = Table(title=f"held settlements: {len(listed)}")
    for column in ("setl_id", "same as", "from", "psn_no", "institution", "setl_time"):
        table.add_column(column)
    for column in ("medfee_sumamt", "hifp_pay"):
        table.add_column(column, justify="right")
    table.add_column("decision")
    for held in listed:
        decision = (
            held.status
            if held.status == "held"
            else f"{held.status} by {held.decided_by} {held.decided_at}: {held.reason}"
        )
        table.add_row(
            held.setl_id,
            held.same_as,
            held.location,
            held.psn_no,
            held.institution,
            str(held.setl_time),
            f"{held.medfee_sumamt:,}",
            f"{held.hifp_pay:,}",
            decision,
        )
    out.print(table)


def _show_statement(file: Path, lines: int, result: StatementResult) -> None:
    if result.already_imported:
        out.print(f"{file}: already imported (same sha256), nothing to do", markup=False)
        return
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.kinds.items()))
    out.print(f"{file}: {lines} lines ({kinds})", markup=False)
    if result.paid:
        out.print(
            f"booked {plural(len(result.paid), 'batch', 'batches')} on the bank's dates",
            markup=False,
        )
    for line in result.undecided:
        err.print(f"to decide: {line}", markup=False)


def _show_post(step: workflows.PeriodPosted, result: PostResult) -> None:
    period, paid_on = result.period, step.paid_on
    if result.unchanged:
        out.print(
            f"{period}: nothing new since it was posted; books file rendered again", markup=False
        )
    paid = [b for b in result.batches if b.payment]
    title = f"paid on {paid_on}" if paid_on else "cleared, unpaid (outstanding payments)"
    table = Table(title=f"{period}: {len(result.batches)} batches {title}")
    for column in ("batches", "settlements", "refunds", "pooled (hifp_pay)", "personal account"):
        table.add_column(column, justify="right")
    table.add_row(
        str(len(result.batches)),
        str(sum(b.settlement_count for b in result.batches)),
        str(sum(b.refund_count for b in result.batches)),
        f"{result.total('hifp_pay'):,}",
        f"{personal_part({name: result.total(name) for name in PERSONAL_PART}):,}",
    )
    out.print(table)
    vouchers = sorted(b.payment.voucher for b in paid if b.payment)
    if vouchers:
        out.print(
            f"vouchers {vouchers[0]} .. {vouchers[-1]} in {step.books.clearing_file(period)}",
            markup=False,
        )
    if result.held:
        err.print(
            f"note: {period}: {plural(result.held, 'settlement')} held for a decision, not in "
            "its batches (`mzledger held list`)",
            markup=False,
        )
    others = {k: v for k, v in result.other_funds.items() if v}
    if others:
        out.print(
            "for other funds' books (not posted here): "
            + ", ".join(f"{k} {v:,} CNY" for k, v in others.items()),
            markup=False,
        )


def _show_check(result: CheckResult) -> None:
    table = Table(title="books vs register, posted batches")
    table.add_column("account")
    table.add_column("books", justify="right")
    table.add_column("register", justify="right")
    for account, (books_amount, register_amount) in result.accounts.items():
        table.add_row(account, f"{books_amount:,}", f"{register_amount:,}")
    out.print(table)
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    if result.ok:
        out.print(
            f"ok: {result.transaction_count} transactions, {result.batch_count} batches, "
            "books equal the register",
            markup=False,
        )


def _show_platform_totals(step: workflows.PlatformTotalsCheck) -> None:
    from reports.controls.platform_totals import render_comparison

    out.print(render_comparison(step.comparisons, step.month), markup=False)
    out.print(
        f"kept for the close of {step.month}" if step.stored else "already imported (same sha256)",
        markup=False,
    )


def show_findings(result: AuditResult) -> None:
    table = Table(title=f"稽核发现 {result.period}")
    for column in ("rule", "setl_id", "psn_no", "institution", "reported", "expected", "说明"):
        table.add_column(column, justify="right" if column in ("reported", "expected") else "left")
    for finding in result.findings:
        table.add_row(
            finding.rule,
            finding.setl_id,
            finding.psn_no,
            finding.institution,
            "" if finding.reported_hifp_pay is None else f"{finding.reported_hifp_pay:,}",
            "" if finding.expected_hifp_pay is None else f"{finding.expected_hifp_pay:,}",
            finding.explanation_zh,
        )
    out.print(table)


def audit_summary(result: AuditResult, period: str) -> str:
    counts = result.by_rule()
    summary = ", ".join(f"{rule} {count}" for rule, count in sorted(counts.items()))
    return (
        f"audit {period}: {result.settlements} settlements, {result.recomputed} recomputed"
        + "".join(
            f", {n} not recomputed ({why})" for why, n in sorted(result.not_recomputed.items())
        )
        + f"; {plural(len(result.findings), 'finding')}"
        + (f" ({summary})" if summary else "")
    )


def show_close(closed: workflows.MonthClosed) -> int:
    """The checks, the reconciliations, a December's year-end closing and the lock; the exit
    status: 0 the month can close (and is locked with --lock), 4 it cannot, 1 refused."""
    result, month = closed.result, closed.month
    for check_ in result.checks:
        out.print(f"{'ok  ' if check_.ok else 'FAIL'} {check_.name}", markup=False)
        for detail in check_.details:
            out.print(f"     {detail}", markup=False)
    for reconciliation in result.reconciliations:
        out.print(
            f"余额调节表 {reconciliation.account}: books {reconciliation.book_balance}, bank "
            f"{reconciliation.bank_balance}, adjusted {reconciliation.adjusted_book_balance} / "
            f"{reconciliation.adjusted_bank_balance}"
            + (" agree" if reconciliation.agrees else " DIFFER"),
            markup=False,
        )
    if closed.summary is not None:
        out.print(f"summary: {closed.summary}", markup=False)
    if not result.ok:
        out.print(f"{month} cannot close", markup=False)
        return 4
    closing = closed.closing
    if closing is not None and closing.problems:
        for line in problem_lines(closing.problems):
            err.print(line, markup=False)
        err.print(
            f"refused: the year-end closing of {closing.year} cannot be made "
            f"({plural(len(closing.problems), 'problem')}); nothing was written",
            markup=False,
        )
        return 1
    out.print(f"{month} can close", markup=False)
    if closing is not None:
        out.print(_closing_line(closed, closing), markup=False)
    if closed.lock_refused:
        err.print(closed.lock_refused, markup=False)
        return 1
    if closed.locked is not None:
        out.print(f"{month} locked ({closed.locked} entries fingerprinted)", markup=False)
    return 0


def _closing_line(closed: workflows.MonthClosed, closing: YearEndClosing) -> str:
    year = closing.year
    if closing.entry is None:
        return (
            f"year-end closing {year}: nothing to carry into 3001 (every income and expense "
            f"account is zero on {year}-12-31)"
        )
    carried = ", ".join(f"{SUB_FUND_NAMES[fund]} {amount:+,}" for fund, amount in closing.surplus)
    if closed.locked_before:
        done = "in the books, locked with the month"
    elif not closed.lock:
        done = "written when the month is locked (--lock)"
    elif closed.locked is None:
        done = "not written"
    else:
        done = "written" if closed.closing_written else "unchanged"
    return (
        f"year-end closing {year} (年终结账) into 3001 一般基金结余: {carried}; "
        f"{closing_file_name(year)} {done}"
    )


def show_decision(setl_id: str, accept: bool) -> None:
    if accept:
        out.print(
            f"{setl_id}: accepted and imported; it is in no batch until its month is posted "
            "(`mzledger post --period YYYY-MM --replace`)",
            markup=False,
        )
    else:
        out.print(f"{setl_id}: rejected; it stays out of the register", markup=False)


def show_month_report(month_report: MonthReport, paths: Iterable[Path]) -> bool:
    """The files written, the report's notes and its checks; whether the books and the
    register agree."""
    period = month_report.month
    for path in paths:
        out.print(f"written: {path}", markup=False)
    for warning in month_report.warnings:
        err.print(f"note: {warning}", markup=False)
    failed = [c for c in month_report.checks if not c.ok]
    for check in failed:
        err.print(
            f"{check.label}: {check.left_label} {check.left} != {check.right_label} "
            f"{check.right} (difference {check.difference})",
            markup=False,
        )
    if failed:
        err.print(f"report {period}: the books and the register disagree", markup=False)
        return False
    out.print(f"report {period}: books and register agree", markup=False)
    return True


def show_year_report(year: int, paths: Iterable[Path], notes: Iterable[str]) -> None:
    """The year's statements written, and their notes."""
    for path in paths:
        out.print(f"written: {path}", markup=False)
    for note in notes:
        err.print(f"note: {note}", markup=False)
    out.print(f"report {year}: 资产负债表 and 收支表 of the year", markup=False)


class GenerationReport:
    """``mzledger synth``'s lines: each file as it is written, with the seconds it took, then
    the settlement rows and their rate."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.rows = 0

    def written(self, path: Path, count: int) -> None:
        now = time.perf_counter()
        out.print(f"{path.name}: {count:,} rows ({now - self.last:.1f} s)", markup=False)
        self.last = now
        if path.name.startswith("settlements-"):
            self.rows += count

    def summary(self, out_dir: Path) -> str:
        seconds = time.perf_counter() - self.started
        rate = self.rows / max(seconds, 1e-9)
        return (
            f"{self.rows:,} settlement rows in {seconds:.1f} s ({rate:,.0f} rows/s), "
            f"exports in {out_dir}"
        )


def show_chart_move(moved: workflows.ChartMoved) -> None:
    """``migrate-chart``: each account renamed or split, the months locked again."""
    if moved.already:
        out.print("the books are on the national chart already: nothing to do", markup=False)
        return
    for old, new in sorted(moved.renames.items()):
        out.print(f"{old} -> {new}", markup=False)
    for old, by_fund in sorted(moved.split.items()):
        out.print(f"{old} -> {' / '.join(by_fund)} (by the bank account's sub-fund)", markup=False)
    months = ", ".join(map(str, moved.relocked)) or "none"
    out.print(f"books moved to the national chart; locked again: {months}", markup=False)


def show_indicators(found: IndicatorReport, paths: Sequence[Path]) -> None:
    """``indicators``: how many institutions and months, how many marked, the files."""
    marked = sum(1 for item in found.yearly if item.marks)
    marked_months = sum(1 for item in found.monthly if item.marks)
    out.print(
        f"{found.year}: {len(found.yearly)} institutions, {len(found.months)} months; above a "
        f"threshold: {marked} in the year, {marked_months} institution-months",
        markup=False,
    )
    for path in paths:
        out.print(f"written: {path}", markup=False)
