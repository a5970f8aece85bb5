"""The deductible (起付标准) of one visit: borne once over all its settlements (Shanxi art. 22)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ledger.money import ZERO
from reports.audit.benefits import visit_deductibles
from reports.audit.findings import Finding
from reports.audit.rows import Row
from reports.audit.rules.person import Person, finding


def duplicate_visit_deductible(person: Person) -> Iterator[Finding]:
    """duplicate-visit-deductible: two or more settlements of one mdtrt_id at one institution
    each report a deductible, together more than the visit should bear; the finding is on the
    second."""
    should_bear = visit_deductibles(list(person.expected.values()), person.visits)
    charged: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in person.pooled:
        if row.act_pay_dedc > ZERO:
            charged[(row.mdtrt_id, row.fixmedins_code)].append(row)
    for key, charged_rows in charged.items():
        total = sum((r.act_pay_dedc for r in charged_rows), ZERO)
        if len(charged_rows) > 1 and total > should_bear.get(key, ZERO):
            yield finding(
                "duplicate-visit-deductible",
                charged_rows[1],
                evidence=(
                    ("mdtrt_id", key[0]),
                    ("deductible_charged", f"{total:.2f}"),
                    ("deductible_due", f"{should_bear.get(key, ZERO):.2f}"),
                    ("settlements", ", ".join(r.setl_id for r in charged_rows)),
                ),
            )


__all__ = ["duplicate_visit_deductible"]
