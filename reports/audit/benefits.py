"""What the pooled fund should have paid (统筹基金应支付), recomputed per person from the policy.

A pure engine for the benefit audit: no I/O. For one person's settlements, in ``setl_time``
order, per accumulation key (the natural year; the month for a month-scoped period such as
December 2022), on the policy-scope amount E (符合政策范围金额):

- remaining deductible at tier T = max(0, D_T - deductible borne so far in the key): the deductible
  accumulates across tiers (起付标准年度内累计计算, Anshan art. 9);
- deductible now = min(E, remaining deductible);
- pooled payment = min((E - deductible now) x ratio, cap - pooled paid so far in the key),
  rounded to the fen half up; nothing carries from one key into the next.

A settlement the fund does not cover (no tier) bears no deductible and uses none of the cap.
A refund cancels the settlement it reverses; the key is recomputed without both. A pharmacy
purchase follows the policy's [pharmacy] reading: ``cap-only`` (tier CAP_ONLY) takes its
reported pooled payment up to the cap left, without a deductible, and counts it in the cap;
``tier`` recomputes it as a visit at that tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from ledger.money import ZERO, quantize
from reports.audit.policy import Policy, PolicyPeriod


class Visit(NamedTuple):
    """One settlement as the benefit rule sees it (a named tuple: one a settlement, made in
    one step)."""

    setl_id: str
    setl_time: datetime
    mdtrt_id: str
    institution: str
    #: Policy-scope amount E (inscp_scp_amt, 符合政策范围金额).
    inscp_scp_amt: Decimal
    #: "level-1".."level-3" | "outside" | None = the fund does not cover it (bears no deductible,
    #: uses no cap).
    tier: str | None
    retired: bool
    #: A refund row (退费, 2208): the setl_id it reverses (amounts negative).
    refund_of: str | None = None
    #: A pharmacy purchase (定点药店购药): judged by the policy's [pharmacy] reading; under
    #: ``cap-only`` (tier CAP_ONLY) its ``reported`` pooled payment is taken as it is, capped.
    pharmacy: bool = False
    reported: Decimal = ZERO


class Expected(NamedTuple):
    """What the engine says of one settlement (a named tuple, as Visit)."""

    setl_id: str
    #: What the pooled fund should pay (统筹基金支出).
    hifp_pay: Decimal
    #: Deductible borne in this settlement (实际支付起付线).
    deductible: Decimal
    #: None when not covered.
    ratio: Decimal | None
    #: Cap left before this settlement.
    cap_left: Decimal
    deductible_borne_before: Decimal
    tier: str | None
    #: Accumulation key: "2023" (natural year) or "2022-12" (month).
    key: str
    article: str
    #: A pharmacy purchase's, by the [pharmacy] reading.
    pharmacy: bool = False
    #: Pooled payments of pharmacy purchases counted in the key's cap before this settlement.
    pharmacy_before: Decimal = ZERO


#: The tier of a pharmacy purchase under the ``cap-only`` reading: no deductible, no ratio, the
#: reported payment up to the cap left.
CAP_ONLY = "pharmacy-cap-only"


class NoPolicyPeriod(ValueError):
    """A settlement is dated where no period of the policy applies."""


class UnmatchedRefund(ValueError):
    """A refund whose settlement is not among the person's, or a settlement refunded twice."""


def cancel_refunds(visits: Sequence[Visit]) -> list[Visit]:
    """The settlements left once every refund is removed with the settlement it reverses."""
    originals: dict[str, Visit] = {}
    for visit in visits:
        if visit.refund_of is None:
            if visit.setl_id in originals:
                # A refund names its settlement by setl_id: a repeated one would be ambiguous.
                raise ValueError(f"{visit.setl_id}: setl_id appears more than once")
            originals[visit.setl_id] = visit
    cancelled: set[str] = set()
    for visit in visits:
        if visit.refund_of is None:
            continue
        if visit.refund_of not in originals:
            raise UnmatchedRefund(
                f"{visit.setl_id}: refunds {visit.refund_of}, which is not among this person's "
                "settlements (a refund must be recomputed with the settlement it reverses)"
            )
        if visit.refund_of in cancelled:
            raise UnmatchedRefund(f"{visit.setl_id}: refunds {visit.refund_of} a second time")
        cancelled.add(visit.refund_of)
    return [v for v in visits if v.refund_of is None and v.setl_id not in cancelled]


