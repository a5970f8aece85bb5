"""The audit (稽核) of a part of the people: every outpatient-pooling settlement recomputed,
every rule checked.

The register is read once, ordered by person and time and streamed, one person at a time:
classification of each settlement (which tier of the policy applies, or why the fund does not
cover it) -> the pure benefit engine (``reports.audit.benefits``) -> the rule families
(``reports.audit.rules``) -> findings. One finding per problem, with its evidence; personal
data never appears (person numbers only).
"""

from __future__ import annotations

import bisect
import datetime
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from ledger.month import Month
from reports.audit.benefits import CAP_ONLY, Expected, Visit, due_when_paid, recompute
from reports.audit.findings import AuditResult
from reports.audit.policy import Policy
from reports.audit.rows import (
    Binding,
    Item,
    Row,
    Shard,
    Span,
    designated_medical_institutions,
    read_bindings,
    read_items,
    read_rows,
    read_spans,
    refunded_settlements,
    settled_visits,
)
from reports.audit.rules import FAMILIES, Person
from reports.audit.rules.coverage import classify
from reports.audit.rules.monitoring import WEEK
from reports.audit.rules.person import PHARMACY_PURCHASE


def parse_period(text: str) -> tuple[datetime.date, datetime.date]:
    """``2023`` or ``2023-01`` -> first and last day; ValueError otherwise."""
    if len(text) == 4 and text.isdigit():
        year = int(text)
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    month = Month.parse(text)
    return month.first, month.last


@dataclass(frozen=True)
class Context:
    """What every part of the audit reads the same: the policy and the days, the prescribers
    and the refunded settlements (a part reads its own people's records and bindings)."""

    policy: Policy
    own_region: str
    period: str
    start: datetime.date
    end: datetime.date
    #: Where reading starts: the accumulation key of the first day begins there.
    read_from: datetime.date
    #: The days before ``read_from`` that a 7-day window of the monitoring rules reaches back
    #: to: their settlements are read for that window alone.
    look_back_from: datetime.date
    prescribers: frozenset[str]
    refunded: frozenset[str | None]


def read_context(engine: Engine, policy: Policy, own_region: str, period: str) -> Context:
    start, end = parse_period(period)
    # Earlier settlements of the same accumulation key (year, or month) shape the deductible
    # and cap left, so reading starts where the key of the first day starts.
    opening = policy.period_for(start)
    read_from = start
    if opening is not None:
        read_from = max(opening.begins, start.replace(month=1, day=1))
        if opening.scope == "month":
            read_from = start
    return Context(
        policy,
        own_region,
        period,
        start,
        end,
        read_from,
        read_from - datetime.timedelta(days=WEEK - 1),
        designated_medical_institutions(engine),
        refunded_settlements(engine),
    )


def audit_part(engine: Engine, context: Context, shard: Shard | None) -> AuditResult:
    """The audit of the people of ``shard`` (every person when None), findings unsorted."""
    result = AuditResult(context.period)
    start, end = context.read_from, context.end
    spans, bindings = read_spans(engine, shard), read_bindings(engine, shard)
    people = _by_person(
        read_rows(engine, context.look_back_from, end, shard),
        read_items(engine, start, end, shard),
    )
    for psn_no, read, items in people:
        before, rows = _split_at(read, start)
        if not rows and not items:
            continue  # only settlements of the days looked back to: nothing to audit
        settled = _settled_elsewhere(engine, rows, items)
        found = (spans.get(psn_no, []), bindings.get(psn_no, []), settled)
        _audit_person(rows, items, found, psn_no, context, result, before)
    return result


def _split_at(rows: list[Row], day: datetime.date) -> tuple[list[Row], list[Row]]:
    """A person's rows (in time order) dated before ``day``, and the others."""
    at = bisect.bisect_left(rows, datetime.datetime.combine(day, datetime.time()), key=_time)
    return rows[:at], rows[at:]


def _time(row: Row) -> datetime.datetime:
    return row.setl_time


def _settled_elsewhere(
    engine: Engine, rows: Sequence[Row], items: Sequence[Item]
) -> frozenset[tuple[str, str]]:
    """The visits of the person's items with no settlement among the rows read but one in the
    register (another period's, or another person's): rare, so looked up only then."""
    read = {(row.mdtrt_id, row.fixmedins_code) for row in rows}
    unmatched = sorted({item.visit for item in items} - read)
    return settled_visits(engine, unmatched) if unmatched else frozenset()


def _by_person(
    rows: Iterator[Row], items: Iterator[tuple[str, list[Item]]]
) -> Iterator[tuple[str, list[Row], list[Item]]]:
    """The settlements and each person's fee details, both in psn_no order (the same column
    type, so the same collation), merged: each person's, either possibly empty."""
    row_groups = ((k, list(g)) for k, g in itertools.groupby(rows, key=lambda r: r.psn_no))
    row_next, item_next = next(row_groups, None), next(items, None)
    while row_next is not None or item_next is not None:
        if item_next is None or (row_next is not None and row_next[0] < item_next[0]):
            assert row_next is not None
            yield row_next[0], row_next[1], []
            row_next = next(row_groups, None)
        elif row_next is None or item_next[0] < row_next[0]:
            yield item_next[0], [], item_next[1]
            item_next = next(items, None)
        else:
            yield row_next[0], row_next[1], item_next[1]
            row_next, item_next = next(row_groups, None), next(items, None)


