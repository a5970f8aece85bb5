"""Mutual aid (家庭共济, Anshan art. 13): a family member's personal account paying a person's
share of a settlement (``acct_mulaid_pay``).

Art. 13 lets a personal account pay for the holder's spouse, parents and children; art. 12 and
26 give flexible workers (and 单建统筹 persons) no personal account, so they hold none to pay
from. Who has none is the region's policy data (``no_personal_account`` of its
``[[crediting]]``), never a list here. For each settlement with ``acct_mulaid_pay`` above 0:

- ``mutual-aid-without-family-binding``: the person (the user) has no binding in force on the
  settlement's day to a holder as spouse, parent or child (none at all, only ended or later
  ones, or only ``other``);
- ``mutual-aid-no-personal-account``: the user is of a psn_type without a personal account, or
  every such binding in force has a holder of one (the holder's psn_type as the register shows
  it: :meth:`reports.audit.rows.Binding.holder_psn_type`). A holder the register knows nothing
  of (no settlement, no contribution row) is not judged: the binding stands.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence

from ledger.money import ZERO
from reports.audit.findings import Finding
from reports.audit.policy import Policy
from reports.audit.rows import Binding, Row
from reports.audit.rules.accounts import without_personal_account
from reports.audit.rules.person import Person, finding

#: The relations art. 13 names: 配偶、父母、子女.
FAMILY = frozenset({"spouse", "parent", "child"})


def _shown(bindings: Sequence[Binding], day: datetime.date) -> str:
    """Every binding of the user, as the evidence lists them."""
    if not bindings:
        return "none"
    return " | ".join(
        f"{b.holder_psn_no} {b.relation} {b.since}..{b.until or ''}"
        f" holder psn_type {b.holder_psn_type(day) or 'unknown'}"
        f"{'' if b.covers(day) else ' (not in force)'}"
        for b in bindings
    )


def mutual_aid(person: Person) -> Iterator[Finding]:
    """mutual-aid-without-family-binding, mutual-aid-no-personal-account (module docstring)."""
    for row in person.live:
        if row.acct_mulaid_pay > ZERO:
            yield from _judge(row, person.bindings, person.policy)


def _judge(row: Row, bindings: Sequence[Binding], policy: Policy) -> Iterator[Finding]:
    day = row.setl_time.date()
    without = without_personal_account(policy, day)
    family = [b for b in bindings if b.covers(day) and b.relation in FAMILY]
    evidence = (
        ("acct_mulaid_pay", f"{row.acct_mulaid_pay:.2f}"),
        ("psn_type", row.psn_type),
        ("bindings", _shown(bindings, day)),
    )
    lacking = ["user"] if row.psn_type in without else []
    if not family:
        yield finding("mutual-aid-without-family-binding", row, evidence=evidence)
    elif all(b.holder_psn_type(day) in without for b in family):
        holders = ", ".join(f"{b.holder_psn_no} {b.holder_psn_type(day)}" for b in family)
        lacking.append(f"holder {holders}")
    if lacking:
        yield finding(
            "mutual-aid-no-personal-account",
            row,
            evidence=(*evidence, ("without", " and ".join(lacking))),
        )


__all__ = ["FAMILY", "mutual_aid"]
