"""Contributions (征缴收入): a month's collection booked on the day received into 4001 by
sub-fund, by the region's crediting rule (Anshan art. 12, from 2023-01, art. 32)."""

from __future__ import annotations

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crediting import CreditingRule
from postings.contributions import Contribution, collect, personal_part, retiree_crediting
from tests.conftest import Cli

GOLDEN = Path(__file__).parent / "golden" / "contributions"
UPDATE = os.environ.get("MZLEDGER_UPDATE_GOLDEN") == "1"
HEADER = "period,psn_no,psn_type,contribution_base,employer_amount,employee_amount\n"
RULE = CreditingRule(datetime.date(2023, 1, 1), Decimal("0.02"), Decimal("60.00"), "art. 12")
POOLED = "Income:4001-社会保险费收入:01-统筹基金"
PERSONAL = "Income:4001-社会保险费收入:02-个人账户基金"
FISCAL = "Assets:1003-财政专户存款"


def sums(books: Path) -> dict[str, Decimal]:
    entries, errors, _ = loader.load_file(str(books / "main.beancount"))
    assert errors == []
    found: dict[str, Decimal] = {}
    for entry in entries:
        for posting in getattr(entry, "postings", ()):
            found[posting.account] = found.get(posting.account, Decimal(0)) + posting.units.number
    return found


@pytest.mark.parametrize("name", ["collection-utf8.csv", "collection-utf8-bom.csv"])
def test_a_month_by_hand(books: Path, cli: Cli, name: str) -> None:
    """Worked by hand: P1 in work, base 5,000.00: 2% = 100.00 to the personal account, 400.00
    to the pool; P2 flexible: 240.00 to the pool; P3 retired: credited 60.00 from the pool;
    P4 civil servant, base 4,321.25: 2% = 86.425, half up 86.43; P5 flexible retiree: no
    personal account. Cash 1,172.13 = pooled 985.70 + personal 186.43; after the crediting
    统筹基金 925.70, 个人账户基金 246.43."""
    (books.parent / "collection.csv").write_bytes((GOLDEN / name).read_bytes())
    _code, out, _err = cli(
        "import",
        "contributions",
        "collection.csv",
        "--received-on",
        "2023-01-25",
        "--books",
        "books",
    )
    assert out == (
        "collection.csv: 2023-01, 5 persons, received 1,172.13 on 2023-01-25: 统筹基金 985.70, "
        "个人账户基金 186.43; 1 retiree credited 60.00 from the pooled fund\n"
    )
    written = (books / "contributions" / "2023-01.beancount").read_text("utf-8")
    expected = GOLDEN / "expected-2023-01.beancount"
    if UPDATE:
        expected.write_text(written, "utf-8")
    assert written == expected.read_text("utf-8")
    found = sums(books)
    assert found[FISCAL] == Decimal("1172.13")
    assert (found[POOLED], found[PERSONAL]) == (Decimal("-925.70"), Decimal("-246.43"))
    before = {p: p.read_bytes() for p in books.rglob("*.beancount")}
    _code, out, _err = cli(
        "import",
        "contributions",
        "collection.csv",
        "--received-on",
        "2023-01-25",
        "--books",
        "books",
    )
    assert out == "collection.csv: already imported (same sha256), nothing to do\n"
    assert {p: p.read_bytes() for p in books.rglob("*.beancount")} == before


