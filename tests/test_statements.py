"""Bank statements of the disbursement accounts: layouts, reading, checks, the beangulp importer.

Golden cases: each directory under ``tests/golden/statements/`` holds ``in.csv``, optionally
``layout.toml`` (else the shipped generic layout is used) and ``expected.txt``, a text dump of the
statement read or of the problems that refuse it. Cases named ``refuse_*`` must be refused.
``MZLEDGER_UPDATE_GOLDEN=1 pytest tests/test_statements.py`` rewrites the expected files.
"""

from __future__ import annotations

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest

from importers.statements import (
    BankLayout,
    LayoutError,
    StatementImporter,
    load_layout,
    parse_date,
    parse_money,
    read_statement,
    shipped_layouts,
)
from ledger.problems import Problem
from ledger.statements import Statement
from tests.conftest import SAMPLES

GOLDEN = Path(__file__).parent / "golden" / "statements"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
UPDATE = os.environ.get("MZLEDGER_UPDATE_GOLDEN") == "1"
POOLED = "Assets:1004-支出户存款:01-统筹基金"
PERSONAL = "Assets:1004-支出户存款:02-个人账户基金"


def _shown(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def dump(layout: BankLayout, statement: Statement | None, problems: list[Problem]) -> str:
    """A stable text of what reading a statement gave."""
    out = [f"layout: {layout.name}"]
    if statement is None:
        out.append(f"refused: {len(problems)} problem(s)")
        out.extend(str(p) for p in problems)
        return "\n".join(out) + "\n"
    assert problems == []
    out += [
        f"file: {statement.path}",
        f"lines: {len(statement.lines)}",
        f"dates: {statement.first_date} .. {statement.last_date}",
        f"opening balance: {_shown(statement.opening_balance)}",
        f"closing balance: {_shown(statement.closing_balance)}",
        "line | date | amount | balance | counterparty | counterparty account | summary"
        " | reference",
    ]
    out.extend(
        " | ".join(
            _shown(v)
            for v in (
                s.line,
                s.date,
                s.amount,
                s.balance,
                s.counterparty,
                s.counterparty_account,
                s.summary,
                s.reference,
            )
        )
        for s in statement.lines
    )
    return "\n".join(out) + "\n"


def _layout(case_dir: Path) -> BankLayout:
    own = case_dir / "layout.toml"
    return load_layout("layout.toml") if own.exists() else load_layout("generic")


@pytest.mark.parametrize("case", CASES)
def test_statement_golden(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case_dir = GOLDEN / case
    monkeypatch.chdir(case_dir)  # relative paths: the same messages on every machine
    layout = _layout(case_dir)
    statement, problems = read_statement(Path("in.csv"), layout)
    if case.startswith("refuse_"):
        assert statement is None and problems, problems
    else:
        assert statement is not None and problems == [], [str(p) for p in problems]
    actual = dump(layout, statement, problems)
    expected_file = case_dir / "expected.txt"
    if UPDATE:
        expected_file.write_text(actual, "utf-8")
    elif not expected_file.exists():
        pytest.fail(f"{expected_file} missing; MZLEDGER_UPDATE_GOLDEN=1 writes it")
    assert actual == expected_file.read_text("utf-8")


def test_gb18030_case_is_the_utf8_case_in_gb18030() -> None:
    utf8 = (GOLDEN / "statement_utf8" / "in.csv").read_bytes()
    gb = (GOLDEN / "statement_gb18030" / "in.csv").read_bytes()
    assert gb == utf8.decode("utf-8").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")
    expected = (GOLDEN / "statement_utf8" / "expected.txt").read_text("utf-8")
    assert (GOLDEN / "statement_gb18030" / "expected.txt").read_text("utf-8") == expected


def test_utf8_with_bom_reads_the_same(tmp_path: Path) -> None:
    source = GOLDEN / "statement_utf8" / "in.csv"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + source.read_bytes())
    layout = load_layout("generic")
    with_bom, problems = read_statement(bom, layout)
    plain, _ = read_statement(source, layout)
    assert problems == [] and with_bom is not None and plain is not None
    assert with_bom.lines == plain.lines


# --- the importer -------------------------------------------------------------------------


def test_importer_identifies_its_layout_only(tmp_path: Path) -> None:
    importer = StatementImporter(POOLED)
    assert importer.identify(str(GOLDEN / "statement_utf8" / "in.csv"))
    assert importer.identify(str(GOLDEN / "statement_gb18030" / "in.csv"))
    # a settlement export, a statement of another layout, files that are no CSV
    assert not importer.identify(str(SAMPLES / "settlements-sample.csv"))
    assert not importer.identify(str(SAMPLES / "2207-response-sample.json"))
    assert not importer.identify(str(SAMPLES / "README.md"))
    assert not importer.identify(str(GOLDEN / "refuse_missing_column" / "in.csv"))
    assert not importer.identify(str(GOLDEN / "refuse_empty_file" / "in.csv"))
    # title lines above the header: the generic layout (skip_rows 0) does not read it
    titled = GOLDEN / "thousands_and_title"
    assert not importer.identify(str(titled / "in.csv"))
    assert StatementImporter(POOLED, load_layout(str(titled / "layout.toml"))).identify(
        str(titled / "in.csv")
    )
    _, problems = read_statement(titled / "in.csv", load_layout("generic"))
    assert len(problems) == 7
    assert str(problems[0]) == (
        f"{titled / 'in.csv'}:1: 交易日期: column of layout generic missing from the header "
        "(line 1 has none of them: title lines above it? skip_rows) "
        "(found nothing, expected a column 交易日期)"
    )


def test_importer_account_date_and_no_entries() -> None:
    importer = StatementImporter(PERSONAL, "generic")
    path = str(GOLDEN / "statement_utf8" / "in.csv")
    assert importer.account(path) == PERSONAL
    assert importer.date(path) == datetime.date(2023, 2, 28)
    assert importer.date(str(GOLDEN / "refuse_bad_date" / "in.csv")) is None
    # payments are booked per clearing batch; statement lines are matched, not booked again
    assert importer.extract(path, []) == []
    statement, problems = importer.statement(path)
    assert problems == [] and statement is not None and len(statement.lines) == 5
    assert importer.name == f"mzledger.statement.generic:{PERSONAL}"


def test_account_number_tells_two_accounts_of_one_layout_apart() -> None:
    titled = GOLDEN / "thousands_and_title"
    layout = load_layout(str(titled / "layout.toml"))
    pooled = StatementImporter(POOLED, layout, account_number="2103000100000099")
    personal = StatementImporter(PERSONAL, layout, account_number="2103000100000098")
    assert pooled.identify(str(titled / "in.csv"))
    assert not personal.identify(str(titled / "in.csv"))


# --- a second layout, as a file, without code -----------------------------------------------

OTHER_LAYOUT = """\
name = "other-bank"
description = "one signed amount column, newest line first, tab-separated"
date = "Value date"
date_formats = ["%d.%m.%Y"]
amount = "Amount"
amount_sign = "negative-is-out"
balance = "Balance"
counterparty = "Payee"
counterparty_account = "Payee account"
summary = "Memo"
reference = "Ref"
skip_rows = 1
order = "newest-first"
"""

OTHER_STATEMENT = (
    "Account 2103000100000099, February 2023\n"
    "Ref\tValue date\tAmount\tBalance\tPayee\tPayee account\tMemo\n"
    "R3\t28.02.2023\t12.34\t8,777.78\t\t\tinterest\n"
    "R2\t10.02.2023\t-1,234.56\t8,765.44\t示例社区卫生服务中心\t6217000010000101\t"
    "clearing 2023-01\n"
    "R1\t01.02.2023\t10,000.00\t10,000.00\tfund\t2103000100000001\ttransfer in\n"
)


def test_second_layout_from_a_path(tmp_path: Path) -> None:
    layout_file = tmp_path / "other.toml"
    layout_file.write_text(OTHER_LAYOUT, "utf-8")
    statement_file = tmp_path / "feb.csv"
    statement_file.write_text(OTHER_STATEMENT, "utf-8")
    layout = load_layout(str(layout_file))
    assert layout.columns() == (
        "Value date",
        "Amount",
        "Balance",
        "Payee",
        "Payee account",
        "Memo",
        "Ref",
    )
    statement, problems = read_statement(statement_file, layout)
    assert problems == [], [str(p) for p in problems]
    assert statement is not None
    assert statement.layout == "other-bank"
    assert [(s.line, s.amount, s.balance, s.reference) for s in statement.lines] == [
        (5, Decimal("10000.00"), Decimal("10000.00"), "R1"),
        (4, Decimal("-1234.56"), Decimal("8765.44"), "R2"),
        (3, Decimal("12.34"), Decimal("8777.78"), "R3"),
    ]
    assert statement.opening_balance == Decimal("0.00")
    assert statement.closing_balance == Decimal("8777.78")
    assert (statement.first_date, statement.last_date) == (
        datetime.date(2023, 2, 1),
        datetime.date(2023, 2, 28),
    )
    assert StatementImporter(POOLED, layout).identify(str(statement_file))
    assert not StatementImporter(POOLED).identify(str(statement_file))

    # The same file, its payment written positive: the other sign convention.
    flipped = layout_file.with_name("flipped.toml")
    flipped.write_text(OTHER_LAYOUT.replace("negative-is-out", "positive-is-out"), "utf-8")
    statement, problems = read_statement(statement_file, load_layout(str(flipped)))
    assert statement is None
    assert [str(p) for p in problems] == [
        f"{statement_file}:4: Balance: does not follow from the balance on line 5 (10000.00) and "
        "this line's amount (1234.56): off by -2469.12 (found '8,765.44', expected 11234.56)",
        f"{statement_file}:3: Balance: does not follow from the balance on line 4 (8765.44) and "
        "this line's amount (-12.34): off by 24.68 (found '8,777.78', expected 8753.10)",
    ][::-1]


def test_newest_first_lines_out_of_order_are_refused(tmp_path: Path) -> None:
    layout_file = tmp_path / "other.toml"
    layout_file.write_text(OTHER_LAYOUT.replace('balance = "Balance"\n', ""), "utf-8")
    lines = OTHER_STATEMENT.splitlines(keepends=True)
    statement_file = tmp_path / "feb.csv"
    statement_file.write_text("".join([lines[0], lines[1], lines[4], lines[2], lines[3]]), "utf-8")
    statement, problems = read_statement(statement_file, load_layout(str(layout_file)))
    assert statement is None
    assert [str(p) for p in problems] == [
        f"{statement_file}:3: Value date: out of date order: line 4 is dated 2023-02-28 and the "
        "layout reads newest-first (found '01.02.2023', expected 2023-02-28 or later)",
    ]


def test_without_balance_column_there_are_no_balances(tmp_path: Path) -> None:
    layout_file = tmp_path / "nobal.toml"
    layout_file.write_text(OTHER_LAYOUT.replace('balance = "Balance"\n', ""), "utf-8")
    statement_file = tmp_path / "feb.csv"
    statement_file.write_text(OTHER_STATEMENT, "utf-8")
    statement, problems = read_statement(statement_file, load_layout(str(layout_file)))
    assert problems == [] and statement is not None
    assert statement.opening_balance is None and statement.closing_balance is None
    assert {s.balance for s in statement.lines} == {None}


def test_empty_values_for_banks_that_fill_the_unused_column(tmp_path: Path) -> None:
    generic = load_layout("generic")
    text = (
        "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要\n"
        "2023-02-01,0.00,100.00,100.00,甲,1,拨入\n"
        "2023-02-02,40.00,-,60.00,乙,2,门诊统筹\n"
    )
    path = tmp_path / "s.csv"
    path.write_text(text, "utf-8")
    statement, problems = read_statement(path, generic)
    assert statement is None and len(problems) == 2  # both filled, then a '-' that is no number
    layout_file = tmp_path / "zeros.toml"
    shipped = (Path(__file__).parents[1] / "importers" / "bank_layouts" / "generic.toml").read_text(
        "utf-8"
    )
    layout_file.write_text(
        shipped.replace("empty_values = []", 'empty_values = ["0.00", "-"]'), "utf-8"
    )
    statement, problems = read_statement(path, load_layout(str(layout_file)))
    assert problems == [] and statement is not None
    assert [s.amount for s in statement.lines] == [Decimal("100.00"), Decimal("-40.00")]


# --- layouts ------------------------------------------------------------------------------


def test_shipped_generic_layout() -> None:
    assert "generic" in shipped_layouts()
    layout = load_layout("generic")
    assert layout.columns() == (
        "交易日期",
        "借方金额",
        "贷方金额",
        "余额",
        "对方户名",
        "对方账号",
        "摘要",
    )
    assert (layout.skip_rows, layout.order, layout.amount) == (0, "oldest-first", None)
    with pytest.raises(LayoutError) as error:
        load_layout("no-such-bank")
    assert "no such shipped layout" in str(error.value)


def test_a_wrong_layout_names_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\n'
        "date_formats = []\n"
        'amount = "金额"\n'
        'debit = "借方"\n'
        'amount_sign = "minus"\n'
        "skip_rows = -1\n"
        'order = "random"\n'
        'colour = "red"\n',
        "utf-8",
    )
    with pytest.raises(LayoutError) as error:
        load_layout(str(bad))
    assert sorted(p.field for p in error.value.problems) == [
        "amount_sign",
        "colour",
        "date",
        "date_formats",
        "debit",
        "order",
        "skip_rows",
    ]
    assert all(p.location == str(bad) for p in error.value.problems)
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n", "utf-8")
    with pytest.raises(LayoutError, match="not valid TOML"):
        load_layout(str(broken))


