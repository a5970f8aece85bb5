"""The synthetic city generator: determinism, the settlement identities, the Anshan rules, the
planted mistakes (an independent recomputation here must find exactly what planted.json lists).
The disbursement accounts' bank statements: tests/test_synth_bank.py."""

from __future__ import annotations

import csv
import datetime
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from mzledger.synth import (
    MONEY_FIELDS,
    PLANTED_RULES,
    SETTLEMENT_HEADER,
    CitySpec,
    institution_rows,
    iter_settlement_rows,
    person_rows,
    planted_mistakes,
    write_city,
)

SAMPLE = Path(__file__).parent / "data" / "samples" / "settlements-sample.csv"
HEADER = (
    "setl_id,mdtrt_id,psn_no,psn_name,certno,psn_type,insutype,med_type,setl_time,fixmedins_code,"
    "fixmedins_name,fixmedins_type,medins_lv,medfee_sumamt,fulamt_ownpay_amt,overlmt_selfpay,"
    "preselfpay_amt,inscp_scp_amt,act_pay_dedc,hifp_pay,pool_prop_selfpay,cvlserv_pay,hifes_pay,"
    "hifmi_pay,hifob_pay,maf_pay,oth_pay,fund_pay_sumamt,psn_part_amt,acct_pay,acct_mulaid_pay,"
    "psn_cash_pay,hosp_part_amt,clr_type,clr_way,clr_optins,refd_setl_flag,init_setl_id,"
    "emergency_flag,rx_no,rx_institution,rx_date,drug_code"
)
REGION = "210300"
CENT = Decimal("0.01")
POOLED_MED_TYPES = frozenset({"11", "12", "13", "19"})  # not 14 (chronic), not 41 (pharmacy)
DEDUCTIBLE = {"1": Decimal(300), "2": Decimal(400), "3": Decimal(600), "outside": Decimal(600)}
RATIOS = {
    "1": ("0.60", "0.65"),
    "2": ("0.55", "0.60"),
    "3": ("0.50", "0.55"),
    "outside": ("0.50",) * 2,
}
# Rules whose settlement the fund should have paid less: listed with benefit-mismatch too.
PAID_BUT_NOT_DUE = frozenset(
    {"annual-cap-exceeded", "monthly-cap-exceeded", "arrears-period", "outside-city-not-covered",
     "non-designated-institution"}
)  # fmt: skip
Row = dict[str, str]


def d(row: Row, field: str) -> Decimal:
    return Decimal(row[field] or "0")


def period(row: Row) -> str:
    return "2022-12" if row["setl_time"].startswith("2022-12") else row["setl_time"][:4]


