"""Deterministic synthetic settlement exports for a small city's employee outpatient pooling.

Used by the demo, the tests, ``mzledger synth`` and the benchmarks. Everything is drawn from
``random.Random`` instances seeded from the spec (never the global generator, never the clock);
amounts are drawn and computed as integer fen, never float (the rule's ROUND_HALF_UP done
exactly on integers), and written from a table of money strings; the bank statements carry
``Decimal``. Pooled payments follow the Anshan rules
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

Speed (tens of thousands of rows a second, in one process): a row is one f-string; the per-person
state is a few arrays (a million persons take tens of MB); one 62-bit draw often serves several
decisions; what a row repeats (an institution's fields, a day's date, the visit weights' classes)
is computed once.
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
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import IO, NamedTuple

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
# The benefit rule in integer fen; ratios in percent (every ratio is a whole percentage, so
# (E - deductible) x ratio rounded half up is (fen x percent + 50) // 100, exactly).
DEDUCTIBLE_FEN = {"1": 30_000, "2": 40_000, "3": 60_000, OUTSIDE: 60_000}
RATIO_PCT = {"1": (60, 65), "2": (55, 60), "3": (50, 55), OUTSIDE: (50, 50)}  # (in work, retired)
ANNUAL_CAP_FEN = 300_000
DEC_DEDUCTIBLE_FEN, DEC_CAP_FEN = 3_000, 30_000
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
    # New settlements over all the months; when set it replaces settlements_per_month: each
    # month gets settlements // len(months), the first settlements % len(months) months one more.
    settlements: int | None = None


def _month_counts(spec: CitySpec) -> list[int]:
    """New settlements of each month of the spec."""
    if spec.settlements is None:
        return [spec.settlements_per_month] * len(spec.months)
    each, extra = divmod(spec.settlements, max(1, len(spec.months)))
    return [each + (i < extra) for i in range(len(spec.months))]


class _Inst:
    """An institution, with what the settlement rows need of it ready."""

    __slots__ = (
        "admdvs", "clr", "code", "fields", "kind", "lv", "name", "remote", "spec", "tail", "tier",
    )  # fmt: skip

    def __init__(
        self, code: str, name: str, kind: str, lv: str, spec: bool, admdvs: str, region: str
    ) -> None:
        self.code, self.name, self.kind, self.lv, self.spec = code, name, kind, lv, spec
        self.admdvs = admdvs  # fixmedins_type: "1" medical institution, "2" pharmacy
        self.remote = admdvs != region  # outside the city
        # Benefit tier: specialty hospitals follow the level-1 standard (Anshan art. 9).
        self.tier = "1" if spec else lv
        self.clr = "13" if kind == "2" else "11"
        # As a settlement row has them: fixmedins_code to medins_lv; hosp_part_amt to
        # init_setl_id (an original settlement's).
        self.fields = f"{code},{name},{kind},{lv}"
        self.tail = f"0.00,{self.clr},1,{region},0,,"


# A person record: (record, first day, last day or None = open), days as ordinals.
_Record = tuple[str, int, int | None]
# A prescription: (rx_no, rx_institution, rx_date, drug_code).
_Rx = tuple[str, str, str, str]
# A settlement row: its CSV line, the SETTLEMENT_HEADER fields joined with commas (none can
# hold a comma, a quote or a line break: codes, digits, amounts and this module's fixed Chinese
# names, so this is what csv.writer writes).
_Row = str
_MONEY_INDEX = tuple(SETTLEMENT_HEADER.index(f) for f in MONEY_FIELDS)
_SETL_ID, _SETL_TIME = SETTLEMENT_HEADER.index("setl_id"), SETTLEMENT_HEADER.index("setl_time")
_REFD, _INIT = SETTLEMENT_HEADER.index("refd_setl_flag"), SETTLEMENT_HEADER.index("init_setl_id")


class _Visit(NamedTuple):
    """A settlement due later (a same-visit follow-up or a planted second purchase)."""

    person: int
    inst: _Inst
    mdtrt_id: str
    med_type: str
    plant: str = ""  # a planted follow-up settlement: "duplicate" or "same-drug"
    rx: _Rx | None = None


class _Refund(NamedTuple):
    """A refund due later: the settlement it reverses, its institution and its two batch parts
    (fen)."""

    row: _Row
    inst: _Inst
    pooled: int
    personal: int


class _Calc(NamedTuple):
    """One pooling-type settlement as the rule sees it, with what it would pay if covered.
    Money in fen."""

    inscp: int
    covered: bool
    why_not: str  # "" when covered; "arrears" or "outside" (unreferred, no emergency)
    d_l: int  # deductible of the tier (of the would-be tier when not covered)
    cap: int
    pct: int  # the ratio, in percent
    borne: int  # deductible borne before, in the key
    paid: int  # pooled payments before, in the key (reported = recomputed for a free person)
    ded: int  # deductible it would bear
    full: int  # (E - deductible) x ratio, rounded, before the cap
    pay: int  # what the rule pays when covered


MAX_PERSONS = 100_000_000  # psn_no stays Q and 9 digits


def _validate(spec: CitySpec) -> None:
    if spec.institutions < 4 or spec.persons < 1 or spec.settlements_per_month < 0:
        raise ValueError("need >= 4 institutions, >= 1 person, >= 0 settlements per month")
    if spec.persons > MAX_PERSONS:
        raise ValueError(f"at most {MAX_PERSONS:,} persons")
    if spec.settlements is not None and spec.settlements < 0:
        raise ValueError("need >= 0 settlements")
    if not re.fullmatch(r"\d{6}", spec.region):
        raise ValueError(f"region must be a 6-digit admdvs code, not {spec.region!r}")
    for m in spec.months:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m):
            raise ValueError(f"month must be YYYY-MM, not {m!r}")
    if list(spec.months) != sorted(set(spec.months)):
        raise ValueError("months must be strictly ascending")


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def parse_months(text: str) -> tuple[str, ...]:
    """Months as the command line gives them: ``FIRST..LAST`` (both included) or a comma list
    in ascending order, each YYYY-MM. ValueError says what is wrong, in one line."""
    if ".." in text:
        first, _, last = (part.strip() for part in text.partition(".."))
        parts = [first, last]
    else:
        parts = [part.strip() for part in text.split(",")]
    for part in parts:
        if not _MONTH.fullmatch(part):
            raise ValueError(f"not a month (found {part!r}, expected YYYY-MM)")
    if ".." in text:
        if parts[1] < parts[0]:
            raise ValueError(f"{parts[0]}..{parts[1]}: the last month comes before the first")
        months = [parts[0]]
        while months[-1] != parts[1]:
            months.append(_next_month(months[-1]))
        return tuple(months)
    for before, after in itertools.pairwise(parts):
        if after <= before:
            raise ValueError(f"months must be in ascending order, each once ({before}, {after})")
    return tuple(parts)


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _round(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _half_up(fen_times_pct: int) -> int:
    """fen x percent / 100 rounded to the fen, half away from zero (Decimal's ROUND_HALF_UP)."""
    if fen_times_pct < 0:
        return -((-fen_times_pct + 50) // 100)
    return (fen_times_pct + 50) // 100


# Every amount a settlement row can hold, as its money string, ready (about 40 MB): formatting
# would be a fifth of a row's cost. The largest amount: the largest visit (150,000 fen) times
# the largest multiplier (4), plus the largest fulamt_ownpay_amt, overlmt_selfpay and
# preselfpay_amt (8,000, 3,000 and 5,000 fen); refunds negate the strings.
_MAX_FEN = 150_000 * 4 + 8_000 + 3_000 + 5_000
_MONEY_TABLE_FEN = _MAX_FEN + 1
_money_table: list[str] = []


def _money_strings() -> list[str]:
    if not _money_table:
        cents = [f"{c:02d}" for c in range(100)]
        _money_table.extend(f"{y}.{c}" for y in range(_MONEY_TABLE_FEN // 100) for c in cents)
    return _money_table


def _money(fen: int) -> str:
    """Fen as yuan with two decimals ("-1.50"); exact, no float."""
    if fen < 0:
        return "-" + _money(-fen)
    if fen < _MONEY_TABLE_FEN and _money_table:
        return _money_table[fen]
    return f"{fen // 100}.{fen % 100:02d}"


def _decimal_money(x: Decimal) -> str:
    return f"{x:.2f}"


def _words(seed: str) -> Callable[[int], int]:
    """The draws of one purpose: ``random.Random(seed).getrandbits``. Every draw below is
    ``getrandbits(30) % n`` (``getrandbits(62) % n`` for n above 2**20): integer, and biased by
    at most n / 2**30 (2**-42), which synthetic data does not notice; rng.randrange costs
    three times as much and the rows take about a dozen draws each."""
    return random.Random(seed).getrandbits


def _sample(bits: Callable[[int], int], n: int, k: int) -> list[int]:
    """k distinct indices of range(n) (a partial Fisher-Yates shuffle), k <= n."""
    pool = list(range(n))
    for i in range(k):
        j = i + bits(62) % (n - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def _first_day(month: str) -> int:
    return date(int(month[:4]), int(month[5:]), 1).toordinal()


def _key(month: str) -> str | None:
    """Benefit accumulation key: None before the rules (2022-12), that month, then the year."""
    return None if month < DEC_2022 else DEC_2022 if month == DEC_2022 else month[:4]


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
        out.append(_Inst(code, name, kind, lv, spec_hosp, spec.region, spec.region))
    for lv in ("3", "2"):
        adm, _, name = next(r for r in _REMOTE if r[1] == lv and r[0] != spec.region)
        out.append(_Inst(f"H{adm[:4]}0001", name, "1", lv, False, adm, spec.region))
    return out


def _undesignated(spec: CitySpec) -> tuple[_Inst, str]:
    """A clinic that is not on the institution list, and a prescriber that is not either.

    District 99 never occurs in a listed code (those use 01), so neither can collide.
    """
    clinic = _Inst(
        f"H{spec.region[:4]}9901", "示例某某诊所", "1", "1", False, spec.region, spec.region
    )
    return clinic, f"H{spec.region[:4]}9902"


def institution_rows(spec: CitySpec) -> list[dict[str, str]]:
    """Rows of institutions.csv: the in-city ones (admdvs = spec.region), then the two outside."""
    _validate(spec)
    return [
        {"fixmedins_code": i.code, "fixmedins_name": i.name, "fixmedins_type": i.kind,
         "medins_lv": i.lv, "spec_hosp": "1" if i.spec else "0", "admdvs": i.admdvs}
        for i in _institutions(spec)
    ]  # fmt: skip


def _check_part(digits: str, weights: Sequence[int]) -> int:
    return sum(int(c) * w for c, w in zip(digits, weights, strict=True))


_NAMES = tuple(s + g for s in SURNAMES for g in GIVEN)  # index: surname x len(GIVEN) + given
_PSN_CODES = tuple(code for code, _ in PSN_TYPES)
_RETIRED = tuple(code.startswith("12") for code in _PSN_CODES)
_NO_ACCOUNT = tuple(code in FLEXIBLE for code in _PSN_CODES)
_CIVIL_SERVANT = _PSN_CODES.index("1102")


class _Population:
    """The insured persons, compact: a million take about 30 MB. Person i's fields are built
    when a row needs them; psn_no is ``Q`` and base + i on 9 digits.

    Visits are drawn in proportion to each person's weight (retired and heavy users visit
    more), by weight class: a draw below ``total`` falls in a class (``uppers``, its weight and
    persons in ``classes``), and its offset there, divided by the weight, is the person. Exactly
    a cumulative-weight bisection, without one over a million entries per visit."""

    __slots__ = (
        "base", "certs", "classes", "frequent", "mult", "names", "total", "types", "uppers",
        "weights",
    )  # fmt: skip

    def __init__(self, spec: CitySpec) -> None:
        bits = _words(f"{spec.seed}/persons")
        n = spec.persons
        type_cum = list(itertools.accumulate(w for _, w in PSN_TYPES))
        types_by_percent = bytes(bisect.bisect_right(type_cum, r) for r in range(type_cum[-1]))
        self.base = 10**8 + bits(30) % (4 * 10**8)
        self.types = bytearray(n)  # index into PSN_TYPES
        self.mult = bytearray(n)  # amount multiplier: a few heavy users, so the caps bind
        self.names: array[int] = array("H", bytes(2 * n))  # index into _NAMES
        self.weights = bytearray(n)  # visit weight: retired and heavy users visit more
        # Fake 18-character ID numbers (GB 11643 layout and check digit, fictional content):
        # the check digit's sum taken part by part, each part's sum computed once.
        areas = [spec.region[:4] + d for d in DISTRICTS]
        area_sums = [_check_part(a, CERT_WEIGHTS[:6]) for a in areas]
        seqs = [f"{s:03d}" for s in range(1000)]
        seq_sums = [_check_part(s, CERT_WEIGHTS[14:]) for s in seqs]
        births: dict[int, tuple[str, int]] = {}
        year_start = {y: date(y, 1, 1).toordinal() for y in range(1942, 2003)}
        certs: list[str] = []  # joined a few thousand at a time
        chunk: list[str] = []
        frequent = 0
        for i in range(n):
            # One draw for type, district, name, heavy user and multiplier, sequence number;
            # one for the birthday.
            w = bits(62)
            t = types_by_percent[w % 100]
            district = w // 100 % len(DISTRICTS)
            w //= 100 * len(DISTRICTS)
            self.names[i] = w % len(_NAMES)
            w //= len(_NAMES)
            heavy = w % 100 < 6
            mult = 2 + w // 100 % 3 if heavy else 1
            seq = 1 + w // 300 % 999
            retired = _RETIRED[t]
            days = bits(30) % (365 * (21 if retired else 40))
            ordinal = year_start[(1942 if retired else 1963) + days // 365] + days % 365
            birth = births.get(ordinal)
            if birth is None:
                text = date.fromordinal(ordinal).strftime("%Y%m%d")
                birth = births[ordinal] = (text, _check_part(text, CERT_WEIGHTS[6:14]))
            check = "10X98765432"[(area_sums[district] + birth[1] + seq_sums[seq]) % 11]
            chunk.append(f"{areas[district]}{birth[0]}{seqs[seq]}{check}")
            if len(chunk) == 4096:
                certs.append("".join(chunk))
                chunk.clear()
            self.types[i], self.mult[i] = t, mult
            weight = (2 if retired else 1) * (3 if heavy else 1)
            frequent += weight >= 2
            self.weights[i] = weight
        self.frequent = frequent
        # certno of person i: certs[18 i : 18 i + 18]; one str, slicing it is the cheapest way
        self.certs = "".join([*certs, *chunk])
        # (first draw of the class, weight, persons), by weight
        self.classes: list[tuple[int, int, array[int]]] = []
        self.uppers: list[int] = []
        total = 0
        for weight in sorted(set(self.weights)):
            mask = self.weights.translate(bytes(int(b == weight) for b in range(256)))
            persons = array("i", itertools.compress(range(n), mask))
            self.classes.append((total, weight, persons))
            total += weight * len(persons)
            self.uppers.append(total)
        self.total = total

    def psn_no(self, i: int) -> str:
        return f"Q{self.base + i}"  # 9 digits: base < 5 x 10**8

    def pick(self, bits: Callable[[int], int]) -> int:
        """A person, drawn in proportion to their weight."""
        u = bits(62) % self.total
        first, weight, persons = self.classes[bisect.bisect_right(self.uppers, u)]
        return persons[(u - first) // weight]


def _records(spec: CitySpec, pop: _Population) -> dict[int, list[_Record]]:
    """Person records, disjoint groups: ~2 % long-term residence elsewhere (some ended within
    the months), ~3 % referral (one to three months), ~1 % arrears periods (among frequent
    visitors, so that they do settle during arrears)."""
    bits = _words(f"{spec.seed}/records")
    months = spec.months or ("2023-01",)
    first = _first_day(months[0])
    y, m = int(months[-1][:4]), int(months[-1][5:])
    span = _first_day(months[-1]) + calendar.monthrange(y, m)[1] - first
    n = spec.persons
    taken: set[int] = set()

    def draw(count: int, frequent: bool) -> list[int]:
        """count distinct persons not taken yet (at most 6 % of them are: this ends soon)."""
        out: list[int] = []
        while len(out) < count:
            i = bits(62) % n
            if i not in taken and (not frequent or pop.weights[i] >= 2):
                taken.add(i)
                out.append(i)
        return out

    arrears = draw(min(n // 100, pop.frequent), True)
    long_term = draw(n * 2 // 100, False)
    referral = draw(n * 5 // 100 - n * 2 // 100, False)
    records: dict[int, list[_Record]] = {}
    for i in long_term:
        since = first - 30 - bits(30) % 671
        until = first + bits(30) % span if bits(30) % 3 == 0 else None
        records[i] = [(LONG_TERM, since, until)]
    for i in referral:
        since = first - 20 + bits(30) % (span + 20)
        records[i] = [(REFERRAL, since, since + 29 + bits(30) % 61)]
    for i in arrears:
        since = first + bits(30) % max(1, span - 14)
        records[i] = [(ARREARS, since, since + 20 + bits(30) % 26)]
    return records


def _person_rows(pop: _Population, records: dict[int, list[_Record]]) -> list[dict[str, str]]:
    rows = [
        {"psn_no": pop.psn_no(i), "record": rec,
         "begndate": date.fromordinal(since).isoformat(),
         "enddate": "" if until is None else date.fromordinal(until).isoformat()}
        for i, recs in records.items()
        for rec, since, until in recs
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r["psn_no"], r["record"], r["begndate"]))


def person_rows(spec: CitySpec) -> list[dict[str, str]]:
    """Rows of persons.csv, one per record, in (psn_no, record, begndate) order."""
    _validate(spec)
    pop = _Population(spec)
    return _person_rows(pop, _records(spec, pop))


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


def _has(records: list[_Record] | None, record: str, day: int) -> bool:
    return records is not None and any(
        r == record and since <= day and (until is None or day <= until)
        for r, since, until in records
    )


# Settlement times of a day, [OPEN, CLOSE), as "HH:MM:SS".
_CLOCK = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(OPEN, CLOSE))
# Fen ranges (low, count) of a visit's policy-scope amount by medins_lv.
_VISIT_FEN = {"1": (2_000, 38_001), "2": (5_000, 75_001), "3": (10_000, 140_001)}
_PROP = {pct: f"{pct / 100:.4f}" for pcts in RATIO_PCT.values() for pct in pcts}


class _Day:
    """A day's settlement-time prefix, clearing month, benefit key and the month's batches."""

    __slots__ = ("back", "batches", "key", "key_no", "month", "text")

    def __init__(
        self, day: int, key: str | None, key_no: int, batches: dict[_Inst, list[int]]
    ) -> None:
        # YYYY-MM-DD of this day and of the days before it (prescription dates)
        self.back = tuple(date.fromordinal(day - k).isoformat() for k in range(RX_VALID_DAYS + 3))
        self.text = self.back[0]
        self.month, self.key, self.key_no = self.text[:7], key, key_no
        # the month's clearing batches: institution -> [pooled, personal] parts in fen, refunds
        # included with their negative amounts (clr_type follows from the institution)
        self.batches = batches


class _Stream:
    """Settlement rows in setl_time order, one day of draws at a time.

    Memory is bounded by one day's settlement times, the per-person running state (three
    arrays: key, deductible borne and pooled payments, in fen) and the pending queue (same-day
    follow-up settlements and refunds due within a few days), never by the total. A row is its
    CSV line (no line break); each clearing batch's two parts are summed in fen as the rows go
    by (``batch_parts``).
    """

    def __init__(self, spec: CitySpec, pop: _Population | None = None) -> None:
        _validate(spec)
        self.spec = spec
        self.region = spec.region
        self.months = frozenset(spec.months)
        insts = _institutions(spec)
        self.pharmacies = [i for i in insts if i.kind == "2"]
        city = [i for i in insts if i.kind == "1" and i.admdvs == spec.region]
        self.hospitals = {lv: [i for i in city if i.lv == lv] for lv in ("1", "2", "3")}
        self.remote = [i for i in insts if i.admdvs != spec.region]
        self.prescribers = [i.code for i in city]
        self.undesignated, self.bad_prescriber = _undesignated(spec)
        self.drugs = _drug_codes(spec)
        self.pop = pop if pop is not None else _Population(spec)
        self.records = _records(spec, self.pop)
        self.long_term = sorted(i for i, r in self.records.items() if r[0][0] == LONG_TERM)
        self.referral = sorted(i for i, r in self.records.items() if r[0][0] == REFERRAL)
        self.bits = bits = _words(f"{spec.seed}/settlements")
        # Serial numbers, written without padding: they stay 12, 11 and 12 digits long.
        self.setl_no = 10**11 + bits(62) % 10**11
        self.mdtrt_no = 10**10 + bits(62) % 10**10
        self.rx_no = 10**11 + bits(62) % 10**11
        self.money = _money_strings()
        # Running outpatient-pooling state per person for one benefit key (year or month):
        # the key's number (keys numbered from 1 as met), deductible borne, pooled payments.
        n = spec.persons
        self.key_no: dict[str, int] = {}
        # (C ints: the deductible and the payments are below the cap, 300,000 fen)
        self.acc_key: array[int] = array("H", bytes(2 * n))
        self.acc_ded: array[int] = array("i", [0]) * n
        self.acc_paid: array[int] = array("i", [0]) * n
        self.pending: list[tuple[int, int, _Visit | _Refund]] = []
        self.seq = 0
        self.days: dict[int, _Day] = {}
        self.batches: dict[str, dict[_Inst, list[int]]] = {}  # by month
        # Planting: kind -> (from time, key); persons closed for a key; persons with a planted
        # follow-up still to come; what was planted.
        self.slots: dict[str, tuple[int, str]] = {}
        self.open_kinds: tuple[int, tuple[str, ...]] = (-1, ())  # (day, kinds open that day)
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

    def _day(self, day: int) -> _Day:
        info = self.days.get(day)
        if info is None:
            text = date.fromordinal(day).isoformat()
            key = _key(text[:7])
            key_no = 0 if key is None else self.key_no.setdefault(key, len(self.key_no) + 1)
            batches = self.batches.setdefault(text[:7], {})
            info = self.days[day] = _Day(day, key, key_no, batches)
        return info

    def batch_parts(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(YYYY-MM of setl_time, fixmedins_code, clr_type) -> (pooled, personal) parts in fen."""
        return {
            (month, inst.code, inst.clr): (pooled, personal)
            for month, batches in self.batches.items()
            for inst, (pooled, personal) in batches.items()
        }

    def _push(self, t: int, item: _Visit | _Refund) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (t, self.seq, item))

    def _open_kinds(self, info: _Day, day: int) -> tuple[str, ...]:
        """The kinds of mistake still to plant that are open on this day (their start is a
        day's beginning, so a whole day is in or out), computed once a day and on a plant."""
        if self.open_kinds[0] != day:
            t = day * DAY
            kinds = tuple(
                k for k, (since, k_key) in self.slots.items() if since <= t and k_key == info.key
            )
            self.open_kinds = (day, kinds)
        return self.open_kinds[1]

    def _close_slot(self, kind: str) -> None:
        self.slots.pop(kind, None)
        self.open_kinds = (-1, ())

    def _free(self, person: int, key: str) -> bool:
        """May a mistake be planted on this person in this key?"""
        return self.closed.get(person) != key and person not in self.reserved

    def _note(self, rule: str, row_setl_id: str, note: str) -> None:
        self.planted.append({"rule": rule, "setl_id": row_setl_id, "note": note})

    def months_rows(self) -> Iterator[tuple[str, Iterator[_Row]]]:
        """(month, its rows) for each month of the spec; each month's rows are all dated in
        it. Read each month's rows before asking for the next month."""
        for month, count in zip(self.spec.months, _month_counts(self.spec), strict=True):
            yield month, self._month(month, count)

    def rows(self) -> Iterator[_Row]:
        for _month, rows in self.months_rows():
            yield from rows

    def _month(self, month: str, n: int) -> Iterator[_Row]:
        """The month's rows: n new visits, drawn day by day and settled as they come, with the
        pending follow-up settlements and refunds in between. (The hot loop: the new visit is
        drawn here rather than in a method of its own.)"""
        bits, pending, closed = self.bits, self.pending, self.closed
        settle, flush, bisect_right = self._settle, self._flush, bisect.bisect_right
        remote, pharmacies, hospitals = self.remote, self.pharmacies, self.hospitals
        long_term, referral = self.long_term, self.referral
        total, uppers, classes = self.pop.total, self.pop.uppers, self.pop.classes
        y, m = int(month[:4]), int(month[5:])
        ndays = calendar.monthrange(y, m)[1]
        counts = [n // ndays] * ndays
        for d in _sample(bits, ndays, n % ndays):
            counts[d] += 1
        first = date(y, m, 1).toordinal()
        # Force one refund per month boundary so "refunds net in the period in which they
        # were settled" is always exercised: the first settlement on the last day.
        force = self._day(first + ndays).month in self.months
        span = CLOSE - OPEN
        for day in range(ndays):
            info = self._day(first + day)
            key = info.key
            opening = (first + day) * DAY + OPEN
            last = force and day == ndays - 1
            for offset in sorted([bits(30) % span for _ in range(counts[day])]):
                t = opening + offset
                if pending and pending[0][0] <= t:
                    yield from flush(t)
                # The person, drawn in proportion to their weight (see _Population).
                u = bits(62) % total
                base, weight, persons = classes[bisect_right(uppers, u)]
                person = persons[(u - base) // weight]
                # One draw for where (percent), the hospital's level (percent), med_type
                # (percent) and which institution of its kind.
                w = bits(62)
                r, which = w % 100, w // 1_000_000
                if r < 3:  # a hospital outside the city
                    inst = remote[which % len(remote)]
                    med_type = "13" if w // 100 % 100 < 35 else "11"
                    r = w // 10_000 % 10
                    if r < 4 and long_term:
                        person = long_term[bits(30) % len(long_term)]
                    elif r < 7 and referral:
                        person = referral[bits(30) % len(referral)]
                elif r < 33:
                    inst, med_type = pharmacies[which % len(pharmacies)], "41"
                else:
                    r, r2 = w // 100 % 100, w // 10_000 % 100
                    level = hospitals["1" if r < 45 else "2" if r < 75 else "3"]
                    inst = level[which % len(level)]
                    med_type = "11" if r2 < 72 else "12" if r2 < 84 else "13" if r2 < 95 else "14"
                if closed and key is not None and closed.get(person) == key:
                    person, inst, med_type = self._redraw(key, inst, med_type)
                self.mdtrt_no += 1
                mdtrt_id = f"XM{self.mdtrt_no}"  # 11 digits: see __init__
                yield settle(t, info, person, inst, mdtrt_id, med_type, "", None, last)
                last = False
        yield from flush((first + ndays) * DAY - 1)

    def _redraw(self, key: str, inst: _Inst, med_type: str) -> tuple[int, _Inst, str]:
        """A closed person has no further covered settlement in the key: another person; when
        none is drawn, a purchase, which never uses pooling."""
        for _ in range(19):
            person = self.pop.pick(self.bits)
            if self.closed.get(person) != key:
                return person, inst, med_type
        return person, self.pharmacies[self.bits(30) % len(self.pharmacies)], "41"

    def _flush(self, until: int) -> Iterator[_Row]:
        while self.pending and self.pending[0][0] <= until:
            t, _, item = heapq.heappop(self.pending)
            info = self._day(t // DAY)
            if isinstance(item, _Visit):
                p, inst, mdtrt_id, med_type, plant, rx = item
                if not plant and info.key is not None and self.closed.get(p) == info.key:
                    continue  # a closed person has no further covered settlement in the key
                yield self._settle(t, info, p, inst, mdtrt_id, med_type, plant, rx, False)
            else:
                yield self._refund(t, info, item)

    def _refund_time(self, t: int, force: bool) -> int | None:
        """When the settlement at t is refunded (~1 % are), or None. Draws nothing when it is
        not forced and ``draw`` (the caller's draw, % 1000) says no refund."""
        bits = self.bits
        if force:  # early next month
            at = (t // DAY + 1 + bits(30) % 2) * DAY + OPEN + bits(30) % (CLOSE - OPEN)
        elif (d := bits(30) % 7) == 0:
            if t % DAY + 60 >= CLOSE:
                return None
            at = t + 60 + bits(30) % (CLOSE - t % DAY - 60)
        else:
            at = (t // DAY + d) * DAY + OPEN + bits(30) % (CLOSE - OPEN)
        return at if self._day(at // DAY).month in self.months else None

    def _flag(self, med_type: str, day: int, records: list[_Record] | None) -> str:
        """emergency_flag outside the city: "1" on an emergency (13) visit of a person with
        neither a residence nor a referral record that day (the only case where the 急危重 list
        decides), else "0". (Empty in the city.)"""
        unreferred = not (_has(records, LONG_TERM, day) or _has(records, REFERRAL, day))
        return "1" if med_type == "13" and unreferred else "0"

    def _plant_pooled(
        self, kind: str, c: _Calc, inst: _Inst, med_type: str
    ) -> tuple[int, int, list[tuple[str, str]]] | None:
        """A planted pooled payment: (reported deductible, reported hifp_pay, [(rule, note)])."""
        expected = f"expected {_money(c.pay if c.covered else 0)}"
        if kind in ("annual-cap", "monthly-cap") and c.covered and c.full - (c.cap - c.paid) >= 100:
            rule = f"{kind}-exceeded"
            note = (f"paid {_money(c.full)} with {_money(c.cap - c.paid)} left of the "
                    f"{_money(c.cap)} cap ({_money(c.paid)} paid before); {expected}")  # fmt: skip
            return c.ded, c.full, [(rule, note), ("benefit-mismatch", note)]
        if kind in ("over", "under") and c.covered and c.pay == c.full and c.pay >= 2_000:
            delta = (100 + self.bits(30) % 801) * (1 if kind == "over" else -1)
            if c.paid + c.pay + delta <= c.cap:
                note = f"hifp_pay {_money(delta)} off the rule; {expected}"
                return c.ded, c.pay + delta, [("benefit-mismatch", note)]
        if kind == "no-deductible" and c.covered and c.ded > 0:
            pay = min(_half_up(c.inscp * c.pct), c.cap - c.paid)
            if pay != c.pay:
                note = f"deductible {_money(c.ded)} not applied; {expected}"
                return 0, pay, [("benefit-mismatch", note)]
        paid_anyway = c.pay >= 100 and (c.covered or c.why_not == kind)
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
            and inst.admdvs == self.region
            and inst.tier == "1"
            and not inst.spec
            and med_type == "11"
        ):
            note = f"settled at {self.undesignated.code}, not on the list, paid {_money(c.pay)}"
            note += "; expected 0.00"
            return c.ded, c.pay, [("non-designated-institution", note), ("benefit-mismatch", note)]
        return None

    def _settle(
        self,
        t: int,
        info: _Day,
        pi: int,
        inst: _Inst,
        mdtrt_id: str,
        med_type: str,
        v_plant: str,
        v_rx: _Rx | None,
        force_refund: bool,
    ) -> _Row:
        """One settlement of person ``pi``'s visit at t (on day ``info``); v_plant and v_rx as
        in _Visit. The hot path: about a dozen draws, integer fen, one f-string."""
        bits = self.bits
        day = t // DAY
        key = info.key
        pop = self.pop
        ptype = pop.types[pi]
        # One draw for seven decisions: refund (per mille), then whether there are amounts
        # wholly at the person's charge, over the limit and partly self-paid (percent each),
        # medical aid (per mille), the personal account and the mutual-aid one (percent each).
        w = bits(62)
        refund_at = None
        if not v_plant and (force_refund or w % 1000 < 10):
            refund_at = self._refund_time(t, force_refund)
        kinds: Sequence[str] = ()
        if self.slots and not v_plant and refund_at is None and key:
            today, kinds = self.open_kinds
            if today != day:
                kinds = self._open_kinds(info, day)
            if kinds and not self._free(pi, key):
                kinds = ()
        if inst.kind == "2":
            fen = 800 + bits(30) % 29_201
        elif med_type == "12":  # registration only
            fen = 500 + bits(30) % 2_501
        elif med_type == "13":
            fen = 8_000 + bits(30) % 142_001
        else:
            low, count = _VISIT_FEN[inst.lv]
            fen = low + bits(30) % count
        inscp = fen * pop.mult[pi]
        ful = 100 + bits(30) % 7_901 if w // 1_000 % 100 < 35 else 0
        over = 50 + bits(30) % 2_951 if w // 100_000 % 100 < 8 else 0
        pre = 100 + bits(30) % 4_901 if w // 10_000_000 % 100 < 15 else 0
        medfee = ful + over + pre + inscp
        ded = pay = cvl = maf = 0
        prop = ""
        records = self.records.get(pi)
        remote = inst.remote
        flag = self._flag(med_type, day, records) if remote else ""
        found: Sequence[tuple[str, str]] = ()  # planted on this settlement: (rule, note)
        plant = ""
        # Pharmacy purchases and chronic-disease (14) visits do not use outpatient pooling here;
        # nothing before the rules took effect (2022-12) does either.
        if inst.kind == "1" and med_type != "14" and key is not None:
            # The rule's view of a pooling-type settlement.
            if records is None and not remote:  # most: the institution's tier, covered
                tier, why_not = inst.tier, ""
            else:
                long_term = remote and _has(records, LONG_TERM, day)
                referred = remote and _has(records, REFERRAL, day)
                tier = inst.tier if not remote or long_term else OUTSIDE
                why_not = (
                    "arrears"
                    if records is not None and _has(records, ARREARS, day)
                    else "outside"
                    if remote and not (long_term or referred or flag == "1")
                    else ""
                )
            if self.acc_key[pi] != info.key_no:  # December 2022 does not carry into 2023
                self.acc_key[pi], self.acc_ded[pi], self.acc_paid[pi] = info.key_no, 0, 0
            borne, paid = self.acc_ded[pi], self.acc_paid[pi]
            if key == DEC_2022:
                d_l, cap = DEC_DEDUCTIBLE_FEN, DEC_CAP_FEN
            else:
                d_l, cap = DEDUCTIBLE_FEN[tier], ANNUAL_CAP_FEN
            pct = RATIO_PCT[tier][_RETIRED[ptype]]
            # min(inscp, max(0, d_l - borne)), min(full, cap - paid), without the calls
            c_ded = 0 if borne >= d_l else inscp if inscp < d_l - borne else d_l - borne
            full = ((inscp - c_ded) * pct + 50) // 100  # >= 0: half up is this
            # cap - paid is on the fen, so capping after rounding equals capping before it
            c_pay = full if full < cap - paid else cap - paid
            covered = not why_not
            if covered:
                ded, pay, prop = c_ded, c_pay, _PROP[pct]
            if kinds:
                c = _Calc(inscp, covered, why_not, d_l, cap, pct, borne, paid, c_ded, full, c_pay)
                for kind in kinds:
                    made = self._plant_pooled(kind, c, inst, med_type)
                    if made is not None:
                        ded, pay, found = made
                        prop, plant = _PROP[pct], kind
                        if kind == "non-designated":
                            inst = self.undesignated
                        break
            if v_plant == "duplicate":  # the rule: 0 (the first settlement exhausted it)
                ded = min(inscp, d_l)
                found = [("duplicate-visit-deductible",
                          f"deductible charged again ({_money(ded)}) in a second settlement of "
                          f"visit {mdtrt_id}; due 0.00 after the first")]  # fmt: skip
                plant = "duplicate"
                self.reserved.discard(pi)
            # A settlement that will be refunded is computed from the state at its time but does
            # not enter the state: the audit recomputes the year without it and its refund, so
            # every later settlement must already be computed as if it never happened. The state
            # follows the rule, never a planted amount.
            if covered and plant != "non-designated" and refund_at is None:
                borne += c_ded
                self.acc_ded[pi], self.acc_paid[pi] = borne, paid + c_pay
                # Occasionally a second settlement of the same visit, same day, same institution.
                # Only when this one exhausted the deductible, so it bears none both by the
                # cumulative rule and by Shanxi art. 22 (only a visit's first settlement bears it).
                dup = "duplicate" in kinds and not plant and c_ded > 0
                if borne >= d_l and not v_plant and not plant and (dup or bits(30) % 25 == 0):
                    t2 = t + 300 + bits(30) % 5_100
                    if t2 % DAY < CLOSE and t2 // DAY == day:
                        again = "duplicate" if dup else ""
                        self._push(t2, _Visit(pi, inst, mdtrt_id, "11", again))
                        if dup:
                            self._close_slot("duplicate")
                            self.reserved.add(pi)
            if ptype == _CIVIL_SERVANT:  # civil-servant subsidy on the policy-scope remainder
                cvl = _half_up((inscp - pay) * (10 + bits(30) % 21))
        w //= 1_000_000_000  # what is left of the draw: medical aid, the accounts
        if w % 1000 < 5:  # a handful of medical-aid payments
            maf = min(500 + bits(30) % 4_501, medfee - pay - cvl)
        fund = pay + cvl + maf
        part = medfee - fund
        acct = mulaid = 0
        if not _NO_ACCOUNT[ptype]:
            r = w // 1000 % 100
            acct = part if r < 60 else bits(30) % (part + 1) if r < 85 else 0
            if acct and w // 100_000 % 100 < 4:  # family mutual-aid account pays part
                mulaid = 1 + bits(30) % acct
                acct -= mulaid
        elif "flexible" in kinds and not found and part > 0:
            acct = 1 + bits(30) % part
            found = [("flexible-worker-personal-account",
                      f"psn_type {_PSN_CODES[ptype]} has no personal account, acct_pay "
                      f"{_money(acct)}")]  # fmt: skip
            plant = "flexible"
        rx = ",,,"
        if inst.kind == "2":
            rx, plant, found = self._prescription(t, info, pi, inst, v_rx, kinds, plant, found)
        self.setl_no += 1
        setl_id = f"X{self.setl_no}"  # 12 digits: see __init__
        if plant and key is not None:
            for rule, note in found:
                self._note(rule, setl_id, note)
            self._close_slot(plant)
            if plant in _CLOSING:
                self.closed[pi] = key
        batch = info.batches.get(inst)
        if batch is None:
            batch = info.batches[inst] = [0, 0]
        personal = acct + mulaid
        batch[0] += pay
        batch[1] += personal
        money = self.money
        cash = part - personal
        # Three f-strings: one of more than 30 parts would be built through a list.
        row = (
            (
                f"{setl_id},{mdtrt_id},Q{pop.base + pi},{_NAMES[pop.names[pi]]},"
                f"{pop.certs[18 * pi : 18 * pi + 18]},{_PSN_CODES[ptype]},310,"
                f"{med_type},{info.text} {_CLOCK[t % DAY - OPEN]},{inst.fields},"
            )
            + (
                f"{money[medfee]},{money[ful]},{money[over]},{money[pre]},{money[inscp]},"
                f"{money[ded]},{money[pay]},{prop},{money[cvl]},0.00,0.00,0.00,"
            )
            + (
                f"{money[maf]},0.00,{money[fund]},{money[part]},{money[acct]},"
                f"{money[mulaid]},{money[cash]},{inst.tail}{flag},{rx}"
            )
        )
        if refund_at is not None:
            self._push(refund_at, _Refund(row, inst, pay, personal))
        return row

    def _prescription(
        self,
        t: int,
        info: _Day,
        pi: int,
        inst: _Inst,
        v_rx: _Rx | None,
        kinds: Sequence[str],
        plant: str,
        found: Sequence[tuple[str, str]],
    ) -> tuple[str, str, Sequence[tuple[str, str]]]:
        """The prescription of a pharmacy purchase (written 0-3 days before), possibly planted:
        its four fields joined, the plant, what was planted."""
        bits = self.bits
        day = t // DAY
        if v_rx is not None:  # the planted second purchase of one prescription's drug
            note = f"rx {v_rx[0]} drug {v_rx[3]} already bought at another pharmacy"
            return ",".join(v_rx), "same-drug", [("same-drug-two-institutions", note)]
        self.rx_no += 1
        rx_no = f"CF{self.rx_no}"
        prescriber = self.prescribers[bits(30) % len(self.prescribers)]
        w = bits(30)  # the lag (days) and the drug
        lag, drug = w % (RX_VALID_DAYS + 1), self.drugs[w // 16 % len(self.drugs)]
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
                and (others := [p for p in self.pharmacies if p is not inst])
                and self._day(day + 1).month in self.months
            ):
                lag = bits(30) % RX_VALID_DAYS  # still valid on the next day
                rx = (rx_no, prescriber, info.back[lag], drug)
                other = others[bits(30) % len(others)]
                # the next day: the earliest a second purchase of it is planted
                t2 = (day + 1) * DAY + OPEN + bits(30) % (CLOSE - OPEN)
                self.mdtrt_no += 1
                second = _Visit(pi, other, f"XM{self.mdtrt_no}", "41", "same-drug", rx)
                self._push(t2, second)
                self._close_slot("same-drug")
        return f"{rx_no},{prescriber},{info.back[lag]},{drug}", plant, found

    def _refund(self, t: int, info: _Day, due: _Refund) -> _Row:
        """2208 reversal: new setl_id, same visit, every money field negated."""
        self.setl_no += 1
        row = due.row.split(",")
        for i in _MONEY_INDEX:
            if row[i] != "0.00":  # never write "-0.00"; the originals are never negative
                row[i] = "-" + row[i]
        row[_INIT], row[_REFD] = row[_SETL_ID], "1"
        row[_SETL_ID] = f"X{self.setl_no}"
        row[_SETL_TIME] = f"{info.text} {_CLOCK[t % DAY - OPEN]}"
        batch = info.batches.get(due.inst)
        if batch is None:
            batch = info.batches[due.inst] = [0, 0]
        batch[0] -= due.pooled
        batch[1] -= due.personal
        return ",".join(row)


def iter_settlement_rows(spec: CitySpec) -> Iterator[dict[str, str]]:
    """All months' settlement rows, in (setl_time, setl_id) order, streamed."""
    stream = _Stream(spec)
    return (dict(zip(SETTLEMENT_HEADER, row.split(","), strict=True)) for row in stream.rows())


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
        debit, credit = (
            (_decimal_money(-amount), "") if amount < 0 else ("", _decimal_money(amount))
        )
        lines.append(
            [f"{pay_month}-{day:02d}", debit, credit, _decimal_money(balance), *party, summary]
        )

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


def _write_statements(
    spec: CitySpec, stream: _Stream, out_dir: Path, report: Callable[[Path, int], None]
) -> list[Path]:
    """Both accounts' statements of every payment month, from the batch parts the stream
    gathered, and bank-accounts.json. Returns the statements, account by account (100401
    first), months in order."""
    # an institution not on the list (the planted clinic): its name as its settlements give it
    names = {inst.code: inst.name for batches in stream.batches.values() for inst in batches}
    names.update((i["fixmedins_code"], i["fixmedins_name"]) for i in institution_rows(spec))
    totals = {
        key: (_yuan(pooled), _yuan(personal))
        for key, (pooled, personal) in stream.batch_parts().items()
    }
    codes = sorted({code for _, code, _ in totals})
    parties = {c: (names[c], _bank_account_no(spec, c)) for c in codes}
    fiscal = (fiscal_account_name(spec.region), _bank_account_no(spec, "fiscal"))
    paths: list[Path] = []
    accounts: list[dict[str, object]] = []
    for index, (code, account, encoding) in enumerate(BANK_ACCOUNTS):
        balance = ZERO
        files = []
        for month in spec.months:
            batches = sorted(
                (inst, clr_type, parts[index])
                for (m, inst, clr_type), parts in totals.items()
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
            report(path, len(lines))
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


def _write_settlements(path: Path, rows: Iterator[_Row]) -> tuple[Path, int]:
    """A month's settlement file; returns it and its row count."""
    count = 0

    def write(fh: IO[str]) -> None:
        nonlocal count
        fh.write(",".join(SETTLEMENT_HEADER) + "\n")
        while chunk := list(itertools.islice(rows, 4096)):
            fh.write("\n".join(chunk))
            fh.write("\n")
            count += len(chunk)

    return _write_atomic(path, write), count


def _no_report(path: Path, rows: int) -> None:
    pass


def write_city(
    spec: CitySpec, out_dir: Path, report: Callable[[Path, int], None] = _no_report
) -> list[Path]:
    """Writes out_dir/institutions.csv, out_dir/persons.csv, out_dir/settlements-YYYY-MM.csv
    (one per month), out_dir/bank-<code>-<YYYY-MM>.csv (each disbursement account's statement
    of each payment month: the month after each of the spec's months; 100401 in UTF-8, 100402
    in GB18030), out_dir/bank-accounts.json (books account, code and statement files of each
    account) and out_dir/planted.json (the planted mistakes, sorted by rule and setl_id; an
    empty list when none are planted). Returns the paths of the CSV files: institutions,
    persons, the settlement months in order, then the statements (100401's months in order,
    then 100402's). ``report(path, rows)`` is called as each CSV file is written (rows without
    the header)."""
    _validate(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    institutions = institution_rows(spec)
    paths = [_write_csv(out_dir / "institutions.csv", INSTITUTION_HEADER, institutions)]
    report(paths[0], len(institutions))
    pop = _Population(spec)
    persons = _person_rows(pop, _records(spec, pop))
    paths.append(_write_csv(out_dir / "persons.csv", PERSON_HEADER, persons))
    report(paths[1], len(persons))
    del persons
    stream = _Stream(spec, pop)
    for month, rows in stream.months_rows():
        path, count = _write_settlements(out_dir / f"settlements-{month}.csv", rows)
        paths.append(path)
        report(path, count)
    paths += _write_statements(spec, stream, out_dir, report)

    def write_planted(fh: IO[str]) -> None:
        planted = _sorted_planted(stream.planted)
        fh.write(json.dumps(planted, ensure_ascii=False, indent=2) + "\n")

    _write_atomic(out_dir / "planted.json", write_planted)
    return paths
