"""Deterministic synthetic settlement exports for a small city's employee outpatient pooling.

Used by the demo, the tests and the benchmarks. Everything is drawn from ``random.Random``
instances seeded from the spec (never the global generator, never the clock); amounts are drawn
as integer fen and carried as ``Decimal``, never float. Pooled payments follow the Anshan rules
(domain.md section 4) so that an audit recomputation over the generated data finds no deviation,
except for the handful of mistakes planted on purpose (``CitySpec.plant_mistakes``), which are
listed in ``planted.json`` beside the exports: the audit's known answer.

The city: designated hospitals and pharmacies (``institutions.csv``), two hospitals outside the
city where a few insured persons are treated (long-term residence elsewhere, referral, emergency
or none of these), person records (``persons.csv``: residence, referral, arrears periods) and one
settlement file per month, with pharmacy purchases carrying their prescription.

The bank side: the agency pays each month's clearing batches (settlements grouped by month,
institution and clr_type) on the 10th of the next month, the pooled part (hifp_pay) from the
统筹基金 disbursement account (100401), the personal-account part (acct_pay + acct_mulaid_pay)
from the 个人账户 one (100402). ``bank-<code>-<YYYY-MM>.csv`` is each account's statement of a
payment month in the generic layout: the fiscal special account's transfer in on the 2nd (the
month's payments rounded up to 10,000.00), one line per batch on the 10th (a batch whose refunds
exceed its settlements brings money back), quarterly interest on the 21st of March, June,
September and December. ``bank-accounts.json`` says which statements belong to which books
account. The batch sums are gathered while the settlements stream by; rows are never kept.
"""

from __future__ import annotations

import bisect
import calendar
import contextlib
import csv
import heapq
import itertools
import json
import os
import random
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import IO

SETTLEMENT_HEADER: tuple[str, ...] = (
    "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno", "psn_type", "insutype", "med_type",
    "setl_time", "fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
    "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt", "clr_type", "clr_way", "clr_optins",
    "refd_setl_flag", "init_setl_id",
    # Optional audit columns: 急危重 flag of a visit outside the city ("1"/"0"; empty in the city)
    # and the prescription of a pharmacy purchase (empty elsewhere).
    "emergency_flag", "rx_no", "rx_institution", "rx_date", "drug_code",
)  # fmt: skip
INSTITUTION_HEADER: tuple[str, ...] = (
    "fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv", "spec_hosp", "admdvs",
)  # fmt: skip
PERSON_HEADER: tuple[str, ...] = ("psn_no", "record", "begndate", "enddate")
# Every money column of the settlement header (pool_prop_selfpay is a ratio, not money).
MONEY_FIELDS: tuple[str, ...] = tuple(
    f for f in SETTLEMENT_HEADER[13:33] if f != "pool_prop_selfpay"
)
LONG_TERM, REFERRAL, ARREARS = "long-term-residence", "referral", "arrears"
PLANTED_RULES: tuple[str, ...] = (
    "annual-cap-exceeded", "arrears-period", "benefit-mismatch", "duplicate-visit-deductible",
    "flexible-worker-personal-account", "monthly-cap-exceeded", "non-designated-institution",
    "outside-city-not-covered", "prescription-expired", "prescription-not-designated",
    "same-drug-two-institutions",
)  # fmt: skip

# Bank statements of the disbursement accounts (支出户), in the shipped "generic" layout.
BANK_HEADER: tuple[str, ...] = (
    "交易日期",
    "借方金额",
    "贷方金额",
    "余额",
    "对方户名",
    "对方账号",
    "摘要",
)
# (code, books account, the bank's file encoding): the banks differ.
BANK_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("100401", "Assets:1004-支出户存款:01-统筹基金", "utf-8"),
    ("100402", "Assets:1004-支出户存款:02-个人账户", "gb18030"),
)
FISCAL_ACCOUNT_NAME = "鞍山市社会保险基金财政专户"  # the default region's (210300) fiscal account
FISCAL_SUFFIX = "社会保险基金财政专户"
TOPUP_DAY, PAY_DAY, INTEREST_DAY = 2, 10, 21
TOPUP_UNIT = Decimal("10000.00")  # the fiscal transfer: the month's payments rounded up to this
INTEREST_RATE = Decimal("0.0035")  # a year, demand deposit; credited quarterly (a quarter of it)
TOPUP_SUMMARY, INTEREST_SUMMARY = "财政专户拨入", "结息"
PAY_SUMMARY = "门诊统筹结算款"  # followed by the batch's link

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAY = 86_400
OPEN, CLOSE = 8 * 3600, 20 * 3600  # settlement times fall in [08:00:00, 20:00:00)
DEC_2022 = "2022-12"  # Anshan art. 32: transitional month with its own deductible and cap
OUTSIDE = "outside"  # tier: referred outside the city, or unreferred emergency (Anshan art. 10)
DEDUCTIBLE = {"1": Decimal(300), "2": Decimal(400), "3": Decimal(600), OUTSIDE: Decimal(600)}
RATIO = {  # tier -> (in work, retired), Anshan art. 9 and 10
    "1": (Decimal("0.60"), Decimal("0.65")),
    "2": (Decimal("0.55"), Decimal("0.60")),
    "3": (Decimal("0.50"), Decimal("0.55")),
    OUTSIDE: (Decimal("0.50"), Decimal("0.50")),
}
ANNUAL_CAP = Decimal(3000)
DEC_DEDUCTIBLE, DEC_CAP = Decimal(30), Decimal(300)
RX_VALID_DAYS = 3  # Shanxi art. 11: an e-prescription is valid for 3 days

PSN_TYPES = (("1101", 55), ("1102", 5), ("1103", 8), ("1201", 27), ("1202", 3), ("1203", 2))
FLEXIBLE = frozenset({"1103", "1203"})  # no personal account (Anshan art. 12)
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ("某某", "某某", "某", "某甲", "某乙", "某丙")
DISTRICTS = ("02", "03", "04", "11", "21", "23", "81")
CERT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

