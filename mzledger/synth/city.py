"""A whole city's files (``write_city``): the lists, the month's settlements and fee details,
the bank statements and ``planted.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import IO

from mzledger.synth.bank import _write_statements, write_bank_accounts
from mzledger.synth.contributions import write_contributions
from mzledger.synth.draws import ZERO
from mzledger.synth.family import FAMILY_BINDINGS_FILE, write_family_bindings
from mzledger.synth.fees import FeeItems, fee_details_file, write_month
from mzledger.synth.fiscal import write_fiscal_statements
from mzledger.synth.opening import reserves, write_opening
from mzledger.synth.output import _write_atomic, _write_csv
from mzledger.synth.population import (
    INSTITUTION_HEADER,
    PERSON_HEADER,
    _person_rows,
    _Population,
    _records,
    institution_rows,
)
from mzledger.synth.settlements import _sorted_planted, _Stream
from mzledger.synth.spec import CitySpec, _validate


def _no_report(path: Path, rows: int) -> None:
    pass


def write_city(
    spec: CitySpec, out_dir: Path, report: Callable[[Path, int], None] = _no_report
) -> list[Path]:
    """Writes out_dir/institutions.csv, out_dir/persons.csv, out_dir/settlements-YYYY-MM.csv
    (one per month), out_dir/fee-details-YYYY-MM.csv (费用明细: each settlement's items, beside
    its month; ``fees``), out_dir/bank-<code>-<YYYY-MM>.csv (each disbursement account's
    statement of each payment month: the month after each of the spec's months; 100401 in
    UTF-8, 100402 in GB18030; and the fiscal special account's, 1003, of each month it moves
    money, UTF-8), out_dir/bank-accounts.json (books account, code and statement files of
    each account), out_dir/opening-balances.csv (the opening trial balance, GB18030),
    out_dir/contributions-YYYY-MM.csv (each month's collection from 2023-01) and
    out_dir/family-bindings.csv (家庭共济: a binding for each person whose settlements used
    mutual aid), not among the returned paths, and out_dir/planted.json (the planted
    mistakes, sorted by rule and setl_id; an empty list when none are planted). Returns the
    paths of the CSV files: institutions, persons, the settlement months in order, the
    fee-detail months in order, then the statements (100401's months in order, then
    100402's, then 1003's). ``report(path, rows)`` is called as each CSV file is written
    (rows without the header)."""
    _validate(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    institutions = institution_rows(spec)
    paths = [_write_csv(out_dir / "institutions.csv", INSTITUTION_HEADER, institutions)]
    report(paths[0], len(institutions))
    pop = _Population(spec)
    persons = _person_rows(pop, _records(spec, pop))
    paths.append(_write_csv(out_dir / "persons.csv", PERSON_HEADER, persons))
    report(paths[1], len(persons))
    del persons
    stream = _Stream(spec, pop)
    items, fee_paths = FeeItems(spec), []
    for month, rows in stream.months_rows():
        # the month's settlements and, as they go by, their fee details (费用明细)
        path, fees = out_dir / f"settlements-{month}.csv", out_dir / fee_details_file(month)
        count, item_count = write_month(items, stream, rows, path, fees)
        paths.append(path)
        report(path, count)
        fee_paths.append(fees)
        report(fees, item_count)
    paths += fee_paths
    # the bindings of those whose settlements used a family member's account (家庭共济)
    family, count = write_family_bindings(
        spec, pop, stream.mutual_aid, out_dir / FAMILY_BINDINGS_FILE
    )
    report(family, count)
    statements, topups, accounts = _write_statements(spec, stream, out_dir, report)
    paths += statements
    write_opening(stream, out_dir)
    receipts = write_contributions(spec, pop, out_dir)
    # the fiscal special account's: its reserves, the transfers, the contributions received
    fiscal, listed = write_fiscal_statements(
        spec, out_dir, sum(reserves(stream), ZERO), topups, receipts, report
    )
    paths += fiscal
    write_bank_accounts(out_dir, [*accounts, listed])

    def write_planted(fh: IO[str]) -> None:
        planted = _sorted_planted(stream.planted)
        fh.write(json.dumps(planted, ensure_ascii=False, indent=2) + "\n")

    _write_atomic(out_dir / "planted.json", write_planted)
    return paths
