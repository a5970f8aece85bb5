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


def _outside_scope(row: dict[str, str], **parts: str) -> dict[str, str]:
    """The row with parts outside the policy scope (fulamt_ownpay_amt, overlmt_selfpay,
    preselfpay_amt): the person pays them in cash, on top of the cost; the identities hold."""
    from decimal import Decimal

    out = dict(row)
    for name, value in parts.items():
        out[name] = value
        for total in ("medfee_sumamt", "psn_part_amt", "psn_cash_pay"):
            out[total] = f"{Decimal(out[total]) + Decimal(value):.2f}"
    return out


def _other_funds(row: dict[str, str], **funds: str) -> dict[str, str]:
    """The row with other funds' payments (cvlserv_pay, hifob_pay): the person pays that much
    less cash; the identities hold."""
    from decimal import Decimal

    out = dict(row)
    for name, value in funds.items():
        out[name] = value
        out["fund_pay_sumamt"] = f"{Decimal(out['fund_pay_sumamt']) + Decimal(value):.2f}"
        for total in ("psn_part_amt", "psn_cash_pay"):
            out[total] = f"{Decimal(out[total]) - Decimal(value):.2f}"
    return out


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
    # R: the policy-scope amount is the cost less what is outside the scope (Shanxi arts. 20,
    # 21). R1 reports 80 fully self-paid and 20 first self-paid, yet inscp_scp_amt is the whole
    # 500: the right base is 400; the pooled 120 = (500-300)x60% was computed on the wrong one.
    # R2: 80 + 30 + 20 outside the scope on a cost of 630 leaves the 500 reported: silent.
    {
        **settlement(
            "R1", "Q20", "2023-04-03 09:00:00", "H1", "500.00", "120.00", act_pay_dedc="300.00"
        ),
        "fulamt_ownpay_amt": "80.00",
        "preselfpay_amt": "20.00",
    },
    _outside_scope(
        settlement("R2", "Q21", "2023-04-03 10:00:00", "H1", "500.00", "120.00"),
        fulamt_ownpay_amt="80.00",
        overlmt_selfpay="30.00",
        preselfpay_amt="20.00",
    ),
    # S: pharmacy purchases (med_type 41). S1: pooled 40 and no prescription (Shanxi art.
    # 26(2): nothing due). S2: no prescription but no pooled payment either: silent. S3: the
    # prescription is of the same day: silent. S4: a prescription dated two days after the
    # purchase (arts. 10, 11).
    settlement(
        "S1", "Q22", "2023-04-06 09:00:00", "P1", "100.00", "40.00", med_type="41", clr_type="13"
    ),
    settlement(
        "S2", "Q22", "2023-04-07 09:00:00", "P1", "100.00", "0.00", med_type="41", clr_type="13"
    ),
    settlement(
        "S3",
        "Q23",
        "2023-04-08 09:00:00",
        "P1",
        "100.00",
        "30.00",
        med_type="41",
        clr_type="13",
        rx_no="RX5",
        rx_institution="H1",
        rx_date="2023-04-08",
        drug_code="D3",
    ),
    settlement(
        "S4",
        "Q23",
        "2023-04-09 09:00:00",
        "P2",
        "100.00",
        "0.00",
        med_type="41",
        clr_type="13",
        rx_no="RX6",
        rx_institution="H1",
        rx_date="2023-04-11",
        drug_code="D4",
    ),
    # T: other funds (Anshan arts. 27, 30). T1: the large-amount subsidy pays 50 on an ordinary
    # outpatient visit (art. 27); T2: on a 门诊慢特病 (14) visit, not outpatient pooling: silent.
    # T3: a civil-servant subsidy of 30 for an ordinary employee (1101). T4: a civil servant
    # (1102): (500-300)x60% = 120 pooled, the subsidy pays all the 380 left: silent. T5: a
    # retired civil servant (1202): (500-300)x65% = 130 pooled, 370 left, the subsidy pays 400.
    _other_funds(
        settlement(
            "T1", "Q24", "2023-04-10 09:00:00", "H1", "500.00", "120.00", act_pay_dedc="300.00"
        ),
        hifob_pay="50.00",
    ),
    _other_funds(
        settlement("T2", "Q25", "2023-04-10 10:00:00", "H1", "500.00", "0.00", med_type="14"),
        hifob_pay="50.00",
    ),
    _other_funds(
        settlement("T3", "Q26", "2023-04-11 09:00:00", "H1", "500.00", "120.00"),
        cvlserv_pay="30.00",
    ),
    _other_funds(
        settlement("T4", "Q27", "2023-04-12 09:00:00", "H1", "500.00", "120.00", psn_type="1102"),
        cvlserv_pay="380.00",
    ),
    _other_funds(
        _outside_scope(
            settlement(
                "T5", "Q28", "2023-04-13 09:00:00", "H1", "500.00", "130.00", psn_type="1202"
            ),
            fulamt_ownpay_amt="100.00",
        ),
        cvlserv_pay="400.00",
    ),
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
    ("amount-consistency", "R1"),
    ("prescription-missing", "S1"),
    ("prescription-after-purchase", "S4"),
    ("large-amount-subsidy-outpatient", "T1"),
    ("civil-servant-subsidy-not-civil-servant", "T3"),
    ("civil-servant-subsidy-over-scope", "T5"),
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


