"""The audit (稽核): every outpatient-pooling settlement recomputed, every rule checked.

The register is read once, ordered by person and time and streamed, one person at a time:
classification of each settlement (which tier of the policy applies, or why the fund does not
cover it) -> the pure benefit engine (``reports.audit.benefits``) -> the rule families
(``reports.audit.rules``) -> findings. One finding per problem, with its evidence; personal
data never appears (person numbers only).
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator, Sequence

from sqlalchemy import Engine

from ledger.month import Month
from reports.audit.benefits import NoPolicyPeriod, Visit, recompute
from reports.audit.findings import AuditResult
from reports.audit.policy import Policy
from reports.audit.rows import (
    Binding,
    Item,
    Row,
    Span,
    designated_medical_institutions,
    read_bindings,
    read_items,
    read_rows,
    read_spans,
    refunded_settlements,
)
from reports.audit.rules import FAMILIES, Person
from reports.audit.rules.coverage import classify


def parse_period(text: str) -> tuple[datetime.date, datetime.date]:
    """``2023`` or ``2023-01`` -> first and last day; ValueError otherwise."""
    if len(text) == 4 and text.isdigit():
        year = int(text)
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    month = Month.parse(text)
    return month.first, month.last


def audit(engine: Engine, policy: Policy, own_region: str, period: str) -> AuditResult:
    """Findings for the settlements dated in ``period`` (a year or a month)."""
    result = AuditResult(period)
    start, end = parse_period(period)
    # Earlier settlements of the same accumulation key (year, or month) shape the deductible
    # and cap left, so reading starts where the key of the first day starts.
    opening = policy.period_for(start)
    read_from = start
    if opening is not None:
        read_from = max(opening.begins, start.replace(month=1, day=1))
        if opening.scope == "month":
            read_from = start
    spans = read_spans(engine)
    bindings = read_bindings(engine)
    prescribers = designated_medical_institutions(engine)
    refunded = refunded_settlements(engine)
    people = _by_person(read_rows(engine, read_from, end), read_items(engine, read_from, end))
    for psn_no, rows, items in people:
        _audit_person(
            rows,
            items,
            spans.get(psn_no, []),
            bindings.get(psn_no, []),
            policy,
            own_region,
            prescribers,
            refunded,
            start,
            result,
        )
    result.findings.sort(key=lambda f: (f.rule, f.setl_time, f.setl_id))
    return result


def _by_person(
    rows: Iterator[Row], items: Iterator[Item]
) -> Iterator[tuple[str, list[Row], list[Item]]]:
    """The two streams, both in psn_no order (the same column type, so the same collation),
    merged: each person's settlements and fee details, either possibly empty."""
    row_groups = ((k, list(g)) for k, g in itertools.groupby(rows, key=lambda r: r.psn_no))
    item_groups = ((k, list(g)) for k, g in itertools.groupby(items, key=lambda i: i.psn_no))
    row_next, item_next = next(row_groups, None), next(item_groups, None)
    while row_next is not None or item_next is not None:
        if item_next is None or (row_next is not None and row_next[0] < item_next[0]):
            assert row_next is not None
            yield row_next[0], row_next[1], []
            row_next = next(row_groups, None)
        elif row_next is None or item_next[0] < row_next[0]:
            yield item_next[0], [], item_next[1]
            item_next = next(item_groups, None)
        else:
            yield row_next[0], row_next[1], item_next[1]
            row_next, item_next = next(row_groups, None), next(item_groups, None)


def _audit_person(
    rows: list[Row],
    items: list[Item],
    spans: Sequence[Span],
    bindings: Sequence[Binding],
    policy: Policy,
    own_region: str,
    prescribers: frozenset[str],
    refunded: frozenset[str | None],
    start: datetime.date,
    result: AuditResult,
) -> None:
    # a refund cancels the settlement it reverses: the pair is left out of every check
    live = [r for r in rows if not r.refd_setl_flag and r.setl_id not in refunded]
    result.settlements += sum(1 for r in rows if r.setl_time.date() >= start)
    pooled, visits, uncovered = _pooled(live, spans, policy, own_region, start, result)
    try:
        expected = {e.setl_id: e for e in recompute(visits, policy)}
    except NoPolicyPeriod as exc:
        result.errors.append(str(exc))
        return
    except ValueError as exc:  # the engine refuses data it cannot judge: say whose
        result.errors.append(f"psn_no {rows[0].psn_no}: {exc}")
        return
    result.recomputed += sum(1 for r in pooled if r.setl_time.date() >= start)
    person = Person(
        live, pooled, visits, expected, uncovered, policy, prescribers, bindings, items, rows
    )
    for family in FAMILIES:
        # earlier rows are read for the running totals only: their findings are not reported
        result.findings.extend(f for f in family(person) if f.setl_time.date() >= start)


def _pooled(
    live: Sequence[Row],
    spans: Sequence[Span],
    policy: Policy,
    own_region: str,
    start: datetime.date,
    result: AuditResult,
) -> tuple[list[Row], list[Visit], dict[str, str]]:
    """The settlements the engine recomputes, as its visits, and the rule of each one the fund
    does not cover; the others (pharmacies, other med_types) counted in the period."""
    pooled: list[Row] = []
    visits: list[Visit] = []
    uncovered: dict[str, str] = {}
    for row in live:
        if row.fixmedins_type == "2" or row.med_type not in policy.med_types:
            if row.setl_time.date() >= start:
                why = "pharmacy" if row.fixmedins_type == "2" else f"med_type {row.med_type}"
                result.not_recomputed[why] += 1
            continue
        tier, reason = classify(row, spans, own_region)
        if reason is not None:
            uncovered[row.setl_id] = reason
        pooled.append(row)
        visits.append(
            Visit(
                row.setl_id,
                row.setl_time,
                row.mdtrt_id,
                row.fixmedins_code,
                row.inscp_scp_amt,
                tier,
                row.psn_type.startswith("12"),
            )
        )
    return pooled, visits, uncovered


__all__ = ["audit", "parse_period"]
