"""Month locks: the lock plugin names every entry added, removed or changed in a locked month."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data

from ledger import close_order, locks
from ledger.month import Month
from ledger.plugins.lock import LockError
from tests.conftest import Cli

CST = datetime.timezone(datetime.timedelta(hours=8))
FEB_5 = datetime.datetime(2023, 2, 5, 10, 0, tzinfo=CST)
MAR_3 = datetime.datetime(2023, 3, 3, 9, 0, tzinfo=CST)
MAR_5 = datetime.datetime(2023, 3, 5, 9, 30, tzinfo=CST)
MAR_6 = datetime.datetime(2023, 3, 6, 16, 0, tzinfo=CST)
#: Quotes, a backslash and a new line survive the round trip through locks.beancount.
REASON = '退费补记："示例药店" 清算有误 \\ 见\n稽核通知'

MAIN = """\
option "title" "锁账测试"
option "operating_currency" "CNY"
plugin "ledger.plugins.lock"

include "accounts.beancount"
include "manual.beancount"
include "locks.beancount"
"""

ACCOUNTS = """\
2022-12-01 open Assets:Bank CNY
2022-12-01 open Assets:Fiscal CNY
2022-12-01 open Expenses:Pooled CNY
2022-12-01 open Equity:Opening CNY
"""

#: manual.beancount, one block per entry: tests re-order, drop and edit blocks.
BLOCKS = [
    "2023-01-05 pad Assets:Fiscal Equity:Opening",
    "2023-01-06 balance Assets:Fiscal 1000.00 CNY",
    """\
2023-01-10 * "示例医院" "2022-12 门诊费用清算" ^clr-2022-12-H1-11
  voucher: "2023-01-记-0001"
  Expenses:Pooled  718.63 CNY
  Assets:Bank""",
    """\
2023-01-10 * "示例药店" "2022-12 门诊费用清算" ^clr-2022-12-P1-13
  voucher: "2023-01-记-0002"
  Expenses:Pooled  120.00 CNY
  Assets:Bank""",
    """\
2023-01-20 * "财政专户" "拨付"
  Assets:Bank  500.00 CNY
  Assets:Fiscal""",
    """\
2023-01-20 * "财政专户" "拨付"
  Assets:Bank  300.00 CNY
  Assets:Fiscal""",
    """\
2023-02-10 * "示例医院" "2023-01 门诊费用清算" ^clr-2023-01-H1-11
  voucher: "2023-02-记-0001"
  Expenses:Pooled  50.00 CNY
  Assets:Bank""",
]

ADDED_JANUARY = """\
2023-01-25 * "财政专户" "补拨"
  Assets:Bank  10.00 CNY
  Assets:Fiscal"""


def write_manual(root: Path, blocks: list[str]) -> None:
    (root / "manual.beancount").write_text("\n\n".join(blocks) + "\n", "utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Small books: two months of entries, no lock yet."""
    books = tmp_path / "books"
    books.mkdir()
    (books / "main.beancount").write_text(MAIN, "utf-8")
    (books / "accounts.beancount").write_text(ACCOUNTS, "utf-8")
    (books / locks.LOCKS_FILE).write_text(locks.LOCKS_HEADER, "utf-8")
    write_manual(books, BLOCKS)
    return books


def load(root: Path) -> tuple[list[data.Directive], list[Any], dict[str, Any]]:
    entries, errors, options = loader.load_file(str(root / "main.beancount"))
    return entries, errors, options


M = Month.parse


def append_lock_entry(root: Path, text: str) -> None:
    path = root / locks.LOCKS_FILE
    path.write_text(locks.append_to_locks_file(path.read_text("utf-8"), text), "utf-8")


def lock(root: Path, month: str, when: datetime.datetime = FEB_5) -> locks.LockFiles:
    """What `mzledger lock` does: load, fingerprint, write the manifest, append the lock."""
    entries, errors, _ = load(root)
    assert errors == []
    files = locks.prepare_lock(entries, M(month), "张三", when, root=root)
    manifest = root / files.manifest_path
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text(files.manifest_text, "utf-8")
    append_lock_entry(root, files.entry_text)
    return files


def reopen(root: Path, month: str, reason: str, when: datetime.datetime = MAR_5) -> None:
    entries, _, _ = load(root)
    append_lock_entry(root, locks.prepare_reopen(entries, M(month), reason, "李四", when))


def lock_errors(root: Path) -> list[LockError]:
    _, errors, _ = load(root)
    assert all(isinstance(e, LockError) for e in errors), errors
    return list(errors)


