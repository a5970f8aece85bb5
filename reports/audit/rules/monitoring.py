"""Monitoring patterns (智能监控, Anshan art. 25): a person's settlements taken together, over a
day, a week or a month, against the thresholds of the policy file's ``[monitoring]`` table. A
finding is a pattern to look into, not a payment proved wrong: it carries no expected payment,
and its evidence lists every settlement that makes the pattern."""

from __future__ import annotations

import datetime
import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from decimal import Decimal

from ledger.money import ZERO
from reports.audit.findings import Finding
from reports.audit.rows import Row
from reports.audit.rules.person import Person, finding, money

MEDICAL_INSTITUTION = "1"  # fixmedins_type 定点医疗机构
RETAIL_PHARMACY = "2"  # fixmedins_type 定点零售药店
WEEK = 7  # days: a window is 7 consecutive calendar days


def personal_part(row: Row) -> Decimal:
    """What the personal accounts paid: the person's own and a family member's (共济)."""
    return row.acct_pay + row.acct_mulaid_pay


def settlements_evidence(rows: Iterable[Row]) -> tuple[tuple[str, str], ...]:
    """``settlement_1``, ``settlement_2``... in time order: setl_id, time, institution and the
    amounts of each settlement that makes a pattern."""
    return tuple(
        (
            f"settlement_{n}",
            f"{row.setl_id} | {row.setl_time:%Y-%m-%d %H:%M:%S} | {row.fixmedins_code} | "
            f"medfee_sumamt {money(row.medfee_sumamt)} | hifp_pay {money(row.hifp_pay)} | "
            f"acct_pay {money(row.acct_pay)} | acct_mulaid_pay {money(row.acct_mulaid_pay)}",
        )
        for n, row in enumerate(rows, start=1)
    )


def pharmacies_in_a_day(person: Person) -> Iterator[Finding]:
    """pharmacies-in-a-day: purchases at ``min_pharmacies_in_a_day`` or more different
    pharmacies (fixmedins_type 2) on one calendar day. One finding a day, at the purchase at
    the first pharmacy that reaches the number; the evidence is every pharmacy purchase of the
    day."""
    least = person.policy.monitoring.min_pharmacies_in_a_day
    days: dict[datetime.date, list[Row]] = {}
    for row in person.live:
        if row.fixmedins_type == RETAIL_PHARMACY:
            days.setdefault(row.setl_time.date(), []).append(row)
    for day, rows in days.items():
        pharmacies: list[str] = []
        anchor = None
        for row in rows:
            if row.fixmedins_code not in pharmacies:
                pharmacies.append(row.fixmedins_code)
                if len(pharmacies) == least:
                    anchor = row
        if anchor is not None:
            yield finding(
                "pharmacies-in-a-day",
                anchor,
                evidence=(
                    ("day", str(day)),
                    ("pharmacies", str(len(pharmacies))),
                    ("min_pharmacies_in_a_day", str(least)),
                    ("institutions", ", ".join(pharmacies)),
                    *settlements_evidence(rows),
                ),
            )


def visits_in_a_week(person: Person) -> Iterator[Finding]:
    """visits-in-a-week: more than ``max_visits_in_7_days`` visits in 7 consecutive calendar
    days. A visit is a distinct mdtrt_id at a medical institution (fixmedins_type 1) with a
    settlement not refunded, dated by its first such settlement. The window slides: the 7 days
    ending on each visit's day; the first window over the number is a finding, at the visit
    that passes it, and the count starts again after it (a visit is reported once). The
    window reaches back into the 6 days before the rows read (``Person.looked_back``): a week
    across New Year is judged at its last visit, in that visit's year."""
    most = person.policy.monitoring.max_visits_in_7_days
    visits: dict[tuple[str, str], list[Row]] = {}  # in order of their first settlement
    for row in itertools.chain(person.looked_back, person.live):
        if row.fixmedins_type == MEDICAL_INSTITUTION:
            visits.setdefault((row.fixmedins_code, row.mdtrt_id), []).append(row)
    window: deque[list[Row]] = deque()
    for rows in visits.values():
        day = rows[0].setl_time.date()
        while window and (day - window[0][0].setl_time.date()).days >= WEEK:
            window.popleft()
        window.append(rows)
        if len(window) > most:
            since = day - datetime.timedelta(days=WEEK - 1)
            yield finding(
                "visits-in-a-week",
                rows[0],
                evidence=(
                    ("days", f"{since}..{day}"),
                    ("visits", str(len(window))),
                    ("max_visits_in_7_days", str(most)),
                    ("mdtrt_ids", ", ".join(visit[0].mdtrt_id for visit in window)),
                    *settlements_evidence(row for visit in window for row in visit),
                ),
            )
            window.clear()


def account_drained_at_pharmacies(person: Person) -> Iterator[Finding]:
    """account-drained-at-pharmacies (个人账户套现): in one calendar month, at least
    ``drain_min_purchases`` account-only pharmacy purchases whose personal-account part (the
    person's own account and a family member's, acct_pay + acct_mulaid_pay: a family account
    drained is drained too) comes to at least ``drain_min_acct_pay``. Account-only: at a
    pharmacy (fixmedins_type 2), no pooled payment (hifp_pay 0), and that part more than 0
    and at least ``drain_acct_share`` of medfee_sumamt.
    One finding a month, at the purchase that completes the pattern; the evidence is every
    account-only purchase of the month."""
    rule = person.policy.monitoring
    months: dict[str, list[Row]] = {}
    for row in person.live:
        if (
            row.fixmedins_type == RETAIL_PHARMACY
            and row.hifp_pay == ZERO
            and personal_part(row) > ZERO
            and personal_part(row) >= rule.drain_acct_share * row.medfee_sumamt
        ):
            months.setdefault(f"{row.setl_time:%Y-%m}", []).append(row)
    for month, rows in months.items():
        total = ZERO
        anchor = None
        for count, row in enumerate(rows, start=1):
            total += personal_part(row)
            if (
                anchor is None
                and count >= rule.drain_min_purchases
                and total >= rule.drain_min_acct_pay
            ):
                anchor = row
        if anchor is not None:
            yield finding(
                "account-drained-at-pharmacies",
                anchor,
                evidence=(
                    ("month", month),
                    ("purchases", str(len(rows))),
                    ("personal_accounts", money(total)),
                    ("drain_min_purchases", str(rule.drain_min_purchases)),
                    ("drain_min_acct_pay", money(rule.drain_min_acct_pay)),
                    ("drain_acct_share", str(rule.drain_acct_share)),
                    *settlements_evidence(rows),
                ),
            )


__all__ = [
    "MEDICAL_INSTITUTION",
    "RETAIL_PHARMACY",
    "WEEK",
    "account_drained_at_pharmacies",
    "pharmacies_in_a_day",
    "settlements_evidence",
    "visits_in_a_week",
]