@pytest.mark.parametrize(
    ("rows", "problems"),
    [
        (
            "2023-02,P1,1101,5000.00,-400.00,100.00\n2023-02,P3,1201,0.00,10.00,0.00\n",
            [
                "c.csv:2: employer_amount: a contribution is never negative "
                "(found '-400.00', expected yuan with at most 2 decimals, 0 or more)",
                "c.csv:3: employer_amount: a retiree pays no contribution "
                "(found '10.00', expected 0)",
            ],
        ),
        (
            "2023-02,P1,1101,5000.00,400.00,100.00\n2023-03,P2,1101,5000.00,400.00,100.00\n",
            [
                "c.csv: period: a file is one month's collection "
                "(found '2023-02, 2023-03', expected one month)"
            ],
        ),
        (
            "2022-12,P1,1101,5000.00,400.00,100.00\n",
            [
                "c.csv: period: no personal-account crediting rule for the month in the region's "
                "policy file (鞍医保发〔2022〕14号, [[crediting]]) (found '2022-12', expected a "
                "month the policy's crediting covers)"
            ],
        ),
        (
            "2023-02,P1,1101,5000.00,0.00,99.99\n",
            [
                "c.csv:2: contribution_base: the personal account's 2% of the base is more than "
                "was paid (found '100.00 of 5000.00', expected at most 99.99)"
            ],
        ),
        (
            "2023-02,P1,9999,5000.00,400.00,100.00\n2023-02,P1,1101,1.005,0,0\n",
            [
                "c.csv:2: psn_type: not a 人员类别 mzledger knows "
                "(found '9999', expected 1101, 1102, 1103, 1201, 1202, 1203)",
                "c.csv:3: contribution_base: not an amount: more than 2 decimals "
                "(found '1.005', expected yuan with at most 2 decimals, 0 or more)",
            ],
        ),
    ],
)
def test_a_wrong_collection_is_refused(
    books: Path, cli: Cli, rows: str, problems: list[str]
) -> None:
    (books.parent / "c.csv").write_text(HEADER + rows, "utf-8")
    _code, out, err = cli(
        "import",
        "contributions",
        "c.csv",
        "--received-on",
        "2023-02-25",
        "--books",
        "books",
        expect=1,
    )
    assert err.splitlines() == [
        *problems,
        f"refused: {len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was imported",
    ]
    assert out == ""
    assert not (books / "contributions").exists()


def test_a_person_already_in_the_month_refuses_the_file(books: Path, cli: Cli) -> None:
    (books.parent / "a.csv").write_text(HEADER + "2023-02,P1,1101,5000.00,400.00,100.00\n")
    (books.parent / "b.csv").write_text(HEADER + "2023-02,P1,1101,5000.00,400.00,100.01\n")
    cli("import", "contributions", "a.csv", "--received-on", "2023-02-25", "--books", "books")
    before = (books / "contributions" / "2023-02.beancount").read_bytes()
    _code, _out, err = cli(
        "import",
        "contributions",
        "b.csv",
        "--received-on",
        "2023-02-26",
        "--books",
        "books",
        expect=1,
    )
    assert err.splitlines()[0] == (
        "b.csv: psn_no: already in the register for 2023-02 (found 'P1', expected not in a.csv:2)"
    )
    assert (books / "contributions" / "2023-02.beancount").read_bytes() == before


PSN_TYPES = ("1101", "1102", "1103", "1201", "1202", "1203")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PSN_TYPES),
            st.integers(min_value=0, max_value=10**9),  # base, fen
            st.integers(min_value=0, max_value=10**8),  # employer, fen
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["0.02", "0.015", "0.0333"]),
)
def test_the_split_never_makes_or_loses_a_fen(
    people: list[tuple[str, int, int]], share: str
) -> None:
    """Pooled + personal is the cash received, to the fen; the crediting moves whole retirees'
    60.00 between the sub-funds and changes neither the cash nor their sum."""
    rule = CreditingRule(datetime.date(2023, 1, 1), Decimal(share), Decimal("60.00"), "x")
    rows = []
    for n, (psn_type, base, employer) in enumerate(people):
        retired = psn_type.startswith("12")
        paid = Decimal(0) if retired else Decimal(employer).scaleb(-2)
        # the employee pays at least their own personal-account share: it comes from them
        own = personal_part(
            Contribution("", psn_type, Decimal(base).scaleb(-2), Decimal(0), Decimal(0), ""), rule
        )
        rows.append(Contribution(f"P{n}", psn_type, Decimal(base).scaleb(-2), paid, own, f"x:{n}"))
    collection = collect("2023-01", rows, rule)
    assert collection.pooled + collection.personal == collection.paid
    assert collection.paid == sum((r.employer + r.employee for r in rows), Decimal(0))
    assert collection.personal == sum((personal_part(r, rule) for r in rows), Decimal(0))
    assert collection.crediting == Decimal("60.00") * collection.retirees
    assert collection.retirees == sum(1 for r in rows if retiree_crediting(r, rule))
    for value in (collection.pooled, collection.personal, collection.crediting):
        assert value == value.quantize(Decimal("0.01"))


