"""Month locks: per-entry fingerprints of a closed month, and the lock and reopen entries.

Pure: entries in, text and findings out. Reading manifests and reporting errors is the plugin's
job (``ledger/plugins/lock.py``); writing files is the command line's.

The books carry, in ``locks.beancount`` (appended to, never rewritten)::

    2023-02-05 custom "mzledger-lock" "2023-01" "<sha256 of locks/2023-01.json>"
      locked_by: "张三"
      locked_at: "2023-02-05T10:00:00+08:00"
      manifest: "locks/2023-01.json"

    2023-03-05 custom "mzledger-reopen" "2023-01" "退费补记"
      reopened_by: "李四"
      reopened_at: "2023-03-05T09:30:00+08:00"

and, per lock, a manifest ``locks/2023-01.json``: one JSON object a line, sorted by key, each
``{"date", "digest", "key", "what", "where"}`` for one entry dated in the month.

- key: the entry's ``voucher`` metadata when it has one, else its kind, date and what names it
  (payee and narration, account, ...); entries sharing a key get `` #1``, `` #2`` ... by digest.
- digest: sha256 of a canonical JSON rendering of the entry (after booking) without
  filename/lineno metadata, so moving entries between lines or files is not a change.
- where: ``file:line`` relative to the books directory; what: ``payee / narration`` or the like.

A lock is in force from its entry until a later (by date, then book order) reopen of the same
month with a reason, who and when. Both entries stay in the books for auditors; locking the
month again adds a new lock entry with a new manifest.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from beancount.core import data, flags

from ledger.close_order import closed_after, not_closed_yet, open_before, still_closed_after
from ledger.month import Month
from ledger.opening import OPENING_TAG

LOCK_TYPE = "mzledger-lock"
REOPEN_TYPE = "mzledger-reopen"
#: The generated file holding every lock and reopen entry, next to ``main.beancount``.
LOCKS_FILE = "locks.beancount"
#: The directory of the manifests, next to ``main.beancount``.
LOCKS_DIR = "locks"
LOCKS_HEADER = (
    ";; Month locks (mzledger-lock) and reopenings (mzledger-reopen), appended in order.\n"
    ";; Written by mzledger; never edit or remove entries: auditors read the history here.\n"
    ";; Each lock's manifest (a fingerprint per entry of the month) is in locks/YYYY-MM.json.\n"
)

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_ORDINAL_RE = re.compile(r" #\d+$")
#: Metadata the parser adds, or beancount keeps for itself: not part of what the entry says.
_SOURCE_META = frozenset({"filename", "lineno"})
#: Fields computed by checks that run after the lock plugin (the balance check's difference).
_DERIVED_FIELDS = {"Balance": frozenset({"diff_amount"})}
_MANIFEST_FIELDS = ("date", "digest", "key", "what", "where")


@dataclass(frozen=True, order=True)
class Fingerprint:
    """One entry of a locked month, as a manifest line records it."""

    key: str
    digest: str
    date: str
    where: str
    what: str

    @property
    def group(self) -> str:
        """The key without its ordinal: entries are matched within a group by digest."""
        return _ORDINAL_RE.sub("", self.key)

    def describe(self) -> str:
        """How messages name the entry: date, what it is, its voucher (its key) if any."""
        voucher = "" if self.key.startswith(_KINDS) else f" (voucher {self.key})"
        return f"{self.date} {self.what}{voucher}"


_KINDS = tuple(
    f"{kind} "
    for kind in (
        "transaction",
        "open",
        "close",
        "commodity",
        "pad",
        "balance",
        "note",
        "event",
        "query",
        "price",
        "document",
        "custom",
    )
)


# ---------------------------------------------------------------------------------------------
# Fingerprints


def _canon(value: Any, in_meta: bool = False) -> Any:
    """A JSON value that says everything the value says, with types kept apart."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Decimal):
        # As written: 1.50 and 1.5 differ in precision, which beancount's tolerances use.
        return {"$decimal": str(value)}
    if isinstance(value, int):
        return value
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, enum.Enum):
        return {"$enum": f"{type(value).__name__}.{value.name}"}
    if isinstance(value, type):
        return {"$type": value.__qualname__}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        name = type(value).__name__
        skip = _DERIVED_FIELDS.get(name, frozenset())
        out: dict[str, Any] = {"$": name}
        for name_ in value._fields:
            if name_ in skip:
                continue
            item = getattr(value, name_)
            if name == "Document" and name_ == "filename" and isinstance(item, str):
                # Beancount makes document paths absolute: keep the books relocatable.
                item = PurePosixPath(item.replace("\\", "/")).name
            out[name_] = _canon(item, in_meta=name_ == "meta")
        return out
    if isinstance(value, dict):
        pairs = [
            [str(k), _canon(v)]
            for k, v in value.items()
            if not (in_meta and (k in _SOURCE_META or str(k).startswith("__")))
        ]
        return {"$dict": sorted(pairs, key=lambda pair: pair[0])}
    if isinstance(value, frozenset | set):
        return {"$set": sorted((_canon(v) for v in value), key=_dumps)}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    if isinstance(value, float):
        return {"$float": repr(value)}
    return {"$repr": f"{type(value).__qualname__}:{value!r}"}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_digest(entry: data.Directive) -> str:
    """sha256 of the entry's canonical rendering, without where it is written."""
    return hashlib.sha256(_dumps(_canon(entry)).encode("utf-8")).hexdigest()


