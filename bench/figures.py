"""The figures of the scale issue, each judged against its target, from a run's measurements.

Every figure is worked out from the run's results (the JSON written to ``results.json``) and the
steps measured; the comparison columns divide its time by a baseline's time for the same number
of settlements: ``csv.reader`` (the plain-Python floor) and the naive Beancount way (one
transaction per settlement), both measured in the same run. ``bench.report`` lays them out.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.data import Dataset, Spec
from bench.procs import Measured
from bench.report import Figure, times

MILLION = 1_000_000
IMPORT_SQLITE_TARGET = 100_000  # rows/s, validation included
# PostgreSQL (issue 11): at most 2.5 times csv.reader's time for the same rows, about
# 125,000 rows/s on this project's machine
IMPORT_PG_RATIO = 2.5
IMPORT_PG_ABOUT = 125_000
POST_TARGET = 5.0  # seconds for a month of 1,000,000 settlements
BEAN_CHECK_TARGET = 10.0
FAVA_API_TARGET = 1.0
LOOKUP_TARGET = 0.050
MEMORY_TARGET = 500.0  # MB
AUDIT_TARGET = 60.0  # seconds for the city-year (issue 14), within MEMORY_TARGET


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else 0.0


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _timing(timing: dict[str, Any]) -> str:
    median, first = float(timing["median_seconds"]), float(timing["first_seconds"])
    return f"{_ms(median)} (first call {_ms(first)})"


def _spread(each: Sequence[float]) -> str:
    """The range of repeated imports, when there were several."""
    return f", median of {len(each)}: {min(each):.1f}-{max(each):.1f} s" if len(each) > 1 else ""


@dataclass(frozen=True)
class PerRow:
    """The baselines' seconds per settlement row: what the comparison columns divide by."""

    csv: float  # csv.reader
    naive_load: float  # loading the naive books
    naive_both: float  # printing and loading them

    @classmethod
    def of(cls, floor: dict[str, Any], naive: dict[str, Any]) -> PerRow:
        naive_rows = max(1, int(naive["rows"]))
        naive_print = float(naive["print_seconds"]) / naive_rows
        naive_load = float(naive["load_seconds"]) / naive_rows
        return cls(
            float(floor["seconds"]) / max(1, int(floor["rows"])),
            naive_load,
            naive_print + naive_load,
        )

    def vs(self, seconds: float, rows: float) -> tuple[str, str]:
        """The two comparison columns of a figure taking ``seconds`` for ``rows`` settlements."""
        return times(seconds, self.csv * rows), times(seconds, self.naive_both * rows)


def peak_command(steps: Sequence[Measured]) -> tuple[list[Measured], Measured]:
    """The ``mzledger`` commands of the run and the one with the highest peak memory."""
    commands = [s for s in steps if "mzledger" in s.argv]
    return commands, max(commands, key=lambda s: s.peak_rss_mb)


def figures(
    results: dict[str, Any],
    steps: Sequence[Measured],
    spec: Spec,
    data: Dataset,
    total_rows: int,
    prefix_rows: int,
) -> list[Figure]:
    """Every figure of the table, in the table's order."""
    floor = results["baselines"]["csv_reader"]
    naive = results["baselines"]["naive_beancount"]
    per = PerRow.of(floor, naive)
    return [
        *baseline_figures(data, floor, naive, per, total_rows),
        *import_figures(results, per, total_rows, prefix_rows),
        *post_figures(results["sqlite"]["posts"], results["postgresql"], per),
        *check_figures(results, spec, per, total_rows),
        *fava_figures(results["fava"], per, total_rows),
        *audit_figures(results.get("audit"), per),
        memory_figure(steps, floor, naive),
    ]


def audit_figures(audit: dict[str, Any] | None, per: PerRow) -> list[Figure]:
    """``mzledger audit`` of the year over every row of the register: its time (judged), its
    ratio to csv.reader over as many rows, and its peak memory."""
    if audit is None:
        return [Figure("audit of the year", f"≤ {AUDIT_TARGET:.0f} s", "not run")]
    rows, seconds = int(audit["register_rows"]), float(audit["seconds"])
    return [
        Figure(
            f"audit --period {audit['year']} over the register's {rows:,} rows (every rule"
            f"{_fee_details(audit)}), {audit.get('findings', '?')} findings, "
            f"peak {float(audit['peak_rss_mb']):,.0f} MB",
            f"≤ {AUDIT_TARGET:.0f} s and ≤ {MEMORY_TARGET:.0f} MB",
            f"{seconds:.1f} s ({_n(_rate(rows, seconds))} rows/s)",
            seconds,
            AUDIT_TARGET,
            False,
            *per.vs(seconds, rows),
        )
    ]


