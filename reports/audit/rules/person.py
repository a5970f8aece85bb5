"""One person's settlements as the rule families see them, and a finding about one of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from reports.audit.benefits import Expected, Visit
from reports.audit.findings import Finding
from reports.audit.policy import Policy
from reports.audit.rows import Binding, Item, Row

PHARMACY_PURCHASE = "41"  # med_type 定点药店购药 (national code)


@dataclass(frozen=True)
class Person:
    """A person's settlements (结算) once the benefit engine has recomputed them.

    ``live``: every settlement, in time order, but the refunded pairs (a refund cancels the
    settlement it reverses, so both are left out of every check). ``pooled``: the live ones the
    engine recomputed (medical institutions, the policy's med_types), with their ``visits`` and
    ``expected`` payments; ``uncovered``: setl_id -> the rule that says the fund does not
    cover it; ``outside_policy``: the settlements the engine would recompute but that are dated
    where no period of the policy applies (left out of the recomputation, each a finding).
    ``bindings``: the family bindings (家庭共济) with the person as their user.
    Rows dated before the audited period are here for the running totals; the audit keeps
    only the findings of the period.
    """

    live: list[Row]
    pooled: list[Row]
    visits: list[Visit]
    expected: dict[str, Expected]
    uncovered: dict[str, str]
    policy: Policy
    #: The designated medical institutions: who may write a prescription.
    prescribers: frozenset[str]
    outside_policy: list[Row] = field(default_factory=list)
    bindings: Sequence[Binding] = ()
    #: setl_id -> what the settlement should have been paid when it was made, while earlier
    #: settlements refunded only after it still stood, and those settlements' setl_ids
    #: (``refund-out-of-order``); only where that differs from ``expected``.
    as_of: dict[str, tuple[Expected, tuple[str, ...]]] = field(default_factory=dict)

    #: The person's fee details (费用明细), in time order: every item of a visit settled in
    #: the rows' days, and every item of those days; ``rows``: every settlement read, the
    #: refunded pairs too (the fee-detail rules join items to visits by all of them).
    items: Sequence[Item] = ()
    rows: Sequence[Row] = ()
    #: The visits (mdtrt_id, institution) of ``items`` with no settlement among ``rows`` that
    #: the register holds a settlement of all the same (another period's or person's).
    settled_elsewhere: frozenset[tuple[str, str]] = frozenset()
    #: The live settlements of the 6 days before the rows read (the year's or the month's
    #: first day), in time order: a 7-day window of the monitoring rules reaches back into
    #: them, so a week across New Year is judged whole; no other rule sees them.
    looked_back: Sequence[Row] = ()

    def outpatient_pooling(self) -> list[Row]:
        """The outpatient-pooling settlements (普通门诊统筹), in time order: those the engine
        recomputed and the pharmacy purchases (定点药店购药) dated within a period of the
        policy. Worked out once a person (several rules ask)."""
        return self._outpatient_pooling

    @cached_property
    def _outpatient_pooling(self) -> list[Row]:
        pooled = {row.setl_id for row in self.pooled}
        return [
            row
            for row in self.live
            if row.setl_id in pooled
            or (
                row.med_type == PHARMACY_PURCHASE
                and self.policy.period_for(row.setl_time.date()) is not None
            )
        ]


def item_finding(
    rule: str,
    item: Item,
    settlement: Row | None,
    evidence: tuple[tuple[str, str], ...],
) -> Finding:
    """The finding of ``rule`` about a fee detail: of its settlement when the visit has one
    (its setl_id, time and batch), else of the item alone (no setl_id, the item's time)."""
    if settlement is None:
        return Finding(
            rule, "", item.psn_no, item.fixmedins_code, item.fee_ocur_time, None,
            evidence=evidence,
        )  # fmt: skip
    return finding(rule, settlement, evidence=evidence)


def finding(
    rule: str,
    row: Row,
    *,
    reported: Decimal | None = None,
    expected: Decimal | None = None,
    evidence: tuple[tuple[str, str], ...] = (),
) -> Finding:
    """The finding of ``rule`` about the settlement ``row``."""
    return Finding(
        rule,
        row.setl_id,
        row.psn_no,
        row.fixmedins_code,
        row.setl_time,
        row.batch,
        reported_hifp_pay=reported,
        expected_hifp_pay=expected,
        evidence=evidence,
    )


def money(value: Decimal) -> str:
    """An amount as evidence shows it: yuan with two decimals."""
    return f"{value:.2f}"


__all__ = ["PHARMACY_PURCHASE", "Person", "finding", "item_finding", "money"]
