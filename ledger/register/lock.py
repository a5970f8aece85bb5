"""One writing command at a time per books directory and per register.

A command that writes the books or the register holds them while it runs
(:func:`hold_register`); a second one waits, saying once for whom, and refuses when the
limit passes, before it has written anything.

- The books directory: ``fcntl.flock`` on ``mzledger.lock`` in it. The holder writes who it
  is into the file (pid, command, user, host, since) for a waiting command to name. The
  kernel lets go of the lock when the process ends, however it ends: no stale locks, and the
  file is never removed (removing a lock file lets a waiter lock a file no one else sees).
  On a SQLite register (a file of the books) this is the register's lock too.
- A PostgreSQL register may be shared by books directories on other machines: the holder
  also takes a session advisory lock, ``pg_try_advisory_lock`` on the key
  ``0x6D7A6C67 << 32 | oid of the register's schema`` (its ``current_schema()``), on a
  connection of its own whose ``application_name`` says who it is; a waiter finds the holder
  through ``pg_locks`` and ``pg_stat_activity``. The lock goes with the connection.

Both are polled (non-blocking attempts) so that a waiter can give up at the limit. In one
process the hold is re-entrant per thread (``demo`` runs the other commands inside its own).
The register's own transactions (``ledger.register.batching``) stay a second line of defence.
"""

from __future__ import annotations

import datetime
import fcntl
import getpass
import json
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_FILE = "mzledger.lock"
WAIT_ENV = "MZLEDGER_LOCK_WAIT"
DEFAULT_WAIT_SECONDS = 600.0
POLL_SECONDS = 0.2
# How long a waiter looks for the holder's name before it says it waits without it (a
# holder writes its name right after it takes the lock).
NAME_GRACE_SECONDS = 1.0
ADVISORY_CLASS = 0x6D7A6C67  # "mzlg": the key's high half; the low half is the schema's oid
APPLICATION_NAME_MAX = 63  # PostgreSQL keeps NAMEDATALEN - 1 bytes of it

OnWait = Callable[[str], None]


class RegisterLockError(Exception):
    """The hold could not be taken: a bad limit, an unusable lock file, a busy register."""


class RegisterBusy(RegisterLockError):
    """Another command still held the books or the register when the limit passed."""


@dataclass(frozen=True)
class Holder:
    """Who holds the books or the register, as far as the waiter can tell."""

    command: str | None = None
    pid: int | None = None
    user: str | None = None
    host: str | None = None
    since: datetime.datetime | None = None

    def describe(self) -> str:
        if self.command is None:
            return "another mzledger command"
        facts = []
        if self.pid is not None:
            facts.append(f"pid {self.pid}" + (f" on {self.host}" if self.host else ""))
        if self.user:
            facts.append(f"user {self.user}")
        if self.since is not None:
            facts.append(f"since {_clock(self.since)}")
        return f"`mzledger {self.command}`" + (f" ({', '.join(facts)})" if facts else "")


def _clock(moment: datetime.datetime) -> str:
    local = moment.astimezone()
    today = datetime.datetime.now().astimezone().date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%d %H:%M:%S")


def lock_wait_seconds(configured: float) -> float:
    """The limit: ``MZLEDGER_LOCK_WAIT`` when set (scripts, tests), else the books' setting."""
    raw = os.environ.get(WAIT_ENV, "").strip()
    if not raw:
        return configured
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise RegisterLockError(
            f"{WAIT_ENV}: not a number of seconds (found {raw!r}, expected a number >= 0 "
            "such as 600)"
        )
    return value


class _Wait:
    """The deadline shared by both locks, and the one line a waiter prints."""

    def __init__(self, seconds: float, on_wait: OnWait | None) -> None:
        self.seconds = seconds
        self.on_wait = on_wait
        self.started = time.monotonic()
        self.said = False

    def blocked(self, holder: Holder) -> None:
        """Called at each failed attempt: says once who holds it, or gives up at the limit."""
        elapsed = time.monotonic() - self.started
        if elapsed >= self.seconds:
            raise RegisterBusy(
                f"the register is busy: {holder.describe()} still held it after {self.seconds:g} "
                "s of waiting; nothing was done (the limit: lock_wait_seconds in mzledger.toml, "
                f"or {WAIT_ENV})"
            )
        if not self.said and (holder.command is not None or elapsed >= NAME_GRACE_SECONDS):
            self.said = True
            if self.on_wait is not None:
                self.on_wait(
                    f"waiting for the register: {holder.describe()} holds it; "
                    f"up to {self.seconds:g} s"
                )
        time.sleep(min(POLL_SECONDS, max(self.seconds - elapsed, 0.0)))


_held = threading.local()  # the holds this thread has: re-entered, not taken again


