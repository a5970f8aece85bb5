"""Institution indicators (定点医药机构考核指标, Shanxi procedures art. 16): per institution and
year, and per month, from the register's settlements (pure: counts in, indicators out).

Art. 16 puts 次均费用增长, 自付（自费）费用比例 and 检查费用占比 into the annual assessment and
gives no figures: the thresholds that mark an outlier are the region's policy data
(``[indicators]`` of its policy file), not this module's.

- visits (就诊人次): distinct ``mdtrt_id`` among settlements that were not refunded;
- cost per visit (次均费用): ``medfee_sumamt`` (refunds netted) / visits, to the fen, half up;
- its growth (增长率) against the same months a year earlier, when the register holds those
  months at all (else none: a first year has nothing to grow from);
- self-pay share (自费比例): ``fulamt_ownpay_amt / medfee_sumamt``;
- co-pay share (自付比例): ``(overlmt_selfpay + preselfpay_amt) / medfee_sumamt``;
- examination share (检查费用占比): examination and test items' cost / ``medfee_sumamt``, from fee
  details (费用明细); none while the register holds no fee details for the institution.

Shares and growth are kept to four places (0.1234 = 12.34%), half up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ledger.money import ZERO, from_fen

SHARE = Decimal("0.0001")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Counts:
    """One institution's settlements of one span (a year ``2023`` or a month ``2023-03``)."""

    code: str
    span: str
    visits: int
    medfee_fen: int
    ownpay_fen: int  # fulamt_ownpay_amt
    copay_fen: int  # overlmt_selfpay + preselfpay_amt
    exam_fen: int | None = None  # None: no fee details for it


@dataclass(frozen=True)
class Institution:
    name: str
    kind: str  # fixmedins_type: 1 medical institution, 2 pharmacy
    level: str  # medins_lv, "" for a pharmacy


@dataclass(frozen=True)
class Thresholds:
    """An indicator above its threshold marks the institution (policy data); None: not marked."""

    cost_growth: Decimal | None = None
    self_pay_share: Decimal | None = None
    co_pay_share: Decimal | None = None
    exam_share: Decimal | None = None


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    kind: str
    level: str
    span: str
    visits: int
    medfee: Decimal
    cost_per_visit: Decimal | None
    previous_cost_per_visit: Decimal | None
    cost_growth: Decimal | None
    self_pay_share: Decimal | None
    co_pay_share: Decimal | None
    exam_share: Decimal | None
    marks: tuple[str, ...]  # the indicators above their threshold


def _share(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(SHARE, rounding=ROUND_HALF_UP)


def cost_per_visit(counts: Counts) -> Decimal | None:
    if counts.visits <= 0:
        return None
    return (from_fen(counts.medfee_fen) / counts.visits).quantize(CENT, rounding=ROUND_HALF_UP)


def _growth(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    if now is None or before is None or before <= ZERO:
        return None
    return ((now - before) / before).quantize(SHARE, rounding=ROUND_HALF_UP)


#: Each marked indicator: its name in the report, and the threshold's field.
MARKS = (
    ("次均费用增长", "cost_growth"),
    ("自费比例", "self_pay_share"),
    ("自付比例", "co_pay_share"),
    ("检查费用占比", "exam_share"),
)


def indicators(
    current: Sequence[Counts],
    previous: Mapping[tuple[str, str], Counts],
    institutions: Mapping[str, Institution],
    thresholds: Thresholds,
) -> list[Indicator]:
    """The indicators of ``current``, each against ``previous`` (by institution and the span
    it is compared with), sorted by kind, level, then code."""
    result = []
    for counts in current:
        institution = institutions.get(counts.code, Institution(counts.code, "", ""))
        now = cost_per_visit(counts)
        before_counts = previous.get((counts.code, counts.span))
        before = cost_per_visit(before_counts) if before_counts is not None else None
        values = {
            "cost_growth": _growth(now, before),
            "self_pay_share": _share(counts.ownpay_fen, counts.medfee_fen),
            "co_pay_share": _share(counts.copay_fen, counts.medfee_fen),
            "exam_share": None
            if counts.exam_fen is None
            else _share(counts.exam_fen, counts.medfee_fen),
        }
        marks = tuple(
            label
            for label, field in MARKS
            if (limit := getattr(thresholds, field)) is not None
            and (value := values[field]) is not None
            and value > limit
        )
        result.append(
            Indicator(
                counts.code,
                institution.name,
                institution.kind,
                institution.level,
                counts.span,
                counts.visits,
                from_fen(counts.medfee_fen),
                now,
                before,
                values["cost_growth"],
                values["self_pay_share"],
                values["co_pay_share"],
                values["exam_share"],
                marks,
            )
        )
    result.sort(key=lambda i: (i.span, i.kind, i.level, i.code))
    return result


__all__ = [
    "MARKS",
    "Counts",
    "Indicator",
    "Institution",
    "Thresholds",
    "cost_per_visit",
    "indicators",
]
