"""The audit's rule families: each a pure function of one person's settlements
(:class:`Person`) to its findings, run in turn over every person, the way Beancount runs its
plugins. A new rule is a function here and its line in ``RULES`` (``reports.audit.findings``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reports.audit.findings import Finding
from reports.audit.rules.accounts import flexible_worker_personal_account
from reports.audit.rules.amounts import amount_consistency
from reports.audit.rules.coverage import no_policy_period, not_covered
from reports.audit.rules.deductible import duplicate_visit_deductible
from reports.audit.rules.fee_details import (
    exam_elsewhere,
    fee_details_mismatch,
    item_same_drug_two_institutions,
    supply_days,
)
from reports.audit.rules.funds import (
    civil_servant_subsidy_not_civil_servant,
    civil_servant_subsidy_over_scope,
    large_amount_subsidy_outpatient,
)
from reports.audit.rules.monitoring import (
    account_drained_at_pharmacies,
    pharmacies_in_a_day,
    visits_in_a_week,
)
from reports.audit.rules.mutual_aid import mutual_aid
from reports.audit.rules.payments import benefit_mismatch, cap_exceeded, refund_out_of_order
from reports.audit.rules.person import Person
from reports.audit.rules.prescriptions import (
    prescription_after_purchase,
    prescription_expired,
    prescription_missing,
    prescription_not_designated,
    same_drug_two_institutions,
)

Family = Callable[[Person], Iterable[Finding]]

#: Every rule family, in the order the audit runs them.
FAMILIES: tuple[Family, ...] = (
    no_policy_period,
    not_covered,
    benefit_mismatch,
    refund_out_of_order,
    cap_exceeded,
    duplicate_visit_deductible,
    flexible_worker_personal_account,
    mutual_aid,
    prescription_expired,
    prescription_not_designated,
    same_drug_two_institutions,
    prescription_missing,
    prescription_after_purchase,
    amount_consistency,
    large_amount_subsidy_outpatient,
    civil_servant_subsidy_not_civil_servant,
    civil_servant_subsidy_over_scope,
    fee_details_mismatch,
    item_same_drug_two_institutions,
    supply_days,
    exam_elsewhere,
    pharmacies_in_a_day,
    visits_in_a_week,
    account_drained_at_pharmacies,
)

__all__ = ["FAMILIES", "Family", "Person"]