@contextmanager
def hold_register(
    books_root: Path,
    engine_url: str,
    command: str,
    wait_seconds: float,
    on_wait: OnWait | None = None,
) -> Iterator[None]:
    """Hold the books at ``books_root`` and the register at ``engine_url`` for ``command``
    (e.g. ``"import settlements"``), waiting up to ``wait_seconds`` for another holder;
    RegisterBusy when it still holds them then. ``on_wait`` gets the waiting line."""
    root = Path(books_root).resolve()
    postgres = engine_url.startswith("postgresql")
    key = (str(root), engine_url if postgres else "")
    holds: set[tuple[str, str]] = _held.__dict__.setdefault("holds", set())
    if key in holds:
        yield
        return
    me = Holder(command, os.getpid(), _user(), socket.gethostname())
    wait = _Wait(wait_seconds, on_wait)
    with ExitStack() as stack:
        # always in this order (books, then register), so that two holders cannot deadlock
        stack.enter_context(_books_lock(root / LOCK_FILE, me, wait))
        if postgres:
            stack.enter_context(_advisory_lock(engine_url, me, wait))
        holds.add(key)
        try:
            yield
        finally:
            holds.discard(key)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database
        return None


@contextmanager
def _books_lock(path: Path, me: Holder, wait: _Wait) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise RegisterLockError(f"{path}: cannot open the lock file: {exc.strerror}") from None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                wait.blocked(_file_holder(path))
        # One write at offset 0, then the length: a waiter reads a whole name or none.
        record = json.dumps(
            {
                "command": me.command,
                "pid": me.pid,
                "user": me.user,
                "host": me.host,
                "since": datetime.datetime.now().astimezone().replace(microsecond=0).isoformat(),
            },
            ensure_ascii=False,
        ).encode("utf-8")
        os.pwrite(fd, record, 0)
        os.ftruncate(fd, len(record))
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # before the lock goes: no one reads a stale holder
    finally:
        os.close(fd)  # lets go of the lock


def _file_holder(path: Path) -> Holder:
    try:
        record = json.loads(path.read_bytes() or b"null")
        since = record.get("since")
        return Holder(
            str(record["command"]),
            int(record["pid"]),
            record.get("user"),
            record.get("host"),
            datetime.datetime.fromisoformat(since) if since else None,
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return Holder()  # not written yet, or being written


def application_name(me: Holder) -> str:
    """``mzledger|pid|user@host|command``, in PostgreSQL's length and alphabet (ASCII)."""
    text = f"mzledger|{me.pid}|{me.user or '?'}@{me.host or '?'}|{me.command}"
    return text.encode("ascii", "replace").decode("ascii")[:APPLICATION_NAME_MAX]


def _holder_of_application(name: str | None, since: datetime.datetime | None) -> Holder:
    parts = (name or "").split("|", 3)
    if len(parts) != 4 or parts[0] != "mzledger":
        return Holder(since=since)
    _tag, pid, where, command = parts
    user, _at, host = where.partition("@")
    return Holder(command, int(pid) if pid.isdigit() else None, user, host, since)


@contextmanager
def _advisory_lock(url: str, me: Holder, wait: _Wait) -> Iterator[None]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        url, poolclass=NullPool, connect_args={"application_name": application_name(me)}
    )
    try:
        with engine.connect() as conn:
            # no transaction left open while the command runs: the lock is the session's
            conn.execution_options(isolation_level="AUTOCOMMIT")
            schema = int(
                conn.execute(
                    text(
                        "SELECT coalesce((SELECT oid::bigint FROM pg_namespace "
                        "WHERE nspname = current_schema()), 0)"
                    )
                ).scalar_one()
            )
            key = ADVISORY_CLASS << 32 | schema
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                wait.blocked(_session_holder(conn, schema))
            yield
            # Closing the connection ends the session, which lets go of the lock.
    finally:
        engine.dispose()


def _session_holder(conn: Any, schema: int) -> Holder:
    from sqlalchemy import text

    row = conn.execute(
        text(
            "SELECT a.application_name, a.state_change FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = :class AND l.objid::bigint = :schema"
        ),
        {"class": ADVISORY_CLASS, "schema": schema},
    ).first()
    if row is None:
        return Holder()  # let go of between the attempt and this look
    # state_change: when its session went idle, i.e. when it took the lock (NULL to a role
    # that may not see other roles' sessions)
    return _holder_of_application(row[0], row[1])


__all__ = [
    "DEFAULT_WAIT_SECONDS",
    "LOCK_FILE",
    "WAIT_ENV",
    "Holder",
    "RegisterBusy",
    "RegisterLockError",
    "application_name",
    "hold_register",
    "lock_wait_seconds",
]
