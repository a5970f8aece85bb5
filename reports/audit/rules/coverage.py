"""Coverage (门诊统筹支付范围): which tier of the policy applies to a settlement, or the rule
that says the pooled fund does not cover it; and that rule's finding when the fund paid."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ledger.money import ZERO
from reports.audit.findings import Finding
from reports.audit.rows import Row, Span
from reports.audit.rules.person import Person, finding, money


def classify(row: Row, spans: Sequence[Span], own_region: str) -> tuple[str | None, str | None]:
    """The policy tier of a covered settlement, or None and the rule that says it is not."""
    day = row.setl_time.date()
    if not row.listed:
        return None, "non-designated-institution"
    if any(s.record == "arrears" and s.covers(day) for s in spans):
        return None, "arrears-period"
    level_tier = "level-1" if row.spec_hosp else f"level-{row.medins_lv or 1}"
    if row.admdvs in (None, "", own_region):
        return level_tier, None
    if any(s.record == "long-term-residence" and s.covers(day) for s in spans):
        return level_tier, None  # 异地长期居住备案: as in the city, by level (art. 10)
    if any(s.record == "referral" and s.covers(day) for s in spans) or row.emergency_flag:
        return "outside", None
    return None, "outside-city-not-covered"


def not_covered(person: Person) -> Iterator[Finding]:
    """non-designated-institution, arrears-period, outside-city-not-covered: a pooled payment
    the fund does not owe (expected 0)."""
    for row in person.pooled:
        reason = person.uncovered.get(row.setl_id)
        if reason is not None and row.hifp_pay != ZERO:
            yield finding(reason, row, reported=row.hifp_pay, expected=ZERO)


def no_policy_period(person: Person) -> Iterator[Finding]:
    """no-policy-period: a settlement the engine would recompute, dated where no period of the
    policy applies; it is left out of the recomputation (it bears no deductible and uses no
    cap) and the person's other settlements are audited as usual."""
    policy = person.policy
    periods = ", ".join(f"{p.begins}..{'' if p.ends is None else p.ends}" for p in policy.periods)
    for row in person.outside_policy:
        yield finding(
            "no-policy-period",
            row,
            reported=row.hifp_pay,
            evidence=(
                ("setl_date", str(row.setl_time.date())),
                ("policy", f"{policy.region} {policy.document}"),
                ("policy_periods", periods),
                ("med_type", row.med_type),
                ("inscp_scp_amt", money(row.inscp_scp_amt)),
                ("hifp_pay", money(row.hifp_pay)),
            ),
        )


__all__ = ["classify", "no_policy_period", "not_covered"]