def _audit_person(
    rows: list[Row],
    items: list[Item],
    found: tuple[list[Span], list[Binding], frozenset[tuple[str, str]]],
    psn_no: str,
    context: Context,
    result: AuditResult,
    before: Sequence[Row] = (),
) -> None:
    """One person's audit; ``found``: the person's records, family bindings, and the visits
    of their items settled elsewhere in the register; ``before``: the person's settlements
    of the days looked back to (``Context.look_back_from``)."""
    policy, own_region, start = context.policy, context.own_region, context.start
    spans, bindings, settled_elsewhere = found
    refunded = context.refunded
    # a refund cancels the settlement it reverses: the pair is left out of every check
    live = [r for r in rows if not r.refd_setl_flag and r.setl_id not in refunded]
    earlier = [r for r in before if not r.refd_setl_flag and r.setl_id not in refunded]
    result.settlements += sum(1 for r in rows if r.setl_time.date() >= start)
    pooled, visits, uncovered, outside = _pooled(live, spans, policy, own_region, start, result)
    try:
        expected = {e.setl_id: e for e in recompute(visits, policy)}
        as_of = _as_of(rows, refunded, visits, expected, (spans, policy, own_region, start))
    except ValueError as exc:  # the engine refuses data it cannot judge: say whose
        result.errors.append(f"psn_no {psn_no}: {exc}")
        return
    result.recomputed += sum(1 for r in pooled if r.setl_time.date() >= start)
    person = Person(
        live,
        pooled,
        visits,
        expected,
        uncovered,
        policy,
        context.prescribers,
        outside_policy=outside,
        as_of=as_of,
        bindings=bindings,
        items=items,
        rows=rows,
        settled_elsewhere=settled_elsewhere,
        looked_back=earlier,
    )
    for family in FAMILIES:
        # earlier rows are read for the running totals only: their findings are not reported
        result.findings.extend(f for f in family(person) if f.setl_time.date() >= start)


def _as_of(
    rows: Sequence[Row],
    refunded: frozenset[str | None],
    visits: list[Visit],
    expected: dict[str, Expected],
    context: tuple[Sequence[Span], Policy, str, datetime.date],
) -> dict[str, tuple[Expected, tuple[str, ...]]]:
    """``benefits.due_when_paid`` for a person with refunded settlements: what each later
    settlement was due while they still stood (refund-out-of-order)."""
    originals = [r for r in rows if not r.refd_setl_flag and r.setl_id in refunded]
    if not originals:
        return {}
    spans, policy, own_region, start = context
    _rows, standing, _uncovered, _outside = _pooled(
        originals, spans, policy, own_region, start, AuditResult("")
    )
    refund_times = {r.init_setl_id: r.setl_time for r in rows if r.refd_setl_flag}
    pairs = [(visit, refund_times.get(visit.setl_id)) for visit in standing]
    return due_when_paid(visits, pairs, policy, expected)


def _pooled(
    live: Sequence[Row],
    spans: Sequence[Span],
    policy: Policy,
    own_region: str,
    start: datetime.date,
    result: AuditResult,
) -> tuple[list[Row], list[Visit], dict[str, str], list[Row]]:
    """The settlements the engine recomputes, as its visits, the rule of each one the fund
    does not cover, and those it would recompute but no period of the policy applies to
    (no-policy-period); the others (pharmacies, other med_types) counted in the period."""
    pooled: list[Row] = []
    visits: list[Visit] = []
    uncovered: dict[str, str] = {}
    outside: list[Row] = []
    for row in live:
        why = _not_recomputed(row, policy)
        if why == "no policy period":
            outside.append(row)
        if why is not None:
            if row.setl_time.date() >= start:
                result.not_recomputed[why] += 1
            continue
        tier, reason = classify(row, spans, own_region)
        if reason is not None:
            uncovered[row.setl_id] = reason
        pharmacy = row.fixmedins_type == "2"
        if pharmacy and reason is None and policy.pharmacy is not None:
            tier = CAP_ONLY if policy.pharmacy.reading == "cap-only" else policy.pharmacy.tier
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
                pharmacy=pharmacy,
                reported=row.hifp_pay,
            )
        )
    return pooled, visits, uncovered, outside


def _not_recomputed(row: Row, policy: Policy) -> str | None:
    """Why the engine leaves a settlement out, or None: a pharmacy's other than a purchase (41)
    or without a [pharmacy] reading, a med_type the policy does not recompute, a day no
    period of the policy applies to (a pharmacy purchase then is not outpatient pooling at
    all; a medical institution's is a no-policy-period finding)."""
    dated = policy.period_for(row.setl_time.date()) is not None
    if row.fixmedins_type == "2":
        if row.med_type != PHARMACY_PURCHASE or policy.pharmacy is None or not dated:
            return "pharmacy"
    elif row.med_type not in policy.med_types:
        return f"med_type {row.med_type}"
    return None if dated else "no policy period"


__all__ = ["Context", "audit_part", "parse_period", "read_context"]
