"""Two commands on one register at once, in real processes (ledger/register_lock.py).

A second writing command waits for the first, saying for whom, and lands; at the limit it
refuses with exit 1 and writes nothing; never a traceback, never both lost. Readers of a
SQLite register wait for a writer that locked them out instead of failing.

MZLEDGER_TEST_CONCURRENT_RUNS (default 3) sets how many times the two-imports race runs.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.books import Books
from ledger.register.lock import WAIT_ENV
from ledger.register.models import ImportedFile, Settlement
from ledger.register.opening import make_engine, resolve_url
from mzledger import synth
from tests.conftest import Cli, settlement, write_csv

RUNS = int(os.environ.get("MZLEDGER_TEST_CONCURRENT_RUNS", "3"))
ROWS = 3000  # a file: enough for an import to last while the other starts
HOLDER = Path(__file__).with_name("register_holder.py")
SINCE = r"since (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d"
OLD_BUSY_TIMEOUT = 10.0  # seconds a SQLite connection waited before this change


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MZLEDGER_BOOKS", WAIT_ENV)}
    return {**env, **extra}


def _mzledger(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mzledger", *args],
        cwd=cwd,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def _landed(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0 and "Traceback" not in err, f"exit {code}\n{out}\n{err}"
    return out


@contextmanager
def _process(tmp: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], Callable[[], None]]]:
    """tests/register_holder.py with ``args``, once it says it is ready; and its release."""
    ready, release = tmp / f"ready-{uuid.uuid4().hex}", tmp / f"release-{uuid.uuid4().hex}"
    command = [sys.executable, str(HOLDER), args[0], *args[1:]]
    if args[0] == "hold":
        command = [*command[:6], str(ready), str(release), *command[6:]]
    else:
        command += [str(ready), str(release)]
    process = subprocess.Popen(
        command, cwd=tmp, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        while not ready.exists():
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        yield process, release.touch
    finally:
        release.touch()
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{out}\n{err}"


def _held(
    tmp: Path, books: Path, url: str, command: str, *args: str
) -> AbstractContextManager[tuple[subprocess.Popen[str], Callable[[], None]]]:
    """Another command holding ``books`` and ``url``, running mzledger ``args`` once released."""
    return _process(tmp, "hold", str(books), url, command, *args)


def _url(books: Path) -> str:
    return resolve_url(Books(books).read_config().db_url, books)


def _register(books: Path) -> tuple[int, list[str]]:
    """How many settlements the register holds, and the names of its imported files."""
    engine = make_engine(_url(books))
    try:
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(Settlement)).scalar_one()
            names = conn.execute(select(ImportedFile.name).order_by(ImportedFile.id)).scalars()
            return int(count), [Path(name).name for name in names]
    finally:
        engine.dispose()


def _export(path: Path, prefix: str, month: str, rows: int = ROWS) -> Path:
    return write_csv(
        path,
        [
            settlement(
                f"{prefix}{n:06d}",
                f"Q{n % 97}",
                f"{month}-{n % 28 + 1:02d} 09:{n % 60:02d}:00",
                "H21030101",
                "100.00",
                "60.00",
                fixmedins_name="示例社区卫生服务中心",
                fixmedins_type="1",
                medins_lv="1",
            )
            for n in range(rows)
        ],
    )


def _postgres(url: str) -> bool:
    return url.startswith("postgresql")


def _holder_line(pid: int) -> str:
    return (
        rf"`mzledger import settlements` \(pid {pid} on {re.escape(socket.gethostname())}, "
        rf"user {re.escape(getpass.getuser())}, {SINCE}\)"
    )


def test_two_imports_at_once_both_land(register_url: str, tmp_path: Path, cli: Cli) -> None:
    """Two imports of different files started together: both land, every run. On
    PostgreSQL the second comes from other books on the same register, as from another
    machine: only the advisory lock is common to them."""
    cli("init", "books", "--db", register_url)
    other = "books"
    if _postgres(register_url):
        other = "elsewhere"
        cli("init", other, "--db", register_url)
    waited = 0
    for run in range(RUNS):
        january = _export(tmp_path / f"jan-{run}.csv", f"A{run}-", "2023-01")
        february = _export(tmp_path / f"feb-{run}.csv", f"B{run}-", "2023-02")
        started = [
            _mzledger(tmp_path, "import", "settlements", str(january), "--books", "books"),
            _mzledger(tmp_path, "import", "settlements", str(february), "--books", other),
        ]
        results = [_finish(process) for process in started]
        for result in results:
            assert f"{ROWS} rows, {ROWS} imported" in _landed(result)
        waited += sum("waiting for the register:" in err for _code, _out, err in results)
        count, files = _register(tmp_path / "books")
        assert count == 2 * ROWS * (run + 1)
        assert {january.name, february.name} <= set(files)
    print(f"{RUNS} runs, {waited} of them with one import waiting for the other")


def test_a_writer_waits_for_the_holder_then_lands_or_refuses_at_the_limit(
    register_url: str, tmp_path: Path, cli: Cli
) -> None:
    cli("init", "books", "--db", register_url)
    books = tmp_path / "books"
    holder_books = books
    if _postgres(register_url):  # held from other books: the register's own lock
        cli("init", "elsewhere", "--db", register_url)
        holder_books = tmp_path / "elsewhere"
    url = _url(holder_books)
    first = _export(tmp_path / "first.csv", "F", "2023-01", rows=100)
    with _held(tmp_path, holder_books, url, "import settlements") as (holder, release):
        waiting = _mzledger(tmp_path, "import", "settlements", str(first), "--books", "books")
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert re.fullmatch(
            rf"waiting for the register: {_holder_line(holder.pid)} holds it; up to 600 s\n", line
        ), line
        assert _register(books) == (0, [])
        release()
        _landed(_finish(waiting))
    assert _register(books) == (100, ["first.csv"])

    second = _export(tmp_path / "second.csv", "S", "2023-02", rows=100)
    with _held(tmp_path, holder_books, url, "import settlements") as (holder, _release):
        code, out, err = _finish(
            _mzledger(
                tmp_path,
                "import",
                "settlements",
                str(second),
                "--books",
                "books",
                env=_env(**{WAIT_ENV: "0.5"}),
            )
        )
    assert (code, out) == (1, "")
    assert re.fullmatch(
        rf"waiting for the register: {_holder_line(holder.pid)} holds it; up to 0.5 s\n"
        rf"the register is busy: {_holder_line(holder.pid)} still held it after 0.5 s of "
        r"waiting; nothing was done \(the limit: lock_wait_seconds in mzledger.toml, or "
        rf"{WAIT_ENV}\)\n",
        err,
    ), err
    assert _register(books) == (100, ["first.csv"])


def _city(tmp: Path, cli: Cli) -> tuple[Path, dict[str, Path], list[tuple[str, Path]]]:
    """Demo-like books with December imported: the exports, and the statements by account."""
    exports = tmp / "exports"
    files = {
        p.name: p for p in synth.write_city(synth.CitySpec(months=("2022-12", "2023-01")), exports)
    }
    cli("init", "books")
    opening = str(exports / "opening-balances.csv")
    cli("import", "opening-balances", opening, "--on", "2022-12-01", "--books", "books")
    # January's collection, as the fiscal special account's statement shows it received
    collection, received = (
        str(exports / "contributions-2023-01.csv"),
        f"2023-01-{synth.RECEIVED_DAY}",
    )
    cli("import", "contributions", collection, "--received-on", received, "--books", "books")
    cli("import", "institutions", str(files["institutions.csv"]), "--books", "books")
    cli("import", "persons", str(files["persons.csv"]), "--books", "books")
    cli("import", "settlements", str(files["settlements-2022-12.csv"]), "--books", "books")
    statements = [
        (account["account"], exports / name)
        for account in json.loads((exports / "bank-accounts.json").read_text("utf-8"))
        for name in account["files"]
    ]
    return tmp / "books", files, statements


def _waits_then_lands(tmp: Path, books: Path, running: list[str], *command: str) -> str:
    """``command`` started while another process holds the books (as an import) and is about
    to run the mzledger ``running``: it says it waits, then lands once that is done."""
    with _held(tmp, books, _url(books), "import settlements", *running) as (holder, release):
        waiting = _mzledger(tmp, *command, "--books", "books")
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert re.fullmatch(
            rf"waiting for the register: {_holder_line(holder.pid)} holds it; up to 600 s\n", line
        ), line
        release()
        return _landed(_finish(waiting))


def test_post_statement_close_and_reopen_wait_for_a_running_import(
    tmp_path: Path, cli: Cli
) -> None:
    books, files, statements = _city(tmp_path, cli)
    january = ["import", "settlements", str(files["settlements-2023-01.csv"]), "--books", "books"]
    out = _waits_then_lands(tmp_path, books, january, "post", "--period", "2022-12")
    assert "2022-12: " in out and (books / "clearing" / "2022-12.beancount").is_file()
    # the import ran before the post: January is in the register whole
    assert "settlements-2023-01.csv" in _register(books)[1]
    cli("post", "--period", "2023-01", "--books", "books")
    account, statement = statements[0]
    out = _waits_then_lands(
        tmp_path, books, [], "import", "statement", str(statement), "--account", account
    )
    assert f"{statement}: " in out
    for account, statement in statements[1:]:
        cli("import", "statement", str(statement), "--account", account, "--books", "books")
    out = _waits_then_lands(tmp_path, books, [], "close", "2023-01", "--lock")
    assert "2023-01 locked" in out
    out = _waits_then_lands(tmp_path, books, [], "reopen", "2023-01", "--reason", "更正")
    assert "2023-01 reopened" in out
    assert '"mzledger-reopen" "2023-01" "更正"' in (books / "locks.beancount").read_text("utf-8")

    # the books' own limit, without the environment's: refused, nothing written
    config = books / "mzledger.toml"
    config.write_text(config.read_text("utf-8") + "lock_wait_seconds = 0.3\n", "utf-8")
    locks = (books / "locks.beancount").read_bytes()
    with _held(tmp_path, books, _url(books), "import settlements"):
        code, out, err = _finish(
            _mzledger(tmp_path, "close", "2023-01", "--lock", "--books", "books")
        )
    assert (code, out) == (1, "")
    assert "still held it after 0.3 s of waiting; nothing was done" in err
    assert "Traceback" not in err
    assert (books / "locks.beancount").read_bytes() == locks


def _wait_until_open(process: subprocess.Popen[str], path: Path) -> None:
    """Until ``process`` has ``path`` open (Linux: /proc), i.e. it is past its start."""
    fds = Path(f"/proc/{process.pid}/fd")
    while process.poll() is None:
        with contextlib.suppress(OSError):  # a descriptor closed while being looked at
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                return
        time.sleep(0.02)


def test_readers_wait_for_a_writer_that_locked_them_out(tmp_path: Path, cli: Cli) -> None:
    """SQLite: a writer whose pages spill holds readers off until it ends. A reader waits
    for it up to the limit (before: 10 s, then "database is locked"), and says so past it."""
    cli("init", "books")
    database = str(tmp_path / "books" / "register.sqlite")
    with _process(tmp_path, "write", database, "1000") as (_writer, release):
        code, out, err = _finish(
            _mzledger(tmp_path, "check", "--books", "books", env=_env(**{WAIT_ENV: "0.2"}))
        )
        assert (code, out, err) == (
            1,
            "",
            "register: cannot use the database: database is locked\n",
        )
        reader = _mzledger(tmp_path, "check", "--books", "books")
        _wait_until_open(reader, Path(database))
        time.sleep(OLD_BUSY_TIMEOUT + 0.5)  # longer than a reader used to wait
        assert reader.poll() is None
        release()
    assert "ok: 0 transactions" in _landed(_finish(reader))


def test_a_database_error_escaping_is_a_message(tmp_path: Path, cli: Cli) -> None:
    """SQLite locked by something other than mzledger (no register lock to wait at): the bulk
    path's ADBC error, which SQLAlchemy does not wrap, is a message, not a traceback."""
    cli("init", "books")
    export = _export(tmp_path / "in.csv", "E", "2023-01", rows=10)
    database = str(tmp_path / "books" / "register.sqlite")
    with _process(tmp_path, "write", database, "1"):
        code, out, err = _finish(
            _mzledger(
                tmp_path,
                "import",
                "settlements",
                str(export),
                "--books",
                "books",
                env=_env(**{WAIT_ENV: "0.2"}),
            )
        )
    assert (code, out) == (1, "")
    assert (
        err == "register: cannot use the database: IO: Failed to step query: database is locked\n"
    )
    assert _register(tmp_path / "books") == (0, [])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "lock_wait_seconds = 'soon'\n",
            "lock_wait_seconds: not a number of seconds (found 'soon'",
        ),
        ("lock_wait_seconds = -1\n", "lock_wait_seconds: not a number of seconds (found -1,"),
    ],
)
def test_a_bad_limit_in_the_books_is_refused(
    tmp_path: Path, cli: Cli, setting: str, message: str
) -> None:
    cli("init", "books")
    config = tmp_path / "books" / "mzledger.toml"
    config.write_text(config.read_text("utf-8") + setting, "utf-8")
    _code, _out, err = cli("post", "--period", "2023-01", "--books", "books", expect=1)
    assert message in err and "Traceback" not in err


