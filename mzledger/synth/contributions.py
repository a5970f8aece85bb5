"""The city's monthly collection detail (征缴明细), one file a month from 2023-01.

Everyone insured, each month: an in-work employee (1101, 1102) pays a share of their
contribution base with their employer; a flexible worker (1103) pays it all alone, without a
personal account; retirees (12xx) pay nothing and appear with zero amounts. From 2023-01
only: Anshan's personal-account crediting (art. 12) begins then (art. 32), and the region's
policy file has no crediting rule before it, so an earlier month would be refused.

The rates are illustrative, not Anshan's: 8% of the base from the employer and 2% from the
employee, 10% for a flexible worker. Each person's base is drawn once, 3,000.00 to 12,000.00.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO

from ledger.money import from_fen, to_fen
from ledger.month import Month
from mzledger.synth.draws import _words
from mzledger.synth.output import _write_atomic
from mzledger.synth.population import _Population
from mzledger.synth.rules import PSN_TYPES
from mzledger.synth.spec import CitySpec

CONTRIBUTION_HEADER = (
    "period",
    "psn_no",
    "psn_type",
    "contribution_base",
    "employer_amount",
    "employee_amount",
)
FIRST_MONTH = "2023-01"
RECEIVED_DAY = 25  # the demo imports each month's collection as received that day
EMPLOYER, EMPLOYEE, FLEXIBLE = Decimal("0.08"), Decimal("0.02"), Decimal("0.10")
CENT = Decimal("0.01")


def _share(base: Decimal, rate: Decimal) -> str:
    return f"{(base * rate).quantize(CENT, rounding=ROUND_HALF_UP)}"


def write_contributions(
    spec: CitySpec, pop: _Population, out_dir: Path
) -> list[tuple[Month, Path, Decimal]]:
    """out_dir/contributions-YYYY-MM.csv for each month of the spec from FIRST_MONTH: each
    month, its file and what it collects (employer and employee amounts together, the cash
    received on RECEIVED_DAY of the month)."""
    bits = _words(f"{spec.seed}/contributions")
    bases = [Decimal(300_000 + bits(30) % 900_001).scaleb(-2) for _ in range(spec.persons)]
    written = []
    for month in (m for m in spec.months if m >= FIRST_MONTH):
        rows = []
        paid = 0  # fen
        for i in range(spec.persons):
            psn_type = PSN_TYPES[pop.types[i]][0]
            base = bases[i]
            if psn_type.startswith("12"):
                amounts = ("0.00", "0.00")
                base_text = "0.00"
            elif psn_type == "1103":
                amounts, base_text = ("0.00", _share(base, FLEXIBLE)), f"{base}"
            else:
                amounts, base_text = (_share(base, EMPLOYER), _share(base, EMPLOYEE)), f"{base}"
            rows.append((month, pop.psn_no(i), psn_type, base_text, *amounts))
            paid += sum(to_fen(Decimal(amount)) for amount in amounts)

        def write(fh: IO[str], rows: Sequence[tuple[str, ...]] = rows) -> None:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(CONTRIBUTION_HEADER)
            writer.writerows(rows)

        path = _write_atomic(out_dir / f"contributions-{month}.csv", write)
        written.append((Month.parse(month), path, from_fen(paid)))
    return written
