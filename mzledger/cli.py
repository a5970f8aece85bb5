"""The ``mzledger`` command: wires ledger, importers, postings and reports; no domain logic.

Exit status: 0 done, 1 the input was refused (nothing written), 2 a usage error.
Every command finds the books directory in --books, else MZLEDGER_BOOKS, else the current one.
"""

from __future__ import annotations

import datetime
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from importers.family_bindings import import_family_bindings
from importers.institutions import import_institutions
from importers.lists import ListImport
from importers.persons import import_persons
from importers.settlements.loader import import_settlements
from ledger.books import (
    DEFAULT_DB_URL,
    Books,
    BooksConfig,
    atomic_write,
    reopen_month,
)
from ledger.month import Month
from ledger.problems import Problem
from ledger.register.lock import hold_register
from mzledger import workflows
from mzledger.cli_errors import user_errors as _user_errors
from mzledger.cli_options import (
    BooksOption,
    ReportPeriod,
    file_argument,
    month_parameter,
    parse_date,
    parse_month_or_year,
    refuse,
)
from mzledger.cli_synth import synth_command
from mzledger.demo import demo as demo_steps
from mzledger.terminal import (
    audit_summary,
    err,
    out,
    problem_lines,
    progress_bar,
    refusal,
    show,
    show_chart_move,
    show_close,
    show_decision,
    show_findings,
    show_held,
    show_indicators,
    show_month_report,
    show_year_report,
)

# The commands' heavier modules (beanquery, beangulp, openpyxl, the reports) are imported by
# the commands that use them: every other command starts about a quarter of a second sooner.

# Plain click messages (no rich boxes) for usage errors: scripts grep them, and a box cuts lines.
app = typer.Typer(
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Books for employee outpatient pooling (职工门诊统筹): settlements -> register -> "
    "Beancount -> Fava.",
)
import_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True, help="Import settlement exports or lists."
)
app.add_typer(import_app, name="import")
app.command("synth")(synth_command)


def _report(step: workflows.Step) -> None:
    """Show what the step did; refused, end the command with its problems (exit 1)."""
    show(step)
    lines = refusal(step)
    if lines:
        refuse(*lines)


# The command being run: a writing command's hold on the books ends when its context closes.
_invocation: ContextVar[typer.Context | None] = ContextVar("invocation", default=None)


@app.callback()
def _every_command(ctx: typer.Context) -> None:
    _invocation.set(ctx)
    ctx.call_on_close(lambda: _invocation.set(None))


def _holding(command: str) -> workflows.Hold:
    """How ``command`` holds the books and the register until it ends (ledger.register.lock):
    a second writing command waits, saying for whom, and refuses after ``wait`` seconds."""

    def hold(root: Path, url: str, wait: float) -> None:
        ctx = _invocation.get()
        if ctx is None:
            raise RuntimeError("a writing command runs inside the mzledger command line")
        ctx.with_resource(
            hold_register(root, url, command, wait, lambda line: err.print(line, markup=False))
        )

    return hold


def _open(books_dir: Path, *, writing: str | None = None) -> workflows.OpenBooks:
    """The books and their register; ``writing`` (the command's name) when the command writes
    either: then it holds them first, before it reads or migrates anything."""
    return workflows.open_books(books_dir, None if writing is None else _holding(writing))


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Books directory to create.")],
    region: Annotated[str, typer.Option(help="The agency's region code (医保区划).")] = "210300",
    db: Annotated[str, typer.Option(help="Register URL (SQLite default, or PostgreSQL).")] = (
        DEFAULT_DB_URL
    ),
    title: Annotated[str | None, typer.Option(help="Title of the books.")] = None,
) -> None:
    """Create a books directory: settings, chart, main.beancount, an empty register."""
    config = BooksConfig(region, db, title or BooksConfig.default_title(region))
    with _user_errors():
        ready = workflows.create_books(directory, config, _holding("init"))
    _report(ready)


@import_app.command("settlements")
def import_settlements_command(
    files: Annotated[list[Path], file_argument("Settlement exports.")],
    books_dir: BooksOption = Path("."),
    institution: Annotated[
        str | None,
        typer.Option(help="Institution code for files that do not name it (raw 2207 responses)."),
    ] = None,
) -> None:
    """Import settlement results (CSV, JSON Lines, JSON, raw 2207 responses, XLSX)."""
    with _user_errors():
        _books, _config, _chart, engine = _open(books_dir, writing="import settlements")
        with progress_bar() as progress:
            result = import_settlements(engine, files, institution=institution, progress=progress)
    _report(workflows.SettlementsImported(result))