def test_rules_on_amounts_prescriptions_and_other_funds_carry_their_evidence(
    audited: Path, cli: Cli
) -> None:
    found = {(f["rule"], f["setl_id"]): f for f in _findings(cli, "2023-04")}
    # April holds the R, S and T rows only: exactly their planted findings, none on the rest
    assert set(found) == {(rule, setl_id) for rule, setl_id in PLANTED_2023 if setl_id[0] in "RST"}
    amounts = {
        key: (f["reported_hifp_pay"], f["expected_hifp_pay"], f["difference"])
        for key, f in found.items()
    }
    # only the missing prescription says what the fund owed (nothing, art. 26(2))
    assert amounts.pop(("prescription-missing", "S1")) == ("40.00", "0.00", "40.00")
    assert set(amounts.values()) == {(None, None, None)}
    assert {key: f["evidence"] for key, f in found.items()} == {
        ("amount-consistency", "R1"): {
            "medfee_sumamt": "500.00",
            "fulamt_ownpay_amt": "80.00",
            "overlmt_selfpay": "0.00",
            "preselfpay_amt": "20.00",
            "expected_inscp_scp_amt": "400.00",
            "inscp_scp_amt": "500.00",
            "difference": "100.00",
        },
        ("prescription-missing", "S1"): {"med_type": "41", "hifp_pay": "40.00", "rx_no": ""},
        ("prescription-after-purchase", "S4"): {
            "rx_no": "RX6",
            "rx_date": "2023-04-11",
            "purchase_date": "2023-04-09",
            "days_after": "2",
        },
        ("large-amount-subsidy-outpatient", "T1"): {"med_type": "11", "hifob_pay": "50.00"},
        ("civil-servant-subsidy-not-civil-servant", "T3"): {
            "psn_type": "1101",
            "civil_servants": "1102, 1202",
            "cvlserv_pay": "30.00",
        },
        ("civil-servant-subsidy-over-scope", "T5"): {
            "inscp_scp_amt": "500.00",
            "hifp_pay": "130.00",
            "left_to_person": "370.00",
            "cvlserv_pay": "400.00",
            "over_by": "30.00",
        },
    }
    for item in found.values():
        assert (item["article"], item["explanation_zh"], item["explanation_en"]) == RULES[
            str(item["rule"])
        ]
    assert "第二十条、第二十一条" in str(found[("amount-consistency", "R1")]["article"])
    assert "第三十条" in str(found[("civil-servant-subsidy-over-scope", "T5")]["article"])


def test_civil_servants_are_the_policy_files(audited: Path, cli: Cli) -> None:
    from importlib import resources

    text = resources.files("reports.audit").joinpath("policies", "210300.toml").read_text("utf-8")
    # a region whose file also counts ordinary employees (1101) as civil servants: T3 is fine
    changed = text.replace('civil_servants = ["1102", "1202"]', 'civil_servants = ["1101", "1102"]')
    assert changed != text
    (audited / "policy.toml").write_text(changed, "utf-8")
    found = {(f["rule"], f["setl_id"]): f for f in _findings(cli, "2023-04")}
    assert ("civil-servant-subsidy-not-civil-servant", "T3") not in found
    # and the retired civil servant 1202 of T5 is not one there
    t5 = found[("civil-servant-subsidy-not-civil-servant", "T5")]
    assert t5["evidence"] == {
        "psn_type": "1202",
        "civil_servants": "1101, 1102",
        "cvlserv_pay": "400.00",
    }


