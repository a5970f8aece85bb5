"""Books and a register made by the previous release open, check, post and serve in Fava with
this code. The fixture (tests/fixtures/release-*/, made by that release's own code, see its
README.md) is copied first and never written to."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from ledger.books import Books
from ledger.register.opening import SCHEMA_HEAD, resolve_url, schema_revision
from tests.conftest import Cli

#: Books of earlier releases, each made by its own code: 0c36b51, the release before the upgrade
#: test; 22dd410, the commit before the house was redesigned (issue 12), whose books name the
#: old module paths (``reports.fava_ext``, ``ledger.plugins.lock``) and whose register is a
#: migration behind.
RELEASES = [
    Path(__file__).parent / "fixtures" / name for name in ("release-0c36b51", "release-22dd410")
]
TITLE = "鞍山市 职工基本医疗保险基金 · 门诊统筹"


def tree_digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module", params=RELEASES, ids=lambda path: path.name)
def release(request: pytest.FixtureRequest) -> tuple[Path, str]:
    """A release's books and the digest of their tree."""
    path: Path = request.param
    return path, tree_digest(path)


@pytest.fixture
def upgraded(tmp_path: Path, release: tuple[Path, str]) -> Iterator[Path]:
    """A copy of the release's books; afterwards, the committed fixture is as it was."""
    path, digest = release
    books = tmp_path / "books"
    shutil.copytree(path, books)
    yield books
    assert tree_digest(path) == digest, f"{path} was written to"


def register_revision(books: Path) -> str | None:
    engine = create_engine(resolve_url(Books(books).read_config().db_url, books))
    try:
        with engine.connect() as conn:
            return schema_revision(conn)
    finally:
        engine.dispose()


def test_the_copy_opens_its_own_register(upgraded: Path) -> None:
    """The register's URL is relative to the books directory, so the copy is self-contained."""
    db_url = Books(upgraded).read_config().db_url
    assert db_url == "sqlite:///register.sqlite"
    assert resolve_url(db_url, upgraded) == f"sqlite:///{(upgraded / 'register.sqlite').resolve()}"


def test_release_books_after_upgrade(upgraded: Path, cli: Cli) -> None:
    """check, post of a month the release did not post, the release's lock, then Fava: the
    order of an upgrade (the first command migrates the register; Fava reads it read-only and
    asks for that, see ledger/register/readonly.py)."""
    _, said, _ = cli("check", "--books", str(upgraded))
    assert "books equal the register" in said, said
    assert register_revision(upgraded) == SCHEMA_HEAD

    # February was imported by the release but not posted: it posts now, and the books still
    # equal the register, the release's lock of January included.
    assert not (upgraded / "clearing" / "2023-02.beancount").exists()
    cli("post", "--period", "2023-02", "--paid-on", "2023-03-10", "--books", str(upgraded))
    february = clearing_links(upgraded, "2023-02")
    assert february
    clearing = (upgraded / "clearing" / "2023-02.beancount").read_text("utf-8")
    assert len(re.findall(r"^2023-03-10 \* ", clearing, re.MULTILINE)) == len(february)
    _, said, _ = cli("check", "--books", str(upgraded))
    assert "books equal the register" in said, said
    assert register_revision(upgraded) == SCHEMA_HEAD

    # December's batches were paid in January, which the release locked: rebuilding them is
    # refused and changes nothing.
    before = tree_digest(upgraded)
    code, said, error = cli(
        "post", "--period", "2022-12", "--replace", "--books", str(upgraded), expect=None
    )
    assert code == 1, said + error
    assert "2023-01" in error and "locked" in error, error
    assert tree_digest(upgraded) == before

    with running_fava(upgraded) as fava:
        check_fava(upgraded, fava, february)


def clearing_links(books: Path, period: str) -> list[str]:
    text = (books / "clearing" / f"{period}.beancount").read_text("utf-8")
    return re.findall(rf"\^(clr-{period}-[\w-]+)", text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str) -> tuple[int, str, str]:
    """Status, final URL (after redirects) and body."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.geturl(), response.read().decode("utf-8")


@contextmanager
def running_fava(books: Path) -> Iterator[str]:
    """A real `mzledger fava` on the books, stopped afterwards; yields its root URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mzledger", "fava", "--books", str(books), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(url + "/")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, "mzledger fava exited"
                assert time.monotonic() < deadline, "Fava did not answer within 60 s"
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def check_fava(books: Path, fava: str, february: list[str]) -> None:
    status, landed, page = get(fava + "/")
    assert status == 200
    assert TITLE in page
    bfile = landed.removeprefix(fava + "/").split("/")[0]
    base = f"{fava}/{bfile}"

    status, _, body = get(base + "/api/errors")
    assert status == 200
    assert json.loads(body)["data"] == [], body  # bean-check's errors and the lock plugin's

    extension = base + "/extension/MzLedger/"
    january = clearing_links(books, "2023-01")
    for period, links in (("2023-01", january), ("2023-02", february)):
        status, _, page = get(f"{extension}?period={period}")
        assert status == 200
        assert "清算批次" in page
        assert all(link in page for link in links), (period, links)

    # a batch the release posted, its settlements read from the release's register
    query = urllib.parse.urlencode({"view": "batch", "link": january[0]})
    status, _, page = get(f"{extension}?{query}")
    assert status == 200
    assert "结算明细" in page and january[0] in page

    status, _, page = get(extension + "?view=months")
    assert status == 200
    assert 'data-month="2023-01" data-state="locked"' in page, page
    assert 'data-month="2023-02" data-state="open"' in page, page


def test_fava_first_after_upgrade(upgraded: Path) -> None:
    """Fava as the first command after an upgrade: `mzledger fava` brings the register to the
    newest migration before Fava opens it read-only (the 门诊统筹 page refused the old schema)."""
    assert register_revision(upgraded) != SCHEMA_HEAD
    with running_fava(upgraded) as fava:
        assert register_revision(upgraded) == SCHEMA_HEAD
        _status, landed, _page = get(fava + "/")
        bfile = landed.removeprefix(fava + "/").split("/")[0]
        status, _, page = get(f"{fava}/{bfile}/extension/MzLedger/?period=2023-01")
        assert status == 200
        links = clearing_links(upgraded, "2023-01")
        assert links and all(link in page for link in links)


def test_untouched_release_books_load_with_this_code(upgraded: Path) -> None:
    """bean-check (Beancount's loader) on the release's books as they are: their main.beancount
    names the extension `reports.fava_ext` and the plugin `ledger.plugins.lock`, the names
    every version keeps for the books' sake."""
    from beancount import loader

    main = (upgraded / "main.beancount").read_text("utf-8")
    assert 'custom "fava-extension" "reports.fava_ext"' in main
    assert 'plugin "ledger.plugins.lock"' in main
    entries, errors, _options = loader.load_file(str(upgraded / "main.beancount"))
    assert errors == []
    assert any(getattr(e, "type", None) == "mzledger-lock" for e in entries)
    from reports.fava_ext import MzLedger

    assert MzLedger.report_title == "门诊统筹"