def recompute(visits: Sequence[Visit], policy: Policy) -> list[Expected]:
    """One person's expected pooled payments, one per settlement left after refunds, in order.

    Settlements are taken in (setl_time, setl_id) order whatever the input order. Several
    settlements of one visit (same mdtrt_id and institution) need no special case to bear the
    deductible only once (Shanxi art. 22, 起付标准按一次计算): the deductible is cumulative, so
    the second settlement bears only what the first left of it.
    """
    remaining = sorted(cancel_refunds(visits), key=lambda v: (v.setl_time, v.setl_id))
    borne: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    by_pharmacies: dict[str, Decimal] = {}
    result: list[Expected] = []
    for visit in remaining:
        day = visit.setl_time.date()
        period = policy.period_for(day)
        if period is None:
            raise NoPolicyPeriod(
                f"{visit.setl_id}: dated {day.isoformat()}, where no period of the policy "
                f"{policy.region} ({policy.document}) applies"
            )
        key = period.key(day)
        borne_before = borne.get(key, ZERO)
        # max(): a later period of the same key with a lower cap must not make the cap negative.
        cap_left = quantize(max(ZERO, period.cap - paid.get(key, ZERO)))
        pharmacy_before = by_pharmacies.get(key, ZERO)
        deductible, ratio, pooled = _due(visit, period, borne_before, cap_left)
        borne[key] = borne_before + deductible
        paid[key] = paid.get(key, ZERO) + pooled
        if visit.pharmacy:
            by_pharmacies[key] = pharmacy_before + pooled
        result.append(
            Expected(
                setl_id=visit.setl_id,
                hifp_pay=pooled,
                deductible=deductible,
                ratio=ratio,
                cap_left=cap_left,
                deductible_borne_before=borne_before,
                tier=visit.tier,
                key=key,
                article=period.article,
                pharmacy=visit.pharmacy,
                pharmacy_before=pharmacy_before,
            )
        )
    return result


def _due(
    visit: Visit, period: PolicyPeriod, borne_before: Decimal, cap_left: Decimal
) -> tuple[Decimal, Decimal | None, Decimal]:
    """(deductible borne now, ratio, pooled payment) of one settlement: nothing where the fund
    does not cover it (no tier); a cap-only pharmacy purchase its reported payment up to the
    cap left; else min(E, deductible left) and (E - that) x ratio up to the cap left."""
    if visit.tier is None:
        return ZERO, None, ZERO
    if visit.tier == CAP_ONLY:
        return ZERO, None, min(visit.reported, cap_left) if visit.reported > ZERO else ZERO
    terms = period.tiers.get(visit.tier)
    if terms is None:
        raise ValueError(
            f"{visit.setl_id}: unknown tier (found {visit.tier!r}, "
            f"expected one of {', '.join(period.tiers)} or none)"
        )
    amount = visit.inscp_scp_amt
    if amount < 0:
        raise ValueError(
            f"{visit.setl_id}: negative policy-scope amount {amount} on a settlement that "
            "is not a refund"
        )
    deductible = quantize(min(amount, max(ZERO, terms.deductible - borne_before)))
    ratio = terms.ratio(visit.retired)
    # cap_left is on the fen, so capping before rounding equals capping after it.
    return deductible, ratio, quantize(min((amount - deductible) * ratio, cap_left))


def due_when_paid(
    live: Sequence[Visit],
    refunded: Sequence[tuple[Visit, datetime | None]],
    policy: Policy,
    expected: dict[str, Expected],
) -> dict[str, tuple[Expected, tuple[str, ...]]]:
    """What each live settlement was due when it was made, where a settlement refunded only
    after it (``refunded``: each with its refund's time, None when the refund is not among
    the rows read) still stood then and that changes the payment: setl_id -> (the expected
    payment as of then, the refunded setl_ids it relied on). ``expected``: the final one."""
    found: dict[str, tuple[Expected, tuple[str, ...]]] = {}
    ordered = sorted(live, key=lambda v: (v.setl_time, v.setl_id))
    for index, visit in enumerate(ordered):
        standing = [
            original
            for original, refunded_at in refunded
            if original.setl_time < visit.setl_time
            and (refunded_at is None or refunded_at > visit.setl_time)
        ]
        if not standing or visit.setl_id not in expected:
            continue
        then = {e.setl_id: e for e in recompute([*ordered[: index + 1], *standing], policy)}
        if then[visit.setl_id].hifp_pay != expected[visit.setl_id].hifp_pay:
            found[visit.setl_id] = (then[visit.setl_id], tuple(v.setl_id for v in standing))
    return found


def visit_deductibles(
    expected: Sequence[Expected], visits: Sequence[Visit]
) -> dict[tuple[str, str], Decimal]:
    """(mdtrt_id, institution) -> the deductible the visit should bear over all its settlements.

    Shanxi art. 22: the prescriptions of one visit (相同就诊流水号, same institution) bear the
    deductible once; the cumulative rule of ``recompute`` already ensures it, so this only sums.
    """
    by_id = {visit.setl_id: visit for visit in visits if visit.refund_of is None}
    totals: dict[tuple[str, str], Decimal] = {}
    for item in expected:
        visit = by_id.get(item.setl_id)
        if visit is None:
            raise ValueError(f"{item.setl_id}: expected payment without its settlement")
        where = (visit.mdtrt_id, visit.institution)
        totals[where] = totals.get(where, ZERO) + item.deductible
    return totals
