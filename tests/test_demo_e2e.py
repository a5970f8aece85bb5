"""End to end: the demo city -> register -> books -> bean-check -> totals -> Fava."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from beancount import loader
from beancount.core import data
from fava.application import create_app
from fava.core import FavaLedger

from tests.conftest import Cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("demo")
    _code, stdout, _err = Cli(root)("demo", "city")
    return root / "city", stdout


def test_demo_books_check_clean_and_reconcile(demo: tuple[Path, str]) -> None:
    books, stdout = demo
    assert "books equal the register" in stdout
    entries, errors, options = loader.load_file(str(books / "main.beancount"))
    assert errors == []
    assert options["operating_currency"] == ["CNY"]
    batches = [
        e
        for e in entries
        if isinstance(e, data.Transaction) and any(link.startswith("clr-") for link in e.links)
    ]
    # every bank statement line was decided: the bank's own entries carry their source line;
    # the transfers to the disbursement accounts are booked once, from their statements (the
    # fiscal special account's comes after them and matches), and 1003's other lines from its own
    bank = [e for e in entries if isinstance(e, data.Transaction) and "bank_line" in e.meta]
    assert {e.narration for e in bank} == {
        "财政专户拨入",
        "结息",
        "财政补贴收入",
        "个人账户转入 跨统筹区转移",
        "个人账户转出 跨统筹区转移",
        "追回违规结算统筹基金待遇",
        "异地就医预付金 110100",
        "异地就医预付金 210100",
    }
    assert sum(e.narration == "财政专户拨入" for e in bank) == 8  # 2 accounts x 4 months
    # 异地就医: each outside institution's batches paid through its clearing agency, the
    # agency's advance (预付金) in 1101 by agency, paid from the fiscal special account
    remote = [e for e in entries if isinstance(e, data.Transaction) and "clr_optins" in e.meta]
    assert {(e.payee, e.meta["clr_optins"]) for e in remote} == {
        ("示例北京市某区医院", "110100"),
        ("示例沈阳医科大学附属医院", "210100"),
    }
    assert all(f"ydjy-{e.meta['period']}-{e.meta['clr_optins']}" in e.links for e in remote)
    advances = {
        p.account: p.units.number
        for e in bank
        for p in e.postings
        if p.account.startswith("Assets:1101-") and p.units is not None
    }
    assert advances == {
        "Assets:1101-暂付款:01-异地就医预付金:110100-北京市": Decimal("30000.00"),
        "Assets:1101-暂付款:01-异地就医预付金:210100-沈阳市": Decimal("30000.00"),
    }
    balances = [e for e in entries if isinstance(e, data.Balance)]
    assert len(balances) == 12  # 3 accounts x 4 monthly statements, all asserted and passing
    # one transaction per clearing batch (month x institution x clr_type), never per settlement
    keys, settlements = set(), 0
    for path in (books / "exports").glob("settlements-*.csv"):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                keys.add((row["setl_time"][:7], row["fixmedins_code"], row["clr_type"]))
                settlements += 1
    assert len(batches) == len(keys) and settlements > 10 * len(keys)
    clearing_links = {link for e in batches for link in e.links if link.startswith("clr-")}
    assert clearing_links == {f"clr-{p}-{i}-{c}" for p, i, c in keys}
    assert all(sum(link.startswith("clr-") for link in e.links) == 1 for e in batches)
    assert sum(int(e.meta["settlement_count"]) for e in batches) == settlements


def test_demo_rerun_changes_nothing(demo: tuple[Path, str]) -> None:
    books, _ = demo
    before = {p: p.read_bytes() for p in sorted(books.rglob("*")) if p.is_file()}
    _code, stdout, _err = Cli(books.parent)("demo", "city")
    assert "already imported" in stdout and "already posted" in stdout
    after = {p: p.read_bytes() for p in sorted(books.rglob("*")) if p.is_file()}
    assert after.keys() == before.keys()
    for path, content in before.items():
        if path.suffix != ".sqlite":
            assert after[path] == content, path


def test_demo_loads_in_fava_in_chinese_read_only(demo: tuple[Path, str]) -> None:
    books, _ = demo
    ledger = FavaLedger(str(books / "main.beancount"))
    assert ledger.errors == []
    assert ledger.fava_options.language == "zh"
    app = create_app([str(books / "main.beancount")], read_only=True)
    client = app.test_client()
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    assert "鞍山市 职工基本医疗保险基金" in response.get_data(as_text=True)
    base = response.request.path.rsplit("/", 2)[0]
    income = client.get(base + "/api/income_statement")
    assert income.status_code == 200
    # the months of the income statement's chart: from the opening's (2022-11: no flows); the
    # first payments are made in January
    months = {
        m["date"][:7]: m["account_balances"] for m in income.get_json()["data"]["charts"][0]["data"]
    }
    assert months["2022-11"] == {}
    balances = months["2023-01"]
    assert "Expenses:5001-社会保险待遇支出:01-统筹基金:03-门诊统筹费用支出" in balances
    # read-only: Fava refuses to write
    assert client.put(base + "/api/add_entries", json={"entries": []}).status_code == 401


def test_no_personal_data_in_books(demo: tuple[Path, str]) -> None:
    books, _ = demo
    names, certnos = set(), set()
    for path in (books / "exports").glob("settlements-*.csv"):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                names.add(row["psn_name"])
                certnos.add(row["certno"])
    assert names and certnos
    text = "\n".join(p.read_text("utf-8") for p in books.rglob("*.beancount"))
    assert not any(name in text for name in names)
    assert not any(certno in text for certno in certnos)


def test_mzledger_fava_serves_read_only_on_loopback(demo: tuple[Path, str]) -> None:
    """The real command: a Fava server process on 127.0.0.1 that answers and will not write."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    books, _ = demo
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "mzledger", "fava", "--books", str(books), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode("utf-8")
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "Fava did not answer within 60 s"
                time.sleep(0.3)
        assert "职工基本医疗保险基金" in page
        listening = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout
        if listening:  # ss is there on Debian; the address must be loopback only
            local_addresses = {line.split()[3] for line in listening.splitlines()}
            assert local_addresses == {f"127.0.0.1:{port}"}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_demo_audit_finds_exactly_the_planted_mistakes(demo: tuple[Path, str]) -> None:
    books, _ = demo
    planted = json.loads((books / "exports" / "planted.json").read_text("utf-8"))
    assert len(planted) >= 10
    found = set()
    for period in ("2022-12", "2023"):
        code, out, _err = Cli(books.parent)(
            "audit", "--period", period, "--format", "json", "--books", str(books), expect=None
        )
        assert code == 3
        found |= {(f["rule"], f["setl_id"]) for f in json.loads(out)}
    assert found == {(p["rule"], p["setl_id"]) for p in planted}


