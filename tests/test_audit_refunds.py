"""Refunds out of order (退费在后): a settlement paid right while an earlier one still stood, which
was refunded only after it, is its own finding (refund-out-of-order), not a benefit mismatch.

Worked by hand (level-1: deductible 300, 60% in work):
- O1 on 03-01: 200.00, all of it deductible, pooled 0.00.
- A1 on 03-05: 500.00 with O1 standing: 100.00 of the deductible left, (500 - 100) x 60% =
  240.00, as the platform paid it.
- O1 refunded on 03-10: A1 is now due (500 - 300) x 60% = 120.00. A1's 240.00 is
  refund-out-of-order (relied on O1), not a benefit-mismatch.
- Q2 for contrast: the same, but the refund came before A2: A2 paid 240.00 is a plain
  benefit-mismatch (nothing it relied on was standing).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli, settlement, write_csv
from tests.test_spreadsheet_safety import _refund_of

INSTITUTIONS = """fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs
H1,一级社区医院,1,1,0,
"""

DEDUCTIBLE_100 = {"act_pay_dedc": "100.00"}


def _rows() -> list[dict[str, str]]:
    o1 = settlement(
        "O1", "Q1", "2023-03-01 09:00:00", "H1", "200.00", "0.00", act_pay_dedc="200.00"
    )
    o2 = settlement(
        "O2", "Q2", "2023-03-01 09:00:00", "H1", "200.00", "0.00", act_pay_dedc="200.00"
    )
    return [
        o1,
        settlement("A1", "Q1", "2023-03-05 09:00:00", "H1", "500.00", "240.00", **DEDUCTIBLE_100),
        _refund_of(o1, "R1") | {"setl_time": "2023-03-10 09:00:00"},
        o2,
        _refund_of(o2, "R2") | {"setl_time": "2023-03-03 09:00:00"},
        settlement("A2", "Q2", "2023-03-05 09:00:00", "H1", "500.00", "240.00", **DEDUCTIBLE_100),
    ]  # fmt: skip


def test_a_payment_that_relied_on_a_later_refunded_settlement(books: Path, cli: Cli) -> None:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", _rows())
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    _code, out, _err = cli(
        "audit", "--period", "2023", "--format", "json", "--books", "books", expect=3
    )
    found = {(f["rule"], f["setl_id"]): f for f in json.loads(out)}
    assert set(found) == {("refund-out-of-order", "A1"), ("benefit-mismatch", "A2")}
    a1 = found[("refund-out-of-order", "A1")]
    assert (a1["reported_hifp_pay"], a1["expected_hifp_pay"]) == ("240.00", "120.00")
    assert a1["evidence"] == {
        "relied_on": "O1",
        "due_when_paid": "240.00",
        "deductible_borne_before_then": "200.00",
        "deductible_borne_before_now": "0.00",
        "cap_left_then": "3000.00",
        "cap_left_now": "3000.00",
        "key": "2023",
    }
    assert "退费" in a1["explanation_zh"]
    assert found[("benefit-mismatch", "A2")]["expected_hifp_pay"] == "120.00"