held_app = typer.Typer(
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Settlements an import held back: the same visit, institution, person, time and "
    "amounts as one in the register under another setl_id. List them and decide.",
)
app.add_typer(held_app, name="held")


@held_app.command("list")
def held_list_command(
    books_dir: BooksOption = Path("."),
    decided: Annotated[bool, typer.Option(help="Also those decided already.")] = False,
    period: Annotated[str | None, typer.Option(help="Only this month, YYYY-MM.")] = None,
) -> None:
    """List the held settlements waiting for a decision."""
    from importers.settlements.held import held_settlements

    with _user_errors():
        _books, _config, _chart, engine = _open(books_dir)
        listed = held_settlements(engine, decided=decided, period=period)
    show_held(listed)


def _decide_held(books_dir: Path, setl_id: str, reason: str, accept: bool) -> None:
    from importers.settlements.held import decide_held

    with _user_errors():
        _books, _config, _chart, engine = _open(
            books_dir, writing=f"held {'accept' if accept else 'reject'}"
        )
        problems = decide_held(
            engine,
            setl_id,
            accept=accept,
            reason=reason,
            user=getpass.getuser(),
            now=datetime.datetime.now().replace(microsecond=0),
        )
    if problems:
        refuse(*problem_lines(problems), "refused: nothing was changed")
    show_decision(setl_id, accept)


ReasonOption = Annotated[str, typer.Option(help="Why: kept in the register for auditors.")]
SetlIdArgument = Annotated[str, typer.Argument(help="The held settlement's setl_id.")]


@held_app.command("accept")
def held_accept_command(
    setl_id: SetlIdArgument,
    reason: ReasonOption,
    books_dir: BooksOption = Path("."),
) -> None:
    """Accept a held settlement as a settlement of its own: import it."""
    _decide_held(books_dir, setl_id, reason, accept=True)


@held_app.command("reject")
def held_reject_command(
    setl_id: SetlIdArgument,
    reason: ReasonOption,
    books_dir: BooksOption = Path("."),
) -> None:
    """Reject a held settlement: it repeats one already in the register."""
    _decide_held(books_dir, setl_id, reason, accept=False)


def _import_list(
    books_dir: Path,
    file: Path,
    importer: Callable[[Engine, Path], tuple[ListImport, list[Problem]]],
    what: str,
    command: str,
) -> None:
    with _user_errors():
        _books, _config, _chart, engine = _open(books_dir, writing=command)
        step = workflows.ListImported(file, what, *importer(engine, file))
    _report(step)


@import_app.command("institutions")
def import_institutions_command(
    file: Annotated[Path, file_argument("Institution list (CSV or XLSX).")],
    books_dir: BooksOption = Path("."),
) -> None:
    """Import the institution list: code, name, type, level, specialty, region."""
    _import_list(books_dir, file, import_institutions, "institutions", "import institutions")


@import_app.command("opening-balances")
def import_opening_balances_command(
    file: Annotated[
        Path,
        file_argument("Opening trial balance (CSV or XLSX): 科目编码,科目名称,借方余额,贷方余额."),
    ],
    on: Annotated[
        datetime.date,
        typer.Option(
            parser=parse_date,
            help="The books' first day, YYYY-MM-DD: the balances are booked on the day before.",
            metavar="DATE",
        ),
    ],
    books_dir: BooksOption = Path("."),
    replace: Annotated[
        bool, typer.Option(help="Replace the opening balances imported before.")
    ] = False,
) -> None:
    """Import the opening balances (建账): the old system's trial balance, booked once."""
    with _user_errors():
        opened = workflows.open_books(books_dir, _holding("import opening-balances"))
        step = workflows.import_opening(opened, file, on, replace=replace)
    _report(step)


@import_app.command("contributions")
def import_contributions_command(
    file: Annotated[
        Path,
        file_argument(
            "A month's collection (CSV or XLSX): period,psn_no,psn_type,contribution_base,"
            "employer_amount,employee_amount."
        ),
    ],
    received_on: Annotated[
        datetime.date,
        typer.Option(
            parser=parse_date, help="The day the money was received, YYYY-MM-DD.", metavar="DATE"
        ),
    ],
    books_dir: BooksOption = Path("."),
) -> None:
    """Import a month's contributions (征缴收入) and book them into 4001 by sub-fund."""
    with _user_errors():
        opened = workflows.open_books(books_dir, _holding("import contributions"))
        step = workflows.import_contributions_file(opened, file, received_on)
    _report(step)


