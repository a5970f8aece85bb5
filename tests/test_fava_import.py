"""Fava's import page: settlement exports into the register, statements into the books, only when
Fava was started to edit (MZLEDGER_FAVA_EDIT=1), never twice, and nothing from a refused file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fava.application import create_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select

from ledger.books import Books
from ledger.register.models import Settlement
from ledger.register.opening import resolve_url
from mzledger.fava_import import EDIT_FLAG, IMPORT_CONFIG_TEXT, SETTLEMENTS_NAME
from tests.conftest import SAMPLES, Cli

SAMPLE = SAMPLES / "settlements-sample.csv"
PERSONAL = "Assets:1004-支出户存款:02-个人账户基金"
INSTITUTIONS = """fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs
H21030101,示例社区卫生服务中心,1,1,0,
P21030102,示例大药房,2,,0,
"""
FAVA_OPTIONS = (
    'custom "fava-option" "import-config" "importers.py"',
    'custom "fava-option" "import-dirs" "uploads"',
)


def configure_fava_import(books: Path) -> None:
    """The books carry Fava's import configuration from `init` on, and keep it through `post`."""
    assert (books / "importers.py").read_text("utf-8") == IMPORT_CONFIG_TEXT
    text = (books / "main.beancount").read_text("utf-8")
    assert all(f"2022-12-01 {line}" in text for line in FAVA_OPTIONS)
    assert (books / "uploads").is_dir()


def settlements(books: Path) -> int:
    engine = create_engine(resolve_url(Books(books).read_config().db_url, books))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Settlement)).scalar_one())
    finally:
        engine.dispose()


class Site:
    def __init__(self, books: Path, *, read_only: bool = False) -> None:
        app = create_app([str(books / "main.beancount")], read_only=read_only)
        self.client: FlaskClient = app.test_client()
        response = self.client.get("/", follow_redirects=True)
        assert response.status_code == 200
        self.base = response.request.path.rsplit("/", 2)[0]

    def imports(self) -> dict[str, list[str]]:
        response = self.client.get(f"{self.base}/api/imports")
        assert response.status_code == 200, response.get_data(as_text=True)
        return {
            Path(f["name"]).name: [i["importer_name"] for i in f["importers"]]
            for f in response.get_json()["data"]
        }

    def extract(self, name: str, importer: str) -> tuple[bool, Any]:
        books_uploads = [f for f in self._files() if Path(f).name == name]
        query = urlencode({"filename": books_uploads[0], "importer": importer})
        response = self.client.get(f"{self.base}/api/extract?{query}")
        body = response.get_json()
        if response.status_code == 200:
            return True, body["data"]
        return False, body["error"]

    def _files(self) -> list[str]:
        response = self.client.get(f"{self.base}/api/imports")
        return [f["name"] for f in response.get_json()["data"]]


