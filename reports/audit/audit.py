"""The audit (稽核): every outpatient-pooling settlement recomputed, every rule checked.

The register is read once, ordered by person and time and streamed, one person at a time:
classification of each settlement (which tier of the policy applies, or why the fund does not
cover it) -> the pure benefit engine (``reports.audit.benefits``) -> findings. One finding per
problem, with its evidence; personal data never appears (person numbers only).
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from ledger.money import ZERO
from ledger.month import Month
from ledger.register.batching import batch_member
from ledger.register.models import ClearingBatch, Institution, PersonRecord, Settlement
from reports.audit.benefits import (
    Expected,
    NoPolicyPeriod,
    Visit,
    recompute,
    visit_deductibles,
)
from reports.audit.policy import Policy

FLEXIBLE_WORKERS = frozenset({"1103", "1203"})  # 灵活就业: no personal account (Anshan art. 12)
PRESCRIPTION_DAYS = 3  # Shanxi art. 11: an e-prescription is valid for 3 days

#: rule -> (article, Chinese explanation, English explanation)
RULES: dict[str, tuple[str, str, str]] = {
    "benefit-mismatch": (
        "鞍医保发〔2022〕14号 第九条、第十条、第三十二条",
        "统筹基金支付额与按政策重算结果不符",
        "pooled-fund payment differs from the payment recomputed by the rules",
    ),
    "annual-cap-exceeded": (
        "鞍医保发〔2022〕14号 第九条",
        "年度统筹基金支付累计超过最高支付限额",
        "the person's pooled payments in the year pass the annual cap",
    ),
    "monthly-cap-exceeded": (
        "鞍医保发〔2022〕14号 第三十二条",
        "月度统筹基金支付累计超过最高支付限额",
        "the person's pooled payments in the month pass the monthly cap",
    ),
    "non-designated-institution": (
        "晋医保办发〔2022〕27号 第二十六条（一）",
        "在非门诊统筹定点医药机构发生统筹基金支付",
        "pooled payment at an institution that is not on the designated list",
    ),
    "outside-city-not-covered": (
        "鞍医保发〔2022〕14号 第十条",
        "未经转诊转院备案且不符合急危重病种标准的市域外门诊费用由统筹基金支付",
        "pooled payment outside the city without referral, residence record or emergency",
    ),
    "arrears-period": (
        "晋医保办发〔2022〕27号 第二十六条（五）",
        "欠费期间发生的门诊费用由统筹基金支付",
        "pooled payment during an arrears period",
    ),
    "flexible-worker-personal-account": (
        "鞍医保发〔2022〕14号 第十二条",
        "灵活就业人员不建立个人账户，却有个人账户支出",
        "a flexible worker has no personal account, yet acct_pay is not 0",
    ),
    "duplicate-visit-deductible": (
        "晋医保办发〔2022〕27号 第二十二条",
        "同一就诊流水号在同一医疗机构重复计算起付标准",
        "the deductible was charged more than once within one visit at one institution",
    ),
    "prescription-expired": (
        "晋医保办发〔2022〕27号 第十一条",
        "药店购药所凭电子处方已超过3天有效期",
        "the pharmacy purchase used a prescription older than 3 days",
    ),
    "prescription-not-designated": (
        "晋医保办发〔2022〕27号 第二十六条（二）",
        "处方非由门诊统筹定点医疗机构开具",
        "the prescription was not written by a designated medical institution",
    ),
    "same-drug-two-institutions": (
        "晋医保办发〔2022〕27号 第十四条",
        "同一处方的同一药品在不同医药机构购买",
        "the same drug of one prescription was bought at two institutions",
    ),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    setl_id: str
    psn_no: str
    institution: str
    setl_time: datetime.datetime
    batch: str | None
    reported_hifp_pay: Decimal | None = None
    expected_hifp_pay: Decimal | None = None
    evidence: tuple[tuple[str, str], ...] = ()

    @property
    def article(self) -> str:
        return RULES[self.rule][0]

    @property
    def explanation_zh(self) -> str:
        return RULES[self.rule][1]

    @property
    def explanation_en(self) -> str:
        return RULES[self.rule][2]

    @property
    def difference(self) -> Decimal | None:
        if self.reported_hifp_pay is None or self.expected_hifp_pay is None:
            return None
        return self.reported_hifp_pay - self.expected_hifp_pay

    def as_dict(self) -> dict[str, Any]:
        """The JSON/CSV shape: money as strings, so no reader turns it into a float."""

        def money(value: Decimal | None) -> str | None:
            return None if value is None else f"{value:.2f}"

        return {
            "rule": self.rule,
            "setl_id": self.setl_id,
            "psn_no": self.psn_no,
            "institution": self.institution,
            "setl_time": self.setl_time.strftime("%Y-%m-%d %H:%M:%S"),
            "batch": self.batch,
            "reported_hifp_pay": money(self.reported_hifp_pay),
            "expected_hifp_pay": money(self.expected_hifp_pay),
            "difference": money(self.difference),
            "article": self.article,
            "explanation_zh": self.explanation_zh,
            "explanation_en": self.explanation_en,
            "evidence": dict(self.evidence),
        }


@dataclass
class AuditResult:
    period: str
    findings: list[Finding] = field(default_factory=list)
    settlements: int = 0  # in the audited period
    recomputed: int = 0
    not_recomputed: Counter[str] = field(default_factory=Counter)  # why, e.g. pharmacy
    errors: list[str] = field(default_factory=list)

    def by_rule(self) -> Counter[str]:
        return Counter(f.rule for f in self.findings)


@dataclass(frozen=True)
class Row:
    """One settlement with what the audit needs of its institution and batch."""

    setl_id: str
    mdtrt_id: str
    psn_no: str
    psn_type: str
    med_type: str
    setl_time: datetime.datetime
    fixmedins_code: str
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    acct_pay: Decimal
    refd_setl_flag: bool
    init_setl_id: str | None
    emergency_flag: bool | None
    rx_no: str | None
    rx_institution: str | None
    rx_date: datetime.date | None
    drug_code: str | None
    fixmedins_type: str
    medins_lv: str | None
    spec_hosp: bool
    admdvs: str | None
    listed: bool
    batch: str | None


@dataclass(frozen=True)
class Span:
    """A person record's dates, inclusive, open end when ``until`` is None."""

    record: str
    since: datetime.date
    until: datetime.date | None

    def covers(self, day: datetime.date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


def parse_period(text: str) -> tuple[datetime.date, datetime.date]:
    """``2023`` or ``2023-01`` -> first and last day; ValueError otherwise."""
    if len(text) == 4 and text.isdigit():
        year = int(text)
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    month = Month.parse(text)
    return month.first, month.last


def classify(row: Row, spans: Sequence[Span], own_region: str) -> tuple[str | None, str | None]:
    """The policy tier of a covered settlement, or None and the rule that says it is not."""
    day = row.setl_time.date()
    if not row.listed:
        return None, "non-designated-institution"
    if any(s.record == "arrears" and s.covers(day) for s in spans):
        return None, "arrears-period"
    level_tier = "level-1" if row.spec_hosp else f"level-{row.medins_lv or 1}"
    if row.admdvs in (None, "", own_region):
        return level_tier, None
    if any(s.record == "long-term-residence" and s.covers(day) for s in spans):
        return level_tier, None  # 异地长期居住备案: as in the city, by level (art. 10)
    if any(s.record == "referral" and s.covers(day) for s in spans) or row.emergency_flag:
        return "outside", None
    return None, "outside-city-not-covered"


SETTLEMENT_COLUMNS = (
    "setl_id", "mdtrt_id", "psn_no", "psn_type", "med_type", "setl_time", "fixmedins_code",
    "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "acct_pay", "refd_setl_flag", "init_setl_id",
    "emergency_flag", "rx_no", "rx_institution", "rx_date", "drug_code",
)  # fmt: skip


def _rows(engine: Engine, since: datetime.date, until: datetime.date) -> Iterator[Row]:
    query = (
        select(
            *(getattr(Settlement, name) for name in SETTLEMENT_COLUMNS),
            Institution.fixmedins_type,
            Institution.medins_lv,
            Institution.spec_hosp,
            Institution.admdvs,
            Institution.listed,
            ClearingBatch.link.label("batch"),
        )
        .join(Institution, Institution.code == Settlement.fixmedins_code)
        .outerjoin(ClearingBatch, batch_member(Settlement, ClearingBatch))
        .where(
            Settlement.setl_time >= datetime.datetime.combine(since, datetime.time()),
            Settlement.setl_time
            < datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time()),
        )
        .order_by(Settlement.psn_no, Settlement.setl_time, Settlement.setl_id)
        .execution_options(yield_per=5000)
    )
    with engine.connect() as conn:
        for values in conn.execute(query):
            yield Row(**values._mapping)