@import_app.command("persons")
def import_persons_command(
    file: Annotated[Path, file_argument("Person records (CSV or XLSX).")],
    books_dir: BooksOption = Path("."),
) -> None:
    """Import person records: long-term residence, referral, arrears (psn_no, record, dates)."""
    _import_list(books_dir, file, import_persons, "records", "import persons")


@import_app.command("family-bindings")
def import_family_bindings_command(
    file: Annotated[
        Path,
        file_argument(
            "Family bindings (CSV or XLSX): holder_psn_no,user_psn_no,relation,begndate,enddate."
        ),
    ],
    books_dir: BooksOption = Path("."),
) -> None:
    """Import family bindings (家庭共济, Anshan art. 13): whose personal account pays for whom."""
    _import_list(books_dir, file, import_family_bindings, "bindings", "import family-bindings")


@import_app.command("fee-details")
def import_fee_details_command(
    files: Annotated[
        list[Path],
        file_argument("Fee details (费用明细, 2204), CSV or JSON Lines, one row per item."),
    ],
    books_dir: BooksOption = Path("."),
) -> None:
    """Import fee details (费用明细): the items of each visit, checked, in one transaction."""
    from importers.fee_details.loader import import_fee_details

    with _user_errors():
        _books, _config, _chart, engine = _open(books_dir, writing="import fee-details")
        result = import_fee_details(engine, files, user=getpass.getuser())
    _report(workflows.FeeDetailsImported(result))


@import_app.command("platform-totals")
def import_platform_totals_command(
    file: Annotated[Path, file_argument("The platform's 3201 totals (CSV).")],
    period: Annotated[
        Month, month_parameter(typer.Option, "The month they cover (settlement time).")
    ],
    books_dir: BooksOption = Path("."),
) -> None:
    """Compare the platform's totals (insutype x clr_type x agency) with the register's.

    Exit 0 when every group agrees, 4 when any differs, 1 when the file is refused.
    """
    with _user_errors():
        _books, _config, _chart, engine = _open(books_dir, writing="import platform-totals")
        checked = workflows.check_platform_totals(engine, file, period)
    _report(checked)
    if not checked.agreed:
        raise typer.Exit(4)


@import_app.command("statement")
def import_statement_command(
    file: Annotated[Path, file_argument("A bank statement (CSV).")],
    account: Annotated[str, typer.Option(help="The books account the statement is of.")],
    layout: Annotated[
        str, typer.Option(help="Bank layout: a shipped name or a TOML file.")
    ] = "generic",
    books_dir: BooksOption = Path("."),
) -> None:
    """Import a disbursement account's bank statement: book the batches it paid, the transfers
    in, interest and charges, and assert its closing balance."""
    with _user_errors():
        opened = _open(books_dir, writing="import statement")
        step = workflows.import_statement_file(opened, file, account, layout)
    _report(step)


@app.command()
def post(
    period: Annotated[str, typer.Option(help="Clearing period, YYYY-MM (by settlement time).")],
    paid_on: Annotated[
        datetime.date | None,
        typer.Option(
            parser=parse_date,
            help="Payment date, YYYY-MM-DD: book every batch as paid that day. Without it the "
            "batches are cleared but unpaid, and bank statement lines book them.",
            metavar="DATE",
        ),
    ] = None,
    books_dir: BooksOption = Path("."),
    replace: Annotated[
        bool, typer.Option(help="Post a period that is already posted again.")
    ] = False,
) -> None:
    """Form the period's clearing batches and book them (Shanxi art. 28)."""
    from postings.period import post_period

    try:
        month = Month.parse(period)
    except ValueError as exc:
        refuse(f"--period: {exc}", f"refused: nothing was posted for {period}")
    with _user_errors():
        books, config, chart, engine = _open(books_dir, writing="post")
        result = post_period(engine, books, config, chart, month, paid_on, replace=replace)
    _report(workflows.PeriodPosted(books, month, result, paid_on))


@app.command()
def check(books_dir: BooksOption = Path(".")) -> None:
    """bean-check the books and compare them with the register, batch by batch, to the fen."""
    from reports.controls.books_vs_register import check_books

    with _user_errors():
        books, _config, chart, engine = _open(books_dir)
        result = check_books(books.main, engine, chart)
    _report(workflows.BooksChecked(result))


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


