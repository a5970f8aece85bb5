"""The generator's fee details (费用明细, ``mzledger.synth.fees``): every settlement's items add
up to it exactly, they are what the importer takes and the fee-detail rules accept, a refunded
settlement has none, and the same arguments write the same bytes."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from importers.fee_details.record import parse_fee_detail
from importers.fee_details.rules import REQUIRED_COLUMNS
from ledger.charge_items import DRUGS, EXAMINATIONS, MED_CHRGITM_TYPES
from mzledger.synth import CitySpec, write_city
from mzledger.synth.fees import FEE_DETAILS_HEADER, FeeItems
from mzledger.synth.settlements import _Stream
from tests.test_synth import City, Row, _city, d, read_csv

#: (the items' field, the settlement's field) that must add up, as the audit compares them.
SUMS = (
    ("det_item_fee_sumamt", "medfee_sumamt"),
    ("fulamt_ownpay_amt", "fulamt_ownpay_amt"),
    ("overlmt_amt", "overlmt_selfpay"),
    ("preselfpay_amt", "preselfpay_amt"),
    ("inscp_scp_amt", "inscp_scp_amt"),
)
BIG = CitySpec(persons=3_000, institutions=24, settlements=30_000, months=("2023-01", "2023-02"))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return _city(CitySpec(), tmp_path_factory.mktemp("city"))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> City:
    return _city(BIG, tmp_path_factory.mktemp("big"))


def _items(city: City) -> list[Row]:
    return [r for p in city.paths if p.name.startswith("fee-details-") for r in read_csv(p)]


def _without_items(city: City) -> set[str]:
    """The settlements that must have no items: refunds, what they reverse, and the planted
    second purchase of one prescription's drug."""
    refunds = [r for r in city.rows if r["refd_setl_flag"] == "1"]
    second = {p["setl_id"] for p in city.planted if p["rule"] == "same-drug-two-institutions"}
    return {r["setl_id"] for r in refunds} | {r["init_setl_id"] for r in refunds} | second


def _check_city(city: City) -> int:
    """Every settlement's items against it; returns how many settlements have items."""
    by_setl: dict[str, list[Row]] = defaultdict(list)
    for item in _items(city):
        by_setl[item["feedetl_sn"].rsplit("-", 1)[0]].append(item)
    settlements = {r["setl_id"]: r for r in city.rows}
    assert set(by_setl) <= set(settlements)  # no item without its settlement
    none = _without_items(city)
    assert none and not none & set(by_setl)
    for setl_id, row in settlements.items():
        items = by_setl.get(setl_id, [])
        if setl_id in none:
            continue
        assert 1 <= len(items) <= 5, setl_id
        for item_field, settlement_field in SUMS:
            assert sum(d(i, item_field) for i in items) == d(row, settlement_field), setl_id
        _check_items(row, items)
    return len(by_setl)


def _check_items(row: Row, items: list[Row]) -> None:
    assert [i["feedetl_sn"] for i in items] == [f"{row['setl_id']}-{n}" for n in range(1, 6)][
        : len(items)
    ]
    pharmacy = row["fixmedins_type"] == "2"
    for item in items:
        for name in ("mdtrt_id", "psn_no", "fixmedins_code"):
            assert item[name] == row[name]
        assert item["fee_ocur_time"] == row["setl_time"]
        total = d(item, "det_item_fee_sumamt")
        assert total > 0 and total == sum(
            d(item, f)
            for f in ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
        )
        assert d(item, "cnt") * d(item, "pric") == total  # exact, not rounded
        category = item["med_chrgitm_type"]
        assert category in MED_CHRGITM_TYPES
        if category in DRUGS:
            assert 1 <= int(item["prd_days"]) <= 7
        else:
            assert item["prd_days"] == ""
        if pharmacy:
            assert category in DRUGS and item["rxno"] == row["rx_no"]
        else:
            assert item["rxno"] == ""
    if pharmacy:  # the prescribed drug first
        assert items[0]["med_list_codg"] == row["drug_code"]
    else:
        assert items[0]["med_chrgitm_type"] == "02"


def test_items_add_up_to_every_settlement(city: City) -> None:
    with_items = _check_city(city)
    assert with_items > 0.95 * len(city.rows)
    items = _items(city)
    assert 2.5 * with_items < len(items) < 3.5 * with_items  # about three a settlement
    categories = {i["med_chrgitm_type"] for i in items}
    assert {"02", "03", "04", "09", "10", "11"} <= categories
    exams = [i for i in items if i["med_chrgitm_type"] in EXAMINATIONS]
    assert exams and all(i["fixmedins_code"].startswith("H") for i in exams)


def test_items_add_up_on_a_bigger_city(big: City) -> None:
    assert _check_city(big) > 0.95 * len(big.rows) > 25_000


def test_items_are_what_the_importer_takes(city: City) -> None:
    paths = [p for p in city.paths if p.name.startswith("fee-details-")]
    assert [p.name for p in paths] == [f"fee-details-{m}.csv" for m in CitySpec().months]
    for path in paths:
        header = path.read_text("utf-8").splitlines()[0].split(",")
        assert header == list(FEE_DETAILS_HEADER) and set(REQUIRED_COLUMNS) <= set(header)
        for n, raw in enumerate(read_csv(path), 2):
            record, problems, notices = parse_fee_detail(raw, f"{path.name}:{n}")
            assert record is not None and problems == [] and notices == []
            assert record["fee_period"] == path.stem.removeprefix("fee-details-")


def test_items_deterministic_and_their_own_stream(tmp_path: Path, city: City) -> None:
    write_city(CitySpec(), tmp_path / "a")
    write_city(CitySpec(seed=7), tmp_path / "seed")
    for month in CitySpec().months:
        name = f"fee-details-{month}.csv"
        assert (tmp_path / "a" / name).read_bytes() == (city.out / name).read_bytes()
        assert (tmp_path / "seed" / name).read_bytes() != (city.out / name).read_bytes()
    # one settlement's items are a function of the seed and its row alone
    fields = next(r for r in city.rows if r["fixmedins_type"] == "1" and r["refd_setl_flag"] == "0")
    line = ",".join(fields.values()).split(",")
    assert FeeItems(CitySpec()).items(line) == FeeItems(CitySpec()).items(line)
    assert FeeItems(CitySpec()).items(line) != FeeItems(CitySpec(seed=7)).items(line)


def test_what_the_stream_holds_for_the_items_leaves_with_the_rows() -> None:
    """The stream names the settlements without items until their rows go by: nothing is kept
    once the rows are written (memory stays flat)."""
    stream = _Stream(BIG)
    items, written = FeeItems(BIG), []

    class Sink:
        def write(self, text: str) -> int:
            written.append(text.count("\n"))
            return len(text)

    rows = 0
    for _month, month_rows in stream.months_rows():
        for _row in items.tee(stream, month_rows, Sink()):  # type: ignore[arg-type]
            rows += 1
            assert len(stream.no_items) < 50
    assert stream.no_items == set()
    assert sum(written) > 2.5 * rows