def test_a_chart_without_contribution_accounts_is_a_message(books: Path, cli: Cli) -> None:
    """Books keep the chart they were made with: one without 4001 says so, writes nothing."""
    chart = books / "chart.toml"
    text = chart.read_text("utf-8")
    block = (
        '[[account]]\nname = "Income:4001-社会保险费收入:01-统筹基金"\n'
        'role = "contribution-income"\nfund = "pooled"\n\n'
        '[[account]]\nname = "Income:4001-社会保险费收入:02-个人账户基金"\n'
        'role = "contribution-income"\nfund = "personal"\n\n'
    )
    assert block in text
    chart.write_text(text.replace(block, ""), "utf-8")
    (books.parent / "c.csv").write_text(HEADER + "2023-02,P1,1101,5000.00,400.00,100.00\n")
    _code, _out, err = cli(
        "import",
        "contributions",
        "c.csv",
        "--received-on",
        "2023-02-25",
        "--books",
        "books",
        expect=1,
    )
    assert err.splitlines()[0].startswith(
        "books/chart.toml: contribution-income: no account of this role in the books' chart"
    ), err
    assert not (books / "contributions").exists()


def test_check_compares_the_books_contributions_with_the_register(books: Path, cli: Cli) -> None:
    """A hand edit of the generated file (both legs, so the books still balance) is named by
    ``check``, account by account; the file as generated passes."""
    (books.parent / "collection.csv").write_bytes((GOLDEN / "collection-utf8.csv").read_bytes())
    cli(
        *("import", "contributions", "collection.csv", "--received-on", "2023-01-25"),
        "--books",
        "books",
    )
    cli("check", "--books", "books")
    path = books / "contributions" / "2023-01.beancount"
    text = path.read_text("utf-8")
    assert "1172.13 CNY" in text and "-985.70 CNY" in text
    path.write_text(
        text.replace("1172.13 CNY", "1172.23 CNY").replace("-985.70 CNY", "-985.80 CNY")
    )
    code, out, err = cli("check", "--books", "books", expect=None)
    assert code != 0
    said = out + err
    assert f"contributions 2023-01: {FISCAL}: books 1172.23, register 1172.13" in said
    assert f"contributions 2023-01: {POOLED}: books -925.80, register -925.70" in said


def test_contributions_the_tax_bureau_collects_go_to_1005(books: Path, cli: Cli) -> None:
    """With ``contributions_received_into = "1005"`` the receipt is 借 国库存款; ``check`` holds
    the books to it; a value other than 1003 or 1005 is refused naming the setting."""
    config = books / "mzledger.toml"
    settings = config.read_text("utf-8")
    config.write_text(settings + 'contributions_received_into = "1005"\n', "utf-8")
    (books.parent / "collection.csv").write_bytes((GOLDEN / "collection-utf8.csv").read_bytes())
    cli(
        *("import", "contributions", "collection.csv", "--received-on", "2023-01-25"),
        "--books",
        "books",
    )
    found = sums(books)
    assert found["Assets:1005-国库存款"] == Decimal("1172.13")
    assert FISCAL not in found
    cli("check", "--books", "books")
    config.write_text(settings, "utf-8")  # back to 1003: the books no longer match the setting
    code, out, err = cli("check", "--books", "books", expect=None)
    assert code != 0
    assert f"contributions 2023-01: {FISCAL}: books 0.00, register 1172.13" in out + err
    config.write_text(settings + 'contributions_received_into = "1002"\n', "utf-8")
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert (
        "contributions_received_into: not a receiving account (found '1002', expected 1003 "
        "财政专户存款 or 1005 国库存款)"
    ) in err


def test_the_policy_names_who_has_no_personal_account() -> None:
    """Flexible workers (1103, 1203) by default; a region's local code for 单建统筹 persons
    (none in the national list) is added in its policy file, and they are credited nothing."""
    from reports.audit.policy import PolicyError, parse_policy

    text = (Path(__file__).parents[1] / "reports/audit/policies/210300.toml").read_text("utf-8")
    policy = parse_policy(text, "210300.toml")
    assert policy.crediting[0].no_personal_account == frozenset({"1103", "1203"})
    local = parse_policy(
        text.replace(
            'no_personal_account = ["1103", "1203"]',
            'no_personal_account = ["1103", "1203", "1199"]',
        ),
        "210300.toml",
    ).crediting[0]
    pooled_only = Contribution(
        "Q1", "1199", Decimal("5000.00"), Decimal("400.00"), Decimal("100.00"), "f:2"
    )
    assert personal_part(pooled_only, local) == 0 and personal_part(pooled_only, RULE) == Decimal(
        "100.00"
    )
    retired = Contribution("Q2", "1203", Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), "f:3")
    assert retiree_crediting(retired, local) == 0
    with pytest.raises(PolicyError, match=r"crediting\[1\]\.no_personal_account: not a list"):
        parse_policy(
            text.replace('no_personal_account = ["1103", "1203"]', 'no_personal_account = "1103"'),
            "210300.toml",
        )
