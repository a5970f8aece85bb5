"""The settlement's own amounts (结算金额): the policy-scope amount the benefit is computed on
is what is left of the cost once the parts outside the policy scope are taken off (Shanxi
arts. 20, 21)."""

from __future__ import annotations

from collections.abc import Iterator

from reports.audit.findings import Finding
from reports.audit.rules.person import Person, finding, money


def amount_consistency(person: Person) -> Iterator[Finding]:
    """amount-consistency: inscp_scp_amt is not medfee_sumamt - fulamt_ownpay_amt -
    overlmt_selfpay - preselfpay_amt, so the platform computed the benefit on the wrong base."""
    for row in person.live:
        expected = (
            row.medfee_sumamt - row.fulamt_ownpay_amt - row.overlmt_selfpay - row.preselfpay_amt
        )
        if row.inscp_scp_amt != expected:
            yield finding(
                "amount-consistency",
                row,
                evidence=(
                    ("medfee_sumamt", money(row.medfee_sumamt)),
                    ("fulamt_ownpay_amt", money(row.fulamt_ownpay_amt)),
                    ("overlmt_selfpay", money(row.overlmt_selfpay)),
                    ("preselfpay_amt", money(row.preselfpay_amt)),
                    ("expected_inscp_scp_amt", money(expected)),
                    ("inscp_scp_amt", money(row.inscp_scp_amt)),
                    ("difference", money(row.inscp_scp_amt - expected)),
                ),
            )


__all__ = ["amount_consistency"]
