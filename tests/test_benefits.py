"""The benefit rule (待遇计算) the audit recomputes, on the shipped Anshan policy and a second one.

Each table case is one person's settlements with the expected payments worked out by hand in
its comment: D = deductible borne now, r = ratio, cap = cap left before the settlement.
"""

from __future__ import annotations

import datetime
import itertools
import random
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import ZERO
from reports.audit.benefits import (
    Expected,
    NoPolicyPeriod,
    UnmatchedRefund,
    Visit,
    recompute,
    visit_deductibles,
)
from reports.audit.policy import (
    TIERS,
    Policy,
    PolicyError,
    Tier,
    load_policy,
    parse_policy,
    shipped_policy,
)

ANSHAN = shipped_policy("210300")


def visit(
    setl_id: str,
    when: str,
    amount: str,
    tier: str | None,
    *,
    retired: bool = False,
    mdtrt_id: str | None = None,
    institution: str = "H1",
    refund_of: str | None = None,
) -> Visit:
    return Visit(
        setl_id=setl_id,
        setl_time=datetime.datetime.fromisoformat(when),
        mdtrt_id=mdtrt_id or f"M-{setl_id}",
        institution=institution,
        inscp_scp_amt=Decimal(amount),
        tier=tier,
        retired=retired,
        refund_of=refund_of,
    )


@dataclass(frozen=True)
class Case:
    name: str
    visits: tuple[Visit, ...]
    #: (setl_id, hifp_pay, deductible borne now), in settlement order
    expected: tuple[tuple[str, str, str], ...]


