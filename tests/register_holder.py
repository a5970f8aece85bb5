"""A process standing in for another command, for tests/test_concurrency.py.

``hold BOOKS URL COMMAND READY RELEASE [MZLEDGER ARGS...]``: holds the books and the register
as COMMAND (``ledger.register.lock``), writes READY, waits until RELEASE exists, then runs the
mzledger ARGS in this process while still holding them (the hold is re-entrant), as a
command in the middle of its import would, and lets go.

``write DATABASE ROWS READY RELEASE``: a SQLite write transaction of ROWS rows of a kilobyte,
kept open until RELEASE exists, then rolled back; not through mzledger, so its lock is SQLite's
only. One row takes SQLite's reserved lock (readers read on, another writer waits); a
thousand spill pages into the file, which takes the exclusive lock, as a large import does
(readers wait too).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

GIVE_UP_SECONDS = 60.0  # a test that never releases does not leave this process behind


def _wait_for(release: Path) -> None:
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def hold(books: str, url: str, command: str, ready: str, release: str, args: list[str]) -> None:
    from ledger.register.lock import hold_register

    with hold_register(Path(books), url, command, 0):
        if args:
            from mzledger.cli import app  # before READY: the wait is for the command itself
        Path(ready).write_text("held", "utf-8")
        _wait_for(Path(release))
        if args:
            app(args, standalone_mode=False)


def write(database: str, rows: str, ready: str, release: str) -> None:
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA cache_size=10")  # pages: a few hundred KiB of changes spill
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE write_probe (payload BLOB)")
    conn.executemany("INSERT INTO write_probe VALUES (?)", [(b"x" * 1000,)] * int(rows))
    Path(ready).write_text("spilled", "utf-8")
    _wait_for(Path(release))
    conn.execute("ROLLBACK")
    conn.close()


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "hold":
        books, url, command, ready, release, *args = rest
        hold(books, url, command, ready, release, args)
    else:
        database, rows, ready, release = rest
        write(database, rows, ready, release)
