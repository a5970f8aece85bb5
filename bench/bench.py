"""`make bench`: time and peak memory of each step on generated data, as a table and JSON.

Each step runs as its own process (the real `mzledger` command), so that its peak resident
memory is its own (os.wait4). Timings are figures, never test assertions.

    python bench/bench.py --settlements 1000000 --out bench-out
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mzledger import synth


def _high_water_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM); 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(step: str, args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> dict[str, object]:
    """Run ``mzledger ARGS``; return wall seconds and peak resident memory in MB.

    The peak is read from /proc while the command runs (VmHWM of its own address space):
    getrusage's figure for a child would start from this benchmark process's own size.
    """
    started = time.perf_counter()
    peak_kb = 0
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mzledger", *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        if process.returncode not in ok:
            stderr.seek(0)
            raise SystemExit(f"{step} failed:\n{stderr.read().decode()}")
    return {"step": step, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_kb / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settlements", type=int, default=200_000)
    parser.add_argument("--institutions", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    options = parser.parse_args()
    out: Path = options.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    n = options.settlements
    spec = synth.CitySpec(
        persons=max(300, n // 10),
        institutions=options.institutions,
        months=("2023-01",),
        settlements_per_month=n,
        plant_mistakes=False,
    )
    started = time.perf_counter()
    files = {path.name: path for path in synth.write_city(spec, out / "exports")}
    generated = time.perf_counter() - started
    settlements = files["settlements-2023-01.csv"]
    size_mb = settlements.stat().st_size / 2**20

    started = time.perf_counter()
    with settlements.open(encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    floor = time.perf_counter() - started

    results: list[dict[str, object]] = [
        {
            "step": f"generate {rows:,} settlements ({size_mb:.0f} MiB CSV)",
            "seconds": round(generated, 2),
        },
        {"step": "baseline: csv.reader over the file", "seconds": round(floor, 2)},
        run("init", ["init", "books"], out),
        run(
            "import institutions",
            ["import", "institutions", str(files["institutions.csv"]), "--books", "books"],
            out,
        ),
        run(
            "import persons",
            ["import", "persons", str(files["persons.csv"]), "--books", "books"],
            out,
        ),
        run(
            "import settlements",
            ["import", "settlements", str(settlements), "--books", "books"],
            out,
        ),
        run(
            "post one month",
            ["post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books"],
            out,
        ),
        run("check (bean-check + books vs register)", ["check", "--books", "books"], out),
        run(
            "audit the month (every settlement recomputed)",
            [
                "audit",
                "--period",
                "2023-01",
                "--format",
                "json",
                "--out",
                "audit.json",
                "--books",
                "books",
            ],
            out,
            ok=(0, 3),
        ),
    ]
    for result in results:
        if result["step"] == "import settlements":
            result["rows_per_second"] = round(rows / float(result["seconds"]))  # type: ignore[arg-type]
    print(f"{'step':<45} {'seconds':>8} {'rows/s':>10} {'peak MB':>8}")
    for r in results:
        print(
            f"{r['step']:<45} {r['seconds']:>8} {r.get('rows_per_second', ''):>10} "
            f"{r.get('peak_rss_mb', ''):>8}"
        )
    report = {
        "settlements": rows,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
    }
    (out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    print(f"results: {out / 'results.json'}")


if __name__ == "__main__":
    main()
