"""The two baselines, each run as its own process so that its memory is measured like a step's.

``python -m bench.baselines csv FILE...``: the plain-Python floor, ``csv.reader`` over every
file (each row read, nothing done with it).

``python -m bench.baselines naive --rows 100000 --out FILE FILE...``: the naive Beancount way,
one transaction per settlement with the legs of the real posting rule (``postings/rules.py``,
accounts from the default ``ledger/chart.toml``): the pooled part (hifp_pay) to 门诊统筹 or
门诊慢特病 by med_type, the personal part (acct_pay + acct_mulaid_pay) to 普通门诊支出 or, for a
pharmacy, 定点药店医药费支出, each against its own disbursement account: four postings, dated
the settlement day, setl_id as metadata. The rows are read first (not timed: that is the csv
floor); "print" is building the transactions and writing them with Beancount's printer, "load"
is ``beancount.loader.load_file`` with the pickle cache off.

Each prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

# Before beancount.loader is imported: it decides on its pickle cache at import time.
os.environ["BEANCOUNT_DISABLE_LOAD_CACHE"] = "1"


def csv_floor(files: Sequence[Path]) -> dict[str, object]:
    per_file: list[dict[str, object]] = []
    started = time.perf_counter()
    total = 0
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        per_file.append({"file": str(path), "rows": rows, "bytes": path.stat().st_size})
        total += rows
    seconds = time.perf_counter() - started
    return {"rows": total, "seconds": seconds, "files": per_file}


def _rows(files: Sequence[Path]) -> Iterator[dict[str, str]]:
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.DictReader(handle)


def naive(files: Sequence[Path], limit: int, out: Path) -> dict[str, object]:
    import datetime

    from beancount import loader
    from beancount.core import data
    from beancount.core.amount import Amount
    from beancount.parser import printer

    from ledger.chart import DEFAULT_CHART_TEXT, parse_chart, render_accounts

    loader.initialize(use_cache=False)
    chart = parse_chart(DEFAULT_CHART_TEXT)
    currency = chart.currency
    bank_pooled = chart.account("bank-pooled")
    bank_personal = chart.account("bank-personal")
    personal_clinic = chart.account("personal-clinic")
    personal_pharmacy = chart.account("personal-pharmacy")
    pooled = {med_type: chart.account(role) for med_type, role in chart.med_type_roles.items()}
    pooled_default = chart.account("pooled-outpatient")

    rows = list(itertools.islice(_rows(files), limit))

    def leg(account: str, number: Decimal) -> data.Posting:
        return data.Posting(account, Amount(number, currency), None, None, None, None)

    started = time.perf_counter()
    with out.open("w", encoding="utf-8") as handle:
        handle.write(f'option "operating_currency" "{currency}"\n\n')
        handle.write(render_accounts(chart))
        handle.write("\n")
        for lineno, row in enumerate(rows, start=1):
            hifp = Decimal(row["hifp_pay"])
            personal = Decimal(row["acct_pay"]) + Decimal(row["acct_mulaid_pay"])
            txn = data.Transaction(
                {"filename": "naive", "lineno": lineno, "setl_id": row["setl_id"]},
                datetime.date.fromisoformat(row["setl_time"][:10]),
                "*",
                row["fixmedins_name"] or row["fixmedins_code"],
                f"门诊结算 {row['setl_id']} 医疗类别{row['med_type']}",
                frozenset(),
                frozenset(),
                [
                    leg(pooled.get(row["med_type"], pooled_default), hifp),
                    leg(
                        personal_pharmacy if row["fixmedins_type"] == "2" else personal_clinic,
                        personal,
                    ),
                    leg(bank_pooled, -hifp),
                    leg(bank_personal, -personal),
                ],
            )
            handle.write(printer.format_entry(txn))
            handle.write("\n")
    printed = time.perf_counter() - started

    started = time.perf_counter()
    entries, errors, _options = loader.load_file(str(out))
    loaded = time.perf_counter() - started
    return {
        "rows": len(rows),
        "print_seconds": printed,
        "load_seconds": loaded,
        "entries": len(entries),
        "errors": [str(getattr(e, "message", e))[:200] for e in errors[:5]],
        "error_count": len(errors),
        "file": str(out),
        "bytes": out.stat().st_size,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines", description=__doc__)
    sub = parser.add_subparsers(dest="which", required=True)
    floor = sub.add_parser("csv")
    floor.add_argument("files", nargs="+", type=Path)
    naive_parser = sub.add_parser("naive")
    naive_parser.add_argument("--rows", type=int, default=100_000)
    naive_parser.add_argument("--out", type=Path, required=True)
    naive_parser.add_argument("files", nargs="+", type=Path)
    options = parser.parse_args(argv)
    if options.which == "csv":
        result = csv_floor(options.files)
    else:
        result = naive(options.files, options.rows, options.out)
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
