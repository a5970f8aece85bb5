"""The pooled payment (统筹基金支付) against the benefit engine: a payment other than the
recomputed one, and the settlement at which the reported payments pass the cap."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from ledger.money import ZERO
from reports.audit.benefits import Expected
from reports.audit.findings import Finding
from reports.audit.rows import Row
from reports.audit.rules.person import Person, finding


def benefit_mismatch(person: Person) -> Iterator[Finding]:
    """benefit-mismatch: the reported hifp_pay is not the recomputed one; the evidence is the
    computation (tier, deductible borne before and now, ratio, cap left)."""
    for row in person.pooled:
        calc = person.expected[row.setl_id]
        if row.hifp_pay != calc.hifp_pay and not _paid_as_of(person, row):
            yield finding(
                "benefit-mismatch",
                row,
                reported=row.hifp_pay,
                expected=calc.hifp_pay,
                evidence=_evidence(calc, row) + _pharmacy_evidence(person, calc),
            )


def _paid_as_of(person: Person, row: Row) -> bool:
    """The payment is what the settlement was due when it was made (``Person.as_of``)."""
    then = person.as_of.get(row.setl_id)
    return then is not None and row.hifp_pay == then[0].hifp_pay


def refund_out_of_order(person: Person) -> Iterator[Finding]:
    """refund-out-of-order: a settlement paid right by the deductible and cap an earlier
    settlement had used, which was refunded only after it; expected is what it is due now,
    the evidence what it was due then and the refunded settlements it relied on (instead of a
    plain benefit-mismatch)."""
    for row in person.pooled:
        if not _paid_as_of(person, row):
            continue
        then, relied = person.as_of[row.setl_id]
        now = person.expected[row.setl_id]
        yield finding(
            "refund-out-of-order",
            row,
            reported=row.hifp_pay,
            expected=now.hifp_pay,
            evidence=(
                ("relied_on", ", ".join(relied)),
                ("due_when_paid", f"{then.hifp_pay:.2f}"),
                ("deductible_borne_before_then", f"{then.deductible_borne_before:.2f}"),
                ("deductible_borne_before_now", f"{now.deductible_borne_before:.2f}"),
                ("cap_left_then", f"{then.cap_left:.2f}"),
                ("cap_left_now", f"{now.cap_left:.2f}"),
                ("key", now.key),
            ),
        )


def cap_exceeded(person: Person) -> Iterator[Finding]:
    """annual-cap-exceeded / monthly-cap-exceeded (最高支付限额): the settlement at which the
    person's *reported* pooled payments in the accumulation key first pass the cap."""
    reported_total: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_pharmacies: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in person.pooled:
        calc = person.expected[row.setl_id]
        before = reported_total[calc.key]
        after = reported_total[calc.key] = before + row.hifp_pay
        if calc.pharmacy:
            by_pharmacies[calc.key] += row.hifp_pay
        period = person.policy.period_for(row.setl_time.date())
        cap = period.cap if period is not None else ZERO
        if before <= cap < after:
            monthly = period is not None and period.scope == "month"
            yield finding(
                "monthly-cap-exceeded" if monthly else "annual-cap-exceeded",
                row,
                reported=row.hifp_pay,
                expected=calc.hifp_pay,
                evidence=(
                    ("key", calc.key),
                    ("cap", f"{cap:.2f}"),
                    ("paid_before", f"{before:.2f}"),
                    ("paid_after", f"{after:.2f}"),
                    *_pharmacies_in_cap(person, by_pharmacies[calc.key]),
                ),
            )


def _pharmacy_evidence(person: Person, calc: Expected) -> tuple[tuple[str, str], ...]:
    """What a finding owes to the policy's pharmacy reading: a pharmacy purchase's own, or a
    later settlement whose cap left pharmacy purchases used."""
    reading = person.policy.pharmacy
    if reading is None or not (calc.pharmacy or calc.pharmacy_before):
        return ()
    used = (("pharmacy_paid_before", f"{calc.pharmacy_before:.2f}"),)
    return (*(used if calc.pharmacy_before else ()), ("pharmacy_reading", reading.describe()))


def _pharmacies_in_cap(person: Person, paid: Decimal) -> tuple[tuple[str, str], ...]:
    """The pharmacy purchases' part of the reported payments a cap finding adds up."""
    reading = person.policy.pharmacy
    if reading is None or paid == ZERO:
        return ()
    return (("pharmacy_paid", f"{paid:.2f}"), ("pharmacy_reading", reading.describe()))


def _evidence(calc: Expected, row: Row) -> tuple[tuple[str, str], ...]:
    return (
        ("tier", calc.tier or "not covered"),
        ("inscp_scp_amt", f"{row.inscp_scp_amt:.2f}"),
        ("deductible_borne_before", f"{calc.deductible_borne_before:.2f}"),
        ("deductible", f"{calc.deductible:.2f}"),
        ("reported_act_pay_dedc", f"{row.act_pay_dedc:.2f}"),
        ("ratio", "" if calc.ratio is None else f"{calc.ratio}"),
        ("cap_left", f"{calc.cap_left:.2f}"),
        ("key", calc.key),
        ("article", calc.article),
    )


__all__ = ["benefit_mismatch", "cap_exceeded", "refund_out_of_order"]
