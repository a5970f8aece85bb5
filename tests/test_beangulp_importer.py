"""The beangulp importer recognises settlement exports and yields validated rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from importers.beangulp_importer import SettlementImporter
from tests.conftest import SAMPLES


def test_identifies_settlement_exports_only(tmp_path: Path) -> None:
    importer = SettlementImporter()
    assert importer.identify(str(SAMPLES / "settlements-sample.csv"))
    assert importer.identify(str(SAMPLES / "2207-response-sample.json"))
    other = tmp_path / "statement.csv"
    other.write_text("date,amount,balance\n2023-02-10,-100.00,900.00\n", "utf-8")
    assert not importer.identify(str(other))
    assert not importer.identify(str(SAMPLES / "README.md"))


def test_records_and_no_entries() -> None:
    importer = SettlementImporter()
    sample = str(SAMPLES / "settlements-sample.csv")
    rows = list(importer.records(sample))
    assert [r.record["setl_id"] for r in rows if r.record and not r.problems] == [
        "X000000000001",
        "X000000000002",
        "X000000000003",
    ]
    # settlements are booked per clearing batch, never one entry per settlement
    assert importer.extract(sample, []) == []
    raw = list(importer.records(str(SAMPLES / "2207-response-sample.json"), "H21030101"))
    assert raw[0].problems == [] and raw[0].record is not None
    assert raw[0].record["hifp_pay"] == Decimal("30.00")