_STREETS = ("东风", "明德", "和平", "春晖", "青山", "长乐", "安宁", "福民",
            "新华", "胜利", "建设", "光明", "永安", "民生", "兴隆", "幸福")  # fmt: skip
_NAME_POOLS: dict[str, list[str]] = {
    "1": [f"示例{s}街道社区卫生服务中心" for s in _STREETS[:8]]
    + [f"示例{s}镇中心卫生院" for s in _STREETS[8:]],
    "2": ["示例市第二人民医院", "示例市中医院", "示例市第三人民医院", "示例市铁路医院",
          "示例市妇幼保健院", "示例钢铁集团职工医院", "示例市第四医院"],
    "3": ["示例市中心医院", "示例医学院附属第一医院", "示例市第一人民医院",
          "示例医学院附属第二医院"],
    "spec": ["示例市精神卫生中心", "示例市传染病医院", "示例市结核病医院"],
    "P": [f"示例{b}大药房（{s}店）" for b in ("康宁", "仁和堂", "益民", "同济", "百姓", "福寿")
          for s in ("春晖", "新华", "长乐")],
}  # fmt: skip
# Hospitals outside the city (admdvs, level, name): the first level-3 and the first level-2 whose
# region is not the city's own are listed.
_REMOTE = (
    ("210100", "3", "示例沈阳医科大学附属医院"), ("110100", "2", "示例北京市某区医院"),
    ("310100", "3", "示例上海市某医院"), ("120100", "2", "示例天津市某区医院"),
)  # fmt: skip
_ATC = "ABCDGHJLMNRS"
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

# Planted mistakes (CitySpec.plant_mistakes). Each kind is planted once, on the first settlement
# that fits it from its start date on. The 2023 kinds start in the 2023 months of the spec in
# this order (spread evenly over them); arrears and the cap start with the year, as they need a
# person who happens to be in arrears or at the cap.
_PLANTS_2023 = (
    "over", "flexible", "rx-expired", "outside", "no-deductible", "duplicate",
    "rx-not-designated", "non-designated", "under", "same-drug", "arrears", "annual-cap",
)  # fmt: skip
_FROM_JANUARY = frozenset({"arrears", "annual-cap"})
# Kinds after which the person has no further covered settlement in the key (year or month):
# their reported running total leaves the rule's, so no later settlement may depend on either.
_CLOSING = frozenset(
    {"monthly-cap", "annual-cap", "over", "under", "no-deductible", "outside", "arrears",
     "non-designated", "duplicate"}
)  # fmt: skip


@dataclass(frozen=True)
class CitySpec:
    """Shape of the synthetic city; equal specs always produce byte-identical output."""

    persons: int = 300
    # In-city institutions, at least 4: a pharmacy and hospitals of levels 1, 2, 3; from 8 on
    # also a specialty (spec_hosp=1) level-2 hospital, which the benefit rules treat as level 1.
    # Two hospitals outside the city come on top.
    institutions: int = 12
    months: tuple[str, ...] = ("2022-12", "2023-01", "2023-02", "2023-03")
    settlements_per_month: int = 400  # new settlements; shared-visit and refund rows come on top
    seed: int = 20230101
    region: str = "210300"
    # Plant about a dozen rule violations (listed in planted.json); False: none, every
    # settlement follows the rules (benchmarks).
    plant_mistakes: bool = True


@dataclass(frozen=True)
class _Inst:
    code: str
    name: str
    kind: str  # fixmedins_type: "1" medical institution, "2" pharmacy
    lv: str  # "1"/"2"/"3"; "" for pharmacies
    spec: bool  # infectious-disease / psychiatric specialty hospital
    admdvs: str

    @property
    def tier(self) -> str:
        """Benefit tier: specialty hospitals follow the level-1 standard (Anshan art. 9)."""
        return "1" if self.spec else self.lv


@dataclass(frozen=True)
class _Person:
    no: str
    name: str
    certno: str
    psn_type: str
    mult: int  # amount multiplier: a few heavy users, so the caps actually bind


# A person record: (record, first day, last day or None = open), days as ordinals.
_Record = tuple[str, int, int | None]
# A prescription: (rx_no, rx_institution, rx_date, drug_code).
_Rx = tuple[str, str, str, str]


@dataclass(frozen=True)
class _Visit:
    person: int
    inst: _Inst
    mdtrt_id: str
    med_type: str
    plant: str = ""  # a planted follow-up settlement: "duplicate" or "same-drug"
    rx: _Rx | None = None


class _Acc:
    """Running outpatient-pooling state of one person for one benefit key (year or month)."""

    __slots__ = ("ded", "key", "paid")

    def __init__(self, key: str) -> None:
        self.key, self.ded, self.paid = key, ZERO, ZERO


@dataclass(frozen=True)
class _Calc:
    """One pooling-type settlement as the rule sees it, with what it would pay if covered."""

    inscp: Decimal
    covered: bool
    why_not: str  # "" when covered; "arrears" or "outside" (unreferred, no emergency)
    d_l: Decimal  # deductible of the tier (of the would-be tier when not covered)
    cap: Decimal
    ratio: Decimal
    borne: Decimal  # deductible borne before, in the key
    paid: Decimal  # pooled payments before, in the key (reported = recomputed for a free person)
    ded: Decimal  # deductible it would bear
    full: Decimal  # (E - deductible) x ratio, rounded, before the cap
    pay: Decimal  # what the rule pays when covered