def _q(text: str | None) -> str:
    return json.dumps(text or "", ensure_ascii=False)


def _base_key_and_what(entry: data.Directive) -> tuple[str, str]:
    day = entry.date.isoformat()
    if isinstance(entry, data.Transaction):
        what = f"{entry.payee} / {entry.narration}" if entry.payee else str(entry.narration)
        return f"transaction {day} {_q(entry.payee)} {_q(entry.narration)}", what
    if isinstance(entry, data.Open | data.Close):
        kind = type(entry).__name__.lower()
        return f"{kind} {day} {entry.account}", f"{kind} {entry.account}"
    if isinstance(entry, data.Commodity):
        return f"commodity {day} {entry.currency}", f"commodity {entry.currency}"
    if isinstance(entry, data.Pad):
        what = f"pad {entry.account} from {entry.source_account}"
        return f"pad {day} {entry.account} {entry.source_account}", what
    if isinstance(entry, data.Balance):
        what = f"balance {entry.account} {entry.amount}"
        return f"balance {day} {entry.account} {entry.amount.currency}", what
    if isinstance(entry, data.Note):
        return f"note {day} {entry.account} {_q(entry.comment)}", f"note {entry.account}"
    if isinstance(entry, data.Event):
        return f"event {day} {_q(entry.type)}", f"event {entry.type}: {entry.description}"
    if isinstance(entry, data.Query):
        return f"query {day} {_q(entry.name)}", f"query {entry.name}"
    if isinstance(entry, data.Price):
        what = f"price {entry.currency} {entry.amount}"
        return f"price {day} {entry.currency} {entry.amount.currency}", what
    if isinstance(entry, data.Document):
        name = PurePosixPath(str(entry.filename).replace("\\", "/")).name
        return f"document {day} {entry.account} {_q(name)}", f"document {entry.account} {name}"
    if isinstance(entry, data.Custom):
        return f"custom {day} {_q(entry.type)}", f"custom {entry.type}"
    kind = type(entry).__name__.lower()
    return f"{kind} {day}", kind


def _where(meta: dict[str, Any] | None, root: Path | None) -> str:
    meta = meta or {}
    filename = str(meta.get("filename", "?"))
    if root is not None and not filename.startswith("<"):
        path = Path(filename)
        if path.is_absolute() and path.is_relative_to(root):
            filename = path.relative_to(root).as_posix()
    return f"{filename}:{meta.get('lineno', 0)}"


def is_fingerprinted(entry: data.Directive) -> bool:
    """Everything dated in a locked month, except what is not the month's bookkeeping."""
    if isinstance(entry, data.Custom):
        # The locks themselves, and Fava's display settings, are not the month's books.
        return entry.type not in (LOCK_TYPE, REOPEN_TYPE) and not entry.type.startswith("fava-")
    if isinstance(entry, data.Query):
        return False  # saved queries are regenerated from the books (they name the locks)
    # Padding is made by the pad plugin, which runs after the lock plugin: its Pad and Balance
    # entries are what count.
    return not (isinstance(entry, data.Transaction) and entry.flag == flags.FLAG_PADDING)