def _spans(engine: Engine) -> dict[str, list[Span]]:
    spans: dict[str, list[Span]] = defaultdict(list)
    with engine.connect() as conn:
        for psn_no, record, since, until in conn.execute(
            select(
                PersonRecord.psn_no,
                PersonRecord.record,
                PersonRecord.begndate,
                PersonRecord.enddate,
            )
        ):
            spans[psn_no].append(Span(record, since, until))
    return spans


def _designated_medical_institutions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(
            conn.execute(
                select(Institution.code).where(
                    Institution.listed.is_(True), Institution.fixmedins_type == "1"
                )
            ).scalars()
        )


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
    spans = _spans(engine)
    prescribers = _designated_medical_institutions(engine)
    # refunded wherever the refund is dated: a January refund cancels a December settlement
    with engine.connect() as conn:
        refunded = frozenset(
            conn.execute(
                select(Settlement.init_setl_id).where(Settlement.refd_setl_flag.is_(True))
            ).scalars()
        )
    for psn_no, rows in itertools.groupby(_rows(engine, read_from, end), key=lambda r: r.psn_no):
        _audit_person(
            list(rows),
            spans.get(psn_no, []),
            policy,
            own_region,
            prescribers,
            refunded,
            start,
            result,
        )
    result.findings.sort(key=lambda f: (f.rule, f.setl_time, f.setl_id))
    return result


