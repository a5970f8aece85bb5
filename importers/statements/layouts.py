"""Bank layouts (银行对账单格式): which columns of a bank's statement hold what, as data.

A layout is a TOML file, ``importers/bank_layouts/<bank>.toml`` for the shipped ones (copy
``generic.toml``, whose comments describe every key) or any ``.toml`` file given by its path.
``parse_layout`` checks every key and raises ``LayoutError`` naming all the wrong ones at once.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from ledger.problems import Problem

LAYOUTS_PACKAGE = "importers"
LAYOUTS_DIR = "bank_layouts"
SIGNS = ("negative-is-out", "positive-is-out")
ORDERS = ("oldest-first", "newest-first")

_KEYS = (
    "name",
    "description",
    "date",
    "date_formats",
    "debit",
    "credit",
    "empty_values",
    "amount",
    "amount_sign",
    "balance",
    "counterparty",
    "counterparty_account",
    "summary",
    "reference",
    "skip_rows",
    "order",
)
_LAYOUT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class LayoutError(ValueError):
    """A layout file is not usable; one problem per wrong key, all at once."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class BankLayout:
    """One bank's statement columns, as read from its TOML file (see ``generic.toml``)."""

    name: str
    description: str
    source: str  # where the layout was read from, for messages
    date: str
    date_formats: tuple[str, ...]
    # Either debit and credit (money out, money in) or amount and amount_sign.
    debit: str | None
    credit: str | None
    empty_values: tuple[str, ...]
    amount: str | None
    amount_sign: Literal["negative-is-out", "positive-is-out"] | None
    balance: str | None
    counterparty: str | None
    counterparty_account: str | None
    summary: str | None
    reference: str | None
    skip_rows: int = 0
    order: Literal["oldest-first", "newest-first"] = "oldest-first"

    def columns(self) -> tuple[str, ...]:
        """The header columns the layout needs, each once, in the layout's order."""
        named = (
            self.date,
            self.debit,
            self.credit,
            self.amount,
            self.balance,
            self.counterparty,
            self.counterparty_account,
            self.summary,
            self.reference,
        )
        return tuple(dict.fromkeys(c for c in named if c is not None))


def shipped_layouts() -> list[str]:
    """The names of the layouts in ``importers/bank_layouts/``."""
    folder = resources.files(LAYOUTS_PACKAGE).joinpath(LAYOUTS_DIR)
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def load_layout(name_or_path: str) -> BankLayout:
    """A shipped layout by name (``"generic"``), or a layout file by its path.

    The argument is a path when it ends in ``.toml`` or holds a ``/``; else a shipped name.
    Raises LayoutError naming every problem of the file.
    """
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise LayoutError(
                [Problem(str(path), "file", f"cannot read the layout: {reason}")]
            ) from None
        return parse_layout(text, str(path))
    shipped = shipped_layouts()
    if not _LAYOUT_NAME.fullmatch(name_or_path) or name_or_path not in shipped:
        raise LayoutError(
            [
                Problem(
                    "layout",
                    "name",
                    "no such shipped layout",
                    name_or_path,
                    f"one of {', '.join(shipped)}, or the path of a .toml file",
                )
            ]
        )
    resource = resources.files(LAYOUTS_PACKAGE).joinpath(LAYOUTS_DIR, f"{name_or_path}.toml")
    return parse_layout(resource.read_text("utf-8"), f"{LAYOUTS_DIR}/{name_or_path}.toml")


def _shown(value: object) -> str:
    return value if isinstance(value, str) else f"{type(value).__name__} {value!r}"


class _LayoutReader:
    """Reads the keys of one layout file, collecting every problem."""

    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.problems: list[Problem] = []

    def add(self, key: str, message: str, found: object = None, expected: str = "") -> None:
        shown = "" if found is None else _shown(found)
        self.problems.append(Problem(self.source, key, message, shown, expected))

    def text(self, key: str, *, required: bool, what: str) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.add(key, "missing", None, what)
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(key, "not a non-empty text in quotes", value, what)
            return None
        return value.strip()

    def column(self, key: str, *, required: bool = False) -> str | None:
        return self.text(key, required=required, what="a column name in quotes")

    def choice(self, key: str, choices: tuple[str, ...], default: str | None) -> str | None:
        value = self.raw.get(key, default)
        if value not in choices:
            self.add(key, "not a known value", value, " or ".join(f'"{c}"' for c in choices))
            return None
        return cast(str, value)

    def texts(self, key: str, *, required: bool, what: str, check: str = "") -> tuple[str, ...]:
        value = self.raw.get(key, None if required else [])
        if (
            not isinstance(value, list)
            or (required and not value)
            or not all(isinstance(v, str) and check in v for v in value)
        ):
            self.add(key, "not a list of texts", value, what)
            return ()
        return tuple(cast(list[str], value))


def parse_layout(text: str, source: str) -> BankLayout:
    """Parse and check a layout file's text; ``source`` names it in the problems."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError([Problem(source, "file", f"not valid TOML: {exc}")]) from None
    r = _LayoutReader(raw, source)
    for key in raw:
        if key not in _KEYS:
            r.add(key, "unknown key", None, f"one of {', '.join(_KEYS)}")
    name = r.text("name", required=True, what="the layout's name in quotes")
    description = r.text("description", required=False, what="a line of text") or ""
    date = r.column("date", required=True)
    formats = r.texts("date_formats", required=True, what='formats such as ["%Y-%m-%d"]', check="%")
    debit = credit = amount = None
    sign: str | None = None
    empty_values: tuple[str, ...] = ()
    if "amount" in raw:
        amount = r.column("amount", required=True)
        sign = r.choice("amount_sign", SIGNS, None)
        for key in ("debit", "credit", "empty_values"):
            if key in raw:
                r.add(
                    key,
                    "not with amount: the money is either one signed amount column "
                    "or debit and credit",
                    None,
                    "amount and amount_sign, or debit and credit",
                )
    else:
        debit = r.column("debit", required=True)
        credit = r.column("credit", required=True)
        empty_values = r.texts("empty_values", required=False, what='texts such as ["0.00"]')
        if "amount_sign" in raw:
            r.add("amount_sign", "only with amount", None, "no amount_sign with debit and credit")
        if debit is not None and debit == credit:
            r.add("credit", "the same column as debit", credit, "a column of its own")
    balance = r.column("balance")
    counterparty = r.column("counterparty")
    counterparty_account = r.column("counterparty_account")
    summary = r.column("summary")
    reference = r.column("reference")
    skip_rows = raw.get("skip_rows", 0)
    if not isinstance(skip_rows, int) or isinstance(skip_rows, bool) or skip_rows < 0:
        r.add("skip_rows", "not a count of lines", skip_rows, "0 or more, unquoted")
        skip_rows = 0
    order = r.choice("order", ORDERS, "oldest-first")
    if r.problems or name is None or date is None or order is None:
        raise LayoutError(r.problems)
    return BankLayout(
        name=name,
        description=description,
        source=source,
        date=date,
        date_formats=formats,
        debit=debit,
        credit=credit,
        empty_values=empty_values,
        amount=amount,
        amount_sign=cast(Literal["negative-is-out", "positive-is-out"] | None, sign),
        balance=balance,
        counterparty=counterparty,
        counterparty_account=counterparty_account,
        summary=summary,
        reference=reference,
        skip_rows=skip_rows,
        order=cast(Literal["oldest-first", "newest-first"], order),
    )