def fingerprinted(
    entries: Iterable[data.Directive], month: Month, *, root: Path | str | None = None
) -> list[tuple[Fingerprint, data.Directive]]:
    """The fingerprints of the entries dated in ``month``, each with its entry, sorted by key."""
    # abspath, not resolve: beancount names files by absolute path without resolving links.
    root_path = Path(os.path.abspath(root)) if root is not None else None
    groups: dict[str, list[tuple[str, str, str, data.Directive]]] = defaultdict(list)
    for entry in entries:
        if Month.of(entry.date) != month or not is_fingerprinted(entry):
            continue
        base, what = _base_key_and_what(entry)
        voucher = (entry.meta or {}).get("voucher")
        if isinstance(voucher, str) and voucher.strip():
            base = voucher.strip()
        where = _where(entry.meta, root_path)
        groups[base].append((entry_digest(entry), where, what, entry))
    out: list[tuple[Fingerprint, data.Directive]] = []
    for base, members in groups.items():
        # Ordinals follow the digests, not the file order, so re-ordering changes no key.
        members.sort(key=lambda m: m[0])
        for n, (digest, where, what, entry) in enumerate(members, start=1):
            key = base if len(members) == 1 else f"{base} #{n}"
            out.append((Fingerprint(key, digest, entry.date.isoformat(), where, what), entry))
    out.sort(key=lambda pair: pair[0])
    return out


def fingerprints(
    entries: Iterable[data.Directive], month: Month, *, root: Path | str | None = None
) -> list[Fingerprint]:
    """The fingerprints of the entries dated in ``month`` ("YYYY-MM"), sorted by key.

    ``root`` (the books directory) makes ``where`` relative, so that the manifest does not
    depend on where the books sit on disk; without it, ``where`` is the path as loaded.
    """
    return [fp for fp, _entry in fingerprinted(entries, month, root=root)]


# ---------------------------------------------------------------------------------------------
# Manifests


def manifest_json(fps: Iterable[Fingerprint]) -> str:
    """The manifest's text: a JSON array, one object a line (diffable), sorted by key."""
    lines = [
        json.dumps(
            {name: getattr(fp, name) for name in _MANIFEST_FIELDS},
            ensure_ascii=False,
            sort_keys=True,
        )
        for fp in sorted(fps)
    ]
    if not lines:
        return "[]\n"
    return "[\n" + ",\n".join(lines) + "\n]\n"


def manifest_sha(text: str | bytes) -> str:
    """sha256 of the manifest file's bytes (UTF-8), as the lock entry records it."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(raw).hexdigest()


def parse_manifest(text: str) -> list[Fingerprint]:
    """A manifest's fingerprints; ValueError, saying what is wrong, if it is not one."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise ValueError("not a JSON array")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(name), str) for name in _MANIFEST_FIELDS
        ):
            raise ValueError(f"item {n}: expected strings {', '.join(_MANIFEST_FIELDS)}")
        out.append(Fingerprint(**{name: item[name] for name in _MANIFEST_FIELDS}))
    return out


def manifest_relpath(month: Month) -> str:
    """Where a month's manifest goes, relative to the books directory (and locks.beancount)."""
    return f"{LOCKS_DIR}/{month}.json"


@dataclass(frozen=True)
class Difference:
    """An entry added to, removed from or changed in a locked month since its lock."""

    kind: Literal["added", "removed", "changed"]
    #: As the manifest recorded it (removed, changed).
    old: Fingerprint | None
    #: As the books have it now (added, changed), with the entry.
    new: Fingerprint | None
    entry: data.Directive | None


def compare(
    manifest: Sequence[Fingerprint], current: Sequence[tuple[Fingerprint, data.Directive]]
) -> list[Difference]:
    """What differs between a lock's manifest and the month's entries now.

    Matched by key group, then by digest within the group: entries with equal keys need no
    stable order, and a copy of an entry is one added entry, not a renumbering of all.
    """
    old_groups: dict[str, list[Fingerprint]] = defaultdict(list)
    new_groups: dict[str, list[tuple[Fingerprint, data.Directive]]] = defaultdict(list)
    for fp in manifest:
        old_groups[fp.group].append(fp)
    for fp, entry in current:
        new_groups[fp.group].append((fp, entry))
    out: list[Difference] = []
    for group in sorted(old_groups.keys() | new_groups.keys()):
        olds = list(old_groups.get(group, []))
        news: list[tuple[Fingerprint, data.Directive]] = []
        for fp, entry in new_groups.get(group, []):
            match = next((i for i, old in enumerate(olds) if old.digest == fp.digest), None)
            if match is None:
                news.append((fp, entry))
            else:
                del olds[match]
        olds.sort(key=lambda fp: (fp.date, fp.where))
        news.sort(key=lambda pair: (pair[0].date, pair[0].where))
        for old, (fp, entry) in zip(olds, news, strict=False):
            out.append(Difference("changed", old, fp, entry))
        out += [Difference("removed", old, None, None) for old in olds[len(news) :]]
        out += [Difference("added", None, fp, entry) for fp, entry in news[len(olds) :]]
    return out


# ---------------------------------------------------------------------------------------------
# Lock and reopen entries