def line_of(path: Path, text: str) -> int:
    lines = path.read_text("utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if text in line)


def test_clean_lock_reports_nothing(root: Path) -> None:
    files = lock(root, "2023-01")
    entries, errors, options = load(root)
    assert errors == []
    assert locks.locked_months(entries) == {M("2023-01")}
    assert locks.is_locked(entries, datetime.date(2023, 1, 31))
    assert not locks.is_locked(entries, datetime.date(2023, 2, 1))
    manifest = locks.parse_manifest(files.manifest_text)
    # The pad and balance count; the padding they make does not (pad runs after the plugin).
    assert [fp.key for fp in manifest] == [
        "2023-01-记-0001",
        "2023-01-记-0002",
        "balance 2023-01-06 Assets:Fiscal CNY",
        "pad 2023-01-05 Assets:Fiscal Equity:Opening",
        'transaction 2023-01-20 "财政专户" "拨付" #1',
        'transaction 2023-01-20 "财政专户" "拨付" #2',
    ]
    assert {fp.where.split(":")[0] for fp in manifest} == {"manual.beancount"}
    # Editing only the manifest must reload the books: it is among the watched files.
    assert str((root / "locks/2023-01.json").resolve()) in options["include"]


def test_lock_files_are_reproducible_and_books_relocatable(root: Path, tmp_path: Path) -> None:
    entries, _, _ = load(root)
    files = locks.prepare_lock(entries, M("2023-01"), "张三", FEB_5, root=root)
    assert files == locks.prepare_lock(entries, M("2023-01"), "张三", FEB_5, root=root)
    assert files.entry_text == (
        f'2023-02-05 custom "mzledger-lock" "2023-01" "{locks.manifest_sha(files.manifest_text)}"\n'
        '  locked_by: "张三"\n'
        '  locked_at: "2023-02-05T10:00:00+08:00"\n'
        '  manifest: "locks/2023-01.json"\n'
    )
    assert files.manifest_text.startswith('[\n{"date": "2023-01-10", "digest": ')
    lock(root, "2023-01")
    moved = shutil.copytree(root, tmp_path / "elsewhere")
    assert lock_errors(moved) == []
    entries, _, _ = load(moved)
    again = locks.manifest_json(locks.fingerprints(entries, M("2023-01"), root=moved))
    assert again == files.manifest_text


def test_bean_check_names_the_added_entry(root: Path) -> None:
    lock(root, "2023-01")
    bean_check = [str(Path(sys.executable).parent / "bean-check"), str(root / "main.beancount")]
    assert subprocess.run(bean_check, capture_output=True, check=False).returncode == 0
    write_manual(root, [*BLOCKS, ADDED_JANUARY])
    done = subprocess.run(bean_check, capture_output=True, text=True, check=False)
    line = line_of(root / "manual.beancount", "补拨")
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert f"manual.beancount:{line}: locked month 2023-01" in output
    assert "entry added after the lock: 2023-01-25 财政专户 / 补拨" in output


def test_added_entry_is_named(root: Path) -> None:
    lock(root, "2023-01")
    write_manual(root, [*BLOCKS, ADDED_JANUARY])
    [error] = lock_errors(root)
    line = line_of(root / "manual.beancount", "补拨")
    assert error.source is not None
    assert (Path(error.source["filename"]).name, error.source["lineno"]) == (
        "manual.beancount",
        line,
    )
    assert "entry added after the lock: 2023-01-25 财政专户 / 补拨" in error.message
    assert f"at manual.beancount:{line}" in error.message
    assert error.entry.narration == "补拨"


def test_removed_entry_is_named_from_the_manifest(root: Path) -> None:
    lock(root, "2023-01")
    was = line_of(root / "manual.beancount", "示例药店")
    write_manual(root, [b for b in BLOCKS if "示例药店" not in b])
    [error] = lock_errors(root)
    assert error.source is not None
    # Reported at the lock, which is what asserts the entry.
    assert Path(error.source["filename"]).name == locks.LOCKS_FILE
    assert "entry removed since the lock" in error.message
    assert "2023-01-10 示例药店 / 2022-12 门诊费用清算 (voucher 2023-01-记-0002)" in error.message
    assert f"was at manual.beancount:{was}" in error.message


def test_changed_amount_is_named(root: Path) -> None:
    lock(root, "2023-01")
    write_manual(root, [b.replace("718.63", "718.64") for b in BLOCKS])
    [error] = lock_errors(root)
    assert error.source is not None
    assert error.source["lineno"] == line_of(root / "manual.beancount", "示例医院")
    assert "entry changed since the lock" in error.message
    assert "(voucher 2023-01-记-0001)" in error.message


def test_changed_one_of_two_entries_with_the_same_key(root: Path) -> None:
    lock(root, "2023-01")
    write_manual(root, [b.replace("300.00", "301.00") for b in BLOCKS])
    [error] = lock_errors(root)
    assert error.source is not None
    assert error.source["lineno"] == line_of(root / "manual.beancount", "301.00") - 1
    assert "entry changed since the lock: 2023-01-20 财政专户 / 拨付" in error.message


def test_reordered_and_moved_entries_are_not_changes(root: Path) -> None:
    """Where an entry is written is not what it says: moving it keeps the lock clean."""
    lock(root, "2023-01")
    write_manual(root, list(reversed(BLOCKS[1:])))
    (root / "moved.beancount").write_text(BLOCKS[0] + "\n", "utf-8")
    main = root / "main.beancount"
    main.write_text(main.read_text("utf-8") + 'include "moved.beancount"\n', "utf-8")
    assert lock_errors(root) == []


def test_february_is_not_locked_by_january(root: Path) -> None:
    lock(root, "2023-01")
    write_manual(
        root,
        [*BLOCKS, ADDED_JANUARY.replace("2023-01-25", "2023-02-25")],
    )
    assert lock_errors(root) == []


def test_edited_or_missing_manifest_is_reported(root: Path) -> None:
    lock(root, "2023-01")
    manifest = root / "locks/2023-01.json"
    original = manifest.read_text("utf-8")
    manifest.write_text(original.replace("拨付", "拨款"), "utf-8")
    [error] = lock_errors(root)
    assert "lock of 2023-01: manifest locks/2023-01.json is not the one locked" in error.message
    assert error.source is not None
    assert Path(error.source["filename"]).name == locks.LOCKS_FILE
    manifest.unlink()
    [error] = lock_errors(root)
    assert "manifest locks/2023-01.json cannot be read" in error.message


def test_reopen_with_reason_unlocks_and_stays_on_record(root: Path) -> None:
    lock(root, "2023-01")
    reopen(root, "2023-01", REASON)
    write_manual(root, [*BLOCKS, ADDED_JANUARY])
    entries, errors, _ = load(root)
    assert errors == []
    assert locks.locked_months(entries) == set()
    kept = [(e.type, e.values[0].value) for e in entries if isinstance(e, data.Custom)]
    assert kept == [("mzledger-lock", "2023-01"), ("mzledger-reopen", "2023-01")]
    [reopened] = [e for e in entries if isinstance(e, data.Custom) and e.type == "mzledger-reopen"]
    assert reopened.values[1].value == REASON
    assert (reopened.meta["reopened_by"], reopened.meta["reopened_at"]) == (
        "李四",
        "2023-03-05T09:30:00+08:00",
    )
    # Locked again: a new lock entry and manifest, and the history stays.
    lock(root, "2023-01", MAR_6)
    assert lock_errors(root) == []
    write_manual(root, [*BLOCKS, ADDED_JANUARY.replace("10.00", "11.00")])
    [error] = lock_errors(root)
    assert "entry changed since the lock: 2023-01-25 财政专户 / 补拨" in error.message
    assert (root / locks.LOCKS_FILE).read_text("utf-8").count('custom "mzledger-') == 3


def test_reopen_without_reason_is_refused_and_the_month_stays_locked(root: Path) -> None:
    lock(root, "2023-01")
    with pytest.raises(ValueError, match="reason"):
        locks.reopen_entry_text(M("2023-01"), "  ", "李四", MAR_5)
    append_lock_entry(
        root,
        '2023-03-05 custom "mzledger-reopen" "2023-01" ""\n'
        '  reopened_by: "李四"\n  reopened_at: "2023-03-05T09:30:00+08:00"\n',
    )
    [error] = lock_errors(root)
    assert "reopening 2023-01 needs a reason; 2023-01 stays locked" in error.message
    write_manual(root, [*BLOCKS, ADDED_JANUARY])
    messages = [e.message for e in lock_errors(root)]
    assert any("entry added after the lock" in m for m in messages), messages


def test_reopen_before_the_lock_does_not_unlock(root: Path) -> None:
    lock(root, "2023-01", MAR_5)
    entries, _, _ = load(root)
    with pytest.raises(ValueError, match="dated 2023-03-05"):
        locks.prepare_reopen(entries, M("2023-01"), "太早", "李四", MAR_3)
    append_lock_entry(root, locks.reopen_entry_text(M("2023-01"), "太早", "李四", MAR_3))
    [error] = lock_errors(root)
    assert "reopening 2023-01, which is not locked at this point" in error.message


def test_two_locked_months_editing_the_earlier_one(root: Path) -> None:
    lock(root, "2023-01")
    lock(root, "2023-02", MAR_3)
    entries, _, _ = load(root)
    assert locks.locked_months(entries) == {M("2023-01"), M("2023-02")}
    with pytest.raises(ValueError, match="already locked"):
        locks.prepare_lock(entries, M("2023-01"), "张三", MAR_6, root=root)
    write_manual(root, [b.replace("120.00", "12.00") for b in BLOCKS])
    [error] = lock_errors(root)
    assert error.message.startswith("locked month 2023-01 ")
    assert "(voucher 2023-01-记-0002)" in error.message


DECEMBER = """\
2022-12-28 * "财政专户" "拨付"
  Assets:Bank  100.00 CNY
  Assets:Fiscal"""


def lock_files(root: Path) -> dict[str, bytes]:
    """The locks file and every manifest, byte for byte."""
    paths = [root / locks.LOCKS_FILE, *sorted((root / locks.LOCKS_DIR).glob("*"))]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in paths if p.is_file()}