def _validate(spec: CitySpec) -> None:
    if spec.institutions < 4 or spec.persons < 1 or spec.settlements_per_month < 0:
        raise ValueError("need >= 4 institutions, >= 1 person, >= 0 settlements per month")
    if not re.fullmatch(r"\d{6}", spec.region):
        raise ValueError(f"region must be a 6-digit admdvs code, not {spec.region!r}")
    for m in spec.months:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m):
            raise ValueError(f"month must be YYYY-MM, not {m!r}")
    if list(spec.months) != sorted(set(spec.months)):
        raise ValueError("months must be strictly ascending")


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _round(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _money(x: Decimal) -> str:
    return f"{x:.2f}"


def _neg(s: str) -> str:
    d = Decimal(s)
    return s if d == 0 else _money(-d)  # never write "-0.00"


def _pick(rng: random.Random, cum: Sequence[int]) -> int:
    """Index drawn with integer cumulative weights (rng.choices would go through float)."""
    return bisect.bisect_right(cum, rng.randrange(cum[-1]))


def _month_of(t: int) -> str:
    return date.fromordinal(t // DAY).isoformat()[:7]


def _first_day(month: str) -> int:
    return date(int(month[:4]), int(month[5:]), 1).toordinal()


def _key(month: str) -> str | None:
    """Benefit accumulation key: None before the rules (2022-12), that month, then the year."""
    return None if month < DEC_2022 else DEC_2022 if month == DEC_2022 else month[:4]


def _timestamp(t: int) -> str:
    s = t % DAY
    return f"{date.fromordinal(t // DAY)} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _institutions(spec: CitySpec) -> list[_Inst]:
    """The city's institutions (codes ``[HP]<region[:4]>01nn``), then two outside the city."""
    rng = random.Random(f"{spec.seed}/institutions")
    pools = {k: rng.sample(v, len(v)) for k, v in _NAME_POOLS.items()}
    plan = [("1", "1", False), ("1", "2", False), ("1", "3", False), ("2", "", False)]
    if spec.institutions >= 8:
        plan.append(("1", "2", True))
    # Fill the rest like a real city: mostly community centres and pharmacies.
    cycle = [("1", "1", False), ("2", "", False), ("1", "1", False), ("2", "", False),
             ("1", "2", False), ("1", "1", False), ("2", "", False), ("1", "3", False)]  # fmt: skip
    plan += [cycle[i % len(cycle)] for i in range(spec.institutions - len(plan))]
    plan = plan[: spec.institutions]
    width = max(2, len(str(spec.institutions)))
    used: dict[str, int] = {}
    out = []
    for i, (kind, lv, spec_hosp) in enumerate(plan, start=1):
        key = "P" if kind == "2" else "spec" if spec_hosp else lv
        k = used[key] = used.get(key, -1) + 1
        pool = pools[key]
        name = pool[k % len(pool)] + (f"第{k // len(pool) + 1}分院" if k >= len(pool) else "")
        # Like the sample's H21030101: region prefix, district 01, sequence number.
        code = f"{'P' if kind == '2' else 'H'}{spec.region[:4]}01{i:0{width}d}"
        out.append(_Inst(code, name, kind, lv, spec_hosp, spec.region))
    for lv in ("3", "2"):
        adm, _, name = next(r for r in _REMOTE if r[1] == lv and r[0] != spec.region)
        out.append(_Inst(f"H{adm[:4]}0001", name, "1", lv, False, adm))
    return out


def _undesignated(spec: CitySpec) -> tuple[_Inst, str]:
    """A clinic that is not on the institution list, and a prescriber that is not either.

    District 99 never occurs in a listed code (those use 01), so neither can collide.
    """
    clinic = _Inst(f"H{spec.region[:4]}9901", "示例某某诊所", "1", "1", False, spec.region)
    return clinic, f"H{spec.region[:4]}9902"


def institution_rows(spec: CitySpec) -> list[dict[str, str]]:
    """Rows of institutions.csv: the in-city ones (admdvs = spec.region), then the two outside."""
    _validate(spec)
    return [
        {"fixmedins_code": i.code, "fixmedins_name": i.name, "fixmedins_type": i.kind,
         "medins_lv": i.lv, "spec_hosp": "1" if i.spec else "0", "admdvs": i.admdvs}
        for i in _institutions(spec)
    ]  # fmt: skip


def _certno(area: str, birth: date, seq: int) -> str:
    """Fake 18-character ID number (GB 11643 layout and check digit, fictional content)."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(body, CERT_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def _persons(spec: CitySpec) -> tuple[list[_Person], list[int]]:
    """Persons and their cumulative visit weights (retired and heavy users visit more)."""
    rng = random.Random(f"{spec.seed}/persons")
    type_cum = list(itertools.accumulate(w for _, w in PSN_TYPES))
    base = rng.randrange(10**8, 5 * 10**8)
    persons, weights = [], []
    for i in range(spec.persons):
        psn_type = PSN_TYPES[_pick(rng, type_cum)][0]
        retired = psn_type.startswith("12")
        year = rng.randint(1942, 1962) if retired else rng.randint(1963, 2002)
        birth = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        area = spec.region[:4] + rng.choice(DISTRICTS)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        heavy = rng.randrange(100) < 6
        mult = rng.randint(2, 4) if heavy else 1
        persons.append(
            _Person(f"Q{base + i:09d}", name, _certno(area, birth, rng.randint(1, 999)),
                    psn_type, mult)
        )  # fmt: skip
        weights.append((2 if retired else 1) * (3 if heavy else 1))
    return persons, list(itertools.accumulate(weights))


def _records(spec: CitySpec, person_cum: Sequence[int]) -> dict[int, list[_Record]]:
    """Person records, disjoint groups: ~2 % long-term residence elsewhere (some ended within
    the months), ~3 % referral (one to three months), ~1 % arrears periods (among frequent
    visitors, so that they do settle during arrears)."""
    rng = random.Random(f"{spec.seed}/records")
    months = spec.months or ("2023-01",)
    first = _first_day(months[0])
    y, m = int(months[-1][:4]), int(months[-1][5:])
    span = _first_day(months[-1]) + calendar.monthrange(y, m)[1] - first
    n = spec.persons
    weights = [b - a for a, b in itertools.pairwise([0, *person_cum])]
    order = rng.sample(range(n), n)
    arrears = [i for i in order if weights[i] >= 2][: n // 100]
    taken = set(arrears)
    rest = [i for i in order if i not in taken]
    long_term, referral = rest[: n * 2 // 100], rest[n * 2 // 100 : n * 5 // 100]
    records: dict[int, list[_Record]] = {}
    for i in long_term:
        since = first - rng.randint(30, 700)
        until = first + rng.randrange(span) if rng.randrange(3) == 0 else None
        records[i] = [(LONG_TERM, since, until)]
    for i in referral:
        since = first + rng.randrange(-20, span)
        records[i] = [(REFERRAL, since, since + rng.randint(29, 89))]
    for i in arrears:
        since = first + rng.randrange(max(1, span - 14))
        records[i] = [(ARREARS, since, since + rng.randint(20, 45))]
    return records


def person_rows(spec: CitySpec) -> list[dict[str, str]]:
    """Rows of persons.csv, one per record, in (psn_no, record, begndate) order."""
    _validate(spec)
    persons, cum = _persons(spec)
    rows = [
        {"psn_no": persons[i].no, "record": rec,
         "begndate": date.fromordinal(since).isoformat(),
         "enddate": "" if until is None else date.fromordinal(until).isoformat()}
        for i, recs in _records(spec, cum).items()
        for rec, since, until in recs
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r["psn_no"], r["record"], r["begndate"]))


def _drug_codes(spec: CitySpec) -> list[str]:
    """Fictional drug codes shaped like the national ones (e.g. XA01ABC123A001)."""
    rng = random.Random(f"{spec.seed}/drugs")
    codes: dict[str, None] = {}
    while len(codes) < 60:
        letters = "".join(rng.choice(_LETTERS) for _ in range(3))
        code = (
            f"X{rng.choice(_ATC)}{rng.randint(1, 16):02d}{letters}{rng.randint(1, 999):03d}"
            f"{rng.choice('ABCDE')}{rng.randint(1, 99):03d}"
        )
        codes[code] = None
    return list(codes)


class _Stream:
    """Settlement rows in setl_time order, one day of draws at a time.

    Memory is bounded by one day's settlement times, the per-person running state and the pending
    queue (same-day follow-up settlements and refunds due within a few days), never by the total.
    """

    def __init__(self, spec: CitySpec) -> None:
        _validate(spec)
        self.spec = spec
        self.months = frozenset(spec.months)
        insts = _institutions(spec)
        self.pharmacies = [i for i in insts if i.kind == "2"]
        city = [i for i in insts if i.kind == "1" and i.admdvs == spec.region]
        self.hospitals = {lv: [i for i in city if i.lv == lv] for lv in ("1", "2", "3")}
        self.remote = [i for i in insts if i.admdvs != spec.region]
        self.prescribers = [i.code for i in city]
        self.undesignated, self.bad_prescriber = _undesignated(spec)
        self.drugs = _drug_codes(spec)
        self.persons, self.person_cum = _persons(spec)
        self.records = _records(spec, self.person_cum)
        self.long_term = sorted(i for i, r in self.records.items() if r[0][0] == LONG_TERM)
        self.referral = sorted(i for i, r in self.records.items() if r[0][0] == REFERRAL)
        self.rng = random.Random(f"{spec.seed}/settlements")
        self.setl_no = self.rng.randrange(10**11, 2 * 10**11)
        self.mdtrt_no = self.rng.randrange(10**10, 2 * 10**10)
        self.rx_no = self.rng.randrange(10**11, 2 * 10**11)
        self.state: dict[int, _Acc] = {}
        self.pending: list[tuple[int, int, _Visit | dict[str, str]]] = []
        self.seq = 0
        # Planting: kind -> (from time, key); persons closed for a key; persons with a planted
        # follow-up still to come; what was planted.
        self.slots: dict[str, tuple[int, str]] = {}
        self.closed: dict[int, str] = {}
        self.reserved: set[int] = set()
        self.planted: list[dict[str, str]] = []
        if spec.plant_mistakes:
            if DEC_2022 in self.months:
                self.slots["monthly-cap"] = (_first_day(DEC_2022) * DAY, DEC_2022)
            m2023 = [m for m in spec.months if m.startswith("2023")]
            for n, kind in enumerate(_PLANTS_2023 if m2023 else ()):
                m = m2023[0 if kind in _FROM_JANUARY else n * len(m2023) // len(_PLANTS_2023)]
                self.slots[kind] = (_first_day(m) * DAY, "2023")

    def _push(self, t: int, item: _Visit | dict[str, str]) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (t, self.seq, item))

    def _has(self, person: int, record: str, day: int) -> bool:
        return any(
            r == record and since <= day and (until is None or day <= until)
            for r, since, until in self.records.get(person, ())
        )

    def _free(self, person: int, key: str) -> bool:
        """May a mistake be planted on this person in this key?"""
        return self.closed.get(person) != key and person not in self.reserved

    def _note(self, rule: str, row_setl_id: str, note: str) -> None:
        self.planted.append({"rule": rule, "setl_id": row_setl_id, "note": note})

    def rows(self) -> Iterator[dict[str, str]]:
        rng = self.rng
        for month in self.spec.months:
            y, m = int(month[:4]), int(month[5:])
            ndays = calendar.monthrange(y, m)[1]
            n = self.spec.settlements_per_month
            counts = [n // ndays] * ndays
            for d in rng.sample(range(ndays), n % ndays):
                counts[d] += 1
            first = date(y, m, 1).toordinal()
            # Force one refund per month boundary so "refunds net in the period in which they
            # were settled" is always exercised: the first settlement on the last day.
            force = _month_of((first + ndays) * DAY) in self.months
            for day in range(ndays):
                for s in sorted(rng.randrange(OPEN, CLOSE) for _ in range(counts[day])):
                    t = (first + day) * DAY + s
                    yield from self._flush(t)
                    yield self._settle(t, self._new_visit(t), force and day == ndays - 1)
                    force = force and day != ndays - 1
            yield from self._flush((first + ndays) * DAY - 1)

    def _flush(self, until: int) -> Iterator[dict[str, str]]:
        while self.pending and self.pending[0][0] <= until:
            t, _, item = heapq.heappop(self.pending)
            if isinstance(item, _Visit):
                key = _key(_month_of(t))
                if not item.plant and key is not None and self.closed.get(item.person) == key:
                    continue  # a closed person has no further covered settlement in the key
                yield self._settle(t, item, False)
            else:
                yield self._refund(t, item)

    def _new_visit(self, t: int) -> _Visit:
        rng = self.rng
        r = rng.randrange(100)
        if r < 3:  # a hospital outside the city
            inst = rng.choice(self.remote)
            med_type = "13" if rng.randrange(100) < 35 else "11"
            s = rng.randrange(10)
            if s < 4 and self.long_term:
                person = rng.choice(self.long_term)
            elif s < 7 and self.referral:
                person = rng.choice(self.referral)
            else:
                person = _pick(rng, self.person_cum)
        else:
            person = _pick(rng, self.person_cum)
            if r < 33:
                inst, med_type = rng.choice(self.pharmacies), "41"
            else:
                r = rng.randrange(100)
                inst = rng.choice(self.hospitals["1" if r < 45 else "2" if r < 75 else "3"])
                r = rng.randrange(100)
                med_type = "11" if r < 72 else "12" if r < 84 else "13" if r < 95 else "14"
        key = _key(_month_of(t))
        if key is not None and self.closed:
            for _ in range(20):
                if self.closed.get(person) != key:
                    break
                person = _pick(rng, self.person_cum)
            else:  # nobody else drawn: a purchase, which never uses pooling
                inst, med_type = rng.choice(self.pharmacies), "41"
        self.mdtrt_no += 1
        return _Visit(person, inst, f"XM{self.mdtrt_no:011d}", med_type)

    def _refund_time(self, t: int, force: bool) -> int | None:
        rng = self.rng
        if force:  # early next month
            at = (t // DAY + rng.randint(1, 2)) * DAY + rng.randrange(OPEN, CLOSE)
        elif rng.randrange(1000) >= 10:  # ~1 % of settlements are refunded
            return None
        elif (d := rng.randrange(7)) == 0:
            if t % DAY + 60 >= CLOSE:
                return None
            at = t + rng.randrange(60, CLOSE - t % DAY)
        else:
            at = (t // DAY + d) * DAY + rng.randrange(OPEN, CLOSE)
        return at if _month_of(at) in self.months else None

    def _flag(self, v: _Visit, day: int) -> str:
        """emergency_flag: empty in the city; outside it "1" on an emergency (13) visit of a
        person with neither a residence nor a referral record that day (the only case where the
        急危重 list decides), else "0"."""
        if v.inst.admdvs == self.spec.region:
            return ""
        unreferred = not (self._has(v.person, LONG_TERM, day) or self._has(v.person, REFERRAL, day))
        return "1" if v.med_type == "13" and unreferred else "0"

    def _calc(self, v: _Visit, inscp: Decimal, day: int, key: str) -> _Calc:
        """The rule's view of a pooling-type settlement."""
        person, inst = v.person, v.inst
        remote = inst.admdvs != self.spec.region
        long_term = remote and self._has(person, LONG_TERM, day)
        referred = remote and self._has(person, REFERRAL, day)
        flag = self._flag(v, day)
        tier = inst.tier if not remote or long_term else OUTSIDE
        why_not = (
            "arrears"
            if self._has(person, ARREARS, day)
            else "outside"
            if remote and not (long_term or referred or flag == "1")
            else ""
        )
        acc = self.state.get(person)
        if acc is None or acc.key != key:  # December 2022 does not carry into 2023
            acc = self.state[person] = _Acc(key)
        d_l, cap = (DEC_DEDUCTIBLE, DEC_CAP) if key == DEC_2022 else (DEDUCTIBLE[tier], ANNUAL_CAP)
        ratio = RATIO[tier][self.persons[person].psn_type.startswith("12")]
        ded = min(inscp, max(ZERO, d_l - acc.ded))
        full = _round((inscp - ded) * ratio)
        # cap - paid is on the fen, so capping after rounding equals capping before it
        return _Calc(inscp, not why_not, why_not, d_l, cap, ratio, acc.ded, acc.paid, ded, full,
                     min(full, cap - acc.paid))  # fmt: skip

    def _plant_pooled(
        self, kind: str, c: _Calc, v: _Visit
    ) -> tuple[Decimal, Decimal, list[tuple[str, str]]] | None:
        """A planted pooled payment: (reported deductible, reported hifp_pay, [(rule, note)])."""
        rng = self.rng
        expected = f"expected {_money(c.pay if c.covered else ZERO)}"
        if kind in ("annual-cap", "monthly-cap") and c.covered and c.full - (c.cap - c.paid) >= 1:
            rule = f"{kind}-exceeded"
            note = (f"paid {_money(c.full)} with {_money(c.cap - c.paid)} left of the "
                    f"{_money(c.cap)} cap ({_money(c.paid)} paid before); {expected}")  # fmt: skip
            return c.ded, c.full, [(rule, note), ("benefit-mismatch", note)]
        if kind in ("over", "under") and c.covered and c.pay == c.full and c.pay >= 20:
            delta = _yuan(rng.randint(100, 900)) * (1 if kind == "over" else -1)
            if c.paid + c.pay + delta <= c.cap:
                note = f"hifp_pay {_money(delta)} off the rule; {expected}"
                return c.ded, c.pay + delta, [("benefit-mismatch", note)]
        if kind == "no-deductible" and c.covered and c.ded > 0:
            pay = min(_round(c.inscp * c.ratio), c.cap - c.paid)
            if pay != c.pay:
                note = f"deductible {_money(c.ded)} not applied; {expected}"
                return ZERO, pay, [("benefit-mismatch", note)]
        paid_anyway = c.pay >= 1 and (c.covered or c.why_not == kind)
        if kind in ("outside", "arrears") and paid_anyway and not c.covered:
            rule = "outside-city-not-covered" if kind == "outside" else "arrears-period"
            what = "unreferred visit outside the city, no emergency" if kind == "outside" else (
                "settled during an arrears period"
            )  # fmt: skip
            note = f"{what}, paid {_money(c.pay)}; expected 0.00"
            return c.ded, c.pay, [(rule, note), ("benefit-mismatch", note)]
        if (
            kind == "non-designated"
            and paid_anyway
            and c.covered
            and v.inst.admdvs == self.spec.region
            and v.inst.tier == "1"
            and not v.inst.spec
            and v.med_type == "11"
        ):
            note = f"settled at {self.undesignated.code}, not on the list, paid {_money(c.pay)}"
            note += "; expected 0.00"
            return c.ded, c.pay, [("non-designated-institution", note), ("benefit-mismatch", note)]
        return None

    def _settle(self, t: int, v: _Visit, force_refund: bool) -> dict[str, str]:
        rng = self.rng
        day = t // DAY
        key = _key(_month_of(t))
        person = self.persons[v.person]
        refund_at = None if v.plant else self._refund_time(t, force_refund)
        kinds: list[str] = []
        if self.slots and not v.plant and refund_at is None and key and self._free(v.person, key):
            kinds = [k for k, (since, k_key) in self.slots.items() if since <= t and k_key == key]
        inst = v.inst
        if inst.kind == "2":
            fen = rng.randint(800, 30_000)
        elif v.med_type == "12":  # registration only
            fen = rng.randint(500, 3_000)
        elif v.med_type == "13":
            fen = rng.randint(8_000, 150_000)
        else:
            fen = rng.randint(*{"1": (2_000, 40_000), "2": (5_000, 80_000), "3": (10_000, 150_000)}[
                inst.lv
            ])  # fmt: skip
        inscp = _yuan(fen * person.mult)
        ful = _yuan(rng.randint(100, 8_000) if rng.randrange(100) < 35 else 0)
        over = _yuan(rng.randint(50, 3_000) if rng.randrange(100) < 8 else 0)
        pre = _yuan(rng.randint(100, 5_000) if rng.randrange(100) < 15 else 0)
        medfee = ful + over + pre + inscp
        ded = pay = cvl = maf = ZERO
        prop, flag = "", self._flag(v, day)
        found: list[tuple[str, str]] = []  # planted on this settlement: (rule, note)
        plant = ""
        # Pharmacy purchases and chronic-disease (14) visits do not use outpatient pooling here;
        # nothing before the rules took effect (2022-12) does either.
        if inst.kind == "1" and v.med_type != "14" and key is not None:
            c = self._calc(v, inscp, day, key)
            if c.covered:
                ded, pay, prop = c.ded, c.pay, f"{c.ratio:.4f}"
            for kind in kinds:
                made = self._plant_pooled(kind, c, v)
                if made is not None:
                    ded, pay, found = made
                    prop, plant = f"{c.ratio:.4f}", kind
                    if kind == "non-designated":
                        inst = self.undesignated
                    break
            if v.plant == "duplicate":  # the rule: 0 (the first settlement exhausted it)
                ded = min(inscp, c.d_l)
                found = [("duplicate-visit-deductible",
                          f"deductible charged again ({_money(ded)}) in a second settlement of "
                          f"visit {v.mdtrt_id}; due 0.00 after the first")]  # fmt: skip
                plant = "duplicate"
                self.reserved.discard(v.person)
            acc = self.state[v.person]
            # A settlement that will be refunded is computed from the state at its time but does
            # not enter the state: the audit recomputes the year without it and its refund, so
            # every later settlement must already be computed as if it never happened. The state
            # follows the rule, never a planted amount.
            if c.covered and plant != "non-designated" and refund_at is None:
                acc.ded += c.ded
                acc.paid += c.pay
                # Occasionally a second settlement of the same visit, same day, same institution.
                # Only when this one exhausted the deductible, so it bears none both by the
                # cumulative rule and by Shanxi art. 22 (only a visit's first settlement bears it).
                dup = "duplicate" in kinds and not plant and c.ded > 0
                if (
                    acc.ded >= c.d_l
                    and not v.plant
                    and not plant
                    and (dup or rng.randrange(25) == 0)
                ):
                    t2 = t + rng.randrange(300, 5_400)
                    if t2 % DAY < CLOSE and t2 // DAY == day:
                        self._push(t2, replace(v, med_type="11", plant="duplicate" if dup else ""))
                        if dup:
                            del self.slots["duplicate"]
                            self.reserved.add(v.person)
            if person.psn_type == "1102":  # civil-servant subsidy on the policy-scope remainder
                cvl = _round((inscp - pay) * rng.randint(10, 30) / 100)
        if rng.randrange(1000) < 5:  # a handful of medical-aid payments
            maf = min(_yuan(rng.randint(500, 5_000)), medfee - pay - cvl)
        fund = pay + cvl + maf
        part_fen = int((medfee - fund).scaleb(2))
        acct = mulaid = 0
        if person.psn_type not in FLEXIBLE:
            r = rng.randrange(100)
            acct = part_fen if r < 60 else rng.randint(0, part_fen) if r < 85 else 0
            if acct and rng.randrange(100) < 4:  # family mutual-aid account pays part
                mulaid = rng.randint(1, acct)
                acct -= mulaid
        elif "flexible" in kinds and not found and part_fen > 0:
            acct = rng.randint(1, part_fen)
            found = [("flexible-worker-personal-account",
                      f"psn_type {person.psn_type} has no personal account, acct_pay "
                      f"{_money(_yuan(acct))}")]  # fmt: skip
            plant = "flexible"
        rx = ("", "", "", "")
        if inst.kind == "2":
            rx, plant, found = self._prescription(t, v, kinds, plant, found)
        self.setl_no += 1
        setl_id = f"X{self.setl_no:012d}"
        if plant and key is not None:
            for rule, note in found:
                self._note(rule, setl_id, note)
            self.slots.pop(plant, None)
            if plant in _CLOSING:
                self.closed[v.person] = key
        row = {
            "setl_id": setl_id, "mdtrt_id": v.mdtrt_id, "psn_no": person.no,
            "psn_name": person.name, "certno": person.certno, "psn_type": person.psn_type,
            "insutype": "310", "med_type": v.med_type, "setl_time": _timestamp(t),
            "fixmedins_code": inst.code, "fixmedins_name": inst.name,
            "fixmedins_type": inst.kind, "medins_lv": inst.lv,
            "medfee_sumamt": _money(medfee), "fulamt_ownpay_amt": _money(ful),
            "overlmt_selfpay": _money(over), "preselfpay_amt": _money(pre),
            "inscp_scp_amt": _money(inscp), "act_pay_dedc": _money(ded),
            "hifp_pay": _money(pay), "pool_prop_selfpay": prop, "cvlserv_pay": _money(cvl),
            "hifes_pay": "0.00", "hifmi_pay": "0.00", "hifob_pay": "0.00",
            "maf_pay": _money(maf), "oth_pay": "0.00", "fund_pay_sumamt": _money(fund),
            "psn_part_amt": _money(_yuan(part_fen)), "acct_pay": _money(_yuan(acct)),
            "acct_mulaid_pay": _money(_yuan(mulaid)),
            "psn_cash_pay": _money(_yuan(part_fen - acct - mulaid)), "hosp_part_amt": "0.00",
            "clr_type": "13" if inst.kind == "2" else "11", "clr_way": "1",
            "clr_optins": self.spec.region, "refd_setl_flag": "0", "init_setl_id": "",
            "emergency_flag": flag, "rx_no": rx[0], "rx_institution": rx[1], "rx_date": rx[2],
            "drug_code": rx[3],
        }  # fmt: skip
        if refund_at is not None:
            self._push(refund_at, dict(row))
        return row

    def _prescription(
        self, t: int, v: _Visit, kinds: Sequence[str], plant: str, found: list[tuple[str, str]]
    ) -> tuple[_Rx, str, list[tuple[str, str]]]:
        """The prescription of a pharmacy purchase (written 0-3 days before), possibly planted."""
        rng = self.rng
        day = t // DAY
        if v.rx is not None:  # the planted second purchase of one prescription's drug
            note = f"rx {v.rx[0]} drug {v.rx[3]} already bought at another pharmacy"
            return v.rx, "same-drug", [("same-drug-two-institutions", note)]
        self.rx_no += 1
        rx_no, prescriber = f"CF{self.rx_no:012d}", rng.choice(self.prescribers)
        lag, drug = rng.randint(0, RX_VALID_DAYS), rng.choice(self.drugs)
        t2 = (day + 1) * DAY + OPEN  # the earliest a second purchase of it is planted
        if not plant:
            if "rx-expired" in kinds:
                lag, plant = RX_VALID_DAYS + 2, "rx-expired"
                found = [("prescription-expired", f"rx written {lag} days before the purchase")]
            elif "rx-not-designated" in kinds:
                prescriber, plant = self.bad_prescriber, "rx-not-designated"
                note = f"rx written by {prescriber}, not a designated institution"
                found = [("prescription-not-designated", note)]
            elif (
                "same-drug" in kinds
                and (others := [p for p in self.pharmacies if p is not v.inst])
                and _month_of(t2) in self.months
            ):
                lag = rng.randint(0, RX_VALID_DAYS - 1)  # still valid on the next day
                rx = (rx_no, prescriber, date.fromordinal(day - lag).isoformat(), drug)
                other = rng.choice(others)
                t2 += rng.randrange(CLOSE - OPEN)
                self.mdtrt_no += 1
                second = _Visit(v.person, other, f"XM{self.mdtrt_no:011d}", "41", "same-drug", rx)
                self._push(t2, second)
                del self.slots["same-drug"]
        return (rx_no, prescriber, date.fromordinal(day - lag).isoformat(), drug), plant, found

    def _refund(self, t: int, orig: dict[str, str]) -> dict[str, str]:
        """2208 reversal: new setl_id, same visit, every money field negated."""
        self.setl_no += 1
        row = dict(orig)
        row.update({f: _neg(orig[f]) for f in MONEY_FIELDS})
        row.update(setl_id=f"X{self.setl_no:012d}", setl_time=_timestamp(t), refd_setl_flag="1",
                   init_setl_id=orig["setl_id"])  # fmt: skip
        return row


def iter_settlement_rows(spec: CitySpec) -> Iterator[dict[str, str]]:
    """All months' settlement rows, in (setl_time, setl_id) order, streamed."""
    return _Stream(spec).rows()


def planted_mistakes(spec: CitySpec) -> list[dict[str, str]]:
    """What planted.json lists for this spec (runs the whole stream, keeping nothing else)."""
    stream = _Stream(spec)
    for _ in stream.rows():
        pass
    return _sorted_planted(stream.planted)


def _sorted_planted(planted: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(planted, key=lambda p: (p["rule"], p["setl_id"]))


def _next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def fiscal_account_name(region: str) -> str:
    """对方户名 of the fund's fiscal special account: the region's city name (as the books title
    has it, ``ledger/regions.toml``), else 示例市, then 社会保险基金财政专户."""
    try:
        text = resources.files("ledger").joinpath("regions.toml").read_text("utf-8")
        city = tomllib.loads(text).get(region)
    except (ImportError, OSError, tomllib.TOMLDecodeError):
        city = None
    return f"{city if isinstance(city, str) else '示例市'}{FISCAL_SUFFIX}"


def _bank_account_no(spec: CitySpec, party: str) -> str:
    """A fake account number, fixed by the seed and the party (an institution code, "fiscal")."""
    rng = random.Random(f"{spec.seed}/bank/{party}")
    if party == "fiscal":
        return f"{spec.region}{rng.randrange(10**10):010d}"
    return f"62{rng.randrange(10**17):017d}"


class _BatchTotals:
    """Per clearing batch (month of setl_time, fixmedins_code, clr_type): its [pooled, personal]
    parts, refunds included with their negative amounts, gathered from the settlement rows as
    they stream by; and each institution's name as its first row gives it."""

    def __init__(self) -> None:
        self.parts: dict[tuple[str, str, str], list[Decimal]] = {}
        self.names: dict[str, str] = {}

    def tap(self, rows: Iterable[dict[str, str]]) -> Iterator[dict[str, str]]:
        for row in rows:
            key = (row["setl_time"][:7], row["fixmedins_code"], row["clr_type"])
            parts = self.parts.get(key)
            if parts is None:
                parts = self.parts[key] = [ZERO, ZERO]
                self.names.setdefault(row["fixmedins_code"], row["fixmedins_name"])
            parts[0] += Decimal(row["hifp_pay"])
            parts[1] += Decimal(row["acct_pay"]) + Decimal(row["acct_mulaid_pay"])
            yield row


def _statement_lines(
    month: str,
    opening: Decimal,
    batches: Sequence[tuple[str, str, Decimal]],
    parties: dict[str, tuple[str, str]],
    fiscal: tuple[str, str],
) -> tuple[list[list[str]], Decimal]:
    """One account's statement of the payment month after clearing month ``month``: its lines
    and closing balance. ``batches``: (fixmedins_code, clr_type, this account's part), nonzero,
    in that order; ``parties``: code -> (name, account number)."""
    pay_month = _next_month(month)
    lines: list[list[str]] = []
    balance = opening

    def line(day: int, amount: Decimal, party: tuple[str, str], summary: str) -> None:
        nonlocal balance
        balance += amount
        debit, credit = (_money(-amount), "") if amount < 0 else ("", _money(amount))
        lines.append([f"{pay_month}-{day:02d}", debit, credit, _money(balance), *party, summary])

    paid = sum((part for _, _, part in batches if part > 0), ZERO)
    topup = (paid / TOPUP_UNIT).to_integral_value(rounding=ROUND_CEILING) * TOPUP_UNIT
    if topup > 0:
        line(TOPUP_DAY, topup, fiscal, TOPUP_SUMMARY)
    for code, clr_type, part in batches:
        line(PAY_DAY, -part, parties[code], f"{PAY_SUMMARY} clr-{month}-{code}-{clr_type}")
    if int(pay_month[5:]) % 3 == 0:  # quarterly interest, credited the day after the 20th
        interest = _round(balance * INTEREST_RATE / 4)
        if interest > 0:
            line(INTEREST_DAY, interest, ("", ""), INTEREST_SUMMARY)
    return lines, balance


def _write_statements(spec: CitySpec, totals: _BatchTotals, out_dir: Path) -> list[Path]:
    """Both accounts' statements of every payment month, and bank-accounts.json. Returns the
    statements, account by account (100401 first), months in order."""
    names = {i["fixmedins_code"]: i["fixmedins_name"] for i in institution_rows(spec)}
    codes = sorted({code for _, code, _ in totals.parts})
    parties = {c: (names.get(c) or totals.names[c], _bank_account_no(spec, c)) for c in codes}
    fiscal = (fiscal_account_name(spec.region), _bank_account_no(spec, "fiscal"))
    paths: list[Path] = []
    accounts: list[dict[str, object]] = []
    for index, (code, account, encoding) in enumerate(BANK_ACCOUNTS):
        balance = ZERO
        files = []
        for month in spec.months:
            batches = sorted(
                (inst, clr_type, parts[index])
                for (m, inst, clr_type), parts in totals.parts.items()
                if m == month and parts[index] != 0
            )
            lines, balance = _statement_lines(month, balance, batches, parties, fiscal)

            def write(fh: IO[str], lines: list[list[str]] = lines) -> None:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(BANK_HEADER)
                writer.writerows(lines)

            path = out_dir / f"bank-{code}-{_next_month(month)}.csv"
            paths.append(_write_atomic(path, write, encoding=encoding))
            files.append(path.name)
        accounts.append({"account": account, "code": code, "files": files})

    def write_accounts(fh: IO[str]) -> None:
        fh.write(json.dumps(accounts, ensure_ascii=False, indent=2) + "\n")

    _write_atomic(out_dir / "bank-accounts.json", write_accounts)
    return paths


def _write_atomic(path: Path, write: Callable[[IO[str]], None], *, encoding: str = "utf-8") -> Path:
    """Write via a temp file in the same directory and os.replace: readers never see half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[dict[str, str]]) -> Path:
    def write(fh: IO[str]) -> None:
        writer = csv.DictWriter(fh, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)

    return _write_atomic(path, write)


def write_city(spec: CitySpec, out_dir: Path) -> list[Path]:
    """Writes out_dir/institutions.csv, out_dir/persons.csv, out_dir/settlements-YYYY-MM.csv
    (one per month), out_dir/bank-<code>-<YYYY-MM>.csv (each disbursement account's statement
    of each payment month: the month after each of the spec's months; 100401 in UTF-8, 100402
    in GB18030), out_dir/bank-accounts.json (books account, code and statement files of each
    account) and out_dir/planted.json (the planted mistakes, sorted by rule and setl_id; an
    empty list when none are planted). Returns the paths of the CSV files: institutions,
    persons, the settlement months in order, then the statements (100401's months in order,
    then 100402's)."""
    _validate(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        _write_csv(out_dir / "institutions.csv", INSTITUTION_HEADER, institution_rows(spec)),
        _write_csv(out_dir / "persons.csv", PERSON_HEADER, person_rows(spec)),
    ]
    stream = _Stream(spec)
    totals = _BatchTotals()
    groups = itertools.groupby(totals.tap(stream.rows()), key=lambda r: r["setl_time"][:7])
    current = next(groups, None)
    for month in spec.months:
        rows: Iterable[dict[str, str]] = ()
        if current is not None and current[0] == month:
            rows = current[1]
        paths.append(_write_csv(out_dir / f"settlements-{month}.csv", SETTLEMENT_HEADER, rows))
        if current is not None and current[0] == month:
            current = next(groups, None)
    if current is not None:
        raise RuntimeError(f"settlements dated {current[0]}, outside the spec's months")
    paths += _write_statements(spec, totals, out_dir)

    def write_planted(fh: IO[str]) -> None:
        planted = _sorted_planted(stream.planted)
        fh.write(json.dumps(planted, ensure_ascii=False, indent=2) + "\n")

    _write_atomic(out_dir / "planted.json", write_planted)
    return paths
