"""Beancount plugin: report every change to a locked month, naming the entry.

Load it from ``main.beancount`` with ``plugin "ledger.plugins.lock"``, after any other plugin
(it must see the entries as the command line fingerprinted them, see ``ledger/locks.py``).
bean-check, Fava and every command loading the books then report, as ``LockError``:

- an entry added to a locked month, or changed since the lock: at the entry's own file:line;
- an entry removed since the lock: at the lock entry, named from the manifest (where, what);
- a manifest missing, unreadable, or not the one the lock's sha256 recorded: at the lock entry;
- a manifest in ``locks/`` that no lock entry names (a lock entry removed): at the manifest;
- a malformed lock or reopen entry (a reopen without a reason, who or when): at that entry.

The plugin changes no entry. It adds the manifests to ``options_map["include"]``, the list of
files whose changes make beancount's load cache and Fava reload the books, so that editing
only a manifest is noticed too.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

from beancount.core import data

from ledger.locks import (
    LOCKS_DIR,
    Lock,
    compare,
    fingerprinted,
    lock_history,
    manifest_sha,
    parse_manifest,
)
from ledger.month import Month

__plugins__ = ("lock",)


class LockError(NamedTuple):
    """A Beancount-style error (source, message, entry), as bean-check and Fava show them."""

    source: dict[str, Any] | None
    message: str
    entry: Any


def _source(meta: dict[str, Any] | None) -> dict[str, Any]:
    # Only where the entry is: Fava serialises the source, and metadata may hold anything.
    meta = meta or {}
    return data.new_metadata(str(meta.get("filename", "<lock>")), int(meta.get("lineno", 0)))


def _root(options_map: dict[str, Any]) -> Path:
    main = str(options_map.get("filename") or "")
    if not main or main.startswith("<"):
        return Path.cwd()
    # abspath, not resolve: the paths must compare with the entries' (beancount's) file names.
    return Path(os.path.abspath(main)).parent


def _manifest_path(lock: Lock, root: Path) -> Path:
    # Relative to the file holding the lock entry, as a beancount include would be.
    filename = str((lock.entry.meta or {}).get("filename", ""))
    base = Path(filename).parent if Path(filename).is_absolute() else root
    return Path(os.path.normpath(base / lock.manifest))


def _by(lock: Lock) -> str:
    meta = lock.entry.meta or {}
    return f"locked {meta.get('locked_at', '?')} by {meta.get('locked_by', '?')}"


def _verify(lock: Lock, entries: list[data.Directive], root: Path, path: Path) -> list[LockError]:
    month, at = lock.month, _source(lock.entry.meta)
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        message = f"lock of {month}: manifest {shown} cannot be read ({exc.strerror})"
        return [LockError(at, message, lock.entry)]
    found = manifest_sha(raw)
    if found != lock.manifest_sha:
        # Not compared: differences from an edited manifest would name entries as added or
        # removed that were not. Restoring the locked manifest brings the comparison back.
        message = (
            f"lock of {month}: manifest {shown} is not the one locked (sha256 {found}, the lock "
            f"says {lock.manifest_sha or 'nothing'}): it was edited or replaced after the lock"
        )
        return [LockError(at, message, lock.entry)]
    try:
        manifest = parse_manifest(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        message = f"lock of {month}: manifest {shown} is not a manifest: {exc}"
        return [LockError(at, message, lock.entry)]
    errors = []
    reopen = f"reopen {month}, with a reason, to change it"
    for diff in compare(manifest, fingerprinted(entries, month, root=root)):
        if diff.kind == "removed" and diff.old is not None:
            message = (
                f"locked month {month} ({_by(lock)}): entry removed since the lock: "
                f"{diff.old.describe()}, was at {diff.old.where}; {reopen}"
            )
            errors.append(LockError(at, message, lock.entry))
        elif diff.new is not None and diff.entry is not None:
            moved = ""
            if diff.old is not None and diff.old.where != diff.new.where:
                moved = f" (at {diff.old.where} when locked)"
            message = (
                f"locked month {month} ({_by(lock)}): entry {diff.kind} "
                f"{'since' if diff.kind == 'changed' else 'after'} the lock: "
                f"{diff.new.describe()} at {diff.new.where}{moved}; {reopen}"
            )
            errors.append(LockError(_source(diff.entry.meta), message, diff.entry))
    return errors


def lock(
    entries: list[data.Directive], options_map: dict[str, Any]
) -> tuple[list[data.Directive], list[LockError]]:
    """Check every lock in force against its manifest; the entries pass unchanged."""
    root = _root(options_map)
    history = lock_history(entries)
    errors = [LockError(_source(p.entry.meta), p.message, p.entry) for p in history.problems]
    named: set[Path] = set()
    # Bucketed once: every lock in force looks at its own month only.
    by_month: dict[Month, list[data.Directive]] = defaultdict(list)
    for entry in entries:
        by_month[Month.of(entry.date)].append(entry)
    includes = options_map.setdefault("include", [])
    for item in history.locks:
        path = _manifest_path(item, root)
        named.add(path)
        if item.in_force:
            if str(path) not in includes:
                includes.append(str(path))
            errors += _verify(item, by_month[item.month], root, path)
    locks_dir = root / LOCKS_DIR
    if locks_dir.is_dir():
        for orphan in sorted(p for p in locks_dir.glob("*.json") if p not in named):
            message = (
                f"{LOCKS_DIR}/{orphan.name}: a lock manifest that no lock entry names; "
                "was a lock entry removed from the books?"
            )
            errors.append(LockError(data.new_metadata(str(orphan), 1), message, None))
    return entries, errors