@pytest.fixture
def books(cli: Cli, tmp_path: Path) -> Path:
    cli("init", "books")
    (tmp_path / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    cli("import", "institutions", "institutions.csv", "--books", "books")
    books = tmp_path / "books"
    configure_fava_import(books)
    text = (books / "main.beancount").read_text("utf-8")
    assert all(text.count(line) == 1 for line in FAVA_OPTIONS)
    return books


def test_settlements_through_fava(books: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(SAMPLE, books / "uploads" / "2023-03.csv")
    monkeypatch.delenv(EDIT_FLAG, raising=False)
    for read_only in (True, False):
        site = Site(books, read_only=read_only)
        assert site.imports()["2023-03.csv"] == [SETTLEMENTS_NAME]
        ok, error = site.extract("2023-03.csv", SETTLEMENTS_NAME)
        assert not ok and "只读模式" in error and "mzledger fava --edit" in error
        assert settlements(books) == 0
    monkeypatch.setenv(EDIT_FLAG, "0")
    ok, error = Site(books).extract("2023-03.csv", SETTLEMENTS_NAME)
    assert not ok and "Read-only" in error and settlements(books) == 0

    monkeypatch.setenv(EDIT_FLAG, "1")
    site = Site(books)
    ok, entries = site.extract("2023-03.csv", SETTLEMENTS_NAME)
    assert ok, entries
    [note] = entries
    assert note["t"] == "Note" and note["account"] == "Assets:1004-支出户存款:01-统筹基金"
    assert "结算结果已导入登记簿：3 笔新增，0 笔已存在" in note["comment"]
    assert settlements(books) == 3

    ok, entries = site.extract("2023-03.csv", SETTLEMENTS_NAME)
    assert ok and "已导入过" in entries[0]["comment"]
    assert settlements(books) == 3


def test_a_malformed_export_is_refused_whole(books: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = SAMPLE.read_text("utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("hifp_pay")] = "abc"
    lines[2] = ",".join(cells)
    (books / "uploads" / "bad.csv").write_text("\n".join(lines) + "\n", "utf-8")
    monkeypatch.setenv(EDIT_FLAG, "1")
    ok, error = Site(books).extract("bad.csv", SETTLEMENTS_NAME)
    assert not ok
    assert "bad.csv:3: hifp_pay" in error and "nothing was imported" in error, error
    assert settlements(books) == 0


def test_a_refusal_counts_every_problem(books: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More problems than a refusal shows (100 a file): the count says all of them, once
    (it used to count the shown ones and the line that says how many more)."""
    lines = SAMPLE.read_text("utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    bad = []
    for n in range(150):
        cells = list(row)
        cells[header.index("setl_id")] = f"B{n:04d}"
        cells[header.index("mdtrt_id")] = f"MB{n:04d}"
        cells[header.index("hifp_pay")] = "abc"
        bad.append(",".join(cells))
    (books / "uploads" / "bad.csv").write_text("\n".join([lines[0], *bad]) + "\n", "utf-8")
    monkeypatch.setenv(EDIT_FLAG, "1")
    ok, error = Site(books).extract("bad.csv", SETTLEMENTS_NAME)
    assert not ok
    shown = error.count("bad.csv:")
    total = int(error.split("拒绝导入：")[1].split(" ")[0])
    assert total > shown == 100
    assert f"... {total - shown} more" in error
    assert f"refused: {total} problems; nothing was imported" in error
    assert settlements(books) == 0


def test_a_statement_through_fava_books_the_batch(
    books: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("import", "settlements", str(SAMPLE), "--books", "books")
    cli("post", "--period", "2023-03", "--books", "books")
    configure_fava_import(books)  # `post` rewrote main.beancount: the options are still there
    statement = books / "uploads" / "bank-100402-2023-04.csv"
    statement.write_text(
        "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要\n"
        "2023-04-03,,100.00,100.00,鞍山市社会保险基金财政专户,6222000000000000009,财政专户拨入\n"
        "2023-04-10,88.50,,11.50,示例大药房,6222000000000000001,结算款 P21030102\n",
        "utf-8",
    )
    importer = f"mzledger.statement.generic:{PERSONAL}"
    monkeypatch.setenv(EDIT_FLAG, "1")
    site = Site(books)
    assert site.imports()["bank-100402-2023-04.csv"] == [importer]
    ok, entries = site.extract("bank-100402-2023-04.csv", importer)
    assert ok, entries
    [note] = entries
    assert note["account"] == PERSONAL
    assert "入账批次 1 个（clr-2023-03-P21030102-" in note["comment"], note["comment"]
    assert "无待定行" in note["comment"]
    cli("check", "--books", "books")  # exit 0: bean-check and books equal to the register
    bank = books / "bank" / "2023-04.beancount"
    booked = bank.read_text("utf-8")
    assert f"balance {PERSONAL}" in booked and "11.50 CNY" in booked
    vouchers = sorted(p.read_text("utf-8") for p in books.rglob("*.beancount"))
    assert any("clr-2023-03-P21030102-" in text and "2023-04-10" in text for text in vouchers)
    ok, entries = site.extract("bank-100402-2023-04.csv", importer)
    assert ok and "已导入过" in entries[0]["comment"]
    assert sorted(p.read_text("utf-8") for p in books.rglob("*.beancount")) == vouchers


def test_the_fiscal_special_accounts_statement_through_fava(
    books: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bank-1003-...``: the fiscal special account's own importer, and only it (the code is
    not read out of a longer number: ``bank-100402-20231003.csv`` is not 1003's)."""
    fiscal = "Assets:1003-财政专户存款"
    statement = books / "uploads" / "bank-1003-2023-04.csv"
    statement.write_text(
        "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要\n"
        "2023-04-06,,200000.00,200000.00,鞍山市财政局,2103000000000000001,财政补贴收入\n",
        "utf-8",
    )
    (books / "uploads" / "bank-100402-20231003.csv").write_text(
        statement.read_text("utf-8"), "utf-8"
    )
    importer = f"mzledger.statement.generic:{fiscal}"
    monkeypatch.setenv(EDIT_FLAG, "1")
    site = Site(books)
    assert site.imports()["bank-1003-2023-04.csv"] == [importer]
    assert site.imports()["bank-100402-20231003.csv"] == [f"mzledger.statement.generic:{PERSONAL}"]
    ok, entries = site.extract("bank-1003-2023-04.csv", importer)
    assert ok, entries
    assert "fiscal-subsidy 1" in entries[0]["comment"] and "无待定行" in entries[0]["comment"]
    assert "Income:4101-财政补贴收入:01-统筹基金" in (
        books / "bank" / "2023-04.beancount"
    ).read_text("utf-8")