def test_a_month_locks_only_after_every_earlier_month(root: Path) -> None:
    entries, _, _ = load(root)
    # The accounts open on 2022-12-01 (the chart's opening), the first entry is of January.
    assert locks.books_first_month(entries) == M("2023-01")
    with pytest.raises(ValueError, match=r"^2023-01 is not closed yet: close it first$"):
        locks.prepare_lock(entries, M("2023-02"), "张三", MAR_3, root=root)
    assert locks.earlier_months_open(entries, M("2023-02")) == [M("2023-01")]
    assert locks.earlier_months_open(entries, M("2023-01")) == []
    lock(root, "2023-01")
    entries, _, _ = load(root)
    # Months without an entry count: March has none, and still closes before April.
    with pytest.raises(ValueError, match=r"^2023-02\.\.2023-03 are not closed yet: close them"):
        locks.prepare_lock(entries, M("2023-04"), "张三", MAR_3, root=root)
    lock(root, "2023-02", MAR_3)
    lock(root, "2023-03", MAR_5)
    entries, errors, _ = load(root)
    assert errors == []
    assert locks.locked_months(entries) == {M("2023-01"), M("2023-02"), M("2023-03")}


def test_a_month_reopens_only_after_every_later_month(root: Path) -> None:
    lock(root, "2023-01")
    lock(root, "2023-02", MAR_3)
    entries, _, _ = load(root)
    before = lock_files(root)
    with pytest.raises(ValueError, match=r"^2023-02, a later month, is still locked: reopen it"):
        locks.prepare_reopen(entries, M("2023-01"), REASON, "李四", MAR_5)
    assert lock_files(root) == before
    reopen(root, "2023-02", REASON)
    reopen(root, "2023-01", REASON, MAR_6)
    entries, errors, _ = load(root)
    assert errors == []
    assert locks.locked_months(entries) == set()
    kept = [(e.type, e.values[0].value) for e in entries if isinstance(e, data.Custom)]
    assert kept == [
        ("mzledger-lock", "2023-01"),
        ("mzledger-lock", "2023-02"),
        ("mzledger-reopen", "2023-02"),
        ("mzledger-reopen", "2023-01"),
    ]


