"""Pharmacy purchases with a pooled payment (定点药店购药, med_type 41) in the audit: their payment
counts toward the annual cap (Anshan art. 9), read as the policy's [pharmacy] says (art. 11
leaves the pharmacy standard to later), and every finding that rests on it says so.

Worked by hand (level-1: deductible 300, 60% in work, cap 3,000):
- Q1: clinic 5,134.00 -> (5,134 - 300) x 60% = 2,900.40 pooled, 99.60 of the cap left; then a
  pharmacy purchase paid 500.00: cap-only, 99.60 is due (and the cap is passed); then a clinic
  visit of 200.00 paid 0.00: nothing is left, silent (without counting the pharmacy it would be
  owed 99.60).
- Q2: a pharmacy purchase paid 500.00 first (due in full), then clinic 5,134.00 paid 2,900.40:
  only 2,500.00 of the cap is left.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli, settlement, write_csv

INSTITUTIONS = """fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs
H1,一级社区医院,1,1,0,
P1,一号药房,2,,0,
"""
READING = (
    "pharmacy reading: cap only (policy [pharmacy]; "
    "第九条（年度最高支付限额）、第十一条（定点零售药店门诊结算标准另行制定）)"
)


def _purchase(setl_id: str, psn_no: str, when: str, inscp: str, pooled: str) -> dict[str, str]:
    return settlement(
        setl_id, psn_no, when, "P1", inscp, pooled,
        med_type="41", clr_type="13", rx_no="RX" + setl_id, rx_institution="H1",
        rx_date=when[:10], drug_code="D" + setl_id,
    )  # fmt: skip


ROWS = [
    settlement("A1", "Q1", "2023-03-01 09:00:00", "H1", "5134.00", "2900.40",
               act_pay_dedc="300.00"),
    _purchase("A2", "Q1", "2023-03-05 09:00:00", "600.00", "500.00"),
    settlement("A3", "Q1", "2023-03-09 09:00:00", "H1", "200.00", "0.00"),
    _purchase("B1", "Q2", "2023-03-01 09:00:00", "600.00", "500.00"),
    settlement("B2", "Q2", "2023-03-05 09:00:00", "H1", "5134.00", "2900.40",
               act_pay_dedc="300.00"),
]  # fmt: skip


def _evidence(found: dict[str, object]) -> dict[str, str]:
    evidence = found["evidence"]
    assert isinstance(evidence, dict)
    return evidence


def _audit(books: Path, cli: Cli) -> dict[tuple[str, str], dict[str, object]]:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", ROWS)
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    _code, out, _err = cli(
        "audit", "--period", "2023", "--format", "json", "--books", "books", expect=3
    )
    return {(str(f["rule"]), str(f["setl_id"])): f for f in json.loads(out)}


def test_a_pharmacys_pooled_payment_uses_the_annual_cap(books: Path, cli: Cli) -> None:
    found = _audit(books, cli)
    assert set(found) == {
        ("benefit-mismatch", "A2"),
        ("annual-cap-exceeded", "A2"),
        ("benefit-mismatch", "B2"),
        ("annual-cap-exceeded", "B2"),
    }
    a2 = found[("benefit-mismatch", "A2")]
    assert (a2["reported_hifp_pay"], a2["expected_hifp_pay"]) == ("500.00", "99.60")
    evidence = _evidence(a2)
    assert evidence["tier"] == "pharmacy-cap-only" and evidence["cap_left"] == "99.60"
    assert evidence["deductible"] == "0.00" and evidence["pharmacy_reading"] == READING
    cap = _evidence(found[("annual-cap-exceeded", "A2")])
    assert (cap["paid_before"], cap["paid_after"], cap["pharmacy_paid"]) == (
        "2900.40",
        "3400.40",
        "500.00",
    )
    b2 = found[("benefit-mismatch", "B2")]
    assert (b2["reported_hifp_pay"], b2["expected_hifp_pay"]) == ("2900.40", "2500.00")
    evidence = _evidence(b2)
    assert evidence["pharmacy_paid_before"] == "500.00"
    assert evidence["pharmacy_reading"] == READING and evidence["tier"] == "level-1"


def test_the_tier_reading_recomputes_a_purchase(books: Path, cli: Cli) -> None:
    """With the pharmacy standard issued (reading "tier"), a purchase is a visit at that tier:
    B1's 600.00 at level-1 bears the 300 deductible and gets 60% of the rest, 180.00."""
    shipped = Path(__file__).parents[1] / "reports" / "audit" / "policies" / "210300.toml"
    text = shipped.read_text("utf-8").replace(
        'reading = "cap-only"', 'reading = "tier"\ntier = "level-1"'
    )
    (books / "policy.toml").write_text(text, "utf-8")
    found = _audit(books, cli)
    b1 = found[("benefit-mismatch", "B1")]
    assert (b1["reported_hifp_pay"], b1["expected_hifp_pay"]) == ("500.00", "180.00")
    evidence = _evidence(b1)
    assert evidence["deductible"] == "300.00" and evidence["tier"] == "level-1"
    assert evidence["pharmacy_reading"].startswith("pharmacy reading: as level-1")
    # A1 bore the deductible of Q1's year, so A2 does not: (600 - 0) x 60% = 360.00, and
    # 99.60 is all the cap has left
    assert found[("benefit-mismatch", "A2")]["expected_hifp_pay"] == "99.60"


def test_a_bad_pharmacy_reading_is_refused(books: Path, cli: Cli) -> None:
    shipped = Path(__file__).parents[1] / "reports" / "audit" / "policies" / "210300.toml"
    for old, new, message in (
        ('reading = "cap-only"', 'reading = "half"', "pharmacy.reading: not a reading"),
        ('reading = "cap-only"', 'reading = "tier"', "pharmacy.tier: not a tier (found nothing"),
        (
            'reading = "cap-only"',
            'reading = "cap-only"\ntier = "level-1"',
            "pharmacy.tier: given with the cap-only reading",
        ),
    ):
        (books / "policy.toml").write_text(shipped.read_text("utf-8").replace(old, new), "utf-8")
        _code, _out, err = cli("audit", "--period", "2023", "--books", "books", expect=1)
        assert message in err, err