@app.command()
def audit(
    period: Annotated[str, typer.Option(help="A year (2023) or a month (2023-01).")],
    books_dir: BooksOption = Path("."),
    output_format: Annotated[
        AuditFormat, typer.Option("--format", help="How to write the findings.")
    ] = AuditFormat.table,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
    jobs: Annotated[int, typer.Option(min=0, help="Worker processes; 0: one a core.")] = 0,
) -> None:
    """Recompute every pooled payment by the rules and check them: exit 3 when findings.
    It holds the register while it reads: its workers read one state of it."""
    from reports.audit.audit import audit as run_audit
    from reports.audit.audit import parse_period
    from reports.audit.output import as_csv, as_json, as_xlsx

    try:
        parse_period(period)
    except ValueError:
        raise typer.BadParameter(
            f"not a period (found '{period}', expected YYYY or YYYY-MM)", param_hint="--period"
        ) from None
    if output_format is AuditFormat.xlsx and out_file is None:
        raise typer.BadParameter("xlsx needs a file", param_hint="--out")
    with _user_errors():
        books, config, _chart, engine = _open(books_dir, writing="audit")
        policy = workflows.books_policy(books, config)
        result = run_audit(engine, policy, config.region, period, jobs)
    if result.errors:
        refuse(*result.errors, "audit stopped: nothing was written")
    rendered: str | bytes | None = None
    if output_format is AuditFormat.json:
        rendered = as_json(result)
    elif output_format is AuditFormat.csv:
        rendered = as_csv(result)
    elif output_format is AuditFormat.xlsx:
        rendered = as_xlsx(result)
    if rendered is not None and out_file is not None:
        atomic_write(out_file, rendered)
    elif isinstance(rendered, str):
        sys.stdout.write(rendered)
    else:
        show_findings(result)
    err.print(audit_summary(result, period), markup=False)
    if result.findings:
        raise typer.Exit(3)


@app.command()
def report(
    period: Annotated[
        ReportPeriod,
        typer.Option(
            parser=parse_month_or_year,
            metavar="YYYY-MM|YYYY",
            help="The month (by payment date), or a year for its statements (年报).",
        ),
    ],
    books_dir: BooksOption = Path("."),
) -> None:
    """The monthly fund report with 资产负债表 and 收支表, trial balance and detail ledgers, as
    XLSX and HTML; for a year, its 资产负债表 and 收支表.

    Written to <books>/reports/<period>/; exit 4 when the books and the register disagree.
    """
    from reports.books.fund_report import build_month_report
    from reports.books.output import report_dir, write_month_report, write_year_report

    with _user_errors():
        books, _config, chart, engine = _open(books_dir)
        if period.month is None:
            show_year_report(period.year, *write_year_report(books.main, chart, period.year))
            return
        month_report = build_month_report(books.main, engine, chart, period.month)
        paths = write_month_report(month_report, report_dir(books.root, str(period.month)))
    if not show_month_report(month_report, paths):
        raise typer.Exit(4)


@app.command()
def indicators(
    year: Annotated[int, typer.Option(min=1900, max=9999, help="The year, YYYY.")],
    books_dir: BooksOption = Path("."),
) -> None:
    """Institution indicators (Shanxi art. 16): visits, cost per visit and its growth,
    self-pay, co-pay and examination shares, per institution, year and month; thresholds from
    the region's policy file. Written to <books>/reports/<year>/indicators-<year>.xlsx|html."""
    from reports.books.output import report_dir
    from reports.indicators.output import write_indicator_report
    from reports.indicators.register import indicator_report, thresholds_of

    with _user_errors():
        books, config, _chart, engine = _open(books_dir)
        limits = workflows.books_policy(books, config).indicator_limits
        found = indicator_report(engine, year, thresholds_of(limits))
        if not found.months:
            refuse(f"--year: the register holds no settlements of {year}: nothing written")
        paths = write_indicator_report(found, report_dir(books.root, f"{year:04d}"))
    show_indicators(found, paths)


@app.command()
def close(
    month: Annotated[Month, month_parameter(typer.Argument, "The books month, YYYY-MM.", "MONTH")],
    books_dir: BooksOption = Path("."),
    lock: Annotated[bool, typer.Option(help="Lock the month when it can close.")] = False,
) -> None:
    """Month-end close: every check, the bank reconciliation, outstanding payments; exit 0 when
    the month can close, 4 otherwise. The summary goes to <books>/close/<month>.json. A December
    that can close is closed into 3001 (年终结账, closing/<year>.beancount) when it is locked."""
    with _user_errors():
        # held with --lock or without: the summary it writes is of one moment of the books
        # and the register, not of a post half done
        opened = _open(books_dir, writing="close --lock" if lock else "close")
        closed = workflows.close_books_month(
            opened, month, lock=lock, who=getpass.getuser(), when=_now()
        )
    raise typer.Exit(show_close(closed))


