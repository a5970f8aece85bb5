"""The personal account (个人账户): who has none is the region's policy data
(``no_personal_account`` of its ``[[crediting]]``: flexible workers, Anshan art. 12)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from ledger.crediting import FLEXIBLE_WORKERS, rule_for
from ledger.money import ZERO
from reports.audit.findings import Finding
from reports.audit.policy import Policy
from reports.audit.rules.person import Person, finding


def without_personal_account(policy: Policy, day: datetime.date) -> frozenset[str]:
    """The psn_types with no personal account on ``day``: the crediting rule in force then;
    before the first, the first one's (art. 26: those persons had none when the rules took
    effect either); a policy without crediting rules: the national flexible workers."""
    rule = rule_for(policy.crediting, day)
    if rule is None and policy.crediting:
        rule = policy.crediting[0]
    return FLEXIBLE_WORKERS if rule is None else rule.no_personal_account


def flexible_worker_personal_account(person: Person) -> Iterator[Finding]:
    """flexible-worker-personal-account: a settlement paid from the personal account
    (acct_pay not 0) by a person of a psn_type without one."""
    for row in person.live:
        if row.acct_pay != ZERO and row.psn_type in without_personal_account(
            person.policy, row.setl_time.date()
        ):
            yield finding(
                "flexible-worker-personal-account",
                row,
                evidence=(("psn_type", row.psn_type), ("acct_pay", f"{row.acct_pay:.2f}")),
            )


__all__ = ["flexible_worker_personal_account", "without_personal_account"]
