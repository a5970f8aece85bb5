"""The monitoring patterns (智能监控, Anshan art. 25) on a small hand-made register: each found
on the case built for it with exact evidence, and silent just under its threshold.

The thresholds are the shipped policy's ``[monitoring]``: 3 pharmacies a day, more than 5 visits
in 7 days, 5 account-only pharmacy purchases of 2,000 yuan in a month (share 0.95)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from reports.audit.findings import RULES
from reports.audit.policy import PolicyError, parse_policy, shipped_policy
from reports.audit.rows import Row
from reports.audit.rules.monitoring import account_drained_at_pharmacies, visits_in_a_week
from reports.audit.rules.person import Person
from tests.conftest import Cli, settlement, write_csv

INSTITUTIONS = """fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs
H1,一级社区医院,1,1,0,
P1,一号药房,2,,0,
P2,二号药房,2,,0,
P3,三号药房,2,,0,
"""


def purchase(
    setl_id: str, psn_no: str, time: str, pharmacy: str, cost: str, **fields: str
) -> dict[str, str]:
    """A pharmacy purchase (med_type 41); hifp_pay 0 unless ``hifp`` is given."""
    hifp = fields.pop("hifp", "0.00")
    return settlement(
        setl_id, psn_no, time, pharmacy, cost, hifp, med_type="41", clr_type="13", **fields
    )


def prescribed(day: str, drug: str) -> dict[str, str]:
    """A prescription of H1 written on the day of the purchase: no prescription rule fires."""
    return {"rx_no": f"RX{drug}", "rx_institution": "H1", "rx_date": day, "drug_code": drug}


def visit(setl_id: str, psn_no: str, time: str, **fields: str) -> dict[str, str]:
    """A visit at H1 of 40 yuan: all of it deductible (300 a year), the fund pays nothing."""
    return settlement(setl_id, psn_no, time, "H1", "40.00", "0.00", **fields)


def refund_of(row: dict[str, str], setl_id: str, time: str) -> dict[str, str]:
    """The refund (2208) of ``row``: every amount negated."""
    negated = {
        k: (f"{-Decimal(v):.2f}" if k.endswith(("amt", "_pay", "selfpay", "_dedc")) and v else v)
        for k, v in row.items()
    }
    return {
        **negated,
        "setl_id": setl_id,
        "setl_time": time,
        "refd_setl_flag": "1",
        "init_setl_id": row["setl_id"],
    }


REFUNDED_PURCHASE = purchase("W33", "Q33", "2023-05-04 11:00:00", "P3", "50.00")
REFUNDED_VISIT = visit("V24", "Q42", "2023-06-04 09:00:00")
ROWS = [
    # pharmacies-in-a-day. Q31 buys at P1, P2, P1 again and P3 on 2 May: the third pharmacy is
    # W14's; W15, on 3 May, is another day.
    purchase("W11", "Q31", "2023-05-02 09:00:00", "P1", "80.00", acct="80.00"),
    purchase("W12", "Q31", "2023-05-02 10:00:00", "P2", "60.00"),
    purchase("W13", "Q31", "2023-05-02 11:00:00", "P1", "30.00"),
    purchase("W14", "Q31", "2023-05-02 14:00:00", "P3", "45.50", acct="20.00"),
    purchase("W15", "Q31", "2023-05-03 09:00:00", "P2", "10.00"),
    # Q32: three pharmacies within ten minutes, but across midnight: two on one day. Silent.
    purchase("W24", "Q32", "2023-05-01 23:55:00", "P3", "20.00"),
    purchase("W21", "Q32", "2023-05-02 00:05:00", "P1", "20.00"),
    purchase("W22", "Q32", "2023-05-02 08:00:00", "P2", "20.00"),
    purchase("W23", "Q32", "2023-05-02 09:00:00", "P2", "20.00"),
    # Q33: the third pharmacy's purchase is refunded: two are left. Silent.
    purchase("W31", "Q33", "2023-05-04 09:00:00", "P1", "50.00"),
    purchase("W32", "Q33", "2023-05-04 10:00:00", "P2", "50.00"),
    REFUNDED_PURCHASE,
    # visits-in-a-week. Q41: six visits from 1 to 7 June, V16 the sixth; V17 on 8 June starts
    # the count again.
    *(
        visit(f"V1{n}", "Q41", f"2023-06-0{day} 09:00:00")
        for n, day in ((1, 1), (2, 2), (3, 3), (4, 5), (5, 6), (6, 7), (7, 8))
    ),
    # Q42: five visits from 1 to 7 June (V23a and V23b are one visit, V24 is refunded, V26 is a
    # pharmacy purchase), and on 8 June five in the 7 days from 2 June. Silent.
    visit("V21", "Q42", "2023-06-01 09:00:00"),
    visit("V22", "Q42", "2023-06-02 09:00:00"),
    visit("V23a", "Q42", "2023-06-03 09:00:00", mdtrt_id="MV23"),
    visit("V23b", "Q42", "2023-06-03 09:30:00", mdtrt_id="MV23"),
    REFUNDED_VISIT,
    visit("V25", "Q42", "2023-06-05 09:00:00"),
    purchase("V26", "Q42", "2023-06-06 09:00:00", "P1", "20.00"),
    visit("V27", "Q42", "2023-06-07 09:00:00"),
    visit("V28", "Q42", "2023-06-08 09:00:00"),
    # account-drained-at-pharmacies. Q51: five account-only purchases in July (Y12 at exactly
    # 95 %), 2,005 yuan by Y15; Y16 the sixth; Y17 in cash and Y18 with a pooled payment are not
    # account-only.
    purchase("Y11", "Q51", "2023-07-03 09:00:00", "P1", "400.00", acct="400.00"),
    purchase("Y12", "Q51", "2023-07-05 09:00:00", "P2", "500.00", acct="475.00"),
    purchase("Y13", "Q51", "2023-07-10 09:00:00", "P1", "300.00", acct="300.00"),
    purchase("Y14", "Q51", "2023-07-12 09:00:00", "P1", "450.00", acct="450.00"),
    purchase("Y15", "Q51", "2023-07-20 09:00:00", "P2", "380.00", acct="380.00"),
    purchase("Y16", "Q51", "2023-07-25 09:00:00", "P1", "100.00", acct="100.00"),
    purchase("Y17", "Q51", "2023-07-26 09:00:00", "P1", "200.00"),
    purchase(
        "Y18",
        "Q51",
        "2023-07-27 09:00:00",
        "P1",
        "300.00",
        hifp="30.00",
        acct="270.00",
        **prescribed("2023-07-27", "D1"),
    ),
    # Q52: five account-only purchases of 1,999.99; Y26 paid 94 % from the account is not one.
    *(
        purchase(f"Y2{n}", "Q52", f"2023-07-0{n} 09:00:00", "P1", "400.00", acct="400.00")
        for n in range(1, 5)
    ),
    purchase("Y25", "Q52", "2023-07-05 09:00:00", "P1", "399.99", acct="399.99"),
    purchase("Y26", "Q52", "2023-07-06 09:00:00", "P1", "100.00", acct="94.00"),
    # Q53: four account-only purchases of 3,000; the fifth, Y35, has a pooled payment.
    *(
        purchase(f"Y3{n}", "Q53", f"2023-07-1{n} 09:00:00", "P2", "750.00", acct="750.00")
        for n in range(1, 5)
    ),
    purchase(
        "Y35",
        "Q53",
        "2023-07-15 09:00:00",
        "P2",
        "500.00",
        hifp="10.00",
        acct="490.00",
        **prescribed("2023-07-15", "D2"),
    ),
    # Q54: five of 500 each in four days, but three in July and two in August.
    purchase("Y41", "Q54", "2023-07-30 09:00:00", "P1", "500.00", acct="500.00"),
    purchase("Y42", "Q54", "2023-07-31 09:00:00", "P1", "500.00", acct="500.00"),
    purchase("Y43", "Q54", "2023-07-31 10:00:00", "P2", "500.00", acct="500.00"),
    purchase("Y44", "Q54", "2023-08-01 09:00:00", "P1", "500.00", acct="500.00"),
    purchase("Y45", "Q54", "2023-08-02 09:00:00", "P1", "500.00", acct="500.00"),
]
REFUNDS = [
    refund_of(REFUNDED_PURCHASE, "W3R", "2023-05-04 15:00:00"),
    refund_of(REFUNDED_VISIT, "V24R", "2023-06-04 11:00:00"),
]


@pytest.fixture
def audited(books: Path, cli: Cli) -> Path:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", [*ROWS, *REFUNDS])
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    return books


def _findings(cli: Cli, period: str) -> dict[tuple[str, str], dict[str, object]]:
    _code, out, _err = cli(
        "audit", "--period", period, "--format", "json", "--books", "books", expect=3
    )
    return {(str(f["rule"]), str(f["setl_id"])): f for f in json.loads(out)}


def _line(setl_id: str, time: str, institution: str, cost: str, hifp: str, acct: str) -> str:
    return (
        f"{setl_id} | {time} | {institution} | medfee_sumamt {cost} | hifp_pay {hifp} | "
        f"acct_pay {acct} | acct_mulaid_pay 0.00"
    )


def test_each_pattern_is_found_once_with_its_settlements(audited: Path, cli: Cli) -> None:
    found = _findings(cli, "2023")
    assert set(found) == {
        ("pharmacies-in-a-day", "W14"),
        ("visits-in-a-week", "V16"),
        ("account-drained-at-pharmacies", "Y15"),
    }
    for item in found.values():
        assert (item["article"], item["explanation_zh"], item["explanation_en"]) == RULES[
            str(item["rule"])
        ]
        assert "第二十五条" in str(item["article"])
        # a pattern to look into: no payment is said to be wrong
        assert (item["reported_hifp_pay"], item["expected_hifp_pay"]) == (None, None)
    assert {key: (f["psn_no"], f["institution"]) for key, f in found.items()} == {
        ("pharmacies-in-a-day", "W14"): ("Q31", "P3"),
        ("visits-in-a-week", "V16"): ("Q41", "H1"),
        ("account-drained-at-pharmacies", "Y15"): ("Q51", "P2"),
    }
    assert found[("pharmacies-in-a-day", "W14")]["evidence"] == {
        "day": "2023-05-02",
        "pharmacies": "3",
        "min_pharmacies_in_a_day": "3",
        "institutions": "P1, P2, P3",
        "settlement_1": _line("W11", "2023-05-02 09:00:00", "P1", "80.00", "0.00", "80.00"),
        "settlement_2": _line("W12", "2023-05-02 10:00:00", "P2", "60.00", "0.00", "0.00"),
        "settlement_3": _line("W13", "2023-05-02 11:00:00", "P1", "30.00", "0.00", "0.00"),
        "settlement_4": _line("W14", "2023-05-02 14:00:00", "P3", "45.50", "0.00", "20.00"),
    }
    days = ("01", "02", "03", "05", "06", "07")
    assert found[("visits-in-a-week", "V16")]["evidence"] == {
        "days": "2023-06-01..2023-06-07",
        "visits": "6",
        "max_visits_in_7_days": "5",
        "mdtrt_ids": "MV11, MV12, MV13, MV14, MV15, MV16",
        **{
            f"settlement_{n}": _line(
                f"V1{n}", f"2023-06-{day} 09:00:00", "H1", "40.00", "0.00", "0.00"
            )
            for n, day in enumerate(days, start=1)
        },
    }
    month = [
        ("Y11", "03", "P1", "400.00", "400.00"),
        ("Y12", "05", "P2", "500.00", "475.00"),
        ("Y13", "10", "P1", "300.00", "300.00"),
        ("Y14", "12", "P1", "450.00", "450.00"),
        ("Y15", "20", "P2", "380.00", "380.00"),
        ("Y16", "25", "P1", "100.00", "100.00"),
    ]
    assert found[("account-drained-at-pharmacies", "Y15")]["evidence"] == {
        "month": "2023-07",
        "purchases": "6",
        "personal_accounts": "2105.00",
        "drain_min_purchases": "5",
        "drain_min_acct_pay": "2000.00",
        "drain_acct_share": "0.9500",
        **{
            f"settlement_{n}": _line(setl_id, f"2023-07-{day} 09:00:00", where, cost, "0.00", acct)
            for n, (setl_id, day, where, cost, acct) in enumerate(month, start=1)
        },
    }
    # a month's audit says the same of its month, and nothing of the others
    assert set(_findings(cli, "2023-06")) == {("visits-in-a-week", "V16")}
    cli("audit", "--period", "2023-08", "--books", "books", expect=0)


def test_the_thresholds_are_the_policy_files(audited: Path, cli: Cli) -> None:
    text = resources.files("reports.audit").joinpath("policies", "210300.toml").read_text("utf-8")
    changed = (
        text.replace("min_pharmacies_in_a_day = 3", "min_pharmacies_in_a_day = 2")
        .replace("max_visits_in_7_days = 5", "max_visits_in_7_days = 4")
        .replace('drain_min_acct_pay = "2000.00"', 'drain_min_acct_pay = "1999.99"')
    )
    (audited / "policy.toml").write_text(changed, "utf-8")
    found = _findings(cli, "2023")
    # the cases just under the shipped thresholds are over these, and more
    assert set(found) == {
        ("pharmacies-in-a-day", "W12"),  # Q31: P1, P2 on 2 May
        ("pharmacies-in-a-day", "W22"),  # Q32: P1, P2 on 2 May
        ("pharmacies-in-a-day", "W32"),  # Q33: P1, P2 on 4 May
        ("pharmacies-in-a-day", "Y43"),  # Q54: P1, P2 on 31 July
        ("visits-in-a-week", "V15"),  # Q41: the fifth visit; V16 and V17 start anew
        ("visits-in-a-week", "V27"),  # Q42: the fifth visit (V23a/b one, V24 refunded)
        ("account-drained-at-pharmacies", "Y15"),
        ("account-drained-at-pharmacies", "Y25"),  # Q52: 1,999.99
    }
    visits = found[("visits-in-a-week", "V27")]["evidence"]
    assert isinstance(visits, dict)
    assert (visits["days"], visits["visits"], visits["mdtrt_ids"]) == (
        "2023-06-01..2023-06-07",
        "5",
        "MV21, MV22, MV23, MV25, MV27",
    )
    # both settlements of the one visit MV23 are its evidence, the refunded V24 is not
    assert [v.split(" | ")[0] for k, v in visits.items() if k.startswith("settlement_")] == [
        "V21",
        "V22",
        "V23a",
        "V23b",
        "V25",
        "V27",
    ]
    drained = found[("account-drained-at-pharmacies", "Y25")]["evidence"]
    assert isinstance(drained, dict)
    assert (drained["purchases"], drained["personal_accounts"], drained["drain_min_acct_pay"]) == (
        "5",
        "1999.99",
        "1999.99",
    )


def test_a_books_policy_without_the_monitoring_table_is_refused(audited: Path, cli: Cli) -> None:
    text = resources.files("reports.audit").joinpath("policies", "210300.toml").read_text("utf-8")
    (audited / "policy.toml").write_text(text[: text.index("[monitoring]")], "utf-8")
    _code, _out, err = cli("audit", "--period", "2023", "--books", "books", expect=1)
    assert (
        "books/policy.toml: monitoring: missing or not a table (found nothing, expected a " in err
    )
    assert "[monitoring] table with min_pharmacies_in_a_day, max_visits_in_7_days, " in err


def _row(**fields: object) -> Row:
    """A live settlement at a medical institution, 10 yuan each amount."""
    base: dict[str, object] = dict.fromkeys(Row._fields)
    base.update(dict.fromkeys(("medfee_sumamt", "hifp_pay", "acct_pay"), Decimal("10.00")))
    base["acct_mulaid_pay"] = Decimal("0.00")
    base.update(psn_no="Q1", fixmedins_type="1", refd_setl_flag=False, **fields)
    return Row(**base)  # type: ignore[arg-type]


def test_the_count_starts_again_after_a_finding() -> None:
    """Twelve visits on twelve days: the sixth passes 5 in 7 days; the count starts again
    after it, so the twelfth is the next finding and no visit is reported twice."""
    rows = [
        _row(
            setl_id=f"S{day:02d}",
            mdtrt_id=f"M{day:02d}",
            setl_time=datetime.datetime(2023, 9, day, 9),
            fixmedins_code="H1" if day % 2 else "H2",
        )
        for day in range(1, 13)
    ]
    person = Person(rows, [], [], {}, {}, shipped_policy("210300"), frozenset())
    found = list(visits_in_a_week(person))
    assert [(f.setl_id, dict(f.evidence)["days"]) for f in found] == [
        ("S06", "2023-08-31..2023-09-06"),
        ("S12", "2023-09-06..2023-09-12"),
    ]
    assert dict(found[1].evidence)["mdtrt_ids"] == "M07, M08, M09, M10, M11, M12"
    assert dict(found[0].evidence)["settlement_6"] == (
        "S06 | 2023-09-06 09:00:00 | H2 | medfee_sumamt 10.00 | hifp_pay 10.00 | acct_pay 10.00"
        " | acct_mulaid_pay 0.00"
    )


SHIPPED = resources.files("reports.audit").joinpath("policies/210300.toml").read_text("utf-8")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "min_pharmacies_in_a_day = 3",
            'min_pharmacies_in_a_day = "3"',
            "monitoring.min_pharmacies_in_a_day: not a whole number (found '3', expected a number "
            "such as 3, unquoted)",
        ),
        (
            "min_pharmacies_in_a_day = 3",
            "min_pharmacies_in_a_day = 1",
            "monitoring.min_pharmacies_in_a_day: out of range (found 1, expected 2 or more)",
        ),
        (
            "max_visits_in_7_days = 5",
            "max_visits_in_7_days = 5.0",
            "monitoring.max_visits_in_7_days: not a whole number (found float 5.0, expected a "
            "number such as 3, unquoted)",
        ),
        (
            "max_visits_in_7_days = 5\n",
            "",
            "monitoring.max_visits_in_7_days: not a whole number (found nothing, expected a "
            "number such as 3, unquoted)",
        ),
        (
            "drain_min_purchases = 5",
            "drain_min_purchases = true",
            "monitoring.drain_min_purchases: not a whole number (found bool True, expected a "
            "number such as 3, unquoted)",
        ),
        (
            'drain_min_acct_pay = "2000.00"',
            "drain_min_acct_pay = 2000",
            "monitoring.drain_min_acct_pay: not a quoted number (found int 2000, expected an "
            'amount in quotes such as "300.00")',
        ),
        (
            'drain_min_acct_pay = "2000.00"',
            'drain_min_acct_pay = "2000.001"',
            "monitoring.drain_min_acct_pay: more than 2 decimals (found '2000.001', expected an "
            'amount in quotes such as "300.00")',
        ),
        (
            'drain_acct_share = "0.95"',
            'drain_acct_share = "1.05"',
            "monitoring.drain_acct_share: out of range (found '1.05', expected between 0 and 1)",
        ),
        (
            'drain_acct_share = "0.95"',
            'drain_acct_share = "0.95"\ndrain_days = 30',
            "monitoring.drain_days: unknown field (expected one of min_pharmacies_in_a_day, "
            "max_visits_in_7_days, drain_min_purchases, drain_min_acct_pay, drain_acct_share)",
        ),
    ],
)
def test_a_broken_monitoring_table_is_named(old: str, new: str, problem: str) -> None:
    changed = SHIPPED.replace(old, new)
    assert changed != SHIPPED
    with pytest.raises(PolicyError) as caught:
        parse_policy(changed, "p.toml")
    assert caught.value.problems == (f"p.toml: {problem}",)


def test_the_shipped_monitoring_thresholds() -> None:
    monitoring = shipped_policy("210300").monitoring
    assert (
        monitoring.min_pharmacies_in_a_day,
        monitoring.max_visits_in_7_days,
        monitoring.drain_min_purchases,
        monitoring.drain_min_acct_pay,
        monitoring.drain_acct_share,
    ) == (3, 5, 5, Decimal("2000.00"), Decimal("0.95"))


def test_a_family_account_drained_counts_too() -> None:
    """Five account-only purchases paid from a family member's account (共济, acct_mulaid_pay):
    2,250.00 of personal accounts in May, a drain like one from the person's own account."""
    rows = [
        _row(
            setl_id=f"F{day}",
            mdtrt_id=f"FM{day}",
            setl_time=datetime.datetime(2023, 5, day, 9),
            fixmedins_code="P1",
            medfee_sumamt=Decimal("450.00"),
            hifp_pay=Decimal("0.00"),
            acct_pay=Decimal("0.00"),
            acct_mulaid_pay=Decimal("450.00"),
        )._replace(fixmedins_type="2")
        for day in range(1, 6)
    ]
    person = Person(rows, [], [], {}, {}, shipped_policy("210300"), frozenset())
    found = list(account_drained_at_pharmacies(person))
    assert [(f.setl_id, dict(f.evidence)["personal_accounts"]) for f in found] == [
        ("F5", "2250.00")
    ]