def test_a_bad_limit_in_the_environment_is_refused(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("init", "books")
    monkeypatch.setenv(WAIT_ENV, "a while")
    _code, _out, err = cli("post", "--period", "2023-01", "--books", "books", expect=1)
    assert err == (
        f"{WAIT_ENV}: not a number of seconds (found 'a while', expected a number >= 0 such as "
        "600)\n"
    )


def test_init_keeps_a_limit_set_by_hand(tmp_path: Path, cli: Cli) -> None:
    cli("init", "books")
    config = tmp_path / "books" / "mzledger.toml"
    config.write_text(config.read_text("utf-8") + "lock_wait_seconds = 30\n", "utf-8")
    cli("init", "books")
    assert Books(tmp_path / "books").read_config().lock_wait_seconds == 30


def test_fava_import_page_waits_for_a_command_then_imports_or_refuses(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An upload on the import page (``mzledger fava --edit``) while a command holds the
    books: it waits, saying so on Fava's console, and imports; at the limit the page says why
    and nothing is imported."""
    from mzledger.fava_import import EDIT_FLAG, SETTLEMENTS_NAME
    from tests.test_fava_import import INSTITUTIONS, SAMPLE, Site, settlements

    cli("init", "books")
    books = tmp_path / "books"
    (tmp_path / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    cli("import", "institutions", "institutions.csv", "--books", "books")
    (books / "uploads" / "2023-03.csv").write_bytes(SAMPLE.read_bytes())
    monkeypatch.setenv(EDIT_FLAG, "1")
    site = Site(books)

    monkeypatch.setenv(WAIT_ENV, "0.3")
    with _held(tmp_path, books, _url(books), "import settlements") as (holder, _release):
        ok, error = site.extract("2023-03.csv", SETTLEMENTS_NAME)
    assert not ok and "登记簿暂不可用，未导入任何内容。\n" in error
    assert re.search(rf"the register is busy: {_holder_line(holder.pid)} still held it", error)
    assert settlements(books) == 0

    monkeypatch.delenv(WAIT_ENV)
    capsys.readouterr()
    extracted: list[tuple[bool, Any]] = []
    with _held(tmp_path, books, _url(books), "import settlements") as (holder, release):
        page = threading.Thread(
            target=lambda: extracted.append(site.extract("2023-03.csv", SETTLEMENTS_NAME))
        )
        page.start()
        said = ""
        while "waiting for the register" not in said and page.is_alive():
            time.sleep(0.05)
            said += capsys.readouterr().err
        assert re.fullmatch(
            rf"waiting for the register: {_holder_line(holder.pid)} holds it; up to 600 s\n", said
        ), said
        release()
        page.join()
    [(ok, entries)] = extracted
    assert ok and "3 笔新增" in entries[0]["comment"], entries
    assert settlements(books) == 3