def read_csv(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass
class City:
    out: Path
    paths: list[Path]
    rows: list[Row]
    institutions: list[Row]
    persons: list[Row]
    planted: list[dict[str, str]]


def _city(spec: CitySpec, out: Path) -> City:
    paths = write_city(spec, out)
    rows = [r for p in paths if p.name.startswith("settlements-") for r in read_csv(p)]
    planted = json.loads((out / "planted.json").read_text(encoding="utf-8"))
    return City(out, paths, rows, read_csv(paths[0]), read_csv(paths[1]), planted)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return _city(CitySpec(), tmp_path_factory.mktemp("city"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> City:
    return _city(CitySpec(plant_mistakes=False), tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def rows(clean: City) -> list[Row]:
    return clean.rows


class Rules:
    """An independent audit: classification, recomputation and every planted rule."""

    def __init__(self, institutions: list[Row], persons: list[Row]) -> None:
        self.insts = {i["fixmedins_code"]: i for i in institutions}
        self.prescribers = {c for c, i in self.insts.items() if i["fixmedins_type"] == "1"}
        self.records: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for p in persons:
            self.records[p["psn_no"]].append((p["record"], p["begndate"], p["enddate"]))

    def active(self, psn_no: str, record: str, day: str) -> bool:
        return any(
            r == record and since <= day and (not until or day <= until)
            for r, since, until in self.records[psn_no]
        )

    @staticmethod
    def pooled(row: Row) -> bool:
        """Rows the benefit rule applies to (covered or not): hospital visits from 2022-12 on."""
        return (
            row["fixmedins_type"] == "1"
            and row["med_type"] in POOLED_MED_TYPES
            and row["setl_time"] >= "2022-12"
        )

    def tier(self, row: Row) -> tuple[str | None, str | None]:
        """(tier, None) when covered, else (None, the rule that says it is not)."""
        inst = self.insts.get(row["fixmedins_code"])
        if inst is None:
            return None, "non-designated-institution"
        psn, day = row["psn_no"], row["setl_time"][:10]
        if self.active(psn, "arrears", day):
            return None, "arrears-period"
        level = "1" if inst["spec_hosp"] == "1" else inst["medins_lv"]
        if inst["admdvs"] == REGION or self.active(psn, "long-term-residence", day):
            return level, None
        if self.active(psn, "referral", day) or row["emergency_flag"] == "1":
            return "outside", None
        return None, "outside-city-not-covered"

    def audit(self, rows: list[Row]) -> tuple[set[tuple[str, str]], set[str], Counter[str]]:
        """Findings (rule, setl_id); setl_ids whose act_pay_dedc or pool_prop_selfpay is not the
        recomputed one; and how many rows went by each classification."""
        refunded = {r["init_setl_id"] for r in rows if r["refd_setl_flag"] == "1"}
        borne: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        reported: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        due: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        charged: dict[tuple[str, str], list[Row]] = defaultdict(list)
        found: set[tuple[str, str]] = set()
        other: set[str] = set()
        kinds: Counter[str] = Counter()
        for r in rows:
            if r["refd_setl_flag"] == "1" or not self.pooled(r):
                continue
            live = r["setl_id"] not in refunded
            key = (r["psn_no"], period(r))
            dec = key[1] == "2022-12"
            tier, reason = self.tier(r)
            kinds[tier or reason or ""] += 1
            if tier is None:
                ded = pay = Decimal(0)
                prop = ""
                if reason and d(r, "hifp_pay") != 0:
                    found.add((reason, r["setl_id"]))
            else:
                e = d(r, "inscp_scp_amt")
                d_l = Decimal(30) if dec else DEDUCTIBLE[tier]
                ded = min(e, max(Decimal(0), d_l - borne[key]))
                cap_left = (Decimal(300) if dec else Decimal(3000)) - paid[key]
                ratio = Decimal(RATIOS[tier][r["psn_type"].startswith("12")])
                pay = min((e - ded) * ratio, cap_left).quantize(CENT, ROUND_HALF_UP)
                prop = f"{ratio:.4f}"
            if d(r, "hifp_pay") != pay:
                found.add(("benefit-mismatch", r["setl_id"]))
            if d(r, "act_pay_dedc") != ded or r["pool_prop_selfpay"] != prop:
                other.add(r["setl_id"])
            if not live:
                continue
            borne[key] += ded
            paid[key] += pay
            before = reported[key]
            reported[key] += d(r, "hifp_pay")
            cap = Decimal(300) if dec else Decimal(3000)
            if before <= cap < reported[key]:
                rule = "monthly-cap-exceeded" if dec else "annual-cap-exceeded"
                found.add((rule, r["setl_id"]))
            visit = (r["mdtrt_id"], r["fixmedins_code"])
            due[visit] += ded
            if d(r, "act_pay_dedc") > 0:
                charged[visit].append(r)
        for visit, charging in charged.items():
            if len(charging) > 1 and sum(d(r, "act_pay_dedc") for r in charging) > due[visit]:
                found.add(("duplicate-visit-deductible", charging[1]["setl_id"]))
        first_seller: dict[tuple[str, str], str] = {}
        for r in rows:
            if r["refd_setl_flag"] == "1" or r["setl_id"] in refunded:
                continue
            if r["psn_type"] in ("1103", "1203") and d(r, "acct_pay") != 0:
                found.add(("flexible-worker-personal-account", r["setl_id"]))
            if r["rx_date"]:
                age = datetime.date.fromisoformat(
                    r["setl_time"][:10]
                ) - datetime.date.fromisoformat(r["rx_date"])
                if age.days > 3:
                    found.add(("prescription-expired", r["setl_id"]))
            if r["rx_institution"] and r["rx_institution"] not in self.prescribers:
                found.add(("prescription-not-designated", r["setl_id"]))
            if r["rx_no"]:
                seller = first_seller.setdefault((r["rx_no"], r["drug_code"]), r["fixmedins_code"])
                if seller != r["fixmedins_code"]:
                    found.add(("same-drug-two-institutions", r["setl_id"]))
        return found, other, kinds


def test_files_deterministic_and_equal_to_stream(tmp_path: Path, city: City) -> None:
    a = write_city(CitySpec(), tmp_path / "a")
    b = write_city(CitySpec(), tmp_path / "b")
    months = CitySpec().months
    codes = ("100401", "100402", "1003")  # the fiscal special account's statements last
    bank = [f"bank-{code}-2023-{m:02d}.csv" for code in codes for m in range(1, 5)]
    fees = [f"fee-details-{m}.csv" for m in months]
    names = [
        "institutions.csv",
        "persons.csv",
        *(f"settlements-{m}.csv" for m in months),
        *fees,
        *bank,
    ]
    assert [p.name for p in a] == names == [p.name for p in b]
    extra = (
        "planted.json",
        "bank-accounts.json",
        "opening-balances.csv",
        "family-bindings.csv",
        *(f"contributions-{m}.csv" for m in months if m >= "2023-01"),
    )
    for pa, pb in zip(
        [*a, *(tmp_path / "a" / e for e in extra)],
        [*b, *(tmp_path / "b" / e for e in extra)],
        strict=True,
    ):
        assert pa.read_bytes() == pb.read_bytes()
        assert b"\r" not in pa.read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted([*names, *extra])
    read: list[Row] = []
    for p in a[2 : 2 + len(months)]:
        month_rows = read_csv(p)
        month = p.stem.removeprefix("settlements-")
        assert all(r["setl_time"].startswith(month) for r in month_rows)
        assert month_rows == sorted(month_rows, key=lambda r: (r["setl_time"], r["setl_id"]))
        read += month_rows
    assert read == list(iter_settlement_rows(CitySpec())) == city.rows
    assert planted_mistakes(CitySpec()) == city.planted
    assert next(iter_settlement_rows(CitySpec(seed=1))) != read[0]  # the seed matters


def test_headers(tmp_path: Path) -> None:
    paths = write_city(CitySpec(months=("2023-01",), settlements_per_month=5), tmp_path)
    assert paths[0].read_text(encoding="utf-8").splitlines()[0] == (
        "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs"
    )
    assert paths[1].read_text(encoding="utf-8").splitlines()[0] == (
        "psn_no,record,begndate,enddate"
    )
    assert paths[2].read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert ",".join(SETTLEMENT_HEADER) == HEADER
    if SAMPLE.exists():  # the sample's columns, then the optional audit columns
        assert HEADER.startswith(SAMPLE.read_text(encoding="utf-8").splitlines()[0] + ",")


def test_institutions() -> None:
    insts = institution_rows(CitySpec())
    assert len(insts) == 14 and len({i["fixmedins_code"] for i in insts}) == 14
    assert len({i["fixmedins_name"] for i in insts}) == 14
    city, remote = insts[:12], insts[12:]
    kinds = Counter((i["fixmedins_type"], i["medins_lv"], i["spec_hosp"]) for i in city)
    assert {("1", "1", "0"), ("1", "2", "0"), ("1", "3", "0"), ("1", "2", "1")} <= set(kinds)
    assert kinds[("2", "", "0")] >= 2
    for i in city:
        assert re.fullmatch(r"[HP]210301\d{2}", i["fixmedins_code"]) and i["admdvs"] == "210300"
        assert i["fixmedins_code"][0] == ("P" if i["fixmedins_type"] == "2" else "H")
    assert [(i["medins_lv"], i["admdvs"]) for i in remote] == [("3", "210100"), ("2", "110100")]
    for i in remote:
        assert i["fixmedins_code"] == f"H{i['admdvs'][:4]}0001" and i["fixmedins_type"] == "1"
    small = institution_rows(CitySpec(institutions=4))
    assert sorted(i["medins_lv"] for i in small) == ["", "1", "2", "2", "3", "3"]
    elsewhere = institution_rows(CitySpec(region="210100"))[-2:]
    assert [(i["medins_lv"], i["admdvs"]) for i in elsewhere] == [("3", "310100"), ("2", "110100")]


def test_persons_file(city: City) -> None:
    assert city.persons == person_rows(CitySpec())
    assert city.persons == sorted(
        city.persons, key=lambda p: (p["psn_no"], p["record"], p["begndate"])
    )
    iso = re.compile(r"\d{4}-\d{2}-\d{2}")
    for p in city.persons:
        assert list(p) == ["psn_no", "record", "begndate", "enddate"]
        assert re.fullmatch(r"Q\d{9}", p["psn_no"])
        assert p["record"] in ("long-term-residence", "referral", "arrears")
        assert iso.fullmatch(p["begndate"]) and datetime.date.fromisoformat(p["begndate"])
        if p["enddate"]:
            assert iso.fullmatch(p["enddate"]) and p["begndate"] <= p["enddate"]
    records = Counter(p["record"] for p in city.persons)
    assert records["long-term-residence"] >= 3 and records["referral"] >= 3
    assert records["arrears"] >= 2
    assert any(p["enddate"] == "" for p in city.persons)
    assert any(p["enddate"] and p["record"] == "long-term-residence" for p in city.persons)
    psn_nos = {r["psn_no"] for r in city.rows}
    assert {p["psn_no"] for p in city.persons} <= psn_nos


def _check_identities(rows: Iterable[Row]) -> None:
    money = re.compile(r"-?\d+\.\d{2}")
    for r in rows:
        for f in MONEY_FIELDS:
            assert money.fullmatch(r[f]) and r[f] != "-0.00", (f, r[f])
        assert re.fullmatch(r"(0\.\d{4})?", r["pool_prop_selfpay"])
        assert r["insutype"] == "310" and r["clr_way"] == "1"
        # the clearing agency: the city's own, the 就医地's for an institution outside (异地就医);
        # an institution's code carries its region's first four digits
        assert r["clr_optins"] == r["fixmedins_code"][1:5] + "00"
        assert r["clr_type"] == ("13" if r["fixmedins_type"] == "2" else "11")
        assert "08:00:00" <= r["setl_time"][11:] < "20:00:00"
        funds = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay")
        fund = sum(d(r, f) for f in (*funds, "oth_pay"))  # hifdm_pay is not in the export: 0
        assert d(r, "fund_pay_sumamt") == fund
        assert d(r, "medfee_sumamt") == fund + d(r, "psn_part_amt") + d(r, "hosp_part_amt")
        parts = d(r, "acct_pay") + d(r, "acct_mulaid_pay") + d(r, "psn_cash_pay")
        assert d(r, "psn_part_amt") == parts
        assert d(r, "medfee_sumamt") == sum(
            d(r, f)
            for f in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
        )
        if r["refd_setl_flag"] == "0":
            assert all(d(r, f) >= 0 for f in MONEY_FIELDS)
            assert r["init_setl_id"] == ""
        remote = r["fixmedins_code"].startswith(("H2101", "H1101"))
        assert r["emergency_flag"] in (("0", "1") if remote else ("",))
        if r["fixmedins_type"] == "2":
            assert r["med_type"] == "41" and r["medins_lv"] == "" and r["pool_prop_selfpay"] == ""
            assert re.fullmatch(r"CF\d{12}", r["rx_no"])
            assert re.fullmatch(r"X[A-Z]\d{2}[A-Z]{3}\d{3}[A-Z]\d{3}", r["drug_code"])
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["rx_date"]) and r["rx_institution"]
        else:
            assert r["rx_no"] == r["rx_institution"] == r["rx_date"] == r["drug_code"] == ""
        if not Rules.pooled(r):
            assert d(r, "hifp_pay") == 0 == d(r, "act_pay_dedc")


def test_identities_and_formats(city: City, clean: City) -> None:
    _check_identities(city.rows)
    _check_identities(clean.rows)


def test_ids_persons_and_flexible_workers(rows: list[Row]) -> None:
    ids = [r["setl_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"X\d{12}", i) for i in ids)
    assert all(re.fullmatch(r"XM\d{11}", r["mdtrt_id"]) for r in rows)
    assert all(re.fullmatch(r"Q\d{9}", r["psn_no"]) for r in rows)
    assert all(re.fullmatch(r"\d{17}[\dX]", r["certno"]) for r in rows)
    flexible = [r for r in rows if r["psn_type"] in ("1103", "1203")]
    assert flexible
    assert all(d(r, "acct_pay") == 0 == d(r, "acct_mulaid_pay") for r in flexible)
    assert any(d(r, "acct_mulaid_pay") > 0 for r in rows)
    assert any(d(r, "cvlserv_pay") > 0 for r in rows)
    assert all(d(r, "cvlserv_pay") == 0 for r in rows if r["psn_type"] != "1102")
    assert any(d(r, "maf_pay") > 0 for r in rows)
    assert {r["psn_type"] for r in rows} == {"1101", "1102", "1103", "1201", "1202", "1203"}
    assert {r["med_type"] for r in rows} == {"11", "12", "13", "14", "41"}
    sales = [r for r in rows if r["fixmedins_type"] == "2" and r["refd_setl_flag"] == "0"]
    assert len({r["rx_no"] for r in sales}) == len(sales)  # one prescription per purchase
    for r in sales:
        age = datetime.date.fromisoformat(r["setl_time"][:10]) - datetime.date.fromisoformat(
            r["rx_date"]
        )
        assert 0 <= age.days <= 3 and re.fullmatch(r"H210301\d{2}", r["rx_institution"])


def test_refunds(city: City) -> None:
    rows = city.rows
    position = {r["setl_id"]: n for n, r in enumerate(rows)}
    refunds = [r for r in rows if r["refd_setl_flag"] == "1"]
    assert 0.005 * len(rows) < len(refunds) < 0.04 * len(rows)
    assert len({r["init_setl_id"] for r in refunds}) == len(refunds)
    crossing = 0
    for n, r in enumerate(rows):
        if r["refd_setl_flag"] != "1":
            continue
        orig = rows[position[r["init_setl_id"]]]
        assert position[orig["setl_id"]] < n and orig["setl_time"] < r["setl_time"]
        assert orig["refd_setl_flag"] == "0"
        for f in ("mdtrt_id", "psn_no", "fixmedins_code", "med_type", "pool_prop_selfpay"):
            assert r[f] == orig[f]
        for f in ("emergency_flag", "rx_no", "rx_institution", "rx_date", "drug_code"):
            assert r[f] == orig[f]
        for f in MONEY_FIELDS:
            assert d(r, f) == -d(orig, f)
        crossing += r["setl_time"][:7] != orig["setl_time"][:7]
    assert crossing >= 1


def test_first_2023_level1_visit_in_work(clean: City) -> None:
    """Worked example of domain.md section 4, on the generated data."""
    rules = Rules(clean.institutions, clean.persons)
    seen: set[str] = set()
    checked = 0
    for r in clean.rows:
        if r["refd_setl_flag"] == "1" or not rules.pooled(r) or period(r) != "2023":
            continue
        if r["psn_no"] in seen or rules.tier(r)[0] is None:
            continue
        seen.add(r["psn_no"])
        if rules.tier(r)[0] == "1" and r["psn_type"].startswith("11"):
            e = d(r, "inscp_scp_amt")
            assert d(r, "act_pay_dedc") == min(e, Decimal(300))
            expected = ((e - min(e, Decimal(300))) * Decimal("0.60")).quantize(CENT, ROUND_HALF_UP)
            assert d(r, "hifp_pay") == expected
            assert r["pool_prop_selfpay"] == "0.6000"
            checked += 1
    assert checked >= 5


def test_first_december_2022_visit(clean: City) -> None:
    rules = Rules(clean.institutions, clean.persons)
    seen: set[str] = set()
    for r in clean.rows:
        if period(r) != "2022-12" or not rules.pooled(r) or r["psn_no"] in seen:
            continue
        tier = rules.tier(r)[0]
        if tier is None:
            continue
        seen.add(r["psn_no"])
        ratio = Decimal(RATIOS[tier][r["psn_type"].startswith("12")])
        e = d(r, "inscp_scp_amt")
        ded = min(e, Decimal(30))
        assert d(r, "act_pay_dedc") == ded
        expected = min((e - ded) * ratio, Decimal(300)).quantize(CENT, ROUND_HALF_UP)
        assert d(r, "hifp_pay") == expected
    assert len(seen) > 50


def test_clean_city_follows_every_rule(clean: City) -> None:
    """Independent recomputation, remote visits, person records and arrears included: nothing."""
    assert clean.planted == []
    found, other, kinds = Rules(clean.institutions, clean.persons).audit(clean.rows)
    assert found == set() and other == set()
    # every classification is exercised
    assert {"1", "2", "3", "outside", "arrears-period", "outside-city-not-covered"} <= set(kinds)
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in clean.rows:
        net[(r["psn_no"], period(r))] += d(r, "hifp_pay")
    for (_, per), total in net.items():
        assert total <= (Decimal(300) if per == "2022-12" else Decimal(3000))
    assert Decimal(300) in {v for k, v in net.items() if k[1] == "2022-12"}  # the caps do bind
    assert Decimal(3000) in {v for k, v in net.items() if k[1] == "2023"}


def test_remote_visits_and_records(clean: City) -> None:
    rules = Rules(clean.institutions, clean.persons)
    remote = [r for r in clean.rows if r["emergency_flag"] and r["refd_setl_flag"] == "0"]
    share = len(remote) / len(clean.rows)
    assert 0.01 < share < 0.06
    seen: Counter[str] = Counter()
    for r in remote:
        psn, day = r["psn_no"], r["setl_time"][:10]
        tier, reason = rules.tier(r)
        if rules.active(psn, "long-term-residence", day):
            seen["long-term"] += 1
            assert tier in ("2", "3") and r["emergency_flag"] == "0"
        elif rules.active(psn, "referral", day):
            seen["referral"] += 1
            assert tier == "outside" and r["emergency_flag"] == "0"
        elif r["emergency_flag"] == "1":
            seen["emergency"] += 1
            assert r["med_type"] == "13" and tier == "outside"
        else:
            seen["not covered"] += 1
            assert reason in ("outside-city-not-covered", "arrears-period")
            assert d(r, "hifp_pay") == 0 == d(r, "act_pay_dedc")
    assert min(seen[k] for k in ("long-term", "referral", "emergency", "not covered")) >= 2
    arrears = [
        r
        for r in clean.rows
        if rules.pooled(r) and rules.active(r["psn_no"], "arrears", r["setl_time"][:10])
    ]
    assert arrears and all(d(r, "hifp_pay") == 0 == d(r, "act_pay_dedc") for r in arrears)


def test_planted_mistakes_are_exactly_what_an_audit_finds(city: City) -> None:
    planted = city.planted
    assert len(planted) >= 10
    assert {p["rule"] for p in planted} == set(PLANTED_RULES)
    assert planted == sorted(planted, key=lambda p: (p["rule"], p["setl_id"]))
    assert all(set(p) == {"rule", "setl_id", "note"} and p["note"] for p in planted)
    by_id = {r["setl_id"]: r for r in city.rows}
    refunded = {r["init_setl_id"] for r in city.rows if r["refd_setl_flag"] == "1"}
    listed = {(p["rule"], p["setl_id"]) for p in planted}
    assert len(listed) == len(planted)
    for rule, setl_id in listed:
        row = by_id[setl_id]
        assert row["refd_setl_flag"] == "0" and setl_id not in refunded
        assert row["setl_time"][:4] == "2023" or rule in (
            "monthly-cap-exceeded",
            "benefit-mismatch",
        )
        if rule in PAID_BUT_NOT_DUE:
            assert ("benefit-mismatch", setl_id) in listed
    december = {s for r, s in listed if by_id[s]["setl_time"].startswith("2022-12")}
    assert len(december) == 1
    assert ("monthly-cap-exceeded", next(iter(december))) in listed

    found, other, _ = Rules(city.institutions, city.persons).audit(city.rows)
    assert found == listed
    mismatches = {s for r, s in found if r == "benefit-mismatch"}
    assert mismatches == {p["setl_id"] for p in planted if p["rule"] == "benefit-mismatch"}
    assert other <= {s for _, s in listed}  # act_pay_dedc / ratio differ only where planted
    duplicate = next(p["setl_id"] for p in planted if p["rule"] == "duplicate-visit-deductible")
    assert duplicate in other and duplicate not in mismatches
    flexible = by_id[
        next(p["setl_id"] for p in planted if p["rule"] == "flexible-worker-personal-account")
    ]
    assert flexible["psn_type"] in ("1103", "1203") and d(flexible, "acct_pay") > 0


def test_plants_on_other_specs() -> None:
    """Every spec stays self-consistent: the audit finds exactly what is listed."""
    for spec in (
        CitySpec(seed=7, persons=120, settlements_per_month=250),
        CitySpec(seed=11, institutions=4, months=("2023-01", "2023-02")),
        CitySpec(seed=5, months=("2022-11", "2022-12")),
    ):
        rows = list(iter_settlement_rows(spec))
        planted = planted_mistakes(spec)
        rules = Rules(institution_rows(spec), person_rows(spec))
        found, other, _ = rules.audit(rows)
        assert found == {(p["rule"], p["setl_id"]) for p in planted}, spec
        assert other <= {p["setl_id"] for p in planted}
        _check_identities(rows)
    assert [p["rule"] for p in planted_mistakes(CitySpec(months=("2022-12",)))] == [
        "benefit-mismatch",
        "monthly-cap-exceeded",
    ]


def test_invalid_specs_rejected() -> None:
    for bad in (
        CitySpec(institutions=3),
        CitySpec(months=("2023-02", "2023-01")),
        CitySpec(months=("2023-13",)),
        CitySpec(region="2103"),
    ):
        with pytest.raises(ValueError):
            next(iter_settlement_rows(bad))