def _fee_details(audit: dict[str, Any]) -> str:
    files = int(audit.get("fee_detail_files") or 0)
    return f"; fee details: {files} month files imported" if files else "; no fee details"


def baseline_figures(
    data: Dataset, floor: dict[str, Any], naive: dict[str, Any], per: PerRow, total_rows: int
) -> list[Figure]:
    """Generating the data, and the two baselines themselves."""
    generation = data.generation
    naive_rows = max(1, int(naive["rows"]))
    floor_seconds = float(floor["seconds"])
    extrapolated = per.naive_both * total_rows
    printed, loaded = float(naive["print_seconds"]), float(naive["load_seconds"])
    return [
        Figure(
            f"generate {total_rows:,} settlement rows (`mzledger synth`)",
            "—",
            f"{generation['seconds']:.1f} s"
            + (
                ""
                if data.generated_now
                else f" (cached, generated {generation['generated_at'][:10]})"
            ),
        ),
        Figure(
            f"baseline 1: `csv.reader` over all settlement files ({total_rows:,} rows)",
            "—",
            f"{_n(_rate(total_rows, floor_seconds))} rows/s ({floor_seconds:.1f} s)",
        ),
        Figure(
            f"baseline 2: naive Beancount, a transaction per settlement ({naive_rows:,} rows)",
            "—",
            f"print {printed:.1f} s + load {loaded:.1f} s = {_n(1 / per.naive_both)} rows/s; "
            f"{total_rows:,} rows ≈ {extrapolated:,.0f} s (extrapolated)",
        ),
    ]


def _import_figure(label: str, rows: int, seconds: float, target: float, per: PerRow) -> Figure:
    rate = _rate(rows, seconds)
    return Figure(
        label,
        f"≥ {target:,.0f} rows/s",
        f"{_n(rate)} rows/s ({seconds:.1f} s)",
        rate,
        target,
        True,
        *per.vs(seconds, rows),
    )


def import_figures(
    results: dict[str, Any], per: PerRow, total_rows: int, prefix_rows: int
) -> list[Figure]:
    """The imports: ~1,000,000 rows into a fresh SQLite register, all rows, PostgreSQL."""
    million = results["sqlite_million"]
    sqlite = results["sqlite"]
    pg = results["postgresql"]
    pg_target = f"≤ ×{IMPORT_PG_RATIO:g} csv.reader's time (about {IMPORT_PG_ABOUT:,} rows/s)"
    return [
        _import_figure(
            f"import {prefix_rows:,} rows (first {len(million['files'])} month files) into a "
            f"fresh SQLite register{_spread(million['import_seconds_each'])}",
            prefix_rows,
            float(million["import_seconds"]),
            IMPORT_SQLITE_TARGET,
            per,
        ),
        _import_figure(
            f"import all {total_rows:,} rows into SQLite (one command)",
            total_rows,
            float(sqlite["import_seconds"]),
            IMPORT_SQLITE_TARGET,
            per,
        ),
        pg_import_figure(pg, pg_target, per)
        if "rows" in pg
        else Figure("import into PostgreSQL", pg_target, "not run"),
    ]


def pg_import_figure(pg: dict[str, Any], target: str, per: PerRow) -> Figure:
    """Judged by its time against csv.reader's for the same rows (the issue's target),
    shown with the rows per second that makes on this run's machine."""
    rows, seconds = int(pg["rows"]), float(pg["import_seconds"])
    each = [float(s) for s in pg.get("import_seconds_each", [seconds])]
    floor = per.csv * rows
    return Figure(
        f"import {rows:,} rows into PostgreSQL (same files, fresh schema{_spread(each)})",
        f"{target}; this run: ≥ {_n(_rate(rows, IMPORT_PG_RATIO * floor))} rows/s",
        f"{_n(_rate(rows, seconds))} rows/s ({seconds:.1f} s)",
        seconds / floor if floor > 0 else None,
        IMPORT_PG_RATIO,
        False,
        *per.vs(seconds, rows),
    )


def post_figures(posts: list[dict[str, Any]], pg: dict[str, Any], per: PerRow) -> list[Figure]:
    """Posting a month, as seconds per 1,000,000 settlements: SQLite's months, PostgreSQL's."""
    post_rows = sum(int(p["rows"]) for p in posts)
    post_seconds = sum(float(p["seconds"]) for p in posts)
    per_million = post_seconds / max(1, post_rows) * MILLION
    median_post = statistics.median(float(p["seconds"]) for p in posts)
    slowest = max(posts, key=lambda p: float(p["seconds"]) / max(1, int(p["rows"])))
    shown = [
        Figure(
            f"post one month (SQLite), seconds per 1,000,000 settlements ({len(posts)} months)",
            f"≤ {POST_TARGET:g} s",
            f"{per_million:.2f} s (median month {median_post:.2f} s; "
            f"slowest {slowest['period']}: {float(slowest['seconds']):.2f} s for "
            f"{int(slowest['rows']):,} rows)",
            per_million,
            POST_TARGET,
            False,
            *per.vs(per_million, MILLION),
        )
    ]
    if "post" in pg:
        pg_post = pg["post"]
        pg_per_million = float(pg_post["seconds"]) / max(1, int(pg_post["rows"])) * MILLION
        shown.append(
            Figure(
                f"post one month (PostgreSQL, {pg_post['period']}), seconds per 1,000,000",
                f"≤ {POST_TARGET:g} s",
                f"{pg_per_million:.2f} s ({float(pg_post['seconds']):.2f} s for "
                f"{int(pg_post['rows']):,} rows)",
                pg_per_million,
                POST_TARGET,
                False,
                *per.vs(pg_per_million, MILLION),
            )
        )
    return shown


