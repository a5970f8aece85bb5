"""The shape of a synthetic city (``CitySpec``) and its months."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ledger.month import Month


@dataclass(frozen=True)
class CitySpec:
    """Shape of the synthetic city; equal specs always produce byte-identical output."""

    persons: int = 300
    # In-city institutions, at least 4: a pharmacy and hospitals of levels 1, 2, 3; from 8 on
    # also a specialty (spec_hosp=1) level-2 hospital, which the benefit rules treat as level 1.
    # Two hospitals outside the city come on top.
    institutions: int = 12
    months: tuple[str, ...] = ("2022-12", "2023-01", "2023-02", "2023-03")
    settlements_per_month: int = 400  # new settlements; shared-visit and refund rows come on top
    seed: int = 20230101
    region: str = "210300"
    # Plant about a dozen rule violations (listed in planted.json); False: none, every
    # settlement follows the rules (benchmarks).
    plant_mistakes: bool = True
    # New settlements over all the months; when set it replaces settlements_per_month: each
    # month gets settlements // len(months), the first settlements % len(months) months one more.
    settlements: int | None = None


def _month_counts(spec: CitySpec) -> list[int]:
    """New settlements of each month of the spec."""
    if spec.settlements is None:
        return [spec.settlements_per_month] * len(spec.months)
    each, extra = divmod(spec.settlements, max(1, len(spec.months)))
    return [each + (i < extra) for i in range(len(spec.months))]


MAX_PERSONS = 100_000_000  # psn_no stays Q and 9 digits


def _validate(spec: CitySpec) -> None:
    if spec.institutions < 4 or spec.persons < 1 or spec.settlements_per_month < 0:
        raise ValueError("need >= 4 institutions, >= 1 person, >= 0 settlements per month")
    if spec.persons > MAX_PERSONS:
        raise ValueError(f"at most {MAX_PERSONS:,} persons")
    if spec.settlements is not None and spec.settlements < 0:
        raise ValueError("need >= 0 settlements")
    if not re.fullmatch(r"\d{6}", spec.region):
        raise ValueError(f"region must be a 6-digit admdvs code, not {spec.region!r}")
    for m in spec.months:
        if not Month.is_month(m):
            raise ValueError(f"month must be YYYY-MM, not {m!r}")
    if list(spec.months) != sorted(set(spec.months)):
        raise ValueError("months must be strictly ascending")


def parse_months(text: str) -> tuple[str, ...]:
    """Months as the command line gives them: ``FIRST..LAST`` (both included) or a comma list
    in ascending order, each YYYY-MM. ValueError says what is wrong, in one line."""
    if ".." in text:
        parts = [part.strip() for part in text.partition("..")[::2]]
    else:
        parts = [part.strip() for part in text.split(",")]
    months = [Month.parse(part) for part in parts]  # "not a month (found 'x', expected YYYY-MM)"
    if ".." in text:
        first, last = months
        if last < first:
            raise ValueError(f"{first}..{last}: the last month comes before the first")
        return tuple(map(str, first.until(last)))
    for before, after in itertools.pairwise(months):
        if after <= before:
            raise ValueError(f"months must be in ascending order, each once ({before}, {after})")
    return tuple(map(str, months))
