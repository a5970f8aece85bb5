"""The books as Beancount loads them (账簿加载), and Beancount's errors as text.

One load for every reader above the ledger: the close and ``check`` (``reports.controls``), the
fund report and ledgers (``reports.books``) and ``mzledger query``. The loader runs the books'
plugins, so the month locks are checked as in bean-check and Fava. Its errors are kept as the
loader returns them; ``error_text`` writes one as ``file:line: message``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data


@dataclass(frozen=True)
class LoadedBooks:
    """The books as ``beancount.loader`` returns them: entries, errors, options."""

    main_file: Path
    entries: Sequence[data.Directive]
    errors: Sequence[Any]
    options: dict[str, Any] = field(repr=False)

    @property
    def title(self) -> str:
        """The books' ``option "title"`` ("" without one)."""
        return str(self.options.get("title") or "")


def load_books(main_file: Path) -> LoadedBooks:
    """Load ``main_file`` (``main.beancount``). A missing file is one of the loader's errors."""
    entries, errors, options = loader.load_file(str(main_file))
    return LoadedBooks(main_file, entries, errors, options)


def error_text(error: object, root: Path | None = None, *, always_placed: bool = False) -> str:
    """``file:line: message`` of a Beancount error.

    The file is named as Beancount names it (an absolute path), or with ``root`` relative to
    the books (``bank/2023-03.beancount``, not to be confused with ``clearing/2023-03.beancount``;
    a file outside them by its name alone). An error without a place is its message alone,
    unless ``always_placed``: then ``?:0:`` stands for the place and the message is stripped
    (what ``mzledger query`` prints).
    """
    source = getattr(error, "source", None) or {}
    message = getattr(error, "message", error)
    name = _file_name(source.get("filename", "?"), root)
    if always_placed:
        return f"{name}:{source.get('lineno', 0)}: " + str(message).strip()
    where = f"{name}:{source.get('lineno', '?')}: " if source else ""
    return f"{where}{message}"


def _file_name(filename: object, root: Path | None) -> str:
    if root is None:
        return f"{filename}"
    path = Path(str(filename))
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path.name
