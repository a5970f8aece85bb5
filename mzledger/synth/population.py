"""The city's people and places: designated institutions (``institutions.csv``) and insured
persons with their records (``persons.csv``: residence, referral, arrears periods)."""

from __future__ import annotations

import bisect
import calendar
import itertools
import random
from array import array
from collections.abc import Callable, Sequence
from datetime import date

from ledger.month import Month
from mzledger.synth.draws import _words
from mzledger.synth.rules import (
    _RETIRED,
    ARREARS,
    LONG_TERM,
    PSN_TYPES,
    REFERRAL,
    _first_day,
)
from mzledger.synth.spec import CitySpec, _validate

INSTITUTION_HEADER: tuple[str, ...] = (
    "fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv", "spec_hosp", "admdvs",
)  # fmt: skip
PERSON_HEADER: tuple[str, ...] = ("psn_no", "record", "begndate", "enddate")
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
        # clr_optins: the clearing agency, the 就医地's for an institution outside (异地就医)
        self.tail = f"0.00,{self.clr},1,{admdvs if self.remote else region},0,,"


# A person record: (record, first day, last day or None = open), days as ordinals.
_Record = tuple[str, int, int | None]


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
    months = [Month.parse(m) for m in spec.months or ("2023-01",)]
    first = _first_day(months[0])
    last = months[-1]
    span = _first_day(last) + calendar.monthrange(last.year, last.month)[1] - first
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


def _has(records: list[_Record] | None, record: str, day: int) -> bool:
    return records is not None and any(
        r == record and since <= day and (until is None or day <= until)
        for r, since, until in records
    )
