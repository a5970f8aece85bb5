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

# The modules, by job: bench.data (generating the data, or reusing it), bench.run (each step run
# and measured, through bench.procs; bench.baselines and bench.fava_probe for the baselines and
# Fava), bench.figures (each figure against its target) and bench.report (the tables, the
# machine). This docstring is also the --help text.

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.data import ROOT
from bench.figures import MILLION
from bench.procs import StepFailed
from bench.run import PG_SCHEMA, Bench

NAIVE_ROWS = 100_000


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