@app.command()
def reopen(
    month: Annotated[Month, month_parameter(typer.Argument, "The locked month, YYYY-MM.", "MONTH")],
    reason: Annotated[str, typer.Option(help="Why: kept in the books for auditors.")],
    books_dir: BooksOption = Path("."),
) -> None:
    """Remove a month's lock, with a reason that stays on record (who, when, why)."""
    with _user_errors():
        books, _config, chart, _engine = _open(books_dir, writing="reopen")
        try:
            reopen_month(books, month, reason, getpass.getuser(), _now(), chart.opened_on)
        except ValueError as exc:
            refuse(f"{month}: {exc}")
    out.print(f"{month} reopened; the reopening is recorded in {books.locks}", markup=False)


@app.command("migrate-chart")
def migrate_chart(
    reason: Annotated[str, typer.Option(help="Why: the locked months are reopened with it.")],
    books_dir: BooksOption = Path("."),
) -> None:
    """Move books made before the national chart (4004 利息收入, 5301 银行手续费, …) to the chart
    of the 2017 system (ledger/chart.toml): every generated file written again, manual.beancount
    and the register renamed, locked months reopened and locked again with the reason."""
    with _user_errors():
        opened = _open(books_dir, writing="migrate-chart")
        moved = workflows.migrate_chart(opened, reason, getpass.getuser(), _now())
    if not moved.ok:
        refuse(*moved.problems, "refused: nothing was changed")
    show_chart_move(moved)


def _now() -> datetime.datetime:
    return datetime.datetime.now().astimezone().replace(microsecond=0)


@app.command()
def query(
    bql: Annotated[str | None, typer.Argument(help="A BQL query.")] = None,
    saved: Annotated[
        str | None, typer.Option(help="Run the books' saved query of this name.")
    ] = None,
    output_format: Annotated[
        AuditFormat, typer.Option("--format", help="table, csv or json (xlsx: not for queries).")
    ] = AuditFormat.table,
    books_dir: BooksOption = Path("."),
) -> None:
    """Run a BQL query (beanquery) on the books, or a saved one; list the saved ones without."""
    from reports.query import QueryError, books_for_query, execute, saved_query, saved_query_names
    from reports.query import as_csv as query_csv
    from reports.query import as_json as query_json
    from reports.query import as_table as query_table

    if output_format is AuditFormat.xlsx:
        raise typer.BadParameter("queries write table, csv or json", param_hint="--format")
    with _user_errors():
        books = Books(books_dir)
        books.read_config()
        loaded = books_for_query(books.main)
        if bql is None and saved is None:
            for name in saved_query_names(loaded):
                out.print(name, markup=False)
            return
        try:
            text = saved_query(loaded, saved) if saved is not None else str(bql)
            result = execute(loaded, text)
        except (QueryError, KeyError) as exc:
            refuse(str(exc))
    for problem in result.load_errors:
        err.print(f"warning: {problem}", markup=False)
    if output_format is AuditFormat.json:
        sys.stdout.write(query_json(result))
    elif output_format is AuditFormat.csv:
        sys.stdout.write(query_csv(result))
    else:
        out.print(query_table(result), markup=False)


@app.command()
def fava(
    books_dir: BooksOption = Path("."),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    host: Annotated[str, typer.Option(help="Address to bind; only loopback by default.")] = (
        "127.0.0.1"
    ),
    edit: Annotated[
        bool, typer.Option(help="Let Fava change the books (read-only without it).")
    ] = False,
) -> None:
    """Serve the books in Fava, read-only, in Chinese, on 127.0.0.1."""
    from fava.cli import main as fava_main

    with _user_errors():
        # as every command does: the register at the newest migration (Fava's own pages open
        # it read-only and refuse an older schema)
        books, _config, _chart, engine = _open(books_dir)
        engine.dispose()
    mode = [] if edit else ["--read-only"]
    # Fava runs an importer's extract on a GET, read-only or not: our importers write the
    # register only when this flag says the clerk started Fava to change the books.
    os.environ["MZLEDGER_FAVA_EDIT"] = "1" if edit else "0"
    args: Sequence[str] = [*mode, "--host", host, "--port", str(port), str(books.main)]
    fava_main.main(args=list(args), prog_name="mzledger fava")


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to build the demo books.")] = Path(
        "demo-books"
    ),
) -> None:
    """Generate a small city's settlements, import, post and check them."""
    with _user_errors():
        for step in demo_steps(directory, _holding("demo")):
            _report(step)  # a refused step ends the demo
    out.print(
        f"\ndemo books in {directory.resolve()}\nopen them in Fava: "
        f"mzledger fava --books {directory}   (then http://127.0.0.1:5000)\n"
        f"audit the year: mzledger audit --period 2023 --books {directory}",
        markup=False,
    )


def main() -> None:
    app()
