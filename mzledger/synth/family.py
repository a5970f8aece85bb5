"""The city's family bindings (家庭共济绑定, Anshan art. 13: ``family-bindings.csv``): whose
personal account pays the ``acct_mulaid_pay`` of whose settlements.

Every person whose settlements used mutual aid is bound to one other person of the city who
has a personal account (never a flexible worker, who has none: art. 12), as their spouse,
parent or child, from a day before their first such settlement; most bindings are open, one in
four ends after the last month. So the audit finds nothing in the generated mutual aid.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from ledger.month import Month
from mzledger.synth.draws import _words
from mzledger.synth.output import _write_csv
from mzledger.synth.population import _Population
from mzledger.synth.rules import _NO_ACCOUNT
from mzledger.synth.spec import CitySpec

FAMILY_BINDINGS_FILE = "family-bindings.csv"
FAMILY_HEADER: tuple[str, ...] = (
    "holder_psn_no", "user_psn_no", "relation", "begndate", "enddate",
)  # fmt: skip
RELATIONS = ("spouse", "parent", "child")
_TRIES = 64  # random draws of a holder before the persons are searched in order


def _holder(bits: Callable[[int], int], pop: _Population, n: int, user: int) -> int | None:
    """Another person with a personal account, drawn; None when there is none."""
    for _ in range(_TRIES):
        candidate = bits(62) % n
        if candidate != user and not _NO_ACCOUNT[pop.types[candidate]]:
            return candidate
    return next(
        (i for i in range(n) if i != user and not _NO_ACCOUNT[pop.types[i]]),
        None,
    )


def family_rows(spec: CitySpec, pop: _Population, users: Mapping[int, int]) -> list[dict[str, str]]:
    """Rows of family-bindings.csv, one per person of ``users`` (person -> the day, as an
    ordinal, of their first settlement with mutual aid), in user psn_no order."""
    bits = _words(f"{spec.seed}/family")
    last = Month.parse(spec.months[-1]) if spec.months else Month(2023, 1)
    after = date(last.year, last.month, calendar.monthrange(last.year, last.month)[1])
    rows = []
    for user in sorted(users):
        holder = _holder(bits, pop, spec.persons, user)
        if holder is None:  # a city of one person with an account: nobody to bind to
            continue
        w = bits(30)
        since = date.fromordinal(users[user] - 1 - w % 400)
        until = "" if w // 400 % 4 else date.fromordinal(after.toordinal() + 1 + w % 90).isoformat()
        rows.append(
            {
                "holder_psn_no": pop.psn_no(holder),
                "user_psn_no": pop.psn_no(user),
                "relation": RELATIONS[w // 1600 % len(RELATIONS)],
                "begndate": since.isoformat(),
                "enddate": until,
            }
        )
    return sorted(rows, key=lambda r: (r["user_psn_no"], r["holder_psn_no"]))


def write_family_bindings(
    spec: CitySpec, pop: _Population, users: Mapping[int, int], path: Path
) -> tuple[Path, int]:
    """Write ``family_rows`` to ``path``; returns the path and the row count."""
    rows = family_rows(spec, pop, users)
    return _write_csv(path, FAMILY_HEADER, rows), len(rows)


__all__ = ["FAMILY_BINDINGS_FILE", "FAMILY_HEADER", "family_rows", "write_family_bindings"]
