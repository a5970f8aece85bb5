"""Platform totals (对总账): the register's month by insutype × clr_type × clr_optins, the
platform's file, and the comparison of the two."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from importers.platform_totals import parse_platform_row, read_platform_totals
from ledger.books import Books
from ledger.month import Month
from ledger.register.opening import open_register, resolve_url
from ledger.register.platform_totals import PlatformGroup, register_totals
from reports.controls.platform_totals import (
    compare,
    render_comparison,
)
from tests.conftest import Cli, settlement, write_csv


def _negate(row: dict[str, str]) -> dict[str, str]:
    """The refund row of a settlement: same fields, amounts negated."""
    return {
        k: (f"{-Decimal(v):.2f}" if k.endswith(("amt", "_pay", "selfpay", "_dedc")) and v else v)
        for k, v in row.items()
    }


def _refund(of: dict[str, str], setl_id: str, setl_time: str) -> dict[str, str]:
    return {
        **_negate(of),
        "setl_id": setl_id,
        "setl_time": setl_time,
        "refd_setl_flag": "1",
        "init_setl_id": of["setl_id"],
    }


#: The institutions, described in the settlement rows themselves (no institution list needed).
INSTITUTIONS = {
    "H1": {"fixmedins_name": "一号医院", "fixmedins_type": "1", "medins_lv": "2"},
    "H2": {"fixmedins_name": "二号医院", "fixmedins_type": "1", "medins_lv": "1"},
    "D1": {"fixmedins_name": "一号药房", "fixmedins_type": "2", "medins_lv": ""},
}


def hospital(
    setl_id: str, psn_no: str, when: str, code: str, inscp: str, hifp: str, **fields: str
) -> dict[str, str]:
    """A settlement at an institution of ``INSTITUTIONS``."""
    return settlement(setl_id, psn_no, when, code, inscp, hifp, **INSTITUTIONS[code], **fields)


S1 = hospital("S1", "P1", "2023-01-05 09:00:00", "H1", "100.00", "60.00", acct="10.00")
S2 = hospital("S2", "P2", "2023-01-20 10:00:00", "H1", "200.00", "120.00")
# a pharmacy purchase: clearing category 13
S3 = hospital(
    "S3", "P3", "2023-01-10 11:00:00", "D1", "50.00", "25.00", acct="25.00", clr_type="13"
)
S4 = hospital("S4", "P4", "2023-01-31 23:59:59", "H2", "80.00", "40.00", clr_optins="210302")
S5 = hospital("S5", "P1", "2023-02-01 00:00:00", "H1", "300.00", "150.00")
S0 = hospital("S0", "P5", "2022-12-31 23:59:59", "H1", "70.00", "35.00")
ROWS = [
    S0,
    S1,
    S2,
    S3,
    S4,
    _refund(S2, "R1", "2023-01-25 08:00:00"),  # refunded in the month of the settlement
    S5,
    _refund(S1, "R2", "2023-02-03 08:00:00"),  # a January visit refunded in February
]


def group(key: str, medfee: str, fund: str, acct: str, count: int) -> PlatformGroup:
    insutype, clr_type, clr_optins = key.split("/")
    return PlatformGroup(
        insutype, clr_type, clr_optins, Decimal(medfee), Decimal(fund), Decimal(acct), count
    )


# By hand. 310/11/210300: S1 + S2 + R1 (S2's refund): 100 + 200 - 200, 60 + 120 - 120, 10 + 0
# - 0, three rows. S4 is another clearing agency, S3 another clearing category.
JANUARY = [
    group("310/11/210300", "100.00", "60.00", "10.00", 3),
    group("310/11/210302", "80.00", "40.00", "0.00", 1),
    group("310/13/210300", "50.00", "25.00", "25.00", 1),
]
# S5 + R2 (S1's refund, dated in February): 300 - 100, 150 - 60, 0 - 10, two rows.
FEBRUARY = [group("310/11/210300", "200.00", "90.00", "-10.00", 2)]

HEADER = "insutype,clr_type,clr_optins,medfee_sumamt,fund_pay_sumamt,acct_pay,fixmedins_setl_cnt"
AGREEING = [
    "310,11,210300,100.00,60.00,10.00,3",
    "310,11,210302,80.00,40.00,0.00,1",
    "310,13,210300,50.00,25.00,25.00,1",
]


def platform_file(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", "utf-8")
    return path


def test_register_totals_by_settlement_month(books: Path, cli: Cli) -> None:
    write_csv(cli.cwd / "settlements.csv", ROWS)
    cli("import", "settlements", "settlements.csv", "--books", "books")
    engine = open_register(resolve_url(Books(books).read_config().db_url, books))
    try:
        assert register_totals(engine, Month(2023, 1)) == JANUARY
        assert register_totals(engine, Month(2023, 2)) == FEBRUARY
        assert register_totals(engine, Month(2022, 12)) == [
            group("310/11/210300", "70.00", "35.00", "0.00", 1)
        ]
        assert register_totals(engine, Month(2023, 3)) == []
        # posting the month does not change what it holds
        cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
        january = register_totals(engine, Month(2023, 1))
        assert january == JANUARY
        assert all(isinstance(g.medfee_sumamt, Decimal) for g in january)
        for bad in ("2023-1", "2023-13", "202301", ""):  # refused where the month comes in
            with pytest.raises(ValueError, match="not a month"):
                Month.parse(bad)
    finally:
        engine.dispose()


def test_platform_file_that_agrees(tmp_path: Path) -> None:
    # Row order of the file does not matter; the groups come back sorted.
    path = platform_file(tmp_path, *reversed(AGREEING))
    platform, problems = read_platform_totals(path)
    assert problems == []
    assert platform == JANUARY
    comparisons = compare(JANUARY, platform)
    assert [c.key for c in comparisons] == [g.key for g in JANUARY]
    assert all(c.agreed and c.differences == () and c.only_in is None for c in comparisons)
    table = render_comparison(comparisons, Month(2023, 1))
    assert "平台对总账核对 2023-01" in table
    assert "共 3 组：一致 3 组，不一致 0 组" in table
    assert "不一致：" not in table


def test_platform_file_gb18030_with_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    text = "\n".join([HEADER + ",stmt_begndate,备注", *(f"{r},2023-01-01,平台" for r in AGREEING)])
    path.write_bytes((text + "\n").encode("gb18030"))
    platform, problems = read_platform_totals(path)
    assert problems == []
    assert platform == JANUARY


def test_one_figure_differs_and_is_named(tmp_path: Path) -> None:
    path = platform_file(tmp_path, AGREEING[0], AGREEING[1], "310,13,210300,50.00,25.01,25.00,1")
    platform, problems = read_platform_totals(path)
    assert problems == []
    comparisons = compare(JANUARY, platform)
    assert [c.agreed for c in comparisons] == [True, True, False]
    differing = comparisons[2]
    assert differing.key == ("310", "13", "210300")
    assert differing.only_in is None
    assert differing.differences == (("fund_pay_sumamt", Decimal("25.00"), Decimal("25.01")),)
    table = render_comparison(comparisons, Month(2023, 1))
    assert "不一致：基金支付总额" in table
    assert "-0.01" in table
    assert "差额 = 登记簿 − 平台" in table
    assert "共 3 组：一致 2 组，不一致 1 组" in table


def test_a_count_that_differs(tmp_path: Path) -> None:
    # The platform counted the refund R1 as no row of its own: one row fewer.
    path = platform_file(tmp_path, "310,11,210300,100.00,60.00,10.00,2", *AGREEING[1:])
    platform, _ = read_platform_totals(path)
    comparisons = compare(JANUARY, platform)
    assert comparisons[0].differences == (("fixmedins_setl_cnt", 3, 2),)
    assert "不一致：结算笔数" in render_comparison(comparisons, Month(2023, 1))


def test_groups_on_one_side_only(tmp_path: Path) -> None:
    # The platform lacks 310/11/210302 and has 310/14/210300, which the register does not.
    path = platform_file(tmp_path, AGREEING[0], AGREEING[2], "310,14,210300,30.00,12.00,0.00,1")
    platform, problems = read_platform_totals(path)
    assert problems == []
    comparisons = {"/".join(c.key): c for c in compare(JANUARY, platform)}
    assert list(comparisons) == ["310/11/210300", "310/11/210302", "310/13/210300", "310/14/210300"]
    missing = comparisons["310/11/210302"]
    assert (missing.agreed, missing.only_in, missing.platform) == (False, "register", None)
    assert missing.differences == (
        ("medfee_sumamt", Decimal("80.00"), Decimal("0.00")),
        ("fund_pay_sumamt", Decimal("40.00"), Decimal("0.00")),
        ("fixmedins_setl_cnt", 1, 0),
    )
    extra = comparisons["310/14/210300"]
    assert (extra.agreed, extra.only_in, extra.register) == (False, "platform", None)
    assert extra.differences[0] == ("medfee_sumamt", Decimal("0.00"), Decimal("30.00"))
    assert comparisons["310/11/210300"].agreed and comparisons["310/13/210300"].agreed
    table = render_comparison(list(comparisons.values()), Month(2023, 1))
    assert "不一致：仅登记簿有" in table
    assert "不一致：仅平台有" in table
    assert "共 4 组：一致 2 组，不一致 2 组" in table


def test_a_group_of_zeros_on_one_side_is_still_different() -> None:
    zeros = group("310/99/210300", "0.00", "0.00", "0.00", 0)
    (only,) = compare([], [zeros])
    assert only.differences == ()
    assert not only.agreed
    assert only.only_in == "platform"


def test_nothing_on_either_side() -> None:
    assert compare([], []) == []
    assert "登记簿与平台本月均无结算" in render_comparison([], Month(2023, 1))
    with pytest.raises(ValueError, match="found '2023-1'"):
        Month.parse("2023-1")


def test_malformed_platform_file_lists_every_problem(tmp_path: Path) -> None:
    # acct_pay column missing; then, line by line: a bad number, more than 2 decimals, a count
    # that is not a whole number, an empty key, a group given twice, a row of the wrong width.
    header = "insutype,clr_type,clr_optins,medfee_sumamt,fund_pay_sumamt,fixmedins_setl_cnt"
    path = platform_file(
        tmp_path,
        "310,11,210300,1O0.00,60.00,3",
        "310,13,210300,50.001,25.00,1",
        "310,11,210302,80.00,40.00,1.5",
        "310,,210300,1.00,1.00,1",
        "310,14,210300,2.00,1.00,1",
        "310,14,210300,2.00,1.00,1",
        "310,15,210300,2.00",
        header=header,
    )
    platform, problems = read_platform_totals(path)
    assert platform == []
    assert [str(p) for p in problems] == [
        f"{path}:1: acct_pay: required column missing from the header "
        "(found nothing, expected a column acct_pay)",
        f"{path}:2: medfee_sumamt: not an amount: not a number "
        "(found '1O0.00', expected yuan with at most 2 decimals)",
        f"{path}:3: medfee_sumamt: not an amount: more than 2 decimals "
        "(found '50.001', expected yuan with at most 2 decimals)",
        f"{path}:4: fixmedins_setl_cnt: not a count (found '1.5', expected a whole number, 0 or "
        "more)",
        f"{path}:5: clr_type: required field is empty (found nothing, expected a code)",
        f"{path}:8: row: wrong number of values "
        "(found '4 values', expected 6, one per column of the header)",
    ]


def test_duplicate_group_and_empty_fields(tmp_path: Path) -> None:
    line = "310,11,210300,100.00,60.00,10.00,3"
    path = platform_file(tmp_path, line, line)
    platform, problems = read_platform_totals(path)
    assert platform == []
    assert [(p.location, p.field, p.message) for p in problems] == [
        (f"{path}:3", "clr_optins", f"group given twice, first at {path}:2"),
    ]
    path = platform_file(tmp_path, "310,13,210300,,25.00,,-1", name="q.csv")
    _, problems = read_platform_totals(path)
    assert [(p.field, p.message) for p in problems] == [
        ("medfee_sumamt", "required amount is empty"),
        ("acct_pay", "required amount is empty"),
        ("fixmedins_setl_cnt", "not a count"),
    ]


def test_a_missing_key_column_is_one_problem(tmp_path: Path) -> None:
    # Without clr_optins the two rows would have the same key: no false "given twice".
    header = "insutype,clr_type,medfee_sumamt,fund_pay_sumamt,acct_pay,fixmedins_setl_cnt"
    path = platform_file(tmp_path, "310,11,1.00,1.00,0,1", "310,11,2.00,1.00,0,1", header=header)
    platform, problems = read_platform_totals(path)
    assert platform == []
    assert [(p.location, p.field) for p in problems] == [(f"{path}:1", "clr_optins")]


def test_unreadable_or_empty_platform_file(tmp_path: Path) -> None:
    _, problems = read_platform_totals(platform_file(tmp_path, name="empty.csv"))
    assert [(p.field, p.message) for p in problems] == [("file", "no rows")]
    _, problems = read_platform_totals(platform_file(tmp_path, "x", name="p.pdf"))
    assert [(p.field, p.message) for p in problems] == [("file", "unknown format")]


def test_negative_totals_are_read() -> None:
    # A group that holds only refunds in the month has negative totals on both sides.
    raw = dict(
        zip(
            HEADER.split(","),
            ["310", "11", "210300", "-200.00", "-120.00", "0", "1"],
            strict=True,
        )
    )
    parsed, problems = parse_platform_row(raw, "p.csv:2")
    assert problems == []
    assert parsed == group("310/11/210300", "-200.00", "-120.00", "0.00", 1)
