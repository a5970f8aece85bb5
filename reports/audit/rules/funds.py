"""Other funds' payments on a settlement (其他基金支付), kept in their own books: the large-amount
subsidy (职工大额医疗补助) does not pay outpatient pooling (Anshan art. 27); the civil-servant
subsidy (公务员医疗补助) is for civil servants, on what pooling left them within the policy scope
(art. 30)."""

from __future__ import annotations

from collections.abc import Iterator

from ledger.money import ZERO
from reports.audit.findings import Finding
from reports.audit.rules.person import Person, finding, money


def large_amount_subsidy_outpatient(person: Person) -> Iterator[Finding]:
    """large-amount-subsidy-outpatient: hifob_pay on an outpatient-pooling settlement (art. 27:
    普通门诊统筹费用不纳入职工大额医疗补助支付范围)."""
    for row in person.outpatient_pooling():
        if row.hifob_pay > ZERO:
            yield finding(
                "large-amount-subsidy-outpatient",
                row,
                evidence=(("med_type", row.med_type), ("hifob_pay", money(row.hifob_pay))),
            )


def civil_servant_subsidy_not_civil_servant(person: Person) -> Iterator[Finding]:
    """civil-servant-subsidy-not-civil-servant: cvlserv_pay for a psn_type the policy file does
    not list as a civil servant (``civil_servants``)."""
    civil_servants = person.policy.civil_servants
    for row in person.live:
        if row.cvlserv_pay > ZERO and row.psn_type not in civil_servants:
            yield finding(
                "civil-servant-subsidy-not-civil-servant",
                row,
                evidence=(
                    ("psn_type", row.psn_type),
                    ("civil_servants", ", ".join(sorted(civil_servants))),
                    ("cvlserv_pay", money(row.cvlserv_pay)),
                ),
            )


def civil_servant_subsidy_over_scope(person: Person) -> Iterator[Finding]:
    """civil-servant-subsidy-over-scope: on an outpatient-pooling settlement, cvlserv_pay is
    more than what pooling left to the person within the policy scope, inscp_scp_amt -
    hifp_pay (art. 30: the deductible, the co-paid part and what is over the cap)."""
    for row in person.outpatient_pooling():
        left = row.inscp_scp_amt - row.hifp_pay
        if row.cvlserv_pay > ZERO and row.cvlserv_pay > left:
            yield finding(
                "civil-servant-subsidy-over-scope",
                row,
                evidence=(
                    ("inscp_scp_amt", money(row.inscp_scp_amt)),
                    ("hifp_pay", money(row.hifp_pay)),
                    ("left_to_person", money(left)),
                    ("cvlserv_pay", money(row.cvlserv_pay)),
                    ("over_by", money(row.cvlserv_pay - left)),
                ),
            )


__all__ = [
    "civil_servant_subsidy_not_civil_servant",
    "civil_servant_subsidy_over_scope",
    "large_amount_subsidy_outpatient",
]
