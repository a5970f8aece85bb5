"""Saved queries for auditors (queries.beancount) and BQL on the command line (reports/query)."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from beancount.core.amount import Amount
from beancount.core.inventory import Inventory
from beancount.core.position import Position
from fava.core import FavaLedger
from fava.core.query import QueryResultTable

from ledger.chart import load_chart
from ledger.loading import LoadedBooks
from ledger.locks import locked_months
from ledger.month import Month
from ledger.queries import (
    LARGEST_LIMIT,
    QUERIES_FILE,
    SAVED_QUERIES,
    locked_condition,
    locked_label,
    render_queries,
    saved_queries,
)
from reports.query import (
    QueryColumn,
    QueryError,
    QueryResult,
    as_csv,
    as_json,
    as_table,
    books_for_query,
    display_width,
    execute,
    run_query,
    saved_query,
    saved_query_names,
)
from tests.conftest import Cli

BANK = "Assets:1004-"
JANUARY = "2023-01"


@dataclass(frozen=True)
class Demo:
    books: Path
    main: Path  # main.beancount, which includes queries.beancount
    entries: Sequence[data.Directive]
    since: datetime.date
    text: str
    loaded: LoadedBooks

    def query(self, index: int) -> tuple[str, str]:
        return saved_queries(self.entries, self.since)[index]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("queries")
    cli = Cli(root)
    cli("demo", "city")
    books = root / "city"
    cli("close", JANUARY, "--lock", "--books", str(books))
    main = books / "main.beancount"
    assert f'include "{QUERIES_FILE}"' in main.read_text("utf-8")  # the books carry them
    loaded_entries, errors, _options = loader.load_file(str(main))
    assert errors == []
    # the books without their saved queries, as render_queries sees books being built
    entries = [e for e in loaded_entries if not isinstance(e, data.Query)]
    since = load_chart(books / "chart.toml").opened_on
    text = render_queries(entries, since)
    return Demo(books, main, entries, since, text, books_for_query(main))


@pytest.fixture(scope="module")
def results(demo: Demo) -> list[QueryResult]:
    """Each saved query run once through ``run_query`` (BQL parsing is slow in beanquery 0.2:
    about half a second for a query with a subselect)."""
    return [run_query(demo.main, bql) for _name, bql in saved_queries(demo.entries, demo.since)]


def _clearing(entries: Sequence[data.Directive]) -> list[data.Transaction]:
    return [
        e
        for e in entries
        if isinstance(e, data.Transaction) and any(link.startswith("clr-") for link in e.links)
    ]


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and isinstance(posting.units.number, Decimal)
    return posting.units.number


def _paid(entry: data.Transaction) -> Decimal:
    """What a clearing transaction paid out of the disbursement accounts."""
    return -sum(
        (_number(p) for p in entry.postings if p.account.startswith(BANK)),
        Decimal(0),
    )


def _link(entry: data.Transaction) -> str:
    return next(link for link in entry.links if link.startswith("clr-"))


# ---------------------------------------------------------------------------------------------
# The saved queries on the demo books


def test_every_saved_query_runs_returns_rows_and_is_in_the_books(
    demo: Demo, results: list[QueryResult]
) -> None:
    queries = saved_queries(demo.entries, demo.since)
    assert len(queries) == len(SAVED_QUERIES) == 5
    assert demo.loaded.errors == []  # the queries file loads, and the January lock holds
    assert saved_query_names(demo.loaded) == [name for name, _ in queries]
    for (name, bql), result in zip(queries, results, strict=True):
        assert saved_query(demo.loaded, name) == bql  # escaping survives the round trip
        assert result.rows, name
        assert result.load_errors == ()
        assert all(column.name for column in result.columns)
    names = [name for name, _ in queries]
    assert names[0] == "各支出户余额（截至2023-04-30；改查询中 date <= 后的日期可查任意日）"
    assert names[1] == "待遇支出按月按科目"
    assert names[2].startswith("按定点医药机构支付汇总（支付日2022-12-01至2023-04-30")
    assert names[3] == "最大额支付（前20笔）"
    assert names[4] == "已锁定月份内的支付（2023-01）"


def test_disbursement_balances_equal_the_books(demo: Demo, results: list[QueryResult]) -> None:
    _name, bql = demo.query(0)
    last = max(e.date for e in demo.entries if isinstance(e, data.Transaction))
    assert last == datetime.date(2023, 4, 10) and "date <= 2023-04-30" in bql
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for entry in demo.entries:
        if isinstance(entry, data.Transaction) and entry.date <= datetime.date(2023, 4, 30):
            for posting in entry.postings:
                if posting.account.startswith(BANK):
                    expected[posting.account] += _number(posting)
    result = results[0]
    assert [c.name for c in result.columns] == ["科目", "币种", "余额"]
    assert [c.type for c in result.columns] == ["str", "str", "decimal"]
    assert {row[0]: row[2] for row in result.rows} == expected
    assert all(row[1] == "CNY" and isinstance(row[2], Decimal) for row in result.rows)
    # the last statements' closing balances (asserted in the bank files) agree
    asserted = {
        e.account: e.amount.number
        for e in sorted(
            (e for e in demo.entries if isinstance(e, data.Balance)), key=lambda e: e.date
        )
    }
    assert {a: n for a, n in asserted.items() if a.startswith(BANK)} == expected
    # the fiscal special account's statements are asserted too (its own 1003 statement)
    fiscal = sum(
        (
            _number(p)
            for e in demo.entries
            if isinstance(e, data.Transaction)
            for p in e.postings
            if p.account == "Assets:1003-财政专户存款"
        ),
        Decimal(0),
    )
    assert asserted["Assets:1003-财政专户存款"] == fiscal
    # another date: edit the date, as the name says
    january = execute(demo.loaded, bql.replace("2023-04-30", "2023-01-31"))
    assert {row[0]: row[2] for row in january.rows} != expected


def test_expenditure_by_month_and_account(demo: Demo, results: list[QueryResult]) -> None:
    _name, bql = demo.query(1)
    expected: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
    for entry in demo.entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                if posting.account.startswith("Expenses:5001-"):
                    key = (entry.date.year, entry.date.month, posting.account)
                    expected[key] += _number(posting)
    result = results[1]
    assert bql == saved_query(demo.loaded, "待遇支出按月按科目")
    assert [c.name for c in result.columns][:5] == ["年", "月", "科目", "币种", "金额"]
    assert {(r[0], r[1], r[2]): r[4] for r in result.rows} == expected
    assert [r[:3] for r in result.rows] == sorted(r[:3] for r in result.rows)


def test_payments_per_institution_sum_to_the_clearing_transactions(
    demo: Demo, results: list[QueryResult]
) -> None:
    _name, bql = demo.query(2)
    clearing = _clearing(demo.entries)
    expected: dict[str, tuple[Decimal, int]] = {}
    for entry in clearing:
        assert entry.payee is not None
        total, count = expected.get(entry.payee, (Decimal(0), 0))
        expected[entry.payee] = (total + _paid(entry), count + 1)
    assert "date >= 2022-12-01 AND date <= 2023-04-30" in bql
    result = results[2]
    assert [c.name for c in result.columns] == [
        "定点医药机构",
        "机构编码",
        "币种",
        "支付金额",
        "批次数",
    ]
    assert {row[0]: (row[3], row[4]) for row in result.rows} == expected
    codes = {e.payee: e.meta["institution"] for e in clearing}
    assert {row[0]: row[1] for row in result.rows} == codes
    # the grand total is what the clearing transactions booked as benefit expenditure
    booked = sum(
        (_number(p) for e in clearing for p in e.postings if p.account.startswith("Expenses")),
        Decimal(0),
    )
    assert sum((row[3] for row in result.rows), Decimal(0)) == booked
    assert [row[3] for row in result.rows] == sorted((row[3] for row in result.rows), reverse=True)


def test_largest_payments_sorted_at_most_twenty(demo: Demo, results: list[QueryResult]) -> None:
    _name, bql = demo.query(3)
    assert bql.endswith("LIMIT 20")
    result = results[3]
    amounts = [row[6] for row in result.rows]
    assert 0 < len(result.rows) <= LARGEST_LIMIT == 20
    assert amounts == sorted(amounts, reverse=True)
    paid = sorted((_paid(e) for e in _clearing(demo.entries)), reverse=True)
    assert amounts == paid[: len(amounts)]
    by_link = {_link(e): e for e in _clearing(demo.entries)}
    for day, voucher, payee, period, link, _currency, amount in result.rows:
        entry = by_link[link]
        assert (day, voucher, payee, period) == (
            entry.date,
            entry.meta["voucher"],
            entry.payee,
            entry.meta["period"],
        )
        assert amount == _paid(entry)


def test_locked_month_query_returns_exactly_the_january_payments(
    demo: Demo, results: list[QueryResult]
) -> None:
    assert locked_months(demo.entries) == {Month.parse(JANUARY)}
    name, bql = demo.query(4)
    assert "2023-01" in name
    assert "date >= 2023-01-01 AND date < 2023-02-01" in bql
    result = results[4]
    january = {
        _link(e): e for e in _clearing(demo.entries) if (e.date.year, e.date.month) == (2023, 1)
    }
    assert january and {row[4] for row in result.rows} == set(january)
    assert len(result.rows) == len(january)
    for row in result.rows:
        assert row[0] == january[row[4]].date and row[6] == _paid(january[row[4]])


def test_without_locks_the_locked_month_query_runs_and_finds_nothing(demo: Demo) -> None:
    unlocked = [e for e in demo.entries if not isinstance(e, data.Custom)]
    name, bql = saved_queries(unlocked, demo.since)[4]
    assert name == "已锁定月份内的支付（当前无锁定月份；锁定后重新生成）"
    assert "AND (FALSE)" in bql
    assert execute(demo.loaded, bql).rows == ()


def test_locked_months_merge_into_date_ranges() -> None:
    months = [
        Month.parse(m) for m in ("2023-05", "2023-01", "2023-02", "2023-12", "2024-01", "2023-03")
    ]
    assert locked_condition(months) == (
        "(date >= 2023-01-01 AND date < 2023-04-01) OR "
        "(date >= 2023-05-01 AND date < 2023-06-01) OR "
        "(date >= 2023-12-01 AND date < 2024-02-01)"
    )
    assert locked_label(months) == "2023-01 至 2023-03、2023-05、2023-12 至 2024-01"
    assert locked_condition([]) == "FALSE"


def test_render_is_reproducible_and_loads_in_beancount_and_fava(
    demo: Demo, results: list[QueryResult]
) -> None:
    assert render_queries(demo.entries, demo.since) == demo.text
    # rendering from the books that include the file gives the same bytes
    assert render_queries(demo.loaded.entries, demo.since) == demo.text
    assert (demo.books / QUERIES_FILE).read_bytes() == demo.text.encode("utf-8")
    directives = [line for line in demo.text.splitlines() if not line.startswith(";;") and line]
    assert len(directives) == len(SAVED_QUERIES)
    assert all(line.startswith(f"{demo.since.isoformat()} query ") for line in directives)
    # also on its own, after the accounts
    accounts = (demo.books / "accounts.beancount").read_text("utf-8")
    entries, errors, _ = loader.load_string(accounts + demo.text)
    assert errors == []
    queries = [e for e in entries if isinstance(e, data.Query)]
    assert [(q.name, q.query_string) for q in queries] == saved_queries(demo.entries, demo.since)
    assert {q.date for q in queries} == {demo.since}
    # books without entries (None) still render a loadable file
    none_entries, none_errors, _ = loader.load_string(render_queries(None, demo.since))
    assert none_errors == [] and len(none_entries) == len(SAVED_QUERIES)

    ledger = FavaLedger(str(demo.main))
    assert ledger.errors == []
    fava_queries = ledger.all_entries_by_type.Query
    assert [(q.name, q.query_string) for q in fava_queries] == [
        (q.name, q.query_string) for q in queries
    ]
    # and Fava's own query shell runs them (one here: each parse takes half a second)
    locked = fava_queries[-1]
    table = ledger.query_shell.execute_query_serialised(ledger.all_entries, locked.query_string)
    assert isinstance(table, QueryResultTable)
    assert len(table.rows) == len(results[4].rows)


# ---------------------------------------------------------------------------------------------
# Errors come back as messages


def test_syntax_error_is_a_clear_message(demo: Demo) -> None:
    with pytest.raises(QueryError) as caught:
        run_query(demo.main, "SELECT account, sum(position) WHERE account ~ '支出' GROUP BY")
    message = str(caught.value)
    assert message.startswith("BQL syntax error: syntax error at line 1, column 60")
    assert "Traceback" not in message
    assert caught.value.line == 1 and caught.value.column == 60
    # the caret stands under the place, counting CJK characters as two columns
    text_line, caret_line = message.splitlines()[1:3]
    assert display_width(caret_line.rstrip("^")) == display_width(text_line[:61])

    with pytest.raises(QueryError, match=r'column "nosuch" not found .* line 1, column 8'):
        execute(demo.loaded, "SELECT nosuch")
    with pytest.raises(QueryError, match="invalid regular expression"):
        execute(demo.loaded, "SELECT account WHERE account ~ '['")
    with pytest.raises(QueryError, match="empty query"):
        execute(demo.loaded, "  ")
    with pytest.raises(QueryError, match="no saved query named '没有'"):
        saved_query(demo.loaded, "没有")
    with pytest.raises(QueryError, match="no such file"):
        run_query(demo.books / "nothing.beancount", "SELECT 1")


# ---------------------------------------------------------------------------------------------
# Formatters


def _money_result() -> QueryResult:
    inventory = Inventory()
    inventory.add_amount(Amount(Decimal("1234.50"), "CNY"))
    inventory.add_amount(Amount(Decimal("0.10"), "USD"))
    return QueryResult(
        columns=(
            QueryColumn("科目", "str"),
            QueryColumn("金额", "decimal"),
            QueryColumn("amount", "amount"),
            QueryColumn("inv", "inventory"),
            QueryColumn("day", "date"),
            QueryColumn("links", "set"),
        ),
        rows=(
            (
                "Assets:1004-支出户存款:01-统筹基金",
                Decimal("1234.50"),
                Amount(Decimal("-0.10"), "CNY"),
                inventory,
                datetime.date(2023, 1, 10),
                frozenset({"clr-b", "clr-a"}),
            ),
            ("Income:x", Decimal("5"), None, Inventory(), None, frozenset()),
            ("Expenses:5001-社会保险待遇支出", Decimal("-1E+2"), None, None, None, None),
        ),
    )


def test_json_keeps_exact_decimals_amounts_and_inventories() -> None:
    document = json.loads(as_json(_money_result()))
    assert document["columns"][1] == {"name": "金额", "type": "decimal"}
    first, second, third = document["rows"]
    assert first[1] == "1234.50"
    assert first[2] == {"number": "-0.10", "currency": "CNY"}
    assert first[3] == [
        {"number": "1234.50", "currency": "CNY"},
        {"number": "0.10", "currency": "USD"},
    ]
    assert first[4] == "2023-01-10" and first[5] == ["clr-a", "clr-b"]
    assert second[1:4] == ["5", None, []]
    assert third[1] == "-100"  # never in exponent form


def test_json_of_a_real_query_keeps_the_books_decimals(demo: Demo) -> None:
    result = execute(
        demo.loaded,
        "SELECT account, sum(position) AS bal, sum(number) AS n, last(position) AS pos "
        "WHERE account ~ '^Assets:1004-' GROUP BY account ORDER BY account",
    )
    document = json.loads(as_json(result))
    assert [c["type"] for c in document["columns"]] == ["str", "inventory", "decimal", "position"]
    for row, raw in zip(document["rows"], result.rows, strict=True):
        assert row[1] == [{"number": row[2], "currency": "CNY"}]
        assert Decimal(row[2]) == raw[2] and row[2] == format(raw[2], "f")
        assert row[2].split(".")[1].__len__() == 2
        assert row[3]["currency"] == "CNY" and "." in row[3]["number"]


def test_csv_has_a_header_row_and_exact_numbers() -> None:
    lines = as_csv(_money_result()).splitlines()
    assert lines[0] == "科目,金额,amount,inv,day,links"
    assert lines[1] == (
        'Assets:1004-支出户存款:01-统筹基金,1234.50,-0.10 CNY,"1234.50 CNY, 0.10 USD",'
        '2023-01-10,"clr-a, clr-b"'
    )
    assert lines[3].split(",")[1] == "-100"


def test_table_aligns_chinese_text_and_numbers() -> None:
    result = QueryResult(
        columns=(QueryColumn("科目", "str"), QueryColumn("余额", "decimal")),
        rows=(
            ("Assets:1004-支出户存款:01-统筹基金", Decimal("25482.68")),
            ("Income:4004-利息收入", Decimal("-29.03")),
            ("x", Decimal("1234567.5")),
        ),
    )
    lines = as_table(result).splitlines()
    assert len(lines) == 5
    assert len({len(line) for line in lines}) > 1  # so counting code points would misalign
    # numbers right-aligned on their decimal points, after the widest account name
    points = {display_width(line[: line.index(".")]) for line in lines[2:]}
    assert points == {display_width("Assets:1004-支出户存款:01-统筹基金") + 2 + len("1,234,567")}
    assert lines[2].endswith("  25,482.68") and lines[3].endswith("     -29.03")
    assert lines[4].endswith("1,234,567.5")
    assert display_width(lines[0]) == display_width(lines[1]) == display_width(lines[2])
    assert set(lines[1]) == {"-", " "}

    # a text column after the numbers starts at the same place on every line
    swapped = QueryResult(
        columns=(result.columns[1], result.columns[0]),
        rows=tuple((amount, name) for name, amount in result.rows),
    )
    lines = as_table(swapped).splitlines()
    starts = {
        display_width(line[: line.index(name)])
        for line, (_a, name) in zip(lines[2:], swapped.rows, strict=True)
    }
    assert len(starts) == 1 and display_width(lines[0][: lines[0].index("科目")]) in starts


def test_table_of_a_saved_query(demo: Demo, results: list[QueryResult]) -> None:
    text = as_table(results[2])
    lines = text.splitlines()
    assert lines[0].startswith("定点医药机构")
    assert "示例医学院附属第一医院" in text
    # the amount column's right edge is the same on every row
    edges = {display_width(line[: line.rindex(".") + 3]) for line in lines[2:]}
    assert len(edges) == 1


def test_position_with_cost_and_entries_are_rendered() -> None:
    from beancount.core.position import Cost

    position = Position(
        Amount(Decimal("2"), "HOOL"), Cost(Decimal("10.00"), "CNY", datetime.date(2023, 1, 2), "a")
    )
    result = QueryResult((QueryColumn("p", "position"),), ((position,),))
    assert json.loads(as_json(result))["rows"][0][0] == {
        "number": "2",
        "currency": "HOOL",
        "cost": {"number": "10.00", "currency": "CNY", "date": "2023-01-02", "label": "a"},
    }
    assert as_csv(result).splitlines()[1] == '"2 HOOL {10.00 CNY, 2023-01-02, ""a""}"'
