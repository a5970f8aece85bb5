"""`make bench`: every figure of the scale issue, measured on generated data, as a table and JSON.

Each step is the real ``mzledger`` command in its own process (its wall time from start to exit,
its own peak resident memory), next to two baselines measured in the same run on the same data:
``csv.reader`` over the files (the plain-Python floor) and the naive Beancount way (one
transaction per settlement, printed and loaded). Timings are figures, never test assertions.

    python -m bench --settlements 10000000 --institutions 2000 --persons 1000000
    python -m bench --settlements 50000 --institutions 100 --persons 5000 --months 2023-01..2023-02

The generated data is kept in ``<out>/data-<hash of the spec>/`` and reused; the books, the
registers and the logs of a run are in ``<out>/run/``, the figures in ``<out>/results.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.data import ROOT, Dataset, Spec, dataset
from bench.fava_probe import data_layer, fava_session, pick_targets
from bench.procs import Measured, StepFailed, mzledger, run
from bench.report import Figure, machine, markdown, steps_markdown, times

MILLION = 1_000_000
NAIVE_ROWS = 100_000
PG_SCHEMA = "mzledger_bench"
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


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else 0.0


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _timing(timing: dict[str, Any]) -> str:
    median, first = float(timing["median_seconds"]), float(timing["first_seconds"])
    return f"{_ms(median)} (first call {_ms(first)})"


def _month(path: Path) -> str:
    return path.stem.removeprefix("settlements-")


def _paid_on(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime.date(year, month, 10).isoformat()


def _baseline(which: str, args: list[str], cwd: Path) -> tuple[Measured, dict[str, Any]]:
    measured = run(
        f"baseline: {which}", [sys.executable, "-m", "bench.baselines", which, *args], cwd
    )
    return measured, json.loads(measured.stdout)


class Bench:
    """One run: the steps in order, every measurement kept for the table and the JSON."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.out: Path = options.out.resolve()
        self.run_dir = self.out / "run"
        self.steps: list[Measured] = []
        self.results: dict[str, Any] = {}

    def step(self, name: str, *args: str, cwd: Path | None = None) -> Measured:
        measured = run(name, mzledger(*args), cwd or self.run_dir)
        self.steps.append(measured)
        return measured

    # -- the run ---------------------------------------------------------------------------------

    def main(self) -> None:
        options = self.options
        spec = Spec(options.settlements, options.institutions, options.persons, options.months)
        spec.month_list()
        self.out.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        print(f"benchmark of {spec} in {self.out}", file=sys.stderr)
        self.results["load_average_at_start"] = os.getloadavg()

        data = dataset(self.out, spec, regenerate=options.regenerate, command=options.synth)
        if data.measured is not None:
            self.steps.append(data.measured)
        self.results["spec"] = asdict(spec)
        self.results["data"] = {
            "directory": str(data.directory),
            "generated_now": data.generated_now,
            "generation": data.generation,
        }

        csv_run, floor = _baseline("csv", [str(p) for p in data.settlements], ROOT)
        rows_of = {Path(str(f["file"])).name: int(f["rows"]) for f in floor["files"]}
        total_rows = int(floor["rows"])
        naive_run, naive = _baseline(
            "naive",
            [
                "--rows",
                str(min(options.naive_rows, total_rows)),
                "--out",
                str(self.run_dir / "naive.beancount"),
                *(str(p) for p in data.settlements),
            ],
            ROOT,
        )
        self.steps += [csv_run, naive_run]
        if naive["error_count"]:
            print(f"note: the naive books have errors: {naive['errors']}", file=sys.stderr)
        self.results["baselines"] = {
            "csv_reader": {**floor, "process": csv_run.as_json()},
            "naive_beancount": {**naive, "process": naive_run.as_json()},
        }
        # the prefix of month files that makes the "1,000,000 rows" import
        prefix: list[Path] = []
        for path in data.settlements:
            if sum(rows_of[p.name] for p in prefix) >= options.million:
                break
            prefix.append(path)
        prefix_rows = sum(rows_of[p.name] for p in prefix)

        self.sqlite_books(data, rows_of, total_rows)
        self.sqlite_million(data, prefix, prefix_rows)
        self.fava(total_rows)
        pg_url = options.pg_url or ""
        if pg_url:
            self.postgresql(data, pg_url, prefix, prefix_rows, rows_of)
        else:
            self.results["postgresql"] = {"skipped": "MZLEDGER_BENCH_PG_URL is not set"}
        self.finish(spec, data, total_rows, prefix_rows)

    def sqlite_books(self, data: Dataset, rows_of: dict[str, int], total_rows: int) -> None:
        books = self.run_dir / "books"
        self.step("init (SQLite)", "init", str(books))
        self.step(
            "import institutions",
            "import",
            "institutions",
            str(data.institutions),
            "--books",
            "books",
        )
        if data.persons is not None:
            self.step("import persons", "import", "persons", str(data.persons), "--books", "books")
        imported = self.step(
            f"import settlements: all {len(data.settlements)} files, {total_rows:,} rows",
            "import",
            "settlements",
            *(str(p) for p in data.settlements),
            "--books",
            "books",
        )
        posts: list[dict[str, Any]] = []
        for path in data.settlements:
            period, rows = _month(path), rows_of[path.name]
            if rows == 0:
                continue
            posted = self.step(
                f"post {period} ({rows:,} rows)",
                "post",
                "--period",
                period,
                "--paid-on",
                _paid_on(period),
                "--books",
                "books",
            )
            posts.append({"period": period, "rows": rows, "seconds": posted.seconds})
        checked = self.step("check (bean-check + books vs register)", "check", "--books", "books")
        self.results["sqlite"] = {
            "books": str(books),
            "rows": total_rows,
            "import_seconds": imported.seconds,
            "posts": posts,
            "check_seconds": checked.seconds,
        }
        self.results["bean_check"] = self.bean_check(books)

    def bean_check(self, books: Path) -> dict[str, Any]:
        """``bean-check`` on the books with Beancount's pickle cache out of the way: any cache
        file removed first, ``--no-cache`` (which also deletes one), and the environment's
        BEANCOUNT_DISABLE_LOAD_CACHE; no cache file may exist afterwards."""
        main = books / "main.beancount"
        for stale in books.glob(".*.picklecache"):
            stale.unlink()
        bean_check = Path(sys.executable).with_name("bean-check")
        measured = run("bean-check, uncached", [str(bean_check), "--no-cache", str(main)], books)
        self.steps.append(measured)
        left = [str(p) for p in books.glob(".*.picklecache")]
        if left:
            raise StepFailed(f"bean-check left a pickle cache behind: {left}")
        with main.open(encoding="utf-8") as handle:
            lines = sum(1 for _ in handle)
        clearing = sorted((books / "clearing").glob("*.beancount"))
        transactions = sum(
            line.startswith("20") and " * " in line
            for path in clearing
            for line in path.open(encoding="utf-8")
        )
        return {
            "seconds": measured.seconds,
            "peak_rss_mb": measured.peak_rss_mb,
            "argv": measured.argv,
            "cache": "none: .picklecache removed before, --no-cache, "
            "BEANCOUNT_DISABLE_LOAD_CACHE=1, no .picklecache afterwards",
            "main_lines": lines,
            "clearing_files": len(clearing),
            "clearing_transactions": transactions,
            "bytes": sum(p.stat().st_size for p in clearing),
        }

    def sqlite_million(self, data: Dataset, prefix: list[Path], prefix_rows: int) -> None:
        """The issue's import figure: ~1,000,000 rows (the first month files) into a fresh
        register of its own, ``--import-repeats`` times; the figure is the median (this
        machine's speed varies by a fifth from one minute to the next)."""
        seconds = []
        for attempt in range(1, self.options.import_repeats + 1):
            books = self.run_dir / f"books-1m-{attempt}"
            imported = self.fresh_import(
                books,
                data,
                prefix,
                (
                    f"init (SQLite, for the 1M import, {attempt})",
                    f"import institutions (1M books, {attempt})",
                ),
                f"import settlements: first {len(prefix)} files, {prefix_rows:,} rows "
                f"(fresh, {attempt} of {self.options.import_repeats})",
            )
            seconds.append(imported.seconds)
        self.results["sqlite_million"] = {
            "books": str(self.run_dir / "books-1m-1"),
            "files": [p.name for p in prefix],
            "rows": prefix_rows,
            "import_seconds": statistics.median(seconds),
            "import_seconds_each": seconds,
        }

    def fresh_import(
        self,
        books: Path,
        data: Dataset,
        files: list[Path],
        labels: tuple[str, str],
        import_label: str,
        *init_options: str,
    ) -> Measured:
        """New books (``init_options``: ``--db URL``), the institutions, then ``files`` in one
        ``import settlements``; returns that import's measure."""
        self.step(labels[0], "init", str(books), *init_options)
        self.step(
            labels[1], "import", "institutions", str(data.institutions), "--books", str(books)
        )
        return self.step(
            import_label,
            "import",
            "settlements",
            *(str(p) for p in files),
            "--books",
            str(books),
        )

    def fava(self, total_rows: int) -> None:
        books = self.run_dir / "books"
        print("  fava: start, income statement, extension pages ...", file=sys.stderr)
        targets = pick_targets(books)
        direct = data_layer(books, targets)
        served = fava_session(books, self.run_dir, targets, self.run_dir / "fava.log")
        self.steps.append(
            Measured(
                "fava (start to stop)",
                served["argv"],
                served["session_seconds"],
                served["peak_rss_mb"],
                0,
            )
        )
        self.results["fava"] = {**served, "targets": asdict(targets), "data_layer": direct}

    def postgresql(
        self,
        data: Dataset,
        base: str,
        prefix: list[Path],
        prefix_rows: int,
        rows_of: dict[str, int],
    ) -> None:
        """The same first files into PostgreSQL, in a schema of our own dropped and made again
        (as tests/conftest.py isolates a test), then the first month posted."""
        admin = create_engine(base)
        with admin.begin() as conn:
            server = str(conn.execute(text("SHOW server_version")).scalar_one())
        separator = "&" if "?" in base else "?"
        url = f"{base}{separator}options=-csearch_path%3D{PG_SCHEMA}"
        repeats = self.options.import_repeats
        seconds: list[float] = []
        try:
            for attempt in range(1, repeats + 1):
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
                    conn.execute(text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
                books = self.run_dir / f"books-pg-{attempt}"
                imported = self.fresh_import(
                    books,
                    data,
                    prefix,
                    (
                        f"init (PostgreSQL, {attempt})",
                        f"import institutions (PostgreSQL, {attempt})",
                    ),
                    f"import settlements into PostgreSQL: {prefix_rows:,} rows "
                    f"(fresh, {attempt} of {repeats})",
                    "--db",
                    url,
                )
                seconds.append(imported.seconds)
            period = _month(prefix[0])
            posted = self.step(
                f"post {period} (PostgreSQL, {rows_of[prefix[0].name]:,} rows)",
                "post",
                "--period",
                period,
                "--paid-on",
                _paid_on(period),
                "--books",
                str(books),
            )
        finally:
            if not self.options.keep_pg_schema:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
            admin.dispose()
        self.results["postgresql"] = {
            "server_version": server,
            "schema": PG_SCHEMA,
            "files": [p.name for p in prefix],
            "rows": prefix_rows,
            "import_seconds": statistics.median(seconds),
            "import_seconds_each": seconds,
            "post": {
                "period": period,
                "rows": rows_of[prefix[0].name],
                "seconds": posted.seconds,
            },
        }

    # -- the table -------------------------------------------------------------------------------

    @staticmethod
    def pg_import_figure(
        pg: dict[str, Any], target: str, csv_per_row: float, naive_per_row: float
    ) -> Figure:
        """Judged by its time against csv.reader's for the same rows (the issue's target),
        shown with the rows per second that makes on this run's machine."""
        rows, seconds = int(pg["rows"]), float(pg["import_seconds"])
        each = [float(s) for s in pg.get("import_seconds_each", [seconds])]
        spread = (
            f", median of {len(each)}: {min(each):.1f}-{max(each):.1f} s" if len(each) > 1 else ""
        )
        floor = csv_per_row * rows
        return Figure(
            f"import {rows:,} rows into PostgreSQL (same files, fresh schema{spread})",
            f"{target}; this run: ≥ {_n(_rate(rows, IMPORT_PG_RATIO * floor))} rows/s",
            f"{_n(_rate(rows, seconds))} rows/s ({seconds:.1f} s)",
            seconds / floor if floor > 0 else None,
            IMPORT_PG_RATIO,
            False,
            times(seconds, floor),
            times(seconds, naive_per_row * rows),
        )

    def figures(self, spec: Spec, data: Dataset, total_rows: int, prefix_rows: int) -> list[Figure]:
        floor = self.results["baselines"]["csv_reader"]
        naive = self.results["baselines"]["naive_beancount"]
        csv_per_row = float(floor["seconds"]) / max(1, int(floor["rows"]))
        naive_rows = max(1, int(naive["rows"]))
        naive_print = float(naive["print_seconds"]) / naive_rows
        naive_load = float(naive["load_seconds"]) / naive_rows
        naive_both = naive_print + naive_load
        figures: list[Figure] = []

        generation = data.generation
        figures.append(
            Figure(
                f"generate {total_rows:,} settlement rows (`mzledger synth`)",
                "—",
                f"{generation['seconds']:.1f} s"
                + (
                    ""
                    if data.generated_now
                    else f" (cached, generated {generation['generated_at'][:10]})"
                ),
            )
        )
        floor_seconds = float(floor["seconds"])
        figures.append(
            Figure(
                f"baseline 1: `csv.reader` over all settlement files ({total_rows:,} rows)",
                "—",
                f"{_n(_rate(total_rows, floor_seconds))} rows/s ({floor_seconds:.1f} s)",
            )
        )
        extrapolated = naive_both * total_rows
        printed, loaded = float(naive["print_seconds"]), float(naive["load_seconds"])
        figures.append(
            Figure(
                f"baseline 2: naive Beancount, a transaction per settlement ({naive_rows:,} rows)",
                "—",
                f"print {printed:.1f} s + load {loaded:.1f} s = {_n(1 / naive_both)} rows/s; "
                f"{total_rows:,} rows ≈ {extrapolated:,.0f} s (extrapolated)",
            )
        )

        def import_figure(label: str, rows: int, seconds: float, target: float) -> Figure:
            rate = _rate(rows, seconds)
            return Figure(
                label,
                f"≥ {target:,.0f} rows/s",
                f"{_n(rate)} rows/s ({seconds:.1f} s)",
                rate,
                target,
                True,
                times(seconds, csv_per_row * rows),
                times(seconds, naive_both * rows),
            )

        million = self.results["sqlite_million"]
        each = million["import_seconds_each"]
        spread = (
            f", median of {len(each)}: {min(each):.1f}-{max(each):.1f} s" if len(each) > 1 else ""
        )
        figures.append(
            import_figure(
                f"import {prefix_rows:,} rows (first {len(million['files'])} month files) into a "
                f"fresh SQLite register{spread}",
                prefix_rows,
                float(million["import_seconds"]),
                IMPORT_SQLITE_TARGET,
            )
        )
        sqlite = self.results["sqlite"]
        figures.append(
            import_figure(
                f"import all {total_rows:,} rows into SQLite (one command)",
                total_rows,
                float(sqlite["import_seconds"]),
                IMPORT_SQLITE_TARGET,
            )
        )
        pg = self.results["postgresql"]
        pg_target = f"≤ ×{IMPORT_PG_RATIO:g} csv.reader's time (about {IMPORT_PG_ABOUT:,} rows/s)"
        if "rows" in pg:
            figures.append(self.pg_import_figure(pg, pg_target, csv_per_row, naive_both))
        else:
            figures.append(Figure("import into PostgreSQL", pg_target, "not run"))

        posts = sqlite["posts"]
        post_rows = sum(int(p["rows"]) for p in posts)
        post_seconds = sum(float(p["seconds"]) for p in posts)
        per_million = post_seconds / max(1, post_rows) * MILLION
        median_post = statistics.median(float(p["seconds"]) for p in posts)
        slowest = max(posts, key=lambda p: float(p["seconds"]) / max(1, int(p["rows"])))
        figures.append(
            Figure(
                f"post one month (SQLite), seconds per 1,000,000 settlements ({len(posts)} months)",
                f"≤ {POST_TARGET:g} s",
                f"{per_million:.2f} s (median month {median_post:.2f} s; "
                f"slowest {slowest['period']}: {float(slowest['seconds']):.2f} s for "
                f"{int(slowest['rows']):,} rows)",
                per_million,
                POST_TARGET,
                False,
                times(per_million, csv_per_row * MILLION),
                times(per_million, naive_both * MILLION),
            )
        )
        if "post" in pg:
            pg_post = pg["post"]
            pg_per_million = float(pg_post["seconds"]) / max(1, int(pg_post["rows"])) * MILLION
            figures.append(
                Figure(
                    f"post one month (PostgreSQL, {pg_post['period']}), seconds per 1,000,000",
                    f"≤ {POST_TARGET:g} s",
                    f"{pg_per_million:.2f} s ({float(pg_post['seconds']):.2f} s for "
                    f"{int(pg_post['rows']):,} rows)",
                    pg_per_million,
                    POST_TARGET,
                    False,
                    times(pg_per_million, csv_per_row * MILLION),
                    times(pg_per_million, naive_both * MILLION),
                )
            )
        figures.append(
            Figure(
                "`mzledger check` (bean-check + books vs register, whole year)",
                "—",
                f"{float(sqlite['check_seconds']):.1f} s",
                vs_csv=times(float(sqlite["check_seconds"]), csv_per_row * total_rows),
                vs_naive=times(float(sqlite["check_seconds"]), naive_load * total_rows),
            )
        )
        check = self.results["bean_check"]
        figures.append(
            Figure(
                f"`bean-check` uncached, books of {spec.months} "
                f"({check['clearing_transactions']:,} transactions for {total_rows:,} rows)",
                f"≤ {BEAN_CHECK_TARGET:g} s",
                f"{float(check['seconds']):.2f} s",
                float(check["seconds"]),
                BEAN_CHECK_TARGET,
                False,
                times(float(check["seconds"]), csv_per_row * total_rows),
                times(float(check["seconds"]), naive_load * total_rows),
            )
        )
        fava = self.results["fava"]
        figures.append(
            Figure(
                "Fava start until its first answer (books loaded)",
                "—",
                f"{float(fava['start_seconds']):.2f} s",
                vs_naive=times(float(fava["start_seconds"]), naive_load * total_rows),
            )
        )
        for which, key in (
            ("first", "income_statement_first_seconds"),
            ("second", "income_statement_second_seconds"),
        ):
            figures.append(
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
        for key, label in pages:
            timing = fava["http"][key]
            figures.append(
                Figure(
                    f"{label}, HTTP, median of {timing['calls']}",
                    f"≤ {LOOKUP_TARGET * 1000:g} ms",
                    _timing(timing),
                    float(timing["median_seconds"]),
                    LOOKUP_TARGET,
                )
            )
        for key, label in pages:
            timing = fava["data_layer"][key]
            figures.append(
                Figure(
                    f"{label}, `reports.fava` directly, median of {timing['calls']}",
                    f"≤ {LOOKUP_TARGET * 1000:g} ms",
                    _timing(timing),
                    float(timing["median_seconds"]),
                    LOOKUP_TARGET,
                )
            )
        commands = [s for s in self.steps if "mzledger" in s.argv]
        worst = max(commands, key=lambda s: s.peak_rss_mb)
        self.results["peak_rss_mb"] = {"max": worst.peak_rss_mb, "step": worst.step}
        csv_peak = float(floor["process"]["peak_rss_mb"])
        naive_peak = float(naive["process"]["peak_rss_mb"])
        figures.append(
            Figure(
                f"peak memory of any command ({len(commands)} commands)",
                f"≤ {MEMORY_TARGET:g} MB",
                f"{worst.peak_rss_mb:.0f} MB ({worst.step})",
                worst.peak_rss_mb,
                MEMORY_TARGET,
                False,
                f"×{worst.peak_rss_mb / csv_peak:.3g}" if csv_peak else "—",
                f"×{worst.peak_rss_mb / naive_peak:.3g} (naive at {naive_rows:,} rows: "
                f"{naive_peak:.0f} MB)"
                if naive_peak
                else "—",
            )
        )
        return figures

    def finish(self, spec: Spec, data: Dataset, total_rows: int, prefix_rows: int) -> None:
        figures = self.figures(spec, data, total_rows, prefix_rows)
        self.results["machine"] = machine(ROOT)
        self.results["load_average_at_end"] = os.getloadavg()
        self.results["finished_at"] = datetime.datetime.now().astimezone().isoformat()
        self.results["figures"] = [f.as_json() for f in figures]
        self.results["steps"] = [s.as_json() for s in self.steps]
        results = self.out / "results.json"
        results.write_text(json.dumps(self.results, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print()
        print(steps_markdown(self.steps))
        print()
        print(markdown(figures))
        print()
        print(
            "vs csv.reader / vs naive Beancount: the figure's time over the baseline's time for "
            "the same number of settlements (×0.5: twice as fast as the baseline)"
        )
        print(f"results: {results}")


def parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--settlements", type=int, default=10_000_000, help="N, over all months")
    p.add_argument("--institutions", type=int, default=2_000)
    p.add_argument("--persons", type=int, default=1_000_000)
    p.add_argument("--months", default="2022-12..2023-12", help="FIRST..LAST")
    p.add_argument("--out", type=Path, default=ROOT / "bench-out")
    p.add_argument(
        "--regenerate",
        action="store_true",
        default=env("BENCH_REGENERATE", "") not in ("", "0"),
        help="generate the data again even when it is cached (env BENCH_REGENERATE=1)",
    )
    p.add_argument(
        "--million",
        type=int,
        default=MILLION,
        help="rows of the separate import figure: the first month files adding up to this",
    )
    p.add_argument("--naive-rows", type=int, default=NAIVE_ROWS)
    p.add_argument(
        "--import-repeats",
        type=int,
        default=3,
        help="fresh SQLite imports of the ~1,000,000 rows; the figure is their median",
    )
    p.add_argument(
        "--pg-url",
        default=env("MZLEDGER_BENCH_PG_URL", ""),
        help="PostgreSQL server for the PostgreSQL figures (env MZLEDGER_BENCH_PG_URL); "
        f"the schema {PG_SCHEMA} is dropped and made again",
    )
    p.add_argument("--keep-pg-schema", action="store_true", help="leave the schema afterwards")
    p.add_argument(
        "--synth",
        default=env("BENCH_SYNTH", "mzledger synth"),
        help="the generator command (env BENCH_SYNTH), given the spec's options and a directory",
    )
    return p


def main() -> None:
    options = parser().parse_args()
    started = time.perf_counter()
    bench = Bench(options)
    try:
        bench.main()
    except (StepFailed, RuntimeError) as failure:
        # what was measured so far stays on record, with the failure
        bench.results["failed"] = str(failure)
        bench.results["steps"] = [s.as_json() for s in bench.steps]
        bench.out.mkdir(parents=True, exist_ok=True)
        partial = bench.out / "results.json"
        partial.write_text(json.dumps(bench.results, indent=2, ensure_ascii=False), "utf-8")
        raise SystemExit(f"{failure}\npartial results: {partial}") from None
    print(f"benchmark took {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
