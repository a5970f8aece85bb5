"""Deterministic synthetic settlement exports for a small city's employee outpatient pooling.

Used by the demo, the tests and the benchmarks. Everything is drawn from ``random.Random``
instances seeded from the spec (never the global generator, never the clock); amounts are drawn
as integer fen and carried as ``Decimal``, never float. Pooled payments follow the Anshan rules
(domain.md section 4) so that an audit recomputation over the generated data finds no deviation.
"""

from __future__ import annotations

import bisect
import calendar
import contextlib
import csv
import heapq
import itertools
import os
import random
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SETTLEMENT_HEADER: tuple[str, ...] = (
    "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno", "psn_type", "insutype", "med_type",
    "setl_time", "fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
    "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt", "clr_type", "clr_way", "clr_optins",
    "refd_setl_flag", "init_setl_id",
)  # fmt: skip
INSTITUTION_HEADER: tuple[str, ...] = (
    "fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv", "spec_hosp", "admdvs",
)  # fmt: skip
# Every money column of the settlement header (pool_prop_selfpay is a ratio, not money).
MONEY_FIELDS: tuple[str, ...] = tuple(
    f for f in SETTLEMENT_HEADER[13:33] if f != "pool_prop_selfpay"
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAY = 86_400
OPEN, CLOSE = 8 * 3600, 20 * 3600  # settlement times fall in [08:00:00, 20:00:00)
DEC_2022 = "2022-12"  # Anshan art. 32: transitional month with its own deductible and cap
DEDUCTIBLE = {"1": Decimal(300), "2": Decimal(400), "3": Decimal(600)}
RATIO = {  # tier -> (in work, retired), Anshan art. 9
    "1": (Decimal("0.60"), Decimal("0.65")),
    "2": (Decimal("0.55"), Decimal("0.60")),
    "3": (Decimal("0.50"), Decimal("0.55")),
}
ANNUAL_CAP = Decimal(3000)

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


@dataclass(frozen=True)
class CitySpec:
    """Shape of the synthetic city; equal specs always produce byte-identical output."""

    persons: int = 300
    # At least 4: a pharmacy and hospitals of levels 1, 2, 3; from 8 on also a specialty
    # (spec_hosp=1) level-2 hospital, which the benefit rules treat as level 1.
    institutions: int = 12
    months: tuple[str, ...] = ("2022-12", "2023-01", "2023-02", "2023-03")
    settlements_per_month: int = 400  # new settlements; shared-visit and refund rows come on top
    seed: int = 20230101
    region: str = "210300"


@dataclass(frozen=True)
class _Inst:
    code: str
    name: str
    kind: str  # fixmedins_type: "1" medical institution, "2" pharmacy
    lv: str  # "1"/"2"/"3"; "" for pharmacies
    spec: bool  # infectious-disease / psychiatric specialty hospital

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


@dataclass(frozen=True)
class _Visit:
    person: int
    inst: _Inst
    mdtrt_id: str
    med_type: str


class _Acc:
    """Running outpatient-pooling state of one person for one benefit period."""

    __slots__ = ("ded", "paid", "period")

    def __init__(self, period: str) -> None:
        self.period, self.ded, self.paid = period, ZERO, ZERO


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
    return date.fromordinal(t // DAY).strftime("%Y-%m")


def _timestamp(t: int) -> str:
    s = t % DAY
    return f"{date.fromordinal(t // DAY)} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _institutions(spec: CitySpec) -> list[_Inst]:
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
        out.append(_Inst(code, name, kind, lv, spec_hosp))
    return out


def institution_rows(spec: CitySpec) -> list[dict[str, str]]:
    """Rows of institutions.csv: every institution is in-city (admdvs = spec.region)."""
    _validate(spec)
    return [
        {"fixmedins_code": i.code, "fixmedins_name": i.name, "fixmedins_type": i.kind,
         "medins_lv": i.lv, "spec_hosp": "1" if i.spec else "0", "admdvs": spec.region}
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
        self.hospitals = {lv: [i for i in insts if i.lv == lv] for lv in ("1", "2", "3")}
        self.persons, self.person_cum = _persons(spec)
        self.rng = random.Random(f"{spec.seed}/settlements")
        self.setl_no = self.rng.randrange(10**11, 2 * 10**11)
        self.mdtrt_no = self.rng.randrange(10**10, 2 * 10**10)
        self.state: dict[int, _Acc] = {}
        self.pending: list[tuple[int, int, _Visit | dict[str, str]]] = []
        self.seq = 0

    def _push(self, t: int, item: _Visit | dict[str, str]) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (t, self.seq, item))

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
                    yield self._settle(t, self._new_visit(), force and day == ndays - 1)
                    force = force and day != ndays - 1
            yield from self._flush((first + ndays) * DAY - 1)

    def _flush(self, until: int) -> Iterator[dict[str, str]]:
        while self.pending and self.pending[0][0] <= until:
            t, _, item = heapq.heappop(self.pending)
            if isinstance(item, _Visit):
                yield self._settle(t, item, False)
            else:
                yield self._refund(t, item)

    def _new_visit(self) -> _Visit:
        rng = self.rng
        person = _pick(rng, self.person_cum)
        if rng.randrange(100) < 30:
            inst, med_type = rng.choice(self.pharmacies), "41"
        else:
            r = rng.randrange(100)
            inst = rng.choice(self.hospitals["1" if r < 45 else "2" if r < 75 else "3"])
            r = rng.randrange(100)
            med_type = "11" if r < 72 else "12" if r < 84 else "13" if r < 95 else "14"
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

    def _settle(self, t: int, v: _Visit, force_refund: bool) -> dict[str, str]:
        rng = self.rng
        person, inst, month = self.persons[v.person], v.inst, _month_of(t)
        refund_at = self._refund_time(t, force_refund)
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
        prop = ""
        # Pharmacy purchases and chronic-disease (14) visits do not use outpatient pooling here;
        # nothing before the rules took effect (2022-12) does either.
        if inst.kind == "1" and v.med_type != "14" and month >= DEC_2022:
            ratio = RATIO[inst.tier][person.psn_type.startswith("12")]
            period, d_l, cap = (
                (DEC_2022, Decimal(30), Decimal(300))
                if month == DEC_2022
                else (month[:4], DEDUCTIBLE[inst.tier], ANNUAL_CAP)
            )
            acc = self.state.get(v.person)
            if acc is None or acc.period != period:  # December 2022 does not carry into 2023
                acc = self.state[v.person] = _Acc(period)
            ded = min(inscp, max(ZERO, d_l - acc.ded))
            pay = _round(min((inscp - ded) * ratio, cap - acc.paid))
            prop = f"{ratio:.4f}"
            # A settlement that will be refunded is computed from the state at its time but does
            # not enter the state: the audit recomputes the year without it and its refund, so
            # every later settlement must already be computed as if it never happened.
            if refund_at is None:
                acc.ded += ded
                acc.paid += pay
                # Occasionally a second settlement of the same visit, same day, same institution.
                # Only when this one exhausted the deductible, so it bears none both by the
                # cumulative rule and by Shanxi art. 22 (only a visit's first settlement bears it).
                if acc.ded >= d_l and rng.randrange(100) < 4:
                    t2 = t + rng.randrange(300, 5_400)
                    if t2 % DAY < CLOSE and t2 // DAY == t // DAY:
                        self._push(t2, replace(v, med_type="11"))
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
        self.setl_no += 1
        row = {
            "setl_id": f"X{self.setl_no:012d}", "mdtrt_id": v.mdtrt_id, "psn_no": person.no,
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
        }  # fmt: skip
        if refund_at is not None:
            self._push(refund_at, dict(row))
        return row

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


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[dict[str, str]]) -> Path:
    """Write via a temp file in the same directory and os.replace: readers never see half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(header), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_city(spec: CitySpec, out_dir: Path) -> list[Path]:
    """Writes out_dir/institutions.csv and out_dir/settlements-YYYY-MM.csv (one per month);
    returns the paths, institutions first."""
    _validate(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [_write_csv(out_dir / "institutions.csv", INSTITUTION_HEADER, institution_rows(spec))]
    groups = itertools.groupby(iter_settlement_rows(spec), key=lambda r: r["setl_time"][:7])
    current = next(groups, None)
    for month in spec.months:
        rows: Iterable[dict[str, str]] = ()
        if current is not None and current[0] == month:
            rows = current[1]
        paths.append(_write_csv(out_dir / f"settlements-{month}.csv", SETTLEMENT_HEADER, rows))
        if current is not None and current[0] == month:
            current = next(groups, None)
    return paths
