"""Personal-account crediting (个人账户计入): how a month's contributions split between the two
sub-funds. The rule is policy data (the region's policy file, ``[[crediting]]``, read by
``reports.audit.policy``); ``postings.contributions`` applies it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

#: 灵活就业 in work (1103) and retired (1203) in the national psn_type list: no personal account;
#: a policy file's ``no_personal_account`` says it for its region (and may add a local code).
FLEXIBLE_WORKERS = frozenset({"1103", "1203"})


@dataclass(frozen=True)
class CreditingRule:
    """From ``begins``: an in-work person's personal account is credited ``in_work_share`` of
    their own contribution base, the rest goes to the pooled fund; each retiree's personal
    account is credited ``retiree_monthly`` a month from the pooled fund; persons without a
    personal account (the psn_types of ``no_personal_account``: flexible workers 1103 and 1203,
    and the region's code for 单建统筹 persons where it has one) pay everything into the pooled
    fund and are credited nothing."""

    begins: datetime.date
    in_work_share: Decimal
    retiree_monthly: Decimal
    article: str
    no_personal_account: frozenset[str] = FLEXIBLE_WORKERS

    def has_personal_account(self, psn_type: str) -> bool:
        return psn_type not in self.no_personal_account


def rule_for(rules: Sequence[CreditingRule], day: datetime.date) -> CreditingRule | None:
    """The rule in force on ``day``: the latest that begins by then."""
    in_force = [rule for rule in rules if rule.begins <= day]
    return max(in_force, key=lambda rule: rule.begins) if in_force else None


__all__ = ["FLEXIBLE_WORKERS", "CreditingRule", "rule_for"]