def _bean_str(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _required(name: str, text: str) -> str:
    if not text or not text.strip():
        raise ValueError(f"{name}: must not be empty")
    return text.strip()


def _at(when: datetime.datetime) -> str:
    return when.isoformat(timespec="seconds")


def lock_entry_text(
    month: Month,
    manifest_sha: str,
    who: str,
    when: datetime.datetime,
    *,
    manifest: str | None = None,
) -> str:
    """The lock entry, dated on the day of locking (so that a later reopen orders after it)."""
    if not SHA_RE.match(manifest_sha):
        raise ValueError(f"manifest_sha: expected 64 lowercase hex digits (found {manifest_sha!r})")
    path = manifest if manifest is not None else manifest_relpath(month)
    return (
        f"{when.date().isoformat()} custom {_bean_str(LOCK_TYPE)} {_bean_str(str(month))} "
        f"{_bean_str(manifest_sha)}\n"
        f"  locked_by: {_bean_str(_required('who', who))}\n"
        f"  locked_at: {_bean_str(_at(when))}\n"
        f"  manifest: {_bean_str(path)}\n"
    )


def reopen_entry_text(month: Month, reason: str, who: str, when: datetime.datetime) -> str:
    """The reopen entry; a reason is required, as are who and when (kept for auditors)."""
    return (
        f"{when.date().isoformat()} custom {_bean_str(REOPEN_TYPE)} {_bean_str(str(month))} "
        f"{_bean_str(_required('reason', reason))}\n"
        f"  reopened_by: {_bean_str(_required('who', who))}\n"
        f"  reopened_at: {_bean_str(_at(when))}\n"
    )


def append_to_locks_file(existing: str | None, entry_text: str) -> str:
    """``locks.beancount`` with one more entry at its end (its history is never rewritten)."""
    body = existing if existing and existing.strip() else LOCKS_HEADER
    return body.rstrip("\n") + "\n\n" + entry_text.rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# Which months are locked


@dataclass
class Lock:
    """A valid lock entry, and the reopen entry that ended it, if any."""

    entry: data.Custom
    month: Month
    manifest_sha: str
    manifest: str
    reopened_by: data.Custom | None = None

    @property
    def in_force(self) -> bool:
        return self.reopened_by is None


@dataclass(frozen=True)
class Problem:
    """A lock or reopen entry that is malformed or out of place."""

    entry: data.Directive
    message: str


@dataclass
class LockHistory:
    locks: list[Lock] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def in_force(self) -> dict[Month, Lock]:
        return {lock.month: lock for lock in self.locks if lock.in_force}


def _value(entry: data.Custom, index: int) -> Any:
    return entry.values[index].value if len(entry.values) > index else None


def _meta_str(entry: data.Directive, name: str) -> str:
    value = (entry.meta or {}).get(name)
    return value.strip() if isinstance(value, str) else ""


def lock_history(entries: Iterable[data.Directive]) -> LockHistory:
    """Every lock and reopen entry, in date then book order, with what each did."""
    customs = [
        e for e in entries if isinstance(e, data.Custom) and e.type in (LOCK_TYPE, REOPEN_TYPE)
    ]
    # Stable: entries of one day keep the book's order (beancount's: file line).
    customs.sort(key=lambda e: e.date)
    history = LockHistory()
    active: dict[Month, Lock] = {}
    for entry in customs:
        value = _value(entry, 0)
        kind = "lock" if entry.type == LOCK_TYPE else "reopen"
        try:
            month = Month.parse(value)
        except ValueError:
            history.problems.append(
                Problem(
                    entry, f"{entry.type}: first value must be the month, YYYY-MM (found {value!r})"
                )
            )
            continue
        if kind == "lock":
            if month in active:
                held = active[month].entry
                history.problems.append(
                    Problem(
                        entry,
                        f"{month} is already locked by the lock at {_where(held.meta, None)}; "
                        "reopen it first (this lock is not in force)",
                    )
                )
                continue
            missing = [n for n in ("locked_by", "locked_at") if not _meta_str(entry, n)]
            if missing:
                # Still in force: dropping a line of a lock must not unlock the month.
                history.problems.append(
                    Problem(entry, f"lock of {month}: missing {', '.join(missing)}")
                )
            sha = _value(entry, 1)
            manifest = _meta_str(entry, "manifest") or manifest_relpath(month)
            lock = Lock(entry, month, sha if isinstance(sha, str) else "", manifest)
            history.locks.append(lock)
            active[month] = lock
            continue
        reason = _value(entry, 1)
        missing = [] if isinstance(reason, str) and reason.strip() else ["a reason"]
        missing += [n for n in ("reopened_by", "reopened_at") if not _meta_str(entry, n)]
        if missing:
            history.problems.append(
                Problem(
                    entry,
                    f"reopening {month} needs {', '.join(missing)}; {month} stays locked",
                )
            )
            continue
        if month not in active:
            history.problems.append(
                Problem(entry, f"reopening {month}, which is not locked at this point")
            )
            continue
        active.pop(month).reopened_by = entry
    return history


def locked_months(entries: Iterable[data.Directive]) -> set[Month]:
    """The months locked and not reopened since."""
    return set(lock_history(entries).in_force())


def is_locked(entries: Iterable[data.Directive], day: datetime.date) -> bool:
    """Whether an entry dated ``day`` would fall in a locked month."""
    return Month.of(day) in locked_months(entries)


def first_entry_day(entries: Iterable[data.Directive]) -> datetime.date | None:
    """The day of the books' earliest entry a lock fingerprints other than an ``open``, a
    ``commodity`` or the opening balances (dated before the books' first day)."""
    first: datetime.date | None = None
    for entry in entries:
        if isinstance(entry, data.Open | data.Commodity):
            continue
        if isinstance(entry, data.Transaction) and OPENING_TAG in entry.tags:
            continue
        if is_fingerprinted(entry) and (first is None or entry.date < first):
            first = entry.date
    return first


def books_first_month(entries: Sequence[data.Directive]) -> Month | None:
    """The books' first month (see ``ledger.close_order``): of ``first_entry_day``, else of
    the earliest ``open``."""
    opened = min((e.date for e in entries if isinstance(e, data.Open)), default=None)
    day = first_entry_day(entries) or opened
    return None if day is None else Month.of(day)


def earlier_months_open(entries: Sequence[data.Directive], month: Month) -> list[Month]:
    """The months of the books before ``month`` not locked, oldest first: ``month`` closes
    only when there are none."""
    return open_before(month, books_first_month(entries), locked_months(entries))


# ---------------------------------------------------------------------------------------------
# What the command line writes


@dataclass(frozen=True)
class LockFiles:
    """A new lock: write ``manifest_text`` to ``manifest_path`` (relative to the books), then
    append ``entry_text`` to ``locks.beancount`` (see :func:`append_to_locks_file`)."""

    month: Month
    manifest_path: str
    manifest_text: str
    entry_text: str
    count: int


def prepare_lock(
    entries: Sequence[data.Directive],
    month: Month,
    who: str,
    when: datetime.datetime,
    *,
    root: Path | str,
) -> LockFiles:
    """Everything needed to lock ``month``; ValueError when it is already locked, or an
    earlier month of the books is not (``ledger.close_order``).

    ``entries`` are the books as loaded (``beancount.loader.load_file``), ``root`` the books
    directory, where ``locks.beancount`` and the ``locks/`` directory live.
    """
    history = lock_history(entries)
    closed = history.in_force()
    if month in closed:
        raise ValueError(f"{month} is already locked; reopen it first to lock it again")
    blocking = open_before(month, books_first_month(entries), closed.keys())
    if blocking:
        raise ValueError(not_closed_yet(blocking))
    _check_after(history, month, when)
    fps = fingerprints(entries, month, root=root)
    text = manifest_json(fps)
    path = manifest_relpath(month)
    entry = lock_entry_text(month, manifest_sha(text), who, when, manifest=path)
    return LockFiles(month, path, text, entry, len(fps))


def prepare_reopen(
    entries: Sequence[data.Directive],
    month: Month,
    reason: str,
    who: str,
    when: datetime.datetime,
) -> str:
    """The reopen entry for ``month``; ValueError when it is not locked, a later month is
    (``ledger.close_order``), or it has no reason."""
    history = lock_history(entries)
    closed = history.in_force()
    if month not in closed:
        raise ValueError(f"{month} is not locked")
    later = closed_after(month, closed.keys())
    if later:
        raise ValueError(still_closed_after(later))
    _check_after(history, month, when)
    return reopen_entry_text(month, reason, who, when)


def _check_after(history: LockHistory, month: Month, when: datetime.datetime) -> None:
    # Locks and reopens take effect in date order: a new one dated before the month's last
    # would act before it (a reopen before its lock reopens nothing).
    last = max(
        (
            e.date
            for lock in history.locks
            if lock.month == month
            for e in (lock.entry, lock.reopened_by)
            if e is not None
        ),
        default=None,
    )
    if last is not None and when.date() < last:
        raise ValueError(f"{month}: its last lock or reopen is dated {last}, after {when.date()}")
