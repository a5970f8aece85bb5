"""The findings' one model (reports.audit.findings): what the audit writes, the Fava page reads
back, and a file of another shape is refused naming the item and the field."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from reports.audit.findings import Finding, FindingsError, dump_findings, load_findings

FINDINGS = [
    Finding(
        "benefit-mismatch",
        "B1",
        "Q02",
        "H1",
        datetime.datetime(2023, 1, 10, 9),
        "clr-2023-01-H1-11",
        Decimal("125.00"),
        Decimal("120.00"),
        (("tier", "level-1"), ("ratio", "0.6")),
    ),
    Finding(
        "prescription-expired",
        "P7",
        "Q09",
        "P1",
        datetime.datetime(2023, 2, 3, 14, 5, 6),
        None,
        evidence=(("rx_no", "RX1"), ("days", "5")),
    ),
]


def _written(tmp_path: Path, items: object) -> Path:
    path = tmp_path / "2023.json"
    path.write_text(json.dumps(items, ensure_ascii=False), "utf-8")
    return path


def test_what_is_written_reads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "2023.json"
    path.write_text(dump_findings(FINDINGS), "utf-8")
    assert load_findings(path) == FINDINGS
    assert [Finding.from_dict(f.as_dict()) for f in FINDINGS] == FINDINGS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule": 5}, "rule: expected a string (found int)"),
        ({"setl_time": None}, "setl_time: expected a string (found NoneType)"),
        ({"batch": 7}, "batch: expected a string (found int)"),
        ({"evidence": [1]}, "evidence: expected an object"),
        # the types are checked before the values: this one says what it said before
        ({"rule": "nope", "article": 3}, "article: expected a string (found int)"),
        ({"rule": "nope"}, "rule: not a rule of the audit ('nope')"),
        (
            {"setl_time": "2023-01-10"},
            "setl_time: expected YYYY-MM-DD HH:MM:SS (found '2023-01-10')",
        ),
        (
            {"reported_hifp_pay": "x"},
            "reported_hifp_pay: expected an amount such as 12.50 (found 'x')",
        ),
        ({"expected_hifp_pay": "NaN"}, "expected_hifp_pay: expected an amount such as 12.50"),
    ],
)
def test_another_shape_is_refused_naming_item_and_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    second = {**FINDINGS[1].as_dict(), **change}
    with pytest.raises(FindingsError) as error:
        load_findings(_written(tmp_path, [FINDINGS[0].as_dict(), second]))
    assert str(error.value).startswith(f"2023.json: item 2: {message}")


def test_not_a_findings_list(tmp_path: Path) -> None:
    for items, message in (({}, "not a JSON array of findings"), ([3], "item 1: not an object")):
        with pytest.raises(FindingsError) as error:
            load_findings(_written(tmp_path, items))
        assert str(error.value) == f"2023.json: {message}"
    (tmp_path / "2023.json").write_text("[{", "utf-8")
    with pytest.raises(FindingsError) as error:
        load_findings(tmp_path / "2023.json")
    assert str(error.value).startswith("2023.json: cannot read: ")
