"""One person's settlements as the rule families see them, and a finding about one of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from reports.audit.benefits import Expected, Visit
from reports.audit.findings import Finding
from reports.audit.policy import Policy
from reports.audit.rows import Binding, Row


@dataclass(frozen=True)
class Person:
    """A person's settlements (结算) once the benefit engine has recomputed them.

    ``live``: every settlement, in time order, but the refunded pairs (a refund cancels the
    settlement it reverses, so both are left out of every check). ``pooled``: the live ones the
    engine recomputed (medical institutions, the policy's med_types), with their ``visits`` and
    ``expected`` payments; ``uncovered``: setl_id -> the rule that says the fund does not
    cover it; ``bindings``: the family bindings (家庭共济) with the person as their user. Rows
    dated before the audited period are here for the running totals; the audit
    keeps only the findings of the period.
    """

    live: list[Row]
    pooled: list[Row]
    visits: list[Visit]
    expected: dict[str, Expected]
    uncovered: dict[str, str]
    policy: Policy
    #: The designated medical institutions: who may write a prescription.
    prescribers: frozenset[str]
    bindings: Sequence[Binding] = ()


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


__all__ = ["Person", "finding"]