# --- amounts and dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("-1,234,567.8", "-1234567.80"),
        (" 12 ", "12.00"),
        ("+0.01", "0.01"),
    ],
)
def test_money_accepted(text: str, value: str) -> None:
    assert parse_money(text) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,23.45", "commas only as thousands separators"),
        ("12,3456", "commas only as thousands separators"),
        ("1234,56", "commas only as thousands separators"),
        (",123", "commas only as thousands separators"),
        ("1.234", "more than 2 decimals"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("NaN", "not a number"),
    ],
)
def test_money_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_money(text)


def test_dates() -> None:
    formats = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
    assert parse_date("2023/2/5", formats) == datetime.date(2023, 2, 5)
    assert parse_date("20230205", formats) == datetime.date(2023, 2, 5)
    assert parse_date("2023-02-05 14:30:00", ("%Y-%m-%d %H:%M:%S",)) == datetime.date(2023, 2, 5)
    for text in ("2023215", "2023-02-30", "05/02/2023", ""):
        with pytest.raises(ValueError, match="not a date"):
            parse_date(text, formats)
    with pytest.raises(ValueError, match="ambiguous"):
        parse_date("05/02/2023", ("%d/%m/%Y", "%m/%d/%Y"))
    assert parse_date("13/02/2023", ("%d/%m/%Y", "%m/%d/%Y")) == datetime.date(2023, 2, 13)
