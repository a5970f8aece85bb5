"""One benchmark run: every step of the scale issue in order, each the real ``mzledger`` command
in its own process, measured (``bench.procs``); the results kept for ``results.json`` and the
figures (``bench.figures``), printed as the steps table and the figures table (``bench.report``).

The books, the registers and the logs of a run are in ``<out>/run/``: SQLite books of every
month file, fresh registers for the ~1,000,000-row import, Fava served over them, and PostgreSQL
in a schema of its own when a server is given.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.data import ROOT, Dataset, Spec, dataset
from bench.fava_probe import data_layer, fava_session, pick_targets
from bench.figures import figures, peak_command
from bench.procs import Measured, StepFailed, mzledger, run
from bench.report import machine, markdown, steps_markdown

PG_SCHEMA = "mzledger_bench"


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

    def step(
        self, name: str, *args: str, cwd: Path | None = None, ok: tuple[int, ...] = (0,)
    ) -> Measured:
        measured = run(name, mzledger(*args), cwd or self.run_dir, ok=ok)
        self.steps.append(measured)
        return measured

    def post(self, name: str, period: str, books: str) -> Measured:
        """``mzledger post`` of one month, paid on the 10th of the next."""
        return self.step(
            name, "post", "--period", period, "--paid-on", _paid_on(period), "--books", books
        )

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
            posted = self.post(f"post {period} ({rows:,} rows)", period, "books")
            posts.append({"period": period, "rows": rows, "seconds": posted.seconds})
        checked = self.step("check (bean-check + books vs register)", "check", "--books", "books")
        self.results["sqlite"] = {
            "books": str(books),
            "rows": total_rows,
            "import_seconds": imported.seconds,
            "posts": posts,
            "check_seconds": checked.seconds,
        }
        self.results["audit"] = self.audit(data, total_rows)
        self.results["bean_check"] = self.bean_check(books)

    def audit(self, data: Dataset, total_rows: int) -> dict[str, Any]:
        """``mzledger audit`` of the data's last year over the SQLite register of every row
        (the audit reads from the year's first day: the cap and deductible accumulate)."""
        year = _month(data.settlements[-1])[:4]
        out = self.run_dir / f"audit-{year}.json"
        if data.family_bindings is not None:
            self.step(
                "import family-bindings", "import", "family-bindings", str(data.family_bindings),
                "--books", "books",
            )  # fmt: skip
        items = None
        if data.fee_details:
            items = self.step(
                f"import fee-details: all {len(data.fee_details)} files",
                "import", "fee-details", *(str(p) for p in data.fee_details), "--books", "books",
            )  # fmt: skip
        measured = self.step(
            f"audit --period {year} (every rule, JSON)",
            "audit", "--period", year, "--format", "json", "--out", str(out), "--books", "books",
            ok=(0, 3),  # 3: findings (generated data has patterns the monitoring rules see)
        )  # fmt: skip
        return {
            "year": year,
            "register_rows": total_rows,
            "seconds": measured.seconds,
            "peak_rss_mb": measured.peak_rss_mb,
            "summary": measured.stdout.strip().splitlines()[-1:],
            "findings": len(json.loads(out.read_text("utf-8"))),
            "fee_detail_files": len(data.fee_details),
            "fee_details_import_seconds": None if items is None else items.seconds,
        }

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
            posted = self.post(
                f"post {period} (PostgreSQL, {rows_of[prefix[0].name]:,} rows)", period, str(books)
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

    def finish(self, spec: Spec, data: Dataset, total_rows: int, prefix_rows: int) -> None:
        shown = figures(self.results, self.steps, spec, data, total_rows, prefix_rows)
        _, worst = peak_command(self.steps)
        self.results["peak_rss_mb"] = {"max": worst.peak_rss_mb, "step": worst.step}
        self.results["machine"] = machine(ROOT)
        self.results["load_average_at_end"] = os.getloadavg()
        self.results["finished_at"] = datetime.datetime.now().astimezone().isoformat()
        self.results["figures"] = [f.as_json() for f in shown]
        self.results["steps"] = [s.as_json() for s in self.steps]
        results = self.out / "results.json"
        results.write_text(json.dumps(self.results, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print()
        print(steps_markdown(self.steps))
        print()
        print(markdown(shown))
        print()
        print(
            "vs csv.reader / vs naive Beancount: the figure's time over the baseline's time for "
            "the same number of settlements (×0.5: twice as fast as the baseline)"
        )
        print(f"results: {results}")
