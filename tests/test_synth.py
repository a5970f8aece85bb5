"""The synthetic city generator: determinism, the settlement identities and the Anshan rules."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from mzledger.synth import (
    MONEY_FIELDS,
    SETTLEMENT_HEADER,
    CitySpec,
    institution_rows,
    iter_settlement_rows,
    write_city,
)

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "settlements-sample.csv"
HEADER = (
    "setl_id,mdtrt_id,psn_no,psn_name,certno,psn_type,insutype,med_type,setl_time,fixmedins_code,"
    "fixmedins_name,fixmedins_type,medins_lv,medfee_sumamt,fulamt_ownpay_amt,overlmt_selfpay,"
    "preselfpay_amt,inscp_scp_amt,act_pay_dedc,hifp_pay,pool_prop_selfpay,cvlserv_pay,hifes_pay,"
    "hifmi_pay,hifob_pay,maf_pay,oth_pay,fund_pay_sumamt,psn_part_amt,acct_pay,acct_mulaid_pay,"
    "psn_cash_pay,hosp_part_amt,clr_type,clr_way,clr_optins,refd_setl_flag,init_setl_id"
)
CENT = Decimal("0.01")
Row = dict[str, str]


def d(row: Row, field: str) -> Decimal:
    return Decimal(row[field] or "0")


def period(row: Row) -> str:
    return "2022-12" if row["setl_time"].startswith("2022-12") else row["setl_time"][:4]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return list(iter_settlement_rows(CitySpec()))


@pytest.fixture(scope="module")
def spec_hosp() -> set[str]:
    return {i["fixmedins_code"] for i in institution_rows(CitySpec()) if i["spec_hosp"] == "1"}


def covered(row: Row) -> bool:
    """Rows that use outpatient pooling: in-city hospital visits other than chronic (14)."""
    return row["fixmedins_type"] == "1" and row["med_type"] != "14"


def test_files_deterministic_and_equal_to_stream(tmp_path: Path, rows: list[Row]) -> None:
    a = write_city(CitySpec(), tmp_path / "a")
    b = write_city(CitySpec(), tmp_path / "b")
    names = ["institutions.csv"] + [f"settlements-{m}.csv" for m in CitySpec().months]
    assert [p.name for p in a] == names == [p.name for p in b]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
        assert b"\r" not in pa.read_bytes()
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.endswith(".tmp")]
    read: list[Row] = []
    for p in a[1:]:
        with p.open(encoding="utf-8", newline="") as fh:
            month_rows = list(csv.DictReader(fh))
        month = p.stem.removeprefix("settlements-")
        assert all(r["setl_time"].startswith(month) for r in month_rows)
        assert month_rows == sorted(month_rows, key=lambda r: (r["setl_time"], r["setl_id"]))
        read += month_rows
    assert read == rows
    assert next(iter_settlement_rows(CitySpec(seed=1))) != rows[0]  # the seed matters


def test_headers(tmp_path: Path) -> None:
    paths = write_city(CitySpec(months=("2023-01",), settlements_per_month=5), tmp_path)
    assert paths[0].read_text(encoding="utf-8").splitlines()[0] == (
        "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs"
    )
    assert paths[1].read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert ",".join(SETTLEMENT_HEADER) == HEADER
    if SAMPLE.exists():
        assert SAMPLE.read_text(encoding="utf-8").splitlines()[0] == HEADER


def test_institutions() -> None:
    insts = institution_rows(CitySpec())
    assert len(insts) == 12 and len({i["fixmedins_code"] for i in insts}) == 12
    assert len({i["fixmedins_name"] for i in insts}) == 12
    kinds = Counter((i["fixmedins_type"], i["medins_lv"], i["spec_hosp"]) for i in insts)
    assert {("1", "1", "0"), ("1", "2", "0"), ("1", "3", "0"), ("1", "2", "1")} <= set(kinds)
    assert kinds[("2", "", "0")] >= 2
    for i in insts:
        assert re.fullmatch(r"[HP]210301\d{2}", i["fixmedins_code"]) and i["admdvs"] == "210300"
        assert i["fixmedins_code"][0] == ("P" if i["fixmedins_type"] == "2" else "H")
    small = institution_rows(CitySpec(institutions=4))
    assert sorted(i["medins_lv"] for i in small) == ["", "1", "2", "3"]


def test_identities_and_formats(rows: list[Row]) -> None:
    money = re.compile(r"-?\d+\.\d{2}")
    for r in rows:
        for f in MONEY_FIELDS:
            assert money.fullmatch(r[f]) and r[f] != "-0.00", (f, r[f])
        assert re.fullmatch(r"(0\.\d{4})?", r["pool_prop_selfpay"])
        assert r["insutype"] == "310" and r["clr_way"] == "1" and r["clr_optins"] == "210300"
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
        if r["fixmedins_type"] == "2":
            assert r["med_type"] == "41" and r["medins_lv"] == "" and r["pool_prop_selfpay"] == ""
        if not covered(r):
            assert d(r, "hifp_pay") == 0 == d(r, "act_pay_dedc")


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


def test_refunds(rows: list[Row]) -> None:
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
        for f in MONEY_FIELDS:
            assert d(r, f) == -d(orig, f)
        crossing += r["setl_time"][:7] != orig["setl_time"][:7]
    assert crossing >= 1


def test_first_2023_level1_visit_in_work(rows: list[Row]) -> None:
    """Worked example of domain.md section 4, on the generated data."""
    seen: set[str] = set()
    checked = 0
    for r in rows:
        if r["refd_setl_flag"] == "1" or not covered(r) or period(r) != "2023":
            continue
        if r["psn_no"] in seen:
            continue
        seen.add(r["psn_no"])
        if r["medins_lv"] == "1" and r["psn_type"].startswith("11"):
            e = d(r, "inscp_scp_amt")
            assert d(r, "act_pay_dedc") == min(e, Decimal(300))
            expected = ((e - min(e, Decimal(300))) * Decimal("0.60")).quantize(CENT, ROUND_HALF_UP)
            assert d(r, "hifp_pay") == expected
            assert r["pool_prop_selfpay"] == "0.6000"
            checked += 1
    assert checked >= 5


def test_first_december_2022_visit(rows: list[Row], spec_hosp: set[str]) -> None:
    ratios = {"1": ("0.60", "0.65"), "2": ("0.55", "0.60"), "3": ("0.50", "0.55")}
    seen: set[str] = set()
    for r in rows:
        if period(r) != "2022-12" or not covered(r) or r["psn_no"] in seen:
            continue
        seen.add(r["psn_no"])
        tier = "1" if r["fixmedins_code"] in spec_hosp else r["medins_lv"]
        ratio = Decimal(ratios[tier][r["psn_type"].startswith("12")])
        e = d(r, "inscp_scp_amt")
        ded = min(e, Decimal(30))
        assert d(r, "act_pay_dedc") == ded
        expected = min((e - ded) * ratio, Decimal(300)).quantize(CENT, ROUND_HALF_UP)
        assert d(r, "hifp_pay") == expected
    assert len(seen) > 50


def test_full_recompute_and_caps(rows: list[Row], spec_hosp: set[str]) -> None:
    """Independent recomputation: a refunded settlement and its refund drop out of the year."""
    refunded = {r["init_setl_id"] for r in rows if r["refd_setl_flag"] == "1"}
    deductible = {"1": Decimal(300), "2": Decimal(400), "3": Decimal(600)}
    ratios = {"1": ("0.60", "0.65"), "2": ("0.55", "0.60"), "3": ("0.50", "0.55")}
    borne: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["refd_setl_flag"] == "1" or not covered(r):
            continue
        key = (r["psn_no"], period(r))
        tier = "1" if r["fixmedins_code"] in spec_hosp else r["medins_lv"]
        dec = key[1] == "2022-12"
        e = d(r, "inscp_scp_amt")
        ded = min(e, max(Decimal(0), (Decimal(30) if dec else deductible[tier]) - borne[key]))
        cap_left = (Decimal(300) if dec else Decimal(3000)) - paid[key]
        ratio = Decimal(ratios[tier][r["psn_type"].startswith("12")])
        assert d(r, "act_pay_dedc") == ded, r["setl_id"]
        assert d(r, "hifp_pay") == min((e - ded) * ratio, cap_left).quantize(CENT, ROUND_HALF_UP)
        assert r["pool_prop_selfpay"] == f"{ratio:.4f}"
        if r["setl_id"] not in refunded:
            borne[key] += ded
            paid[key] += d(r, "hifp_pay")
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        net[(r["psn_no"], period(r))] += d(r, "hifp_pay")
    for (_, per), total in net.items():
        assert total <= (Decimal(300) if per == "2022-12" else Decimal(3000))
    assert Decimal(300) in {v for k, v in net.items() if k[1] == "2022-12"}  # the caps do bind
    assert Decimal(3000) in {v for k, v in net.items() if k[1] == "2023"}


def test_shared_visits_only_first_bears_deductible(rows: list[Row]) -> None:
    by_visit: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r["refd_setl_flag"] == "0":
            by_visit[r["mdtrt_id"]].append(r)
    shared = [v for v in by_visit.values() if len(v) > 1]
    assert shared
    for visit in shared:
        assert len({(r["psn_no"], r["fixmedins_code"], r["setl_time"][:10]) for r in visit}) == 1
        assert all(d(r, "act_pay_dedc") == 0 for r in visit[1:])


def test_invalid_specs_rejected() -> None:
    for bad in (
        CitySpec(institutions=3),
        CitySpec(months=("2023-02", "2023-01")),
        CitySpec(months=("2023-13",)),
        CitySpec(region="2103"),
    ):
        with pytest.raises(ValueError):
            next(iter_settlement_rows(bad))