def test_the_books_start_at_their_first_entry(root: Path) -> None:
    write_manual(root, [])
    entries, _, _ = load(root)
    assert locks.books_first_month(entries) == M("2022-12")  # only the chart's opens: its month
    with pytest.raises(ValueError, match=r"^2022-12 is not closed yet"):
        locks.prepare_lock(entries, M("2023-01"), "张三", FEB_5, root=root)
    # An entry before January makes December the books' first month, to be closed first.
    write_manual(root, [DECEMBER, *BLOCKS])
    entries, _, _ = load(root)
    assert locks.books_first_month(entries) == M("2022-12")
    with pytest.raises(ValueError, match=r"^2022-12 is not closed yet: close it first$"):
        locks.prepare_lock(entries, M("2023-01"), "张三", FEB_5, root=root)
    assert locks.books_first_month([]) is None


def test_month_spans_and_a_lock_out_of_order(root: Path) -> None:
    from reports.fava.months import month_statuses

    assert list(M("2022-11").until(M("2023-02"))) == [
        M("2022-11"),
        M("2022-12"),
        M("2023-01"),
        M("2023-02"),
    ]
    assert list(M("2023-02").until(M("2023-01"))) == []
    assert close_order.span([M("2023-03"), M("2022-12"), M("2023-01")]) == (
        "2022-12..2023-01, 2023-03"
    )
    assert close_order.open_before(M("2023-03"), None, set()) == []
    # Books locked out of order by an older mzledger: February locked, January open.
    entries, _, _ = load(root)
    text = locks.manifest_json(locks.fingerprints(entries, M("2023-02"), root=root))
    (root / locks.LOCKS_DIR).mkdir()
    (root / locks.manifest_relpath(M("2023-02"))).write_text(text, "utf-8")
    append_lock_entry(
        root, locks.lock_entry_text(M("2023-02"), locks.manifest_sha(text), "张三", MAR_3)
    )
    entries, errors, _ = load(root)
    assert errors == []  # the books still load; the months page says what is wrong
    overview = month_statuses(root, entries)
    assert [str(m.month) for m in overview.months] == ["2023-01", "2023-02"]
    assert overview.problems == (
        "2023-02 is locked while 2023-01, before it, is not: lock it or reopen 2023-02",
    )
    # Either way out: January locks (nothing before it), or February reopens (nothing after).
    locks.prepare_lock(entries, M("2023-01"), "张三", MAR_5, root=root)
    locks.prepare_reopen(entries, M("2023-02"), REASON, "李四", MAR_5)