def test_output_formats_and_exit_codes(audited: Path, cli: Cli) -> None:
    _code, out, err = cli("audit", "--period", "2023", "--books", "books", expect=3)
    assert "B1" in out and "20 findings" in err
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
    assert lines[0].startswith("rule,setl_id,psn_no,institution") and len(lines) == 21
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
    assert rows[0][:2] == ("规则", "结算ID") and len(rows) == 21
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


def test_a_date_without_policy_is_a_finding_and_the_audit_goes_on(books: Path, cli: Cli) -> None:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    rows = [
        # November 2022, before the rules (art. 32: from 2022-12-01): no period prices it
        settlement("Z1", "Q1", "2022-11-15 09:00:00", "H1", "10.00", "0.00"),
        # the same person in December: Z1 bore no deductible, so (100-30)x60% = 42; paid 50
        settlement("Z2", "Q1", "2022-12-05 09:00:00", "H1", "100.00", "50.00"),
        # another person, December, paid right: (200-30)x60% = 102
        settlement("Z3", "Q2", "2022-12-06 09:00:00", "H1", "200.00", "102.00"),
        # a pharmacy purchase of November is not recomputed in any period: silent
        settlement(
            "Z4",
            "Q2",
            "2022-11-20 09:00:00",
            "P1",
            "50.00",
            "0.00",
            med_type="41",
            clr_type="13",
            rx_no="RX9",
            rx_institution="H1",
            rx_date="2022-11-20",
            drug_code="D1",
        ),
    ]
    write_csv(cli.cwd / "s.csv", rows)
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "s.csv", "--books", "books")
    _code, out, err = cli(
        "audit", "--period", "2022", "--format", "json", "--books", "books", expect=3
    )
    found = {(f["rule"], f["setl_id"]): f for f in json.loads(out)}
    assert set(found) == {("no-policy-period", "Z1"), ("benefit-mismatch", "Z2")}
    z1 = found[("no-policy-period", "Z1")]
    assert (z1["reported_hifp_pay"], z1["expected_hifp_pay"], z1["difference"]) == (
        "0.00",
        None,
        None,
    )
    assert z1["evidence"] == {
        "setl_date": "2022-11-15",
        "policy": "210300 鞍医保发〔2022〕14号",
        "policy_periods": "2022-12-01..2022-12-31, 2023-01-01..",
        "med_type": "11",
        "inscp_scp_amt": "10.00",
        "hifp_pay": "0.00",
    }
    z2 = found[("benefit-mismatch", "Z2")]
    assert (z2["expected_hifp_pay"], z2["evidence"]["deductible_borne_before"]) == ("42.00", "0.00")
    assert "1 not recomputed (no policy period)" in err and "2 findings" in err
    # December alone: the November settlement is not read, nothing is said of it
    december = {(f["rule"], f["setl_id"]) for f in _findings(cli, "2022-12")}
    assert december == {("benefit-mismatch", "Z2")}


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

    base: dict[str, object] = dict.fromkeys(Row._fields)
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


def test_the_audit_in_parts_finds_what_one_process_finds(audited: Path, cli: Cli) -> None:
    """Three worker processes, each a part of the people (reports.audit.parts), write the
    same findings, byte for byte, as the audit in one process."""
    outputs = []
    for jobs in ("1", "3"):
        _code, out, _err = cli(
            "audit", "--period", "2023", "--format", "json", "--jobs", jobs, "--books", "books",
            expect=3,
        )  # fmt: skip
        outputs.append(out)
    assert outputs[0] == outputs[1]
    assert {(f["rule"], f["setl_id"]) for f in json.loads(outputs[1])} == PLANTED_2023


def test_the_parts_split_the_people_and_keep_each_whole(audited: Path) -> None:
    from mzledger.workflows import open_books
    from reports.audit.parts import split_people

    engine = open_books(audited).engine
    shards = split_people(engine, 3)
    engine.dispose()
    assert len(shards) == 3 and shards[0][0] is None and shards[-1][1] is None
    assert all(shards[i][1] == shards[i + 1][0] for i in range(len(shards) - 1))

    def owners(psn_no: str) -> list[int]:
        return [
            i
            for i, (low, high) in enumerate(shards)
            if (low is None or psn_no >= low) and (high is None or psn_no < high)
        ]

    people = {row["psn_no"] for row in ROWS}
    assert all(len(owners(psn_no)) == 1 for psn_no in people)
    assert {owners(psn_no)[0] for psn_no in people} == {0, 1, 2}
