"""The planted mistakes (``CitySpec.plant_mistakes``): which kinds, when they start, and the
pooled payment a planted settlement reports instead of the rule's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from mzledger.synth.draws import _half_up, _money
from mzledger.synth.population import _Inst

PLANTED_RULES: tuple[str, ...] = (
    "annual-cap-exceeded", "arrears-period", "benefit-mismatch", "duplicate-visit-deductible",
    "flexible-worker-personal-account", "monthly-cap-exceeded", "non-designated-institution",
    "outside-city-not-covered", "prescription-expired", "prescription-not-designated",
    "same-drug-two-institutions",
)  # fmt: skip

# Planted mistakes (CitySpec.plant_mistakes). Each kind is planted once, on the first settlement
# that fits it from its start date on. The 2023 kinds start in the 2023 months of the spec in
# this order (spread evenly over them); arrears and the cap start with the year, as they need a
# person who happens to be in arrears or at the cap.
_PLANTS_2023 = (
    "over", "flexible", "rx-expired", "outside", "no-deductible", "duplicate",
    "rx-not-designated", "non-designated", "under", "same-drug", "arrears", "annual-cap",
)  # fmt: skip
_FROM_JANUARY = frozenset({"arrears", "annual-cap"})
# Kinds after which the person has no further covered settlement in the key (year or month):
# their reported running total leaves the rule's, so no later settlement may depend on either.
_CLOSING = frozenset(
    {"monthly-cap", "annual-cap", "over", "under", "no-deductible", "outside", "arrears",
     "non-designated", "duplicate"}
)  # fmt: skip


class _Calc(NamedTuple):
    """One pooling-type settlement as the rule sees it, with what it would pay if covered.
    Money in fen."""

    inscp: int
    covered: bool
    why_not: str  # "" when covered; "arrears" or "outside" (unreferred, no emergency)
    d_l: int  # deductible of the tier (of the would-be tier when not covered)
    cap: int
    pct: int  # the ratio, in percent
    borne: int  # deductible borne before, in the key
    paid: int  # pooled payments before, in the key (reported = recomputed for a free person)
    ded: int  # deductible it would bear
    full: int  # (E - deductible) x ratio, rounded, before the cap
    pay: int  # what the rule pays when covered


def plant_pooled(
    kind: str,
    c: _Calc,
    inst: _Inst,
    med_type: str,
    bits: Callable[[int], int],
    undesignated: str,
) -> tuple[int, int, list[tuple[str, str]]] | None:
    """A planted pooled payment of ``kind`` where the settlement fits it: (reported
    deductible, reported hifp_pay, [(rule, note)]); ``undesignated``: the clinic not on the
    list that a "non-designated" one is moved to."""
    expected = f"expected {_money(c.pay if c.covered else 0)}"
    if kind in ("annual-cap", "monthly-cap") and c.covered and c.full - (c.cap - c.paid) >= 100:
        rule = f"{kind}-exceeded"
        note = (f"paid {_money(c.full)} with {_money(c.cap - c.paid)} left of the "
                f"{_money(c.cap)} cap ({_money(c.paid)} paid before); {expected}")  # fmt: skip
        return c.ded, c.full, [(rule, note), ("benefit-mismatch", note)]
    if kind in ("over", "under") and c.covered and c.pay == c.full and c.pay >= 2_000:
        delta = (100 + bits(30) % 801) * (1 if kind == "over" else -1)
        if c.paid + c.pay + delta <= c.cap:
            note = f"hifp_pay {_money(delta)} off the rule; {expected}"
            return c.ded, c.pay + delta, [("benefit-mismatch", note)]
    if kind == "no-deductible" and c.covered and c.ded > 0:
        pay = min(_half_up(c.inscp * c.pct), c.cap - c.paid)
        if pay != c.pay:
            note = f"deductible {_money(c.ded)} not applied; {expected}"
            return 0, pay, [("benefit-mismatch", note)]
    paid_anyway = c.pay >= 100 and (c.covered or c.why_not == kind)
    if kind in ("outside", "arrears") and paid_anyway and not c.covered:
        rule = "outside-city-not-covered" if kind == "outside" else "arrears-period"
        what = "unreferred visit outside the city, no emergency" if kind == "outside" else (
            "settled during an arrears period"
        )  # fmt: skip
        note = f"{what}, paid {_money(c.pay)}; expected 0.00"
        return c.ded, c.pay, [(rule, note), ("benefit-mismatch", note)]
    if (
        kind == "non-designated"
        and paid_anyway
        and c.covered
        and not inst.remote
        and inst.tier == "1"
        and not inst.spec
        and med_type == "11"
    ):
        note = f"settled at {undesignated}, not on the list, paid {_money(c.pay)}"
        note += "; expected 0.00"
        return c.ded, c.pay, [("non-designated-institution", note), ("benefit-mismatch", note)]
    return None


def plant_first(
    kinds: Sequence[str],
    c: _Calc,
    inst: _Inst,
    med_type: str,
    bits: Callable[[int], int],
    undesignated: str,
) -> tuple[int, int, list[tuple[str, str]], str] | None:
    """The first of the open ``kinds`` the settlement fits, planted (``plant_pooled``), with
    its kind."""
    for kind in kinds:
        made = plant_pooled(kind, c, inst, med_type, bits, undesignated)
        if made is not None:
            return (*made, kind)
    return None
