"""Month-end close on the demo city: passes, locks, and fails for the right reason."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from mzledger import synth
from tests.conftest import Cli

SPEC = synth.CitySpec(months=("2022-12", "2023-01"))


def _city(root: Path, drop_payment: str | None = None, *, opening: bool = True) -> tuple[Path, Cli]:
    """Demo-like books built step by step; ``drop_payment`` removes the statement line of that
    batch link from the personal account's January statement (the later balances follow);
    without ``opening`` the books have no opening balances."""
    exports = root / "exports"
    files = {p.name: p for p in synth.write_city(SPEC, exports)}
    if drop_payment:
        path = exports / "bank-100402-2023-01.csv"
        lines = path.read_text("gb18030").splitlines()
        kept, shift = [lines[0]], Decimal(0)
        for line in lines[1:]:
            cells = line.split(",")
            if drop_payment in cells[6]:
                shift += Decimal(cells[1] or "0") - Decimal(cells[2] or "0")
                continue
            cells[3] = f"{Decimal(cells[3]) + shift:.2f}"
            kept.append(",".join(cells))
        path.write_text("\n".join(kept) + "\n", "gb18030")
    cli = Cli(root)
    cli("init", "books")
    if opening:
        cli(
            "import",
            "opening-balances",
            str(exports / "opening-balances.csv"),
            "--on",
            "2022-12-01",
            "--books",
            "books",
        )
    for collection in sorted(exports.glob("contributions-*.csv")):
        # as the demo does: the fiscal special account's statement shows them received
        received = f"{collection.stem.removeprefix('contributions-')}-{synth.RECEIVED_DAY}"
        cli(
            "import",
            "contributions",
            str(collection),
            "--received-on",
            received,
            "--books",
            "books",
        )
    cli("import", "institutions", str(files["institutions.csv"]), "--books", "books")
    cli("import", "persons", str(files["persons.csv"]), "--books", "books")
    months = sorted(n for n in files if n.startswith("settlements-"))
    cli("import", "settlements", *(str(files[n]) for n in months), "--books", "books")
    for month in SPEC.months:
        cli("post", "--period", month, "--books", "books")
    for account in json.loads((exports / "bank-accounts.json").read_text("utf-8")):
        for name in account["files"]:
            cli(
                "import",
                "statement",
                str(exports / name),
                "--account",
                account["account"],
                "--books",
                "books",
            )
    return root / "books", cli


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Cli]:
    return _city(tmp_path_factory.mktemp("close"))


def test_january_closes_locks_and_an_edit_is_caught(city: tuple[Path, Cli]) -> None:
    books, cli = city
    _code, out, _err = cli("close", "2023-01", "--books", "books", "--lock")
    assert "2023-01 can close" in out and "2023-01 locked" in out
    summary = json.loads((books / "close" / "2023-01.json").read_text("utf-8"))
    assert summary["can_close"] is True
    assert all(r["agrees"] for r in summary["reconciliation"])
    assert {c["name"] for c in summary["checks"]} >= {
        "bean-check",
        "balances-on-their-side",
        "books-vs-register",
        "batches-paid",
        "statements",
        "bank-reconciliation",
    }
    cli("check", "--books", "books")
    # edit one January entry: bean-check (through `check`) names it
    clearing = books / "clearing" / "2022-12.beancount"
    original = clearing.read_text("utf-8")
    clearing.write_text(original.replace("结算", "结 算", 1), "utf-8")
    _code, _out, err = cli("check", "--books", "books", expect=1)
    assert "locked month 2023-01" in err and "entry changed since the lock" in err
    assert "clearing/2022-12.beancount:5" in err
    _code, out, _err = cli("close", "2023-01", "--books", "books", expect=4)
    assert "FAIL bean-check" in out
    cli("reopen", "2023-01", "--books", "books", expect=2)  # a reason is required
    cli("reopen", "2023-01", "--reason", "更正摘要", "--books", "books")
    cli("check", "--books", "books")
    history = (books / "locks.beancount").read_text("utf-8")
    assert '"mzledger-lock" "2023-01"' in history
    assert '"mzledger-reopen" "2023-01" "更正摘要"' in history
    clearing.write_text(original, "utf-8")


def _lock_files(books: Path) -> dict[str, bytes]:
    paths = [books / "locks.beancount", *sorted((books / "locks").glob("*"))]
    return {p.relative_to(books).as_posix(): p.read_bytes() for p in paths if p.is_file()}


def test_months_lock_and_reopen_in_order(city: tuple[Path, Cli]) -> None:
    """用友's 结账 / 反结账 order: January before February, February reopened before January.
    The city's books start in January (its first entries pay December's batches)."""
    books, cli = city
    before = _lock_files(books)
    for lock in ((), ("--lock",)):
        _code, out, _err = cli("close", "2023-02", "--books", "books", *lock, expect=4)
        assert "FAIL earlier-months-locked" in out
        assert "2023-01 is not closed yet: close it first" in out
        assert "2023-02 cannot close" in out and "2023-02 locked" not in out
        assert _lock_files(books) == before
    summary = json.loads((books / "close" / "2023-02.json").read_text("utf-8"))
    failed = [c for c in summary["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["earlier-months-locked"]
    assert failed[0]["details"] == [
        "2023-01 is not closed yet: close it first (`mzledger close 2023-01 --lock`)"
    ]
    _code, out, _err = cli("close", "2023-01", "--books", "books", "--lock")
    assert "ok   earlier-months-locked" in out and "2023-01 locked" in out
    _code, out, _err = cli("close", "2023-02", "--books", "books", "--lock")
    assert "ok   earlier-months-locked" in out and "2023-02 locked" in out
    before = _lock_files(books)
    _code, _out, err = cli("reopen", "2023-01", "--reason", "更正", "--books", "books", expect=1)
    assert "2023-01: 2023-02, a later month, is still locked: reopen it first" in err
    assert _lock_files(books) == before
    cli("reopen", "2023-02", "--reason", "更正", "--books", "books")
    cli("reopen", "2023-01", "--reason", "更正", "--books", "books")
    history = (books / "locks.beancount").read_text("utf-8")
    assert re.findall(r'custom ("mzledger-\w+" "\d{4}-\d\d")', history)[-4:] == [
        '"mzledger-lock" "2023-01"',
        '"mzledger-lock" "2023-02"',
        '"mzledger-reopen" "2023-02"',
        '"mzledger-reopen" "2023-01"',
    ]
    cli("check", "--books", "books")


def test_a_missing_statement_line_keeps_the_month_open(tmp_path: Path) -> None:
    link = "clr-2022-12-H21030101-11"
    books, cli = _city(tmp_path, drop_payment=link)
    _code, out, _err = cli("close", "2023-01", "--books", "books", expect=4)
    summary = json.loads((books / "close" / "2023-01.json").read_text("utf-8"))
    failed = {c["name"] for c in summary["checks"] if not c["ok"]}
    # the clinic's personal part never reached the bank: its batch is unpaid, and the pooled
    # part the bank did pay is not in the books, so that account does not reconcile
    assert {"batches-paid", "bank-reconciliation", "bean-check"} <= failed
    assert f"^{link}" in out
    assert [o["batch"] for o in summary["outstanding_payments"]] == [link]


def test_a_month_without_statements_cannot_close(city: tuple[Path, Cli]) -> None:
    _books, cli = city
    _code, out, _err = cli("close", "2023-06", "--books", "books", expect=4)
    assert "no bank statement covers 2023-06" in out
    cli("close", "2023-13", "--books", "books", expect=2)


def test_platform_totals_join_the_close(city: tuple[Path, Cli]) -> None:
    from sqlalchemy import create_engine

    from ledger.books import Books
    from ledger.month import Month
    from ledger.register.opening import resolve_url
    from ledger.register.platform_totals import register_totals

    books, cli = city
    engine = create_engine(resolve_url(Books(books).read_config().db_url, books))
    ours = register_totals(engine, Month(2023, 1))
    engine.dispose()
    header = (
        "insutype,clr_type,clr_optins,medfee_sumamt,fund_pay_sumamt,acct_pay,fixmedins_setl_cnt"
    )
    rows = [
        f"{g.insutype},{g.clr_type},{g.clr_optins},{g.medfee_sumamt},{g.fund_pay_sumamt},"
        f"{g.acct_pay},{g.count}"
        for g in ours
    ]
    wrong = books.parent / "3201-wrong.csv"
    first = ours[0]
    off_by_one = (
        f"{first.insutype},{first.clr_type},{first.clr_optins},{first.medfee_sumamt},"
        f"{first.fund_pay_sumamt},{first.acct_pay},{first.count + 1}"
    )
    wrong.write_text("\n".join([header, off_by_one, *rows[1:]]) + "\n", "utf-8")
    cli(
        "import", "platform-totals", str(wrong), "--period", "2023-01", "--books", "books", expect=4
    )
    _code, out, _err = cli("close", "2023-01", "--books", "books", expect=4)
    assert "FAIL platform-totals" in out and "fixmedins_setl_cnt" in out
    right = books.parent / "3201-right.csv"
    right.write_text("\n".join([header, *rows]) + "\n", "utf-8")
    _code, out, _err = cli(
        "import", "platform-totals", str(right), "--period", "2023-01", "--books", "books"
    )
    assert "kept for the close of 2023-01" in out
    _code, out, _err = cli("close", "2023-01", "--books", "books")
    assert "ok   platform-totals" in out


def test_query_command_and_saved_queries(city: tuple[Path, Cli]) -> None:
    _books, cli = city
    _code, out, _err = cli("query", "--books", "books")
    names = out.splitlines()
    assert len(names) == 5 and any(name.startswith("已锁定月份内的支付") for name in names)
    _code, out, _err = cli(
        "query",
        "SELECT account, sum(number) WHERE account ~ '^Assets:1004-' GROUP BY account",
        "--format",
        "csv",
        "--books",
        "books",
    )
    assert out.splitlines()[0] == "account,sum(number)" and len(out.splitlines()) == 3
    _code, out, _err = cli(
        "query", "--saved", "最大额支付（前20笔）", "--format", "json", "--books", "books"
    )
    rows = json.loads(out)["rows"]
    assert 0 < len(rows) <= 20
    _code, _out, err = cli("query", "SELEC x", "--books", "books", expect=1)
    assert "BQL syntax error" in err


CHECK_ORDER = [
    "earlier-months-locked",
    "bean-check",
    "balances-on-their-side",
    "books-vs-register",
    "settlements-in-batches",
    "held-settlements-decided",
    "batches-paid",
    "statements",
    "statement-lines-decided",
    "platform-totals",
    "bank-reconciliation",
]


def test_the_close_loads_the_books_once_and_runs_its_checks_in_order(
    city: tuple[Path, Cli], monkeypatch: pytest.MonkeyPatch
) -> None:
    from beancount import loader
    from sqlalchemy import create_engine

    from ledger.books import Books
    from ledger.chart import load_chart
    from ledger.month import Month
    from ledger.register.opening import resolve_url
    from reports.controls.close import close_month
    from reports.controls.summary import CloseSummary

    books, _cli = city
    loads: list[str] = []
    load_file = loader.load_file

    def counted(filename: str, *args: object, **kwargs: object) -> object:
        loads.append(filename)
        return load_file(filename, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_file", counted)
    engine = create_engine(resolve_url(Books(books).read_config().db_url, books))
    try:
        result = close_month(
            books / "main.beancount", engine, load_chart(books / "chart.toml"), Month(2023, 1)
        )
    finally:
        engine.dispose()
    assert loads == [str(books / "main.beancount")]
    assert [c.name for c in result.checks] == CHECK_ORDER
    # the summary is read back by the code that wrote it (Fava's months page), to the byte
    text = result.summary_json()
    assert CloseSummary.from_json(text) == result.summary()
    assert CloseSummary.from_json(text).to_json() == text


def test_a_summary_of_an_older_release_reads_and_writes_byte_for_byte() -> None:
    from reports.controls.summary import CloseSummary

    path = Path(__file__).parent / "fixtures" / "release-0c36b51" / "close" / "2023-01.json"
    text = path.read_text("utf-8")
    summary = CloseSummary.from_json(text)
    assert summary.can_close is True and summary.month == "2023-01"
    assert [r.agrees for r in summary.reconciliation] == [True, True]
    assert summary.to_json() == text


def test_a_balance_that_cannot_be_signed_stops_the_close(tmp_path: Path) -> None:
    """Without its opening balances the fiscal special account tops up the disbursement
    accounts from nothing: 1003 goes below zero on the day of the first transfer, and the close
    names the account and that day (资产 keeps a debit balance)."""
    books, cli = _city(tmp_path, opening=False)
    _code, out, _err = cli("close", "2023-01", "--books", "books", expect=4)
    summary = json.loads((books / "close" / "2023-01.json").read_text("utf-8"))
    check = next(c for c in summary["checks"] if c["name"] == "balances-on-their-side")
    assert check["ok"] is False
    first_transfer = min(
        line.split(",")[0]
        for path in (tmp_path / "exports").glob("bank-*-2023-01.csv")
        for line in path.read_text("gb18030" if "100402" in path.name else "utf-8").splitlines()[1:]
        if "财政专户拨入" in line
    )
    assert [d for d in check["details"] if d.startswith("Assets:1003-财政专户存款:")] == [
        check["details"][0]
    ]
    assert re.fullmatch(
        rf"Assets:1003-财政专户存款: -[\d,]+\.\d\d on {first_transfer}, not a debit balance",
        check["details"][0],
    ), check["details"]
    assert "FAIL balances-on-their-side" in out