def check_figures(
    results: dict[str, Any], spec: Spec, per: PerRow, total_rows: int
) -> list[Figure]:
    """``mzledger check`` over the whole year, and ``bean-check`` with no cache."""
    check_seconds = float(results["sqlite"]["check_seconds"])
    check = results["bean_check"]
    return [
        Figure(
            "`mzledger check` (bean-check + books vs register, whole year)",
            "—",
            f"{check_seconds:.1f} s",
            vs_csv=times(check_seconds, per.csv * total_rows),
            vs_naive=times(check_seconds, per.naive_load * total_rows),
        ),
        Figure(
            f"`bean-check` uncached, books of {spec.months} "
            f"({check['clearing_transactions']:,} transactions for {total_rows:,} rows)",
            f"≤ {BEAN_CHECK_TARGET:g} s",
            f"{float(check['seconds']):.2f} s",
            float(check["seconds"]),
            BEAN_CHECK_TARGET,
            False,
            times(float(check["seconds"]), per.csv * total_rows),
            times(float(check["seconds"]), per.naive_load * total_rows),
        ),
    ]


def fava_figures(fava: dict[str, Any], per: PerRow, total_rows: int) -> list[Figure]:
    """Fava's start, its income statement API, and the extension's lookup and batch pages,
    over HTTP and through ``reports.fava`` directly."""
    shown = [
        Figure(
            "Fava start until its first answer (books loaded)",
            "—",
            f"{float(fava['start_seconds']):.2f} s",
            vs_naive=times(float(fava["start_seconds"]), per.naive_load * total_rows),
        )
    ]
    for which, key in (
        ("first", "income_statement_first_seconds"),
        ("second", "income_statement_second_seconds"),
    ):
        shown.append(
            Figure(
                f"Fava income statement API (`/<bfile>/api/income_statement`), {which} "
                "call after start",
                f"≤ {FAVA_API_TARGET:g} s",
                f"{float(fava[key]):.3f} s",
                float(fava[key]),
                FAVA_API_TARGET,
            )
        )
    targets = fava["targets"]
    register = int(targets["register_rows"])
    pages = (
        ("lookup_setl_id", f"lookup by setl_id (register of {register:,} rows)"),
        (
            "batch_page_first",
            f"batch page of 100 rows, first page (batch of {int(targets['batch_rows']):,})",
        ),
        (
            "batch_page_last",
            f"batch page of 100 rows, last page (page {fava['pages']['batch_last_page']})",
        ),
    )
    for where, how in (("http", "HTTP"), ("data_layer", "`reports.fava` directly")):
        for key, label in pages:
            timing = fava[where][key]
            shown.append(
                Figure(
                    f"{label}, {how}, median of {timing['calls']}",
                    f"≤ {LOOKUP_TARGET * 1000:g} ms",
                    _timing(timing),
                    float(timing["median_seconds"]),
                    LOOKUP_TARGET,
                )
            )
    return shown


def memory_figure(
    steps: Sequence[Measured], floor: dict[str, Any], naive: dict[str, Any]
) -> Figure:
    """The highest peak resident memory of any ``mzledger`` command of the run."""
    commands, worst = peak_command(steps)
    naive_rows = max(1, int(naive["rows"]))
    csv_peak = float(floor["process"]["peak_rss_mb"])
    naive_peak = float(naive["process"]["peak_rss_mb"])
    return Figure(
        f"peak memory of any command ({len(commands)} commands)",
        f"≤ {MEMORY_TARGET:g} MB",
        f"{worst.peak_rss_mb:.0f} MB ({worst.step})",
        worst.peak_rss_mb,
        MEMORY_TARGET,
        False,
        f"×{worst.peak_rss_mb / csv_peak:.3g}" if csv_peak else "—",
        f"×{worst.peak_rss_mb / naive_peak:.3g} (naive at {naive_rows:,} rows: {naive_peak:.0f} MB)"
        if naive_peak
        else "—",
    )
