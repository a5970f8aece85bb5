"""Fava in a real browser (Debian's Chromium driven by Playwright) on the demo books.

Screenshots of each page are kept in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed, and CI must run the browser tests (make browser)")
    pytest.skip("chromium is not installed (Debian package chromium; `make browser` installs it)")


@pytest.fixture(scope="module")
def fava_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    Cli(root)("demo", "city")
    Cli(root)("close", "2023-01", "--lock", "--books", "city")
    (root / "city" / "audit").mkdir()
    Cli(root)(
        "audit",
        "--period",
        "2023",
        "--format",
        "json",
        "--out",
        "city/audit/2023.json",
        "--books",
        "city",
        expect=3,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mzledger",
            "fava",
            "--books",
            str(root / "city"),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as response:
                base = response.geturl().rsplit("/", 2)[0]
                break
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, "mzledger fava exited"
            assert time.monotonic() < deadline, "Fava did not answer within 60 s"
            time.sleep(0.3)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(fava_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def test_income_statement_in_chinese(page: Any, fava_url: str) -> None:
    page.goto(fava_url + "/income_statement/")
    page.wait_for_selector("text=03-门诊统筹费用支出")
    assert "损益表" in page.title()
    assert page.locator("text=03-药店医药费用支出").count() >= 1
    # interest by sub-fund, under the system's 4201 利息收入
    assert page.locator("text=4201-利息收入").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "income_statement.png"), full_page=True)


def test_balance_sheet_reads_like_the_funds(page: Any, fava_url: str) -> None:
    """The demo's balance sheet (资产负债表): the fiscal special account and both disbursement
    accounts in credit with the bank, i.e. positive; the net assets (3001) by sub-fund."""
    page.goto(fava_url + "/balance_sheet/")
    page.wait_for_selector("text=3001-一般基金结余")
    text = page.locator("body").inner_text()
    for account in ("1003-财政专户存款", "01-统筹基金", "02-个人账户基金", "3001-一般基金结余"):
        assert account in text, account
    api = page.request.get(fava_url + "/api/balance_sheet")
    assert api.ok
    tree = api.json()["data"]["trees"][0]

    def balances(node: dict[str, Any]) -> dict[str, float]:
        found = {node["account"]: node["balance"].get("CNY", 0)}
        for child in node["children"]:
            found.update(balances(child))
        return found

    shown = balances(tree)
    for account in (
        "Assets:1003-财政专户存款",
        "Assets:1004-支出户存款:01-统筹基金",
        "Assets:1004-支出户存款:02-个人账户基金",
    ):
        assert shown[account] > 0, (account, shown)
    page.screenshot(path=str(ARTIFACTS / "balance_sheet.png"), full_page=True)


def test_a_clerk_picks_a_month_of_the_prescribed_statements(page: Any, fava_url: str) -> None:
    """基金会计报表 in the extension: the clerk picks 2023-02 from the list; both forms show,
    and the balance sheet balances (资产合计 = 负债和净资产合计, both columns)."""
    page.goto(fava_url + "/extension/MzLedger/?view=statements")
    page.wait_for_selector("table.mzl-statement")
    page.select_option("select[name=period]", "2023-02")
    page.locator("button:has-text('查看')").click()
    page.wait_for_function("location.search.includes('period=2023-02')")
    page.wait_for_selector("text=资产负债表（会社保01表）")
    assert page.locator("text=收支表（会社保02表）").count() == 1
    sheet = page.locator("table[data-form='会社保01表'] tbody tr")

    def cells(label: str) -> list[str]:
        row = sheet.filter(has_text=label).first
        texts: list[str] = row.locator("td.num").all_inner_texts()
        return texts[1:]

    assert cells("资产合计") == cells("负债和净资产合计")
    assert all(value != "0.00" for value in cells("财政专户存款"))
    page.screenshot(path=str(ARTIFACTS / "statements.png"), full_page=True)


def test_journal_shows_one_entry_per_batch(page: Any, fava_url: str) -> None:
    page.goto(fava_url + "/journal/")
    page.wait_for_selector("text=门诊费用清算")
    page.wait_for_function("document.body.innerText.includes('clr-2023-01-')")
    page.screenshot(path=str(ARTIFACTS / "journal.png"))


def test_auditor_walks_from_a_payment_to_its_settlements_and_back(page: Any, fava_url: str) -> None:
    """Issue 5's scenario: a hospital's January payment -> its settlements -> one settlement by
    its setl_id -> back to its voucher; then a saved query. All in Chinese, nothing editable."""
    extension = fava_url + "/extension/MzLedger/"
    page.goto(extension + "?period=2023-01")
    page.wait_for_selector("text=清算批次")
    page.screenshot(path=str(ARTIFACTS / "batches.png"), full_page=True)
    # a hospital's batch of January (clr_type 11), paid in February
    page.locator("a[href*='view=batch'][href*='clr-2023-01-H21030103-11']").first.click()
    page.wait_for_selector("text=结算明细")
    rows = page.locator("table.mzl-settlements tbody tr")
    first_page = rows.all_inner_texts()
    assert len(first_page) > 10
    page.screenshot(path=str(ARTIFACTS / "drilldown.png"), full_page=True)
    setl_id = next(cell for cell in first_page[0].split() if cell.startswith("X"))
    next_link = page.locator("a:has-text('下一页')")
    if next_link.count():
        next_link.first.click()
        page.wait_for_function(
            f"!document.querySelector('table.mzl-settlements').innerText.includes('{setl_id}')"
        )
        assert rows.all_inner_texts() != first_page
    # find one settlement by its setl_id, and go back to its voucher
    page.goto(extension + "?view=lookup")
    page.fill("input[name=setl_id]", setl_id)
    page.locator("input[name=setl_id]").press("Enter")
    page.wait_for_selector(f"text={setl_id}")
    assert "2023-02-记-" in page.content()
    page.screenshot(path=str(ARTIFACTS / "lookup.png"), full_page=True)
    page.locator("a:has-text('2023-02-记-')").first.click()
    page.wait_for_function("document.body.innerText.includes('clr-2023-01-H21030103-11')")
    page.screenshot(path=str(ARTIFACTS / "voucher.png"))
    # the audit's findings, and the months
    page.goto(extension + "?view=findings")
    page.wait_for_selector("text=benefit-mismatch")
    page.screenshot(path=str(ARTIFACTS / "findings.png"), full_page=True)
    page.goto(extension + "?view=months")
    page.wait_for_selector("text=2023-01")
    assert "锁定" in page.content()
    page.screenshot(path=str(ARTIFACTS / "months.png"), full_page=True)
    # a saved query, run from Fava's query page
    page.goto(
        fava_url
        + "/query/?query_string="
        + "SELECT account, sum(position) WHERE account ~ '1004' GROUP BY account"
    )
    page.wait_for_selector("text=01-统筹基金")
    page.screenshot(path=str(ARTIFACTS / "query.png"))