def test_a_week_across_new_year_is_judged_whole(books: Path, cli: Cli) -> None:
    """Six visits from 29 December to 3 January: three in each year, six in the 7 days ending
    on 3 January. The year's audit reaches 6 days back for the window and finds them at the
    sixth; December's audit, which sees only three, is silent; and nothing of those December
    days becomes a finding of the year (only the window looks back)."""
    days = ("2022-12-29", "2022-12-30", "2022-12-31", "2023-01-01", "2023-01-02", "2023-01-03")
    rows = [visit(f"N{n}", "Q61", f"{day} 09:00:00") for n, day in enumerate(days, start=1)]
    # Q62: a December purchase the December audit finds (prescription missing): the year's
    # audit does not repeat it.
    rows.append(purchase("N9", "Q62", "2022-12-30 10:00:00", "P1", "80.00", hifp="40.00"))
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", rows)
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    found = _findings(cli, "2023")
    assert set(found) == {("visits-in-a-week", "N6")}
    evidence = found[("visits-in-a-week", "N6")]["evidence"]
    assert isinstance(evidence, dict)
    assert (evidence["days"], evidence["visits"], evidence["mdtrt_ids"]) == (
        "2022-12-28..2023-01-03",
        "6",
        ", ".join(f"MN{n}" for n in range(1, 7)),
    )
    assert [v.split(" | ")[0] for k, v in evidence.items() if k.startswith("settlement_")] == [
        f"N{n}" for n in range(1, 7)
    ]
    december = {rule for rule, _setl_id in _findings(cli, "2022-12")}
    assert "visits-in-a-week" not in december
    assert "prescription-missing" in december
