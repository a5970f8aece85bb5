"""The audit on a small hand-made register: each rule found where it should be, and only there.

Expected payments are worked out by hand in the comments (Anshan rules, domain.md section 4).
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from reports.audit.findings import RULES
from reports.audit.rows import Row, Span
from reports.audit.rules.coverage import classify
from tests.conftest import Cli, settlement, write_csv

INSTITUTIONS = """fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs
H1,一级社区医院,1,1,0,
H2,传染病专科医院,1,2,1,
H3,三级医院,1,3,0,210300
HX,沈阳三级医院,1,3,0,210100
P1,一号药房,2,,0,
P2,二号药房,2,,0,
"""
PERSONS = """psn_no,record,begndate,enddate
Q06,referral,2023-01-01,2023-12-31
Q07,arrears,2023-03-01,2023-03-31
Q17,long-term-residence,2022-06-01,
"""
ROWS = [
    # worked example: 500 at level 1 bears 300, pays (500-300)x60% = 120; then 1000 at level 3
    # bears the remaining 300 of 600, pays (1000-300)x50% = 350
    settlement("A1", "Q01", "2023-01-05 09:00:00", "H1", "500.00", "120.00", act_pay_dedc="300.00"),
    settlement(
        "A2", "Q01", "2023-02-01 09:00:00", "H3", "1000.00", "350.00", act_pay_dedc="300.00"
    ),
    # B: expected 120, platform paid 125
    settlement("B1", "Q02", "2023-01-10 09:00:00", "H1", "500.00", "125.00"),
    # C: a flexible worker's personal account paid 50; 100 < deductible 300, pool pays 0
    settlement(
        "C1", "Q03", "2023-01-11 09:00:00", "H1", "100.00", "0.00", psn_type="1103", acct="50.00"
    ),
    # D: outside the city, no record, no emergency: the fund pays nothing, platform paid 200
    settlement("D1", "Q04", "2023-01-12 09:00:00", "HX", "1000.00", "200.00"),
    # E: outside, on the emergency list: 600 / 50 %: (1000-600)x50% = 200
    settlement("E1", "Q05", "2023-01-13 09:00:00", "HX", "1000.00", "200.00", emergency_flag="1"),
    # F: outside, referred: (700-600)x50% = 50
    settlement("F1", "Q06", "2023-01-14 09:00:00", "HX", "700.00", "50.00"),
    # G: arrears in March: nothing due, platform paid 60
    settlement("G1", "Q07", "2023-03-05 09:00:00", "H1", "400.00", "60.00"),
    # H: an institution not on the designated list: nothing due, platform paid 120
    settlement(
        "H1",
        "Q08",
        "2023-01-15 09:00:00",
        "NX",
        "500.00",
        "120.00",
        fixmedins_name="未定点诊所",
        fixmedins_type="1",
        medins_lv="1",
    ),
    # I: one visit, two settlements: 200 bears 200; 300 bears the remaining 100 and pays
    # (300-100)x60% = 120, but the platform charged 200 of deductible again
    settlement(
        "I1",
        "Q09",
        "2023-01-16 09:00:00",
        "H1",
        "200.00",
        "0.00",
        mdtrt_id="MI",
        act_pay_dedc="200.00",
    ),
    settlement(
        "I2",
        "Q09",
        "2023-01-16 09:10:00",
        "H1",
        "300.00",
        "120.00",
        mdtrt_id="MI",
        act_pay_dedc="200.00",
    ),
    # J: (10000-300)x60% = 5820, capped at 3000; the next visit is due 0, platform paid 100
    settlement("J1", "Q10", "2023-01-17 09:00:00", "H1", "10000.00", "3000.00"),
    settlement("J2", "Q10", "2023-01-20 09:00:00", "H1", "500.00", "100.00"),
    # K: pharmacy purchases with prescriptions
    settlement(
        "K1",
        "Q12",
        "2023-01-21 09:00:00",
        "P1",
        "80.00",
        "0.00",
        med_type="41",
        clr_type="13",
        rx_no="RX1",
        rx_institution="H1",
        rx_date="2023-01-16",
        drug_code="D1",
    ),
    settlement(
        "K2",
        "Q13",
        "2023-01-21 10:00:00",
        "P1",
        "80.00",
        "0.00",
        med_type="41",
        clr_type="13",
        rx_no="RX2",
        rx_institution="H99",
        rx_date="2023-01-21",
        drug_code="D1",
    ),
    settlement(
        "K3",
        "Q14",
        "2023-01-22 09:00:00",
        "P1",
        "80.00",
        "0.00",
        med_type="41",
        clr_type="13",
        rx_no="RX3",
        rx_institution="H3",
        rx_date="2023-01-21",
        drug_code="D2",
    ),
    settlement(
        "K4",
        "Q14",
        "2023-01-22 15:00:00",
        "P2",
        "80.00",
        "0.00",
        med_type="41",
        clr_type="13",
        rx_no="RX3",
        rx_institution="H3",
        rx_date="2023-01-21",
        drug_code="D2",
    ),
    # L: a refunded visit gives its deductible back: the next visit bears 300 again, pays 120
    settlement("L1", "Q15", "2023-01-23 09:00:00", "H1", "500.00", "120.00"),
    settlement("L3", "Q15", "2023-01-25 09:00:00", "H1", "500.00", "120.00"),
    # M: December 2022: deductible 30, monthly cap 300: (1000-30)x60% = 582 -> 300; then 0 due
    settlement("M1", "Q16", "2022-12-05 09:00:00", "H1", "1000.00", "300.00"),
    settlement("M2", "Q16", "2022-12-20 09:00:00", "H2", "100.00", "10.00"),
    # N: long-term residence elsewhere: as in the city by level: (1000-600)x50% = 200
    settlement("N1", "Q17", "2023-01-26 09:00:00", "HX", "1000.00", "200.00"),
]
REFUND = {
    **settlement("L2", "Q15", "2023-01-24 09:00:00", "H1", "500.00", "120.00"),
    "refd_setl_flag": "1",
    "init_setl_id": "L1",
}
PLANTED_2023 = {
    ("benefit-mismatch", "B1"),
    ("flexible-worker-personal-account", "C1"),
    ("outside-city-not-covered", "D1"),
    ("benefit-mismatch", "D1"),
    ("arrears-period", "G1"),
    ("benefit-mismatch", "G1"),
    ("non-designated-institution", "H1"),
    ("benefit-mismatch", "H1"),
    ("duplicate-visit-deductible", "I2"),
    ("annual-cap-exceeded", "J2"),
    ("benefit-mismatch", "J2"),
    ("prescription-expired", "K1"),
    ("prescription-not-designated", "K2"),
    ("same-drug-two-institutions", "K4"),
}
PLANTED_2022_12 = {("monthly-cap-exceeded", "M2"), ("benefit-mismatch", "M2")}


def _negate(row: dict[str, str]) -> dict[str, str]:
    from decimal import Decimal

    return {
        k: (f"{-Decimal(v):.2f}" if k.endswith(("amt", "_pay", "selfpay", "_dedc")) and v else v)
        for k, v in row.items()
    }


@pytest.fixture
def audited(books: Path, cli: Cli) -> Path:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    (cli.cwd / "persons.csv").write_text(PERSONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", [*ROWS, _negate(REFUND)])
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "persons", "persons.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    return books


def _findings(cli: Cli, period: str) -> list[dict[str, object]]:
    _code, out, _err = cli(
        "audit", "--period", period, "--format", "json", "--books", "books", expect=3
    )
    findings: list[dict[str, object]] = json.loads(out)
    return findings


def test_audit_finds_exactly_the_planted_problems(audited: Path, cli: Cli) -> None:
    found = _findings(cli, "2023")
    assert {(f["rule"], f["setl_id"]) for f in found} == PLANTED_2023
    assert {(f["rule"], f["setl_id"]) for f in _findings(cli, "2022-12")} == PLANTED_2022_12
    # a month of 2023 reports only that month's findings, computed with the year before it
    march = _findings(cli, "2023-03")
    assert {(f["rule"], f["setl_id"]) for f in march} == {
        ("arrears-period", "G1"),
        ("benefit-mismatch", "G1"),
    }


def test_findings_carry_their_evidence(audited: Path, cli: Cli) -> None:
    found = {(f["rule"], f["setl_id"]): f for f in _findings(cli, "2023")}
    b1 = found[("benefit-mismatch", "B1")]
    assert (b1["reported_hifp_pay"], b1["expected_hifp_pay"], b1["difference"]) == (
        "125.00",
        "120.00",
        "5.00",
    )
    evidence = b1["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["deductible"] == "300.00" and evidence["cap_left"] == "3000.00"
    assert evidence["ratio"].startswith("0.6")
    assert b1["psn_no"] == "Q02" and b1["institution"] == "H1"
    assert "第九条" in str(b1["article"]) and b1["explanation_zh"] and b1["explanation_en"]
    cap = found[("annual-cap-exceeded", "J2")]
    assert cap["evidence"] == {
        "key": "2023",
        "cap": "3000.00",
        "paid_before": "3000.00",
        "paid_after": "3100.00",
    }
    assert set(RULES) >= {rule for rule, _ in found}


def test_output_formats_and_exit_codes(audited: Path, cli: Cli) -> None:
    _code, out, err = cli("audit", "--period", "2023", "--books", "books", expect=3)
    assert "B1" in out and "14 findings" in err
    cli(
        "audit",
        "--period",
        "2023",
        "--format",
        "csv",
        "--out",
        "f.csv",
        "--books",
        "books",
        expect=3,
    )
    lines = (cli.cwd / "f.csv").read_text("utf-8").splitlines()
    assert lines[0].startswith("rule,setl_id,psn_no,institution") and len(lines) == 15
    cli(
        "audit",
        "--period",
        "2023",
        "--format",
        "xlsx",
        "--out",
        "f.xlsx",
        "--books",
        "books",
        expect=3,
    )
    sheet = openpyxl.load_workbook(cli.cwd / "f.xlsx")["稽核发现"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("规则", "结算ID") and len(rows) == 15
    assert sheet.freeze_panes == "A2"
    # a month with nothing wrong exits 0
    cli("audit", "--period", "2023-02", "--books", "books", expect=0)
    cli("audit", "--period", "2023-13", "--books", "books", expect=2)
    cli("audit", "--period", "2023", "--format", "xlsx", "--books", "books", expect=2)


def test_no_personal_data_in_audit_output(audited: Path, cli: Cli) -> None:
    _code, out, _err = cli(
        "audit", "--period", "2023", "--format", "json", "--books", "books", expect=3
    )
    assert "测试" not in out and "psn_name" not in out and "certno" not in out


def test_a_date_without_policy_is_an_error_naming_it(books: Path, cli: Cli) -> None:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    write_csv(
        cli.cwd / "s.csv", [settlement("Z1", "Q1", "2022-11-15 09:00:00", "H1", "10.00", "0.00")]
    )
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "s.csv", "--books", "books")
    _code, _out, err = cli("audit", "--period", "2022", "--books", "books", expect=1)
    assert "2022-11-15" in err and "Z1" in err


def test_another_city_is_one_policy_file(audited: Path, cli: Cli) -> None:
    from importlib import resources

    text = resources.files("reports.audit").joinpath("policies", "210300.toml").read_text("utf-8")
    # same city, a hypothetical rule change: level 1 pays 70 % in work instead of 60 %
    changed = text.replace('in_work = "0.60"', 'in_work = "0.70"')
    assert changed != text
    (audited / "policy.toml").write_text(changed, "utf-8")
    found = {(f["rule"], f["setl_id"]) for f in _findings(cli, "2023")}
    # A1: (500-300)x70% = 140, the platform paid 120 by the old rule
    assert ("benefit-mismatch", "A1") in found


def _row(**fields: object) -> Row:
    import datetime
    from decimal import Decimal

    base: dict[str, object] = dict.fromkeys(Row.__dataclass_fields__)
    base.update(
        setl_id="S",
        mdtrt_id="M",
        psn_no="Q",
        psn_type="1101",
        med_type="11",
        setl_time=datetime.datetime(2023, 5, 1, 9),
        fixmedins_code="H",
        inscp_scp_amt=Decimal(1),
        act_pay_dedc=Decimal(0),
        hifp_pay=Decimal(0),
        acct_pay=Decimal(0),
        refd_setl_flag=False,
        fixmedins_type="1",
        medins_lv="2",
        spec_hosp=False,
        admdvs=None,
        listed=True,
    )
    base.update(fields)
    return Row(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "spans", "expected"),
    [
        ({}, [], ("level-2", None)),
        ({"spec_hosp": True}, [], ("level-1", None)),
        ({"admdvs": "210300"}, [], ("level-2", None)),
        ({"admdvs": "210100"}, [], (None, "outside-city-not-covered")),
        ({"admdvs": "210100", "emergency_flag": True}, [], ("outside", None)),
        ({"admdvs": "210100"}, [("referral", "2023-01-01", None)], ("outside", None)),
        (
            {"admdvs": "210100"},
            [("referral", "2023-06-01", None)],
            (None, "outside-city-not-covered"),
        ),
        ({"admdvs": "210100"}, [("long-term-residence", "2023-01-01", None)], ("level-2", None)),
        ({}, [("arrears", "2023-04-01", "2023-05-01")], (None, "arrears-period")),
        ({}, [("arrears", "2023-04-01", "2023-04-30")], ("level-2", None)),
        ({"listed": False}, [], (None, "non-designated-institution")),
    ],
)
def test_classify(
    fields: dict[str, object],
    spans: list[tuple[str, str, str | None]],
    expected: tuple[str | None, str | None],
) -> None:
    import datetime

    dated = [
        Span(
            kind,
            datetime.date.fromisoformat(since),
            datetime.date.fromisoformat(until) if until else None,
        )
        for kind, since, until in spans
    ]
    assert classify(_row(**fields), dated, "210300") == expected