def test_removed_lock_entry_leaves_its_manifest_behind(root: Path) -> None:
    lock(root, "2023-01")
    (root / locks.LOCKS_FILE).write_text(locks.LOCKS_HEADER, "utf-8")
    [error] = lock_errors(root)
    assert "locks/2023-01.json: a lock manifest that no lock entry names" in error.message


def test_fava_reports_the_lock_error_on_the_demo_books(tmp_path: Path) -> None:
    from fava.core import FavaLedger

    Cli(tmp_path)("demo", "city")
    books = tmp_path / "city"
    main = books / "main.beancount"
    # the books carry the plugin and the locks file from `init` on
    assert 'plugin "ledger.plugins.lock"' in main.read_text("utf-8")
    assert (books / locks.LOCKS_FILE).read_text("utf-8") == locks.LOCKS_HEADER
    files = lock(books, "2023-01")
    assert files.count > 0
    assert not FavaLedger(str(main)).errors

    clearing = books / "clearing" / "2022-12.beancount"
    lines = clearing.read_text("utf-8").splitlines(keepends=True)
    # The first leg of the first transaction: its balancing bank leg is changed alike.
    first = next(n for n, line in enumerate(lines) if line.startswith("  Expenses:"))
    amount = lines[first].split()[-2]
    bumped = f"{Decimal(amount) + 1:.2f}"
    lines[first] = lines[first].replace(amount, bumped)
    bank = next(n for n in range(first, len(lines)) if f"-{amount} " in lines[n])
    lines[bank] = lines[bank].replace(f"-{amount}", f"-{bumped}")
    clearing.write_text("".join(lines), "utf-8")

    errors = FavaLedger(str(main)).errors
    lock_errs = [e for e in errors if type(e).__name__ == "LockError"]
    assert len(lock_errs) == 1, errors
    assert "entry changed since the lock" in lock_errs[0].message
    assert "(voucher 2023-01-记-0001)" in lock_errs[0].message
    assert lock_errs[0].source is not None
    assert Path(str(lock_errs[0].source["filename"])) == clearing


def test_the_lock_check_reads_the_locks_file_alone(tmp_path: Path) -> None:
    """``post`` and a statement's import check the locks with ``lock_entries``: the same
    lock and reopen entries as the books' outline, without reading the generated files
    (a generated file that cannot be read at all does not matter to it)."""
    from ledger.books import Books, lock_entries, outline

    root = tmp_path / "books"
    (root / "clearing").mkdir(parents=True)
    (root / "locks.beancount").write_text(
        '2023-02-05 custom "mzledger-lock" "2023-01"\n'
        '2023-03-05 custom "mzledger-reopen" "2023-01" "更正摘要"\n'
        '2023-03-06 custom "mzledger-lock" "2023-02"\n',
        "utf-8",
    )
    (root / "clearing" / "2023-01.beancount").write_text('2023-02-10 * "x" "y"\n', "utf-8")
    books = Books(root)
    markers = [e for e in outline(books) if isinstance(e, data.Custom)]
    assert lock_entries(books) == markers and len(markers) == 3
    assert locks.locked_months(lock_entries(books)) == locks.locked_months(outline(books))
    (root / "clearing" / "2023-01.beancount").unlink()
    (root / "clearing" / "2023-01.beancount").mkdir()  # unreadable as a file
    with pytest.raises(IsADirectoryError):
        outline(books)
    assert lock_entries(books) == markers