#: The audit's fee-detail rules (reports.audit.rules.fee_details).
FEE_RULES = frozenset(
    {"fee-details-mismatch", "fee-details-without-settlement", "item-same-drug-two-institutions",
     "item-supply-over-usual", "item-supply-over-longest", "exam-at-pharmacy",
     "exam-outside-prescriber"}
)  # fmt: skip


def test_demo_fee_details_imported_and_the_rules_silent(demo: tuple[Path, str]) -> None:
    books, stdout = demo
    for path in sorted((books / "exports").glob("fee-details-*.csv")):
        with path.open(encoding="utf-8") as handle:
            count = sum(1 for _ in csv.DictReader(handle))
        assert count > 1000
        assert f"{path.name}: {count} items, {count} imported" in stdout
    for period in ("2022-12", "2023-01", "2023-02", "2023-03", "2023"):
        code, out, _err = Cli(books.parent)(
            "audit", "--period", period, "--format", "json", "--books", str(books), expect=None
        )
        rules = {f["rule"] for f in json.loads(out)}
        assert code == 3 and rules and not rules & FEE_RULES, period
    # the items give the medical institutions an examination share, the pharmacies none
    Cli(books.parent)("indicators", "--year", "2023", "--books", str(books))
    sheet = openpyxl.load_workbook(books / "reports" / "2023" / "indicators-2023.xlsx")["年度指标"]
    header, *rows = sheet.iter_rows(values_only=True)
    share = {r[header.index("机构编码")]: r[header.index("检查费用占比")] for r in rows}
    hospitals = [c for c in share if str(c).startswith("H") and share[c]]
    assert len(hospitals) >= 8 and all(0 < share[c] < 0.25 for c in hospitals)
    assert all(share[c] == 0 for c in share if str(c).startswith("P"))
