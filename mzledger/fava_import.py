"""Fava's import page for the books: settlement exports into the register, bank statements into
the register and the books, each extract answering with one ``Note`` that says what happened.

The books' ``importers.py`` (``IMPORT_CONFIG_TEXT``) sets ``CONFIG = fava_importers(root)``.
Fava calls ``extract`` on a GET, read-only mode or not, so every extract refuses unless
``MZLEDGER_FAVA_EDIT`` is ``1`` (``mzledger fava --edit`` sets it). Nothing is imported twice:
the register keeps each file's sha256, and a second extract of the same bytes changes nothing.
A refused file changes nothing either: the loaders work in one database transaction.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import beangulp
from beancount.core import data

from importers.beangulp_importer import SettlementImporter
from importers.imported_files import file_sha256
from importers.settlements.loader import import_settlements
from importers.settlements.results import plural
from importers.statements import StatementImporter
from ledger.books import IMPORT_CONFIG_TEXT as BOOKS_IMPORT_CONFIG_TEXT
from ledger.books import Books
from ledger.chart import FUND_OF_BANK, load_chart
from ledger.problems import Problem
from ledger.register.lock import RegisterLockError, hold_register
from mzledger.workflows import OpenBooks, open_books
from postings.statement_import import import_statement

EDIT_FLAG = "MZLEDGER_FAVA_EDIT"
SETTLEMENTS_NAME = "mzledger.settlements"

# The books' importers.py, as `init` writes it (kept with the books layout, re-exported here).
IMPORT_CONFIG_TEXT = BOOKS_IMPORT_CONFIG_TEXT
# A problem's domain field as the import page names it (a file's columns keep their names).
FIELD_LABELS = {"account": "账户", "paid_on": "支付日期", "period": "清算期", "replace": "重新记账"}


class ImportRefused(Exception):
    """An extract that imported nothing; the message says why (in Chinese and English)."""


def _require_edit() -> None:
    if os.environ.get(EDIT_FLAG) != "1":
        raise ImportRefused(
            "只读模式：未导入任何文件；如需导入，请用 `mzledger fava --edit` 启动 Fava。\n"
            "Read-only: nothing was imported; start Fava with `mzledger fava --edit` to import."
        )


# The holder's name a waiting command shows: the import page of `mzledger fava --edit`.
FAVA_COMMAND = "fava --edit (import page)"


@contextmanager
def _opened(root: Path) -> Iterator[OpenBooks]:
    """The books and their register, as ``mzledger`` commands open them, held as a writing
    command holds them (``ledger.register.lock``): an extract waits for a command writing the
    books, saying so on Fava's console, and is refused at the limit."""
    with ExitStack() as stack:

        def hold(books_root: Path, url: str, wait: float) -> None:
            stack.enter_context(hold_register(books_root, url, FAVA_COMMAND, wait, _say_waiting))

        try:
            opened = open_books(root, hold)
        except RegisterLockError as exc:
            raise ImportRefused(f"登记簿暂不可用，未导入任何内容。\n{exc}") from None
        stack.callback(opened.engine.dispose)
        yield opened


def _say_waiting(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _refuse(problems: list[Problem], count: int | None = None) -> ImportRefused:
    """The problems shown (``count`` of them in all: more than those kept, at times)."""
    count = len(problems) if count is None else count
    more = [f"... {count - len(problems)} more"] if count > len(problems) else []
    return ImportRefused(
        "\n".join(
            [
                *(problem.render(FIELD_LABELS) for problem in problems),
                *more,
                f"拒绝导入：{count} 个问题，未导入任何内容。",
                f"refused: {plural(count, 'problem')}; nothing was imported",
            ]
        )
    )


def _note(account: str, comment: str, filepath: str) -> data.Entries:
    meta = data.new_metadata(filepath, 0)
    return [data.Note(meta, datetime.date.today(), account, comment, frozenset(), frozenset())]


class FavaSettlementImporter(SettlementImporter):
    """结算结果导入登记簿: a settlement export into the register (not the books)."""

    def __init__(self, books_root: Path, account: str) -> None:
        super().__init__(account)
        self.books_root = books_root

    @property
    def name(self) -> str:
        return SETTLEMENTS_NAME

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        _require_edit()
        path = Path(filepath)
        if not self.identify(filepath):
            raise ImportRefused(f"{path}: 不是结算结果文件 / not a settlement export")
        with _opened(self.books_root) as (_books, _config, _chart, engine):
            result = import_settlements(engine, [path])
        if not result.ok:
            raise _refuse(result.problems, result.problem_count)
        summary = result.files[0]
        if summary.already_imported:
            return _note(self._account, "该文件已导入过（sha256 相同），未重复导入", filepath)
        comment = (
            f"结算结果已导入登记簿：{summary.inserted} 笔新增，{summary.skipped_identical} 笔已存在"
            "（不写入账簿；记账请用 mzledger post）"
        )
        for period in sorted(summary.posted_periods):
            comment += (
                f"；{period} 已记账，新增结算暂不入账"
                f"（`mzledger post --period {period} --replace` 可重新记账，银行已支付的批次除外）"
            )
        return _note(self._account, comment, filepath)


class FavaStatementImporter(StatementImporter):
    """银行对账单: a statement of one disbursement account or of the fiscal special account, in
    the generic layout, whose file name carries the account's chart code, not as part of a
    longer number (``bank-100401-2023-02.csv``, ``bank-1003-2023-02.csv``)."""

    def __init__(self, books_root: Path, account: str, code: str) -> None:
        super().__init__(account, "generic", account_number=code)
        self.books_root = books_root

    def identify(self, filepath: str) -> bool:
        code = self.account_number
        named = code is not None and re.search(rf"(?<!\d){code}(?!\d)", Path(filepath).name)
        return bool(named) and super().identify(filepath)

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        _require_edit()
        path = Path(filepath)
        if not self.identify(filepath):
            raise ImportRefused(f"{path}: 不是本账户的对账单 / not a statement of {self._account}")
        statement, problems = self.statement(filepath)
        if statement is None:
            raise _refuse(problems)
        with _opened(self.books_root) as (books, config, chart, engine):
            result = import_statement(
                engine, books, config, chart, statement, file_sha256(path), self._account
            )
        if result.problems:
            raise _refuse(result.problems)
        if result.already_imported:
            return _note(self._account, "该文件已导入过（sha256 相同），未重复导入", filepath)
        kinds = "，".join(f"{kind} {n}" for kind, n in sorted(result.kinds.items()))
        comment = f"对账单已导入：{len(statement.lines)} 行（{kinds}）；"
        comment += f"入账批次 {len(result.paid)} 个"
        if result.paid:
            comment += f"（{'，'.join(result.paid)}）"
        if result.undecided:
            comment += f"；待定 {len(result.undecided)} 行：" + "；".join(result.undecided)
        else:
            comment += "；无待定行"
        return _note(self._account, comment, filepath)


def fava_importers(books_root: Path) -> list[beangulp.Importer]:
    """The importers of Fava's import page for the books at ``books_root``."""
    root = Path(books_root).resolve()
    chart = load_chart(Books(root).chart_path)
    importers: list[beangulp.Importer] = [
        FavaSettlementImporter(root, chart.account("bank-pooled"))
    ]
    for account in chart.accounts:
        if account.role in FUND_OF_BANK or account.role == "fiscal-special":
            importers.append(FavaStatementImporter(root, account.name, account.code))
    return importers


__all__ = [
    "EDIT_FLAG",
    "IMPORT_CONFIG_TEXT",
    "FavaSettlementImporter",
    "FavaStatementImporter",
    "ImportRefused",
    "fava_importers",
]