def _audit_person(
    rows: list[Row],
    spans: Sequence[Span],
    policy: Policy,
    own_region: str,
    prescribers: frozenset[str],
    refunded: frozenset[str | None],
    start: datetime.date,
    result: AuditResult,
) -> None:
    # a refund cancels the settlement it reverses: the pair is left out of every check
    live = [r for r in rows if not r.refd_setl_flag and r.setl_id not in refunded]
    in_period = [r for r in rows if r.setl_time.date() >= start]
    result.settlements += len(in_period)

    def finding(rule: str, row: Row, **kwargs: Any) -> None:
        if row.setl_time.date() >= start:
            result.findings.append(
                Finding(
                    rule,
                    row.setl_id,
                    row.psn_no,
                    row.fixmedins_code,
                    row.setl_time,
                    row.batch,
                    **kwargs,
                )
            )

    pooled: list[Row] = []
    visits: list[Visit] = []
    reasons: dict[str, str] = {}
    for row in live:
        if row.fixmedins_type == "2" or row.med_type not in policy.med_types:
            if row.setl_time.date() >= start:
                why = "pharmacy" if row.fixmedins_type == "2" else f"med_type {row.med_type}"
                result.not_recomputed[why] += 1
            continue
        tier, reason = classify(row, spans, own_region)
        if reason is not None:
            reasons[row.setl_id] = reason
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
    try:
        expected = {e.setl_id: e for e in recompute(visits, policy)}
    except NoPolicyPeriod as exc:
        result.errors.append(str(exc))
        return
    except ValueError as exc:  # the engine refuses data it cannot judge: say whose
        result.errors.append(f"psn_no {rows[0].psn_no}: {exc}")
        return
    result.recomputed += sum(1 for r in pooled if r.setl_time.date() >= start)

    reported_total: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in pooled:
        calc = expected[row.setl_id]
        reason = reasons.get(row.setl_id)
        if reason is not None and row.hifp_pay != ZERO:
            finding(reason, row, reported_hifp_pay=row.hifp_pay, expected_hifp_pay=ZERO)
        if row.hifp_pay != calc.hifp_pay:
            finding(
                "benefit-mismatch",
                row,
                reported_hifp_pay=row.hifp_pay,
                expected_hifp_pay=calc.hifp_pay,
                evidence=_evidence(calc, row),
            )
        before = reported_total[calc.key]
        reported_total[calc.key] = before + row.hifp_pay
        cap = _cap(policy, row)
        if before <= cap < reported_total[calc.key]:
            scope = policy.period_for(row.setl_time.date())
            rule = (
                "monthly-cap-exceeded"
                if scope and scope.scope == "month"
                else ("annual-cap-exceeded")
            )
            finding(
                rule,
                row,
                reported_hifp_pay=row.hifp_pay,
                expected_hifp_pay=calc.hifp_pay,
                evidence=(
                    ("key", calc.key),
                    ("cap", f"{cap:.2f}"),
                    ("paid_before", f"{before:.2f}"),
                    ("paid_after", f"{reported_total[calc.key]:.2f}"),
                ),
            )

    should_bear = visit_deductibles(list(expected.values()), visits)
    charged: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in pooled:
        if row.act_pay_dedc > ZERO:
            charged[(row.mdtrt_id, row.fixmedins_code)].append(row)
    for key, charged_rows in charged.items():
        total = sum((r.act_pay_dedc for r in charged_rows), ZERO)
        if len(charged_rows) > 1 and total > should_bear.get(key, ZERO):
            finding(
                "duplicate-visit-deductible",
                charged_rows[1],
                evidence=(
                    ("mdtrt_id", key[0]),
                    ("deductible_charged", f"{total:.2f}"),
                    ("deductible_due", f"{should_bear.get(key, ZERO):.2f}"),
                    ("settlements", ", ".join(r.setl_id for r in charged_rows)),
                ),
            )

    first_seller: dict[tuple[str, str], str] = {}
    for row in live:
        if row.psn_type in FLEXIBLE_WORKERS and row.acct_pay != ZERO:
            finding(
                "flexible-worker-personal-account",
                row,
                evidence=(("psn_type", row.psn_type), ("acct_pay", f"{row.acct_pay:.2f}")),
            )
        if row.rx_date is not None:
            age = (row.setl_time.date() - row.rx_date).days
            if age > PRESCRIPTION_DAYS:
                finding(
                    "prescription-expired",
                    row,
                    evidence=(
                        ("rx_no", row.rx_no or ""),
                        ("rx_date", str(row.rx_date)),
                        ("days", str(age)),
                    ),
                )
        if row.rx_institution and row.rx_institution not in prescribers:
            finding(
                "prescription-not-designated",
                row,
                evidence=(("rx_no", row.rx_no or ""), ("rx_institution", row.rx_institution)),
            )
        if row.rx_no and row.drug_code:
            seller = first_seller.setdefault((row.rx_no, row.drug_code), row.fixmedins_code)
            if seller != row.fixmedins_code:
                finding(
                    "same-drug-two-institutions",
                    row,
                    evidence=(
                        ("rx_no", row.rx_no),
                        ("drug_code", row.drug_code),
                        ("first_bought_at", seller),
                    ),
                )


def _cap(policy: Policy, row: Row) -> Decimal:
    period = policy.period_for(row.setl_time.date())
    return period.cap if period is not None else ZERO


def _evidence(calc: Expected, row: Row) -> tuple[tuple[str, str], ...]:
    return (
        ("tier", calc.tier or "not covered"),
        ("inscp_scp_amt", f"{row.inscp_scp_amt:.2f}"),
        ("deductible_borne_before", f"{calc.deductible_borne_before:.2f}"),
        ("deductible", f"{calc.deductible:.2f}"),
        ("reported_act_pay_dedc", f"{row.act_pay_dedc:.2f}"),
        ("ratio", "" if calc.ratio is None else f"{calc.ratio}"),
        ("cap_left", f"{calc.cap_left:.2f}"),
        ("key", calc.key),
        ("article", calc.article),
    )


__all__ = ["RULES", "AuditResult", "Finding", "audit", "parse_period"]
