"""The personal account (个人账户): flexible workers have none (Anshan art. 12)."""

from __future__ import annotations

from collections.abc import Iterator

from ledger.money import ZERO
from reports.audit.findings import Finding
from reports.audit.rules.person import Person, finding

FLEXIBLE_WORKERS = frozenset({"1103", "1203"})  # 灵活就业: no personal account (Anshan art. 12)


def flexible_worker_personal_account(person: Person) -> Iterator[Finding]:
    """flexible-worker-personal-account: a flexible worker's settlement with acct_pay not 0."""
    for row in person.live:
        if row.psn_type in FLEXIBLE_WORKERS and row.acct_pay != ZERO:
            yield finding(
                "flexible-worker-personal-account",
                row,
                evidence=(("psn_type", row.psn_type), ("acct_pay", f"{row.acct_pay:.2f}")),
            )


__all__ = ["FLEXIBLE_WORKERS", "flexible_worker_personal_account"]