CASES = [
    # Worked example of domain.md §4, in work, 2023:
    # A level-1 E=500: D=min(500, 300)=300; (500-300)x0.60=120.00.
    # B level-3 E=1000: D=max(0, 600-300)=300; (1000-300)x0.50=350.00.
    Case(
        "domain.md worked example",
        (
            visit("A", "2023-03-01 09:00", "500.00", "level-1"),
            visit("B", "2023-05-10 10:00", "1000.00", "level-3"),
        ),
        (("A", "120.00", "300.00"), ("B", "350.00", "300.00")),
    ),
    # Parameter table (art. 9, 10), one settlement of E=1000 each, 2023:
    # level-1: D=300; 700x0.60=420.00 in work, 700x0.65=455.00 retired.
    Case(
        "level-1 in work",
        (visit("A", "2023-02-01 09:00", "1000", "level-1"),),
        (("A", "420.00", "300.00"),),
    ),
    Case(
        "level-1 retired",
        (visit("A", "2023-02-01 09:00", "1000", "level-1", retired=True),),
        (("A", "455.00", "300.00"),),
    ),
    # level-2: D=400; 600x0.55=330.00 in work, 600x0.60=360.00 retired.
    Case(
        "level-2 in work",
        (visit("A", "2023-02-01 09:00", "1000", "level-2"),),
        (("A", "330.00", "400.00"),),
    ),
    Case(
        "level-2 retired",
        (visit("A", "2023-02-01 09:00", "1000", "level-2", retired=True),),
        (("A", "360.00", "400.00"),),
    ),
    # level-3: D=600; 400x0.50=200.00 in work, 400x0.55=220.00 retired.
    Case(
        "level-3 in work",
        (visit("A", "2023-02-01 09:00", "1000", "level-3"),),
        (("A", "200.00", "600.00"),),
    ),
    Case(
        "level-3 retired",
        (visit("A", "2023-02-01 09:00", "1000", "level-3", retired=True),),
        (("A", "220.00", "600.00"),),
    ),
    # outside (referred, or emergency list): D=600; 400x0.50=200.00, retired too (不分在职退休).
    Case(
        "outside in work",
        (visit("A", "2023-02-01 09:00", "1000", "outside"),),
        (("A", "200.00", "600.00"),),
    ),
    Case(
        "outside retired",
        (visit("A", "2023-02-01 09:00", "1000", "outside", retired=True),),
        (("A", "200.00", "600.00"),),
    ),
    # Infectious-disease specialty hospital, mapped by the caller to level-1, retired, E=800:
    # D=300; 500x0.65=325.00.
    Case(
        "specialty hospital as level-1",
        (visit("A", "2023-02-01 09:00", "800", "level-1", retired=True, institution="传染病医院"),),
        (("A", "325.00", "300.00"),),
    ),
    # Deductible reached exactly: A level-1 E=300: D=300, pays 0.00.
    # B level-1 E=100: D=max(0, 300-300)=0; 100x0.60=60.00.
    Case(
        "deductible reached exactly",
        (
            visit("A", "2023-01-05 09:00", "300.00", "level-1"),
            visit("B", "2023-01-06 09:00", "100.00", "level-1"),
        ),
        (("A", "0.00", "300.00"), ("B", "60.00", "0.00")),
    ),
    # Deductible spanning visits at different levels (起付标准年度内累计计算):
    # A level-2 E=250: D=250, pays 0.00 (borne 250).
    # B level-1 E=100: D=max(0, 300-250)=50; 50x0.60=30.00 (borne 300).
    # C level-3 E=500: D=max(0, 600-300)=300; 200x0.50=100.00 (borne 600).
    # E level-2 E=100: D=max(0, 400-600)=0; 100x0.55=55.00.
    Case(
        "deductible spanning levels",
        (
            visit("A", "2023-01-05 09:00", "250.00", "level-2"),
            visit("B", "2023-02-05 09:00", "100.00", "level-1"),
            visit("C", "2023-03-05 09:00", "500.00", "level-3"),
            visit("E", "2023-04-05 09:00", "100.00", "level-2"),
        ),
        (
            ("A", "0.00", "250.00"),
            ("B", "30.00", "50.00"),
            ("C", "100.00", "300.00"),
            ("E", "55.00", "0.00"),
        ),
    ),
    # Cap (3000) reached mid-settlement:
    # A level-1 E=4300: D=300; 4000x0.60=2400.00 (cap left 3000).
    # B level-1 E=2000: 2000x0.60=1200 > cap left 600: pays 600.00.
    # C level-1 E=100: cap left 0: pays 0.00.
    Case(
        "cap reached mid-settlement, then nothing",
        (
            visit("A", "2023-01-05 09:00", "4300.00", "level-1"),
            visit("B", "2023-06-05 09:00", "2000.00", "level-1"),
            visit("C", "2023-09-05 09:00", "100.00", "level-1"),
        ),
        (("A", "2400.00", "300.00"), ("B", "600.00", "0.00"), ("C", "0.00", "0.00")),
    ),
    # Refund of the settlement that consumed the deductible: A and its refund R are removed,
    # so B level-1 E=400 bears D=300 again; 100x0.60=60.00.
    Case(
        "refund of the deductible's settlement",
        (
            visit("A", "2023-01-05 09:00", "500.00", "level-1"),
            visit("R", "2023-01-06 09:00", "-500.00", "level-1", refund_of="A"),
            visit("B", "2023-01-09 09:00", "400.00", "level-1"),
        ),
        (("B", "60.00", "300.00"),),
    ),
    # December 2022 (art. 32, key 2022-12: deductible 30, cap 300 for the month), then 2023:
    # A level-3 E=100: D=30; 70x0.50=35.00 (cap left 300).
    # B level-1 E=1000: D=0; 1000x0.60=600 > cap left 265: pays 265.00.
    # C level-1 E=50: cap left 0: pays 0.00.
    # J 2023-01-03 level-1 E=500: new key 2023, nothing carried: D=300; 200x0.60=120.00.
    Case(
        "December 2022 then January 2023",
        (
            visit("A", "2022-12-05 09:00", "100.00", "level-3"),
            visit("B", "2022-12-20 09:00", "1000.00", "level-1"),
            visit("C", "2022-12-28 09:00", "50.00", "level-1"),
            visit("J", "2023-01-03 09:00", "500.00", "level-1"),
        ),
        (
            ("A", "35.00", "30.00"),
            ("B", "265.00", "0.00"),
            ("C", "0.00", "0.00"),
            ("J", "120.00", "300.00"),
        ),
    ),
    # Retired, the worked example's visits: A level-1 E=500: D=300; 200x0.65=130.00.
    # B level-3 E=1000: D=300; 700x0.55=385.00.
    Case(
        "retired worked example",
        (
            visit("A", "2023-03-01 09:00", "500.00", "level-1", retired=True),
            visit("B", "2023-05-10 10:00", "1000.00", "level-3", retired=True),
        ),
        (("A", "130.00", "300.00"), ("B", "385.00", "300.00")),
    ),
    # A not-covered settlement (临时外出, not referred) between two covered ones: pays 0.00, bears
    # no deductible, uses no cap; A and B are as in the worked example.
    Case(
        "not covered between covered",
        (
            visit("A", "2023-03-01 09:00", "500.00", "level-1"),
            visit("N", "2023-04-01 09:00", "800.00", None),
            visit("B", "2023-05-10 10:00", "1000.00", "level-3"),
        ),
        (("A", "120.00", "300.00"), ("N", "0.00", "0.00"), ("B", "350.00", "300.00")),
    ),
    # Half up at the fen: level-2 in work E=500.01: D=400; 100.01x0.55=55.0055 -> 55.01.
    Case(
        "rounding 55.0055",
        (visit("A", "2023-02-01 09:00", "500.01", "level-2"),),
        (("A", "55.01", "400.00"),),
    ),
    # Exactly half a fen: level-3 in work E=700.05: D=600; 100.05x0.50=50.025 -> 50.03 (half up;
    # half even would give 50.02).
    Case(
        "rounding 50.025",
        (visit("A", "2023-02-01 09:00", "700.05", "level-3"),),
        (("A", "50.03", "600.00"),),
    ),
    # Several settlements of one visit (Shanxi art. 22, same mdtrt_id and institution), level-1:
    # S1 E=200: D=200, pays 0.00; S2 E=200: D=100; 100x0.60=60.00; S3 E=100: D=0; 60.00.
    # The visit bears the deductible once: 300 in all.
    Case(
        "one visit, several settlements",
        (
            visit("S1", "2023-02-01 09:00", "200.00", "level-1", mdtrt_id="M1"),
            visit("S2", "2023-02-01 09:05", "200.00", "level-1", mdtrt_id="M1"),
            visit("S3", "2023-02-01 09:10", "100.00", "level-1", mdtrt_id="M1"),
        ),
        (("S1", "0.00", "200.00"), ("S2", "60.00", "100.00"), ("S3", "60.00", "0.00")),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_table(case: Case) -> None:
    shuffled = list(case.visits)
    random.Random(case.name).shuffle(shuffled)  # input order must not matter
    got = [(e.setl_id, str(e.hifp_pay), str(e.deductible)) for e in recompute(shuffled, ANSHAN)]
    assert got == list(case.expected)


def by_id(expected: list[Expected]) -> dict[str, Expected]:
    return {item.setl_id: item for item in expected}


def test_expected_carries_the_audit_trail() -> None:
    got = by_id(recompute(CASES[0].visits, ANSHAN))
    assert got["A"] == Expected(
        setl_id="A",
        hifp_pay=Decimal("120.00"),
        deductible=Decimal("300.00"),
        ratio=Decimal("0.6000"),
        cap_left=Decimal("3000.00"),
        deductible_borne_before=ZERO,
        tier="level-1",
        key="2023",
        article="第九条、第十条",
    )
    assert (got["B"].cap_left, got["B"].deductible_borne_before) == (
        Decimal("2880.00"),
        Decimal("300.00"),
    )
    assert got["B"].ratio == Decimal("0.5")


def test_not_covered_settlement_has_no_ratio_and_keeps_the_state() -> None:
    not_covered = next(case for case in CASES if case.name == "not covered between covered")
    got = by_id(recompute(not_covered.visits, ANSHAN))["N"]
    assert (got.ratio, got.tier, got.cap_left, got.deductible_borne_before) == (
        None,
        None,
        Decimal("2880.00"),
        Decimal("300.00"),
    )


def test_december_2022_is_its_own_month() -> None:
    december = next(case for case in CASES if case.name == "December 2022 then January 2023")
    got = by_id(recompute(december.visits, ANSHAN))
    assert (got["A"].key, got["A"].article, got["A"].cap_left) == (
        "2022-12",
        "第三十二条",
        Decimal("300.00"),
    )
    assert (got["J"].key, got["J"].cap_left, got["J"].deductible_borne_before) == (
        "2023",
        Decimal("3000.00"),
        ZERO,
    )


def test_a_settlement_before_the_policy_names_its_date() -> None:
    visits = [
        visit("A", "2023-01-05 09:00", "500", "level-1"),
        visit("OLD", "2022-11-15 14:30", "100", "level-1"),
    ]
    with pytest.raises(NoPolicyPeriod, match=r"OLD: dated 2022-11-15"):
        recompute(visits, ANSHAN)


def test_a_refunded_settlement_outside_the_policy_is_not_an_error() -> None:
    visits = [
        visit("OLD", "2022-11-15 14:30", "100", "level-1"),
        visit("R", "2022-12-02 08:00", "-100", "level-1", refund_of="OLD"),
    ]
    assert recompute(visits, ANSHAN) == []


def test_refund_problems_are_refused() -> None:
    a = visit("A", "2023-01-05 09:00", "500", "level-1")
    orphan = visit("R", "2023-01-06 09:00", "-500", "level-1", refund_of="X")
    with pytest.raises(UnmatchedRefund, match="R: refunds X"):
        recompute([a, orphan], ANSHAN)
    twice = [a, orphan._replace(refund_of="A"), orphan._replace(setl_id="R2", refund_of="A")]
    with pytest.raises(UnmatchedRefund, match="a second time"):
        recompute(twice, ANSHAN)
    with pytest.raises(ValueError, match="more than once"):
        recompute([a, a], ANSHAN)


def test_unknown_tier_and_negative_amount_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown tier \(found 'level-4'"):
        recompute([visit("A", "2023-01-05 09:00", "500", "level-4")], ANSHAN)
    with pytest.raises(ValueError, match="negative policy-scope amount"):
        recompute([visit("A", "2023-01-05 09:00", "-5", "level-1")], ANSHAN)


def test_visit_deductibles_bear_the_deductible_once_per_visit() -> None:
    # Shanxi art. 22: M1's three settlements at H1 bear 300 together (200 + 100 + 0); a later
    # visit M2 at level-3 bears the remaining 600 - 300 = 300; N is refunded and absent.
    visits = [
        visit("S1", "2023-02-01 09:00", "200", "level-1", mdtrt_id="M1"),
        visit("S2", "2023-02-01 09:05", "200", "level-1", mdtrt_id="M1"),
        visit("S3", "2023-02-01 09:10", "100", "level-1", mdtrt_id="M1"),
        visit("N", "2023-02-02 09:00", "900", "level-2", mdtrt_id="M3"),
        visit("NR", "2023-02-02 09:30", "-900", "level-2", mdtrt_id="M3", refund_of="N"),
        visit("T1", "2023-03-01 09:00", "500", "level-3", mdtrt_id="M2", institution="H3"),
    ]
    totals = visit_deductibles(recompute(visits, ANSHAN), visits)
    assert totals == {("M1", "H1"): Decimal("300.00"), ("M2", "H3"): Decimal("300.00")}


# --- the policy file --------------------------------------------------------------------------


def test_shipped_policy_has_the_anshan_numbers() -> None:
    assert (ANSHAN.region, ANSHAN.document) == ("210300", "鞍医保发〔2022〕14号")
    assert ANSHAN.med_types == frozenset({"11", "12", "13", "19"})
    assert ANSHAN.civil_servants == frozenset({"1102", "1202"})  # art. 30: in work, retired
    december, from_2023 = ANSHAN.periods
    assert (december.begins, december.ends, december.scope, december.cap) == (
        datetime.date(2022, 12, 1),
        datetime.date(2022, 12, 31),
        "month",
        Decimal("300"),
    )
    assert {t.deductible for t in december.tiers.values()} == {Decimal("30")}
    assert (from_2023.begins, from_2023.ends, from_2023.scope, from_2023.cap) == (
        datetime.date(2023, 1, 1),
        None,
        "year",
        Decimal("3000"),
    )
    table = {
        "level-1": Tier(Decimal("300"), Decimal("0.60"), Decimal("0.65")),
        "level-2": Tier(Decimal("400"), Decimal("0.55"), Decimal("0.60")),
        "level-3": Tier(Decimal("600"), Decimal("0.50"), Decimal("0.55")),
        "outside": Tier(Decimal("600"), Decimal("0.50"), Decimal("0.50")),
    }
    assert dict(from_2023.tiers) == table
    # December keeps the ratios of art. 9 and 10 (art. 32 changes the deductible and cap only).
    assert {n: (t.in_work, t.retired) for n, t in december.tiers.items()} == {
        n: (t.in_work, t.retired) for n, t in table.items()
    }
    assert ANSHAN.period_for(datetime.date(2022, 11, 30)) is None
    assert ANSHAN.period_for(datetime.date(2031, 5, 1)) is from_2023
    assert from_2023.key(datetime.date(2024, 2, 29)) == "2024"
    assert december.key(datetime.date(2022, 12, 31)) == "2022-12"


def test_no_shipped_policy_names_the_region() -> None:
    with pytest.raises(PolicyError, match=r"region '999999': no policy shipped \(found 210300"):
        shipped_policy("999999")
    with pytest.raises(PolicyError, match=r"region '\.\./chart'"):
        shipped_policy("../chart")


BROKEN = """\
region = "2103"
name = "坏的"
document = "x"
med_types = ["11"]
colour = "red"

[[period]]
begins = 2023-01-01
scope = "week"
cap = "3000.001"
article = "第九条"
[period.tiers]
level-1 = { deductible = "300.00", in_work = 0.6, retired = "0.65" }
level-2 = { deductible = "-400.00", in_work = "1.55", retired = "0.600001" }
level-3 = { deductible = "600.00", in_work = "0.50", retired = "0.55", bonus = "1" }
spare = { deductible = "1", in_work = "0", retired = "0" }

[[period]]
begins = 2023-06-01
ends = 2023-05-01
scope = "year"
cap = "3000.00"
[period.tiers]
level-1 = { deductible = "300.00", in_work = "0.60", retired = "0.65" }
level-2 = { deductible = "400.00", in_work = "0.55", retired = "0.60" }
level-3 = { deductible = "600.00", in_work = "0.50", retired = "0.55" }
outside = { deductible = "600.00", in_work = "0.50", retired = "abc" }

[[period]]
begins = 2023-03-01
ends = 2023-12-31
scope = "year"
cap = "3000.00"
article = "第九条"
[period.tiers]
level-1 = { deductible = "300.00", in_work = "0.60", retired = "0.65" }
level-2 = { deductible = "400.00", in_work = "0.55", retired = "0.60" }
level-3 = { deductible = "600.00", in_work = "0.50", retired = "0.55" }
outside = { deductible = "600.00", in_work = "0.50", retired = "0.50" }
"""


def test_a_broken_policy_names_every_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(BROKEN, "bad.toml")
    # (field, what is wrong), in file order; each line reads "bad.toml: field: what ...".
    expected = [
        (
            "colour",
            "unknown field (expected one of region, name, document, med_types, civil_servants, "
            "period, crediting, indicators, pharmacy, prescription_days, monitoring)",
        ),
        ("region", "not a region code (found '2103', expected 6 digits)"),
        (
            "civil_servants",
            'not a list of psn_type codes (found nothing, expected ["1102", "1202"])',
        ),
        ("period[1].scope", "not a known scope (found 'week', expected year or month)"),
        ("period[1].cap", "more than 2 decimals (found '3000.001', expected an amount in quotes"),
        (
            "period[1].tiers.level-1.in_work",
            "not a quoted number (found float 0.6, expected a ratio",
        ),
        (
            "period[1].tiers.level-2.deductible",
            "out of range (found '-400.00', expected 0 or more)",
        ),
        (
            "period[1].tiers.level-2.in_work",
            "out of range (found '1.55', expected between 0 and 1)",
        ),
        ("period[1].tiers.level-2.retired", "more than 4 decimals (found '0.600001', expected a"),
        ("period[1].tiers.level-3.bonus", "unknown field (expected one of deductible, in_work,"),
        ("period[1].tiers.outside", "missing (every period prices all 4 tiers)"),
        ("period[1].tiers.spare", "unknown tier (expected one of level-1, level-2, level-3,"),
        ("period[2].ends", "before begins (found 2023-05-01, expected on or after 2023-06-01)"),
        ("period[2].article", "missing or empty (found nothing, expected a text in quotes)"),
        ("period[2].tiers.outside.retired", "not a number (found 'abc', expected a ratio in"),
        ("period[2].begins", "overlaps period[3] (2023-03-01 to 2023-12-31) (found 2023-06-01,"),
        ("monitoring", "missing or not a table (found nothing, expected a [monitoring] table"),
    ]
    problems = caught.value.problems
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, (where, what) in zip(problems, expected, strict=True):
        assert problem.startswith(f"bad.toml: {where}: {what}"), problem
    assert str(caught.value).count("\n") == len(caught.value.problems) - 1


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('civil_servants = "1102"', "found '1102'"),
        ("civil_servants = []", "found list []"),
        ('civil_servants = ["1102", 1202]', "found list ['1102', 1202]"),
        ('civil_servants = ["公务员"]', "found list ['公务员']"),
    ],
)
def test_civil_servants_are_a_list_of_psn_types(line: str, found: str) -> None:
    text = resources.files("reports.audit").joinpath("policies/210300.toml").read_text("utf-8")
    changed = text.replace('civil_servants = ["1102", "1202"]', line)
    assert changed != text
    with pytest.raises(PolicyError) as caught:
        parse_policy(changed, "p.toml")
    assert caught.value.problems == (
        f'p.toml: civil_servants: not a list of psn_type codes ({found}, expected ["1102", '
        '"1202"])',
    )


def test_a_policy_that_is_not_toml_or_is_empty() -> None:
    with pytest.raises(PolicyError, match=r"^x\.toml: not valid TOML"):
        parse_policy("region = ", "x.toml")
    with pytest.raises(PolicyError) as caught:
        parse_policy("", "empty.toml")
    assert [p.split(": ")[1] for p in caught.value.problems] == [
        "region",
        "name",
        "document",
        "med_types",
        "civil_servants",
        "period",
        "monitoring",
    ]


# Illustrative numbers for a second region (not Taiyuan's actual rule): only a file is new.
SECOND_REGION = """\
region = "140100"
name = "示例：太原市职工医保普通门诊统筹"
document = "示例文件"
med_types = ["11"]
civil_servants = ["1102"]

[[period]]
begins = 2023-01-01
scope = "year"
cap = "2000.00"
article = "示例条款"
[period.tiers]
level-1 = { deductible = "100.00", in_work = "0.70", retired = "0.75" }
level-2 = { deductible = "200.00", in_work = "0.65", retired = "0.70" }
level-3 = { deductible = "300.00", in_work = "0.60", retired = "0.65" }
outside = { deductible = "300.00", in_work = "0.40", retired = "0.40" }

[monitoring]
min_pharmacies_in_a_day = 4
max_visits_in_7_days = 6
drain_min_purchases = 4
drain_min_acct_pay = "1500.00"
drain_acct_share = "1.00"
"""


def test_a_second_region_is_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "140100.toml"
    path.write_text(SECOND_REGION, "utf-8")
    policy = load_policy(path)
    # A level-1 E=500: D=100; 400x0.70=280.00. B level-3 E=1000: D=300-100=200; 800x0.60=480.00.
    # C level-2 E=3000: D=0; 3000x0.65=1950 > cap left 2000-760=1240: pays 1240.00.
    visits = [
        visit("A", "2023-03-01 09:00", "500.00", "level-1"),
        visit("B", "2023-05-10 10:00", "1000.00", "level-3"),
        visit("C", "2023-07-10 10:00", "3000.00", "level-2"),
    ]
    got = [(e.setl_id, str(e.hifp_pay), str(e.deductible)) for e in recompute(visits, policy)]
    assert got == [("A", "280.00", "100.00"), ("B", "480.00", "200.00"), ("C", "1240.00", "0.00")]
    with pytest.raises(NoPolicyPeriod, match="2022-12-05"):
        recompute([visit("D", "2022-12-05 09:00", "10", "level-1")], policy)


# --- properties -------------------------------------------------------------------------------

#: Amounts from integer fen, never from floats.
fen = st.integers(min_value=0, max_value=300_000).map(lambda n: Decimal(n).scaleb(-2))
tiers = st.sampled_from([*TIERS, None])
START = datetime.datetime(2022, 12, 1)


@st.composite
def people(draw: st.DrawFn) -> list[Visit]:
    """One person's settlements at distinct minutes from December 2022 into 2024."""
    minutes = draw(
        st.lists(
            st.integers(min_value=0, max_value=800 * 1440), min_size=1, max_size=12, unique=True
        )
    )
    retired = draw(st.booleans())
    return [
        Visit(
            setl_id=f"S{index:02d}",
            setl_time=START + datetime.timedelta(minutes=minute),
            mdtrt_id=f"M{index:02d}",
            institution=draw(st.sampled_from(["H1", "H2", "H3"])),
            inscp_scp_amt=draw(fen),
            tier=draw(tiers),
            retired=retired,
        )
        for index, minute in enumerate(sorted(minutes))
    ]


def cap_of(policy: Policy, key: str) -> Decimal:
    day = datetime.date(int(key[:4]), int(key[5:] or 1), 1)
    period = policy.period_for(day)
    assert period is not None
    return period.cap


@given(people())
def test_payments_stay_within_the_cap_and_the_amount(visits: list[Visit]) -> None:
    result = recompute(visits, ANSHAN)
    amounts = {v.setl_id: v.inscp_scp_amt for v in visits}
    totals: dict[str, Decimal] = {}
    for item in result:
        assert ZERO <= item.hifp_pay <= item.cap_left
        assert item.hifp_pay <= amounts[item.setl_id]
        assert ZERO <= item.deductible <= amounts[item.setl_id]
        assert item.hifp_pay == item.hifp_pay.quantize(Decimal("0.01"))
        totals[item.key] = totals.get(item.key, ZERO) + item.hifp_pay
    for key, total in totals.items():
        assert total <= cap_of(ANSHAN, key)


@given(people(), st.integers(min_value=0, max_value=11), st.data())
def test_a_refunded_settlement_changes_nothing(
    visits: list[Visit], at: int, data: st.DataObject
) -> None:
    base = recompute(visits, ANSHAN)
    source = visits[at % len(visits)]
    extra = source._replace(setl_id="X", inscp_scp_amt=data.draw(fen), tier=data.draw(tiers))
    refund = extra._replace(setl_id="XR", inscp_scp_amt=-extra.inscp_scp_amt, refund_of="X")
    assert recompute([refund, *visits, extra], ANSHAN) == base


@given(people(), st.integers(min_value=0, max_value=11), st.data())
def test_splitting_a_visit_into_settlements_keeps_the_year(
    visits: list[Visit], at: int, data: st.DataObject
) -> None:
    # Settlements of one visit share mdtrt_id, institution and day; the parts sort together
    # because they keep the visit's setl_time and extend its setl_id.
    source = visits[at % len(visits)]
    whole = int(source.inscp_scp_amt.scaleb(2))
    cuts = sorted(
        data.draw(st.lists(st.integers(min_value=0, max_value=whole), min_size=1, max_size=3))
    )
    bounds = [0, *cuts, whole]
    parts = [
        source._replace(setl_id=f"{source.setl_id}-{n}", inscp_scp_amt=Decimal(hi - lo).scaleb(-2))
        for n, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]
    split = [v for v in visits if v is not source] + parts

    def totals(result: list[Expected]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        paid: dict[str, Decimal] = {}
        borne: dict[str, Decimal] = {}
        for item in result:
            paid[item.key] = paid.get(item.key, ZERO) + item.hifp_pay
            borne[item.key] = borne.get(item.key, ZERO) + item.deductible
        return paid, borne

    paid_whole, borne_whole = totals(recompute(visits, ANSHAN))
    paid_split, borne_split = totals(recompute(split, ANSHAN))
    assert borne_split == borne_whole  # the deductible does not depend on the split at all
    assert paid_split.keys() == paid_whole.keys()
    tolerance = Decimal(len(parts) - 1).scaleb(-2)  # one fen of rounding per extra settlement
    for key, total in paid_whole.items():
        assert abs(paid_split[key] - total) <= tolerance
    whole_visit = visit_deductibles(recompute(visits, ANSHAN), visits)
    split_visit = visit_deductibles(recompute(split, ANSHAN), split)
    assert split_visit == whole_visit


def test_the_crediting_rule_is_read_and_a_broken_one_named() -> None:
    """The region's personal-account crediting (个人账户计入, Anshan art. 12 from 2023-01-01)."""
    from ledger.crediting import rule_for
    from reports.audit.policy import PolicyError, parse_policy, shipped_policy

    policy = shipped_policy("210300")
    rule = rule_for(policy.crediting, datetime.date(2023, 1, 1))
    assert rule is not None
    assert (rule.in_work_share, rule.retiree_monthly) == (Decimal("0.02"), Decimal("60.00"))
    assert rule_for(policy.crediting, datetime.date(2022, 12, 31)) is None
    text = (
        resources.files("reports.audit").joinpath("policies/210300.toml").read_text("utf-8")
    ).replace('in_work_share = "0.02"', "in_work_share = 0.02")
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.toml")
    assert caught.value.problems == (
        "p.toml: crediting[1].in_work_share: not a quoted number (found float 0.02, expected a "
        'ratio in quotes such as "0.60")',
    )
