"""异地就医: settlements at institutions outside the books' region, cleared through the clearing
agency their settlements name (clr_optins), paid to that agency in one line a part for all its
batches of a period; the advance (异地就医预付金) in 1101 暂付款 by agency.

The case: 本市医院 (H1, district 210302: inside the city 210300) is paid itself; 沈阳甲医院 and
沈阳乙医院 (R1, R2, in 沈阳 210100) are cleared through 沈阳's agency; 北京某医院 (R3, in 北京)
has settlements the city's own agency cleared (clr_optins 210300), so it is paid itself too.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data

from ledger.chart import DEFAULT_CHART_TEXT, ChartError, parse_chart
from postings.payments import Line, OpenPart, decide, decide_fiscal
from tests.conftest import Cli, settlement, write_csv
from tests.test_bank import PERSONAL, POOLED, _statement, _transactions

SHENYANG = "Assets:1101-暂付款:01-异地就医预付金:210100-沈阳市"
AGENCY = "沈阳市医疗保障事务服务中心"
INSTITUTIONS = (
    "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs\n"
    "H1,本市医院,1,2,0,210302\n"
    "R1,沈阳甲医院,1,2,0,210102\n"
    "R2,沈阳乙医院,1,2,0,210103\n"
    "R3,北京某医院,1,2,0,110105\n"
)
NAMES = {"H1": "本市医院", "R1": "沈阳甲医院", "R2": "沈阳乙医院", "R3": "北京某医院"}


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and posting.units.number is not None
    return posting.units.number


def _row(setl_id: str, code: str, inscp: str, hifp: str, **fields: str) -> dict[str, str]:
    fields.setdefault("clr_optins", "210100" if code in ("R1", "R2") else "210300")
    return settlement(
        setl_id,
        "P" + setl_id,
        "2023-01-10 09:00:00",
        code,
        inscp,
        hifp,
        fixmedins_name=NAMES[code],
        fixmedins_type="1",
        medins_lv="2",
        **fields,
    )


ROWS = [
    _row("S1", "H1", "100.00", "60.00", acct="10.00"),
    _row("S2", "R1", "200.00", "120.00", acct="30.00"),
    _row("S3", "R2", "300.00", "150.00"),
    _row("S4", "R3", "50.00", "20.00"),
]


#: The pooled fund's February statement: a transfer in, the advance to 沈阳's agency, H1 paid
#: itself, the agency paid R1's and R2's pooled parts (120 + 150) in one line, R3 paid itself.
POOLED_LINES = [
    ("2023-02-02", "", "1000.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
    ("2023-02-05", "500.00", "", AGENCY, "异地就医预付金"),
    ("2023-02-10", "60.00", "", "本市医院", "门诊统筹结算款 clr-2023-01-H1-11"),
    ("2023-02-10", "270.00", "", AGENCY, "异地就医清算资金 2023-01"),
    ("2023-02-10", "20.00", "", "北京某医院", "门诊统筹结算款 clr-2023-01-R3-11"),
]


def _posted(cli: Cli, rows: list[dict[str, str]] = ROWS, expect: int = 0) -> str:
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    cli("import", "institutions", "institutions.csv", "--books", "books")
    write_csv(cli.cwd / "settlements.csv", rows)
    cli("import", "settlements", "settlements.csv", "--books", "books")
    _code, out, err = cli("post", "--period", "2023-01", "--books", "books", expect=expect)
    return out + err


def test_agency_batches_are_paid_in_one_line_and_the_advance_sits_in_1101(
    books: Path, cli: Cli
) -> None:
    assert "4 batches cleared, unpaid" in _posted(cli)
    clearing = (books / "clearing" / "2023-01.beancount").read_text("utf-8")
    assert clearing.count('clr_optins: "210100"') == 0  # unpaid: not in the books yet
    _statement(cli.cwd / "pooled.csv", POOLED_LINES)
    _code, out, err = cli(
        "import", "statement", "pooled.csv", "--account", POOLED, "--books", "books"
    )
    assert "agency-payment 1" in out and "remote-advance 1" in out and err == ""
    _statement(cli.cwd / "personal.csv", [
        ("2023-02-02", "", "100.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
        ("2023-02-10", "10.00", "", "本市医院", "门诊统筹结算款 clr-2023-01-H1-11"),
        ("2023-02-12", "30.00", "", AGENCY, "异地就医清算资金 210100"),
    ])  # fmt: skip
    _code, out, err = cli(
        "import", "statement", "personal.csv", "--account", PERSONAL, "--books", "books"
    )
    assert "agency-payment 1" in out  # by the agency's code in the summary
    # R1's two parts were paid on two days: one voucher, one date; a person decides
    assert "^clr-2023-01-R1-11: its parts were paid on 2023-02-10, 2023-02-12" in err
    booked = {t.meta["institution"]: t for t in _transactions(books, False) if "voucher" in t.meta}
    # R2 has no personal part: paid whole on the pooled line's day
    assert set(booked) == {"H1", "R2", "R3"}
    assert booked["R2"].date == datetime.date(2023, 2, 10)
    assert booked["R2"].meta["clr_optins"] == "210100"
    assert booked["R2"].links == {"clr-2023-01-R2-11", "ydjy-2023-01-210100"}
    assert str(booked["R2"].narration).startswith("异地就医 经沈阳市清算 2023-01")
    assert "clr_optins" not in booked["R3"].meta  # cleared by the city's own agency
    assert [_number(p) for p in booked["R2"].postings if p.account == POOLED] == [
        Decimal("-150.00")
    ]


def test_an_agencys_parts_paid_the_same_day_book_every_batch(books: Path, cli: Cli) -> None:
    _posted(cli)
    _statement(cli.cwd / "pooled.csv", POOLED_LINES)
    cli("import", "statement", "pooled.csv", "--account", POOLED, "--books", "books")
    _statement(cli.cwd / "personal.csv", [
        ("2023-02-02", "", "100.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
        ("2023-02-10", "10.00", "", "本市医院", "门诊统筹结算款 clr-2023-01-H1-11"),
        ("2023-02-10", "30.00", "", AGENCY, "异地就医清算资金 2023-01"),
    ])  # fmt: skip
    _code, out, _err = cli(
        "import", "statement", "personal.csv", "--account", PERSONAL, "--books", "books"
    )
    assert "booked 2 batches" in out  # H1 and R1 (R2, R3 were booked by the pooled statement)
    entries = _transactions(books)
    remote = [t for t in entries if t.meta.get("clr_optins") == "210100"]
    assert sorted(t.meta["institution"] for t in remote) == ["R1", "R2"]
    assert {t.date for t in remote} == {datetime.date(2023, 2, 10)}
    expenses = sum(
        (_number(p) for t in remote for p in t.postings if p.account.startswith("Expenses:")),
        Decimal(0),
    )
    assert expenses == Decimal("300.00")  # R1 120 + 30, R2 150: what the agency was paid
    advance = [p for t in entries for p in t.postings if p.account == SHENYANG]
    assert [_number(p) for p in advance] == [Decimal("500.00")]
    _code, out, _err = cli("check", "--books", "books")
    assert "ok: 4 transactions, 4 batches, books equal the register" in out
    # the agency's payments stay: the period cannot be formed again under them
    _code, _out, err = cli("post", "--period", "2023-01", "--replace", "--books", "books", expect=1)
    assert "bank statement lines are matched to its batches" in err


def test_a_line_to_the_agency_that_matches_no_period_is_left_to_decide(
    books: Path, cli: Cli
) -> None:
    _posted(cli)
    _statement(cli.cwd / "pooled.csv", [
        ("2023-02-02", "", "1000.00", "鞍山市社会保险基金财政专户", "财政专户拨入"),
        ("2023-02-10", "269.99", "", AGENCY, "异地就医清算资金"),
    ])  # fmt: skip
    _code, out, err = cli(
        "import", "statement", "pooled.csv", "--account", POOLED, "--books", "books"
    )
    assert "undecided 1" in out
    assert "269.99 to agency 210100 matches no period of its open batches" in err
    assert "(open: 2023-01 270.00)" in err


def test_a_batch_naming_two_agencies_is_refused(books: Path, cli: Cli) -> None:
    two = [*ROWS, _row("S5", "R1", "10.00", "5.00", clr_optins="110100")]
    err = _posted(cli, two, expect=1)
    assert "clr-2023-01-R1-11: clr_optins: one batch is paid to one party" in err
    assert "found '110100, 210100'" in err and "refused: nothing was posted" in err
    assert not (books / "clearing" / "2023-01.beancount").exists()


def test_an_agency_the_chart_lacks_is_refused(books: Path, cli: Cli) -> None:
    rows = [*ROWS[:2], _row("S3", "R2", "300.00", "150.00", clr_optins="330100")]
    err = _posted(cli, rows, expect=1)
    assert "clr-2023-01-R2-11: clr_optins: clearing agency not in the chart" in err
    assert "found '330100', expected 110100, 120100, 210100, 310100" in err
    assert not (books / "clearing" / "2023-01.beancount").exists()


# --- pure: the decisions ---------------------------------------------------------------------

AGENCIES = {"210100": "沈阳市", "110100": "北京市"}
DAY = datetime.date(2023, 2, 10)


def _part(batch_id: int, code: str, amount: str, period: str, agency: str | None) -> OpenPart:
    link = f"clr-{period}-{code}-11"
    return OpenPart(
        batch_id, link, code, NAMES.get(code, code), Decimal(amount), None, agency, period
    )


def test_decide_an_agency_line_by_its_period_sum() -> None:
    parts = [
        _part(1, "R1", "120.00", "2023-01", "210100"),
        _part(2, "R2", "150.00", "2023-01", "210100"),
        _part(3, "R1", "270.00", "2023-02", "210100"),
        _part(4, "H1", "270.00", "2023-01", None),
    ]
    line = Line(3, DAY, Decimal("-270.00"), AGENCY, "异地就医清算资金", "")
    decision = decide(line, parts, AGENCIES)
    # 2023-01 (120 + 150) and 2023-02 both add up to 270.00: which one is for a person to say
    assert decision.kind == "undecided" and "matches 2 periods" in decision.note
    named = Line(3, DAY, Decimal("-270.00"), AGENCY, "异地就医清算资金 2023-02", "")
    assert decide(named, parts[:2] + parts[3:], AGENCIES).batch_ids == (1, 2)
    # an institution's own name comes first, even one with an agency's name in it
    beijing = [OpenPart(5, "clr-2023-01-H9-11", "H9", "北京市场路诊所", Decimal("80.00"), None)]
    to_clinic = Line(4, DAY, Decimal("-80.00"), "北京市场路诊所", "结算款", "")
    assert decide(to_clinic, beijing, AGENCIES).kind == "batch-payment"
    advance = Line(5, DAY, Decimal("-500.00"), AGENCY, "异地就医预付金", "")
    assert decide(advance, parts, AGENCIES).agency == "210100"
    assert decide(advance, parts, AGENCIES).kind == "remote-advance"
    # without the chart's agencies (an older chart) the agency is no counterparty it knows
    assert decide(advance, parts).kind == "undecided"


def test_fiscal_advance_is_booked_to_its_agency() -> None:
    chart = parse_chart(DEFAULT_CHART_TEXT)
    line = Line(2, DAY, Decimal("-30000.00"), AGENCY, "异地就医预付金 210100", "")
    decision = decide_fiscal(line, chart, None, [], lambda _day: (Decimal(1), Decimal(1)))
    assert (decision.kind, decision.legs) == ("remote-advance", ((SHENYANG, Decimal("30000.00")),))
    back = Line(3, DAY, Decimal("1000.00"), AGENCY, "异地就医预付金退回", "")
    returned = decide_fiscal(back, chart, None, [], lambda _day: (Decimal(1), Decimal(1)))
    assert returned.legs == ((SHENYANG, Decimal("-1000.00")),)
    unknown = Line(4, DAY, Decimal("-30000.00"), "杭州市医疗保障事务服务中心", "异地就医预付金", "")
    decision = decide_fiscal(unknown, chart, None, [], lambda _day: (Decimal(1), Decimal(1)))
    assert decision.kind == "undecided" and "not one clearing agency" in decision.note


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('role = "remote-advance"\n', "agency: a remote-advance account names its clearing agency"),
        ('role = "remote-advance"\nagency = "21"\n', "found '21'"),
        ('role = "interest-income"\nagency = "210100"\n', "found '210100'"),
    ],
)
def test_chart_agency_accounts_are_checked(extra: str, message: str) -> None:
    text = (
        DEFAULT_CHART_TEXT
        + f'\n[[account]]\nname = "Assets:1101-暂付款:01-异地就医预付金:9-x"\n{extra}'
    )
    with pytest.raises(ChartError, match=message):
        parse_chart(text)
