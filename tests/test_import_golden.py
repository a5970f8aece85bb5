"""Golden-file tests of `mzledger import settlements`: input file(s) -> expected text.

Each directory under ``tests/golden/import/`` is one case:

- input files (``*.csv``, ``*.jsonl``, ``*.json``, ``*.xlsx``, anything else but the names
  below), imported in one ``mzledger import settlements`` command, in name order;
- ``institutions.csv`` (optional): imported first with ``mzledger import institutions``;
- ``args.txt`` (optional): extra arguments of ``import settlements`` (``--institution CODE``);
- ``expected.txt``: exit codes, what each command printed (stdout and stderr apart) and the
  register afterwards (settlements, institutions, imported files);
- ``expected-py3.13.txt`` (optional): the same from Python 3.13 on (the newest one not newer
  than the running Python wins), where a message comes from the standard library and its
  wording changed (json's decoder names a trailing comma from 3.13).

Everything runs in-process through typer's CliRunner, in a temporary directory that is the
working directory, with relative paths, so that the messages are the same on every machine.
``MZLEDGER_UPDATE_GOLDEN=1 pytest tests/test_import_golden.py`` rewrites the expected files;
read the diff as a finance clerk would before committing it.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from importers.sources import SAMPLE_BYTES
from ledger.register.models import ImportedFile, Institution, Settlement
from mzledger.cli import app

GOLDEN = Path(__file__).parent / "golden" / "import"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
SPECIAL = {"expected.txt", "args.txt", "institutions.csv"}
UPDATE = os.environ.get("MZLEDGER_UPDATE_GOLDEN") == "1"
PER_PYTHON = re.compile(r"expected-py3\.(\d+)\.txt")

BOOKS = "books"


def expected_for_this_python(case_dir: Path) -> Path:
    """``expected-py3.N.txt`` of the greatest N not above the running minor version, else
    ``expected.txt``."""
    found = {
        int(match[1]): path
        for path in case_dir.iterdir()
        if (match := PER_PYTHON.fullmatch(path.name)) and int(match[1]) <= sys.version_info[1]
    }
    return found[max(found)] if found else case_dir / "expected.txt"


SETTLEMENT_SKIP = {"id", "file_id"}
IMPORTED_FILE_COLUMNS = (
    "name",
    "kind",
    "file_format",
    "row_count",
    "inserted_count",
    "skipped_count",
)


# --- running the command ------------------------------------------------------------------


def _runner() -> CliRunner:
    # No books from the environment, no progress bar, no colour.
    return CliRunner(env={"MZLEDGER_BOOKS": None, "CI": "1", "NO_COLOR": "1"})


def run(*args: str) -> tuple[int, str, str]:
    """Run ``mzledger ARGS`` in-process; exit code, stdout, stderr."""
    result = _runner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="session")
def empty_books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `mzledger init` per worker; each case copies it (migrations take a while)."""
    books = tmp_path_factory.mktemp("empty") / BOOKS
    code, stdout, stderr = run("init", str(books))
    assert code == 0, stdout + stderr
    return books


@pytest.fixture
def books(tmp_path: Path, empty_books: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh books in ``tmp_path/books``, with ``tmp_path`` as the working directory."""
    shutil.copytree(empty_books, tmp_path / BOOKS)
    monkeypatch.chdir(tmp_path)
    return tmp_path / BOOKS


# --- dumping the register -----------------------------------------------------------------


def _show(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def dump_register(books_dir: Path) -> str:
    engine = create_engine(f"sqlite:///{books_dir / 'register.sqlite'}")
    lines: list[str] = []
    try:
        with engine.connect() as conn:
            columns = [c for c in Settlement.__table__.columns if c.name not in SETTLEMENT_SKIP]
            rows = conn.execute(select(*columns).order_by(Settlement.setl_id)).all()
            lines.append(f"== settlements: {len(rows)} ==")
            for row in rows:
                lines.append(f"[{row.setl_id}]")
                lines.extend(
                    f"  {c.name} = {_show(v)}"
                    for c, v in zip(columns, row, strict=True)
                    if c.name != "setl_id"
                )
            inst_columns = [c for c in Institution.__table__.columns if c.name != "source_file_id"]
            rows = conn.execute(select(*inst_columns).order_by(Institution.code)).all()
            lines.append(f"== institutions: {len(rows)} ==")
            lines.append("  " + " | ".join(c.name for c in inst_columns))
            lines.extend("  " + " | ".join(_show(v) for v in row) for row in rows)
            file_columns = [ImportedFile.__table__.c[name] for name in IMPORTED_FILE_COLUMNS]
            rows = conn.execute(select(*file_columns).order_by(ImportedFile.id)).all()
            lines.append(f"== imported_files: {len(rows)} ==")
            lines.append("  " + " | ".join(IMPORTED_FILE_COLUMNS))
            lines.extend("  " + " | ".join(_show(v) for v in row) for row in rows)
    finally:
        engine.dispose()
    return "\n".join(lines) + "\n"


def _command_text(args: list[str], code: int, stdout: str, stderr: str) -> str:
    return (
        f"$ mzledger {shlex.join(args)}\n"
        f"exit code: {code}\n"
        f"--- stdout ---\n{stdout}"
        f"--- stderr ---\n{stderr}"
    )


# --- the golden cases ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_import_golden(case: str, books: Path) -> None:
    case_dir = GOLDEN / case
    work = books.parent
    inputs = sorted(
        p.name
        for p in case_dir.iterdir()
        if p.is_file() and p.name not in SPECIAL and not PER_PYTHON.fullmatch(p.name)
    )
    assert inputs, f"{case}: no input file"
    for name in [*inputs, "institutions.csv"]:
        if (case_dir / name).exists():
            shutil.copyfile(case_dir / name, work / name)
    sections: list[str] = []
    if (case_dir / "institutions.csv").exists():
        args = ["import", "institutions", "--books", BOOKS, "institutions.csv"]
        code, stdout, stderr = run(*args)
        sections.append(_command_text(args, code, stdout, stderr))
        assert code == 0, stderr
    extra = (
        shlex.split((case_dir / "args.txt").read_text("utf-8"))
        if (case_dir / "args.txt").exists()
        else []
    )
    args = ["import", "settlements", "--books", BOOKS, *extra, *inputs]
    code, stdout, stderr = run(*args)
    sections.append(_command_text(args, code, stdout, stderr))
    sections.append(dump_register(books))
    actual = "\n".join(sections)

    assert str(work) not in actual, "an absolute path leaked into the output"
    if case.startswith("refuse_"):
        assert code == 1, actual
        assert "== settlements: 0 ==" in actual, actual
        assert " | settlements | " not in actual.split("== imported_files")[1], actual
    else:
        assert code == 0, actual

    expected_file = expected_for_this_python(case_dir)
    if UPDATE:
        expected_file.write_text(actual, "utf-8")
    elif not expected_file.exists():
        pytest.fail(f"{expected_file} missing; MZLEDGER_UPDATE_GOLDEN=1 writes it")
    assert actual == expected_file.read_text("utf-8")


# --- importing again ----------------------------------------------------------------------

SAMPLE = GOLDEN / "csv_utf8" / "in.csv"


def _import(*files: str) -> tuple[int, str, str]:
    return run("import", "settlements", "--books", BOOKS, *files)


def test_same_file_twice_is_recognised(books: Path) -> None:
    """The second import of the same bytes is recognised by sha256 and changes nothing."""
    shutil.copyfile(SAMPLE, "in.csv")
    assert _import("in.csv")[0] == 0
    before = dump_register(books)
    code, stdout, stderr = _import("in.csv")
    assert (code, stderr) == (0, "")
    assert stdout == "in.csv: already imported (same sha256), nothing to do\n"
    assert dump_register(books) == before


def test_same_rows_in_another_file_are_skipped(books: Path) -> None:
    """Settlements already in the register, in a new file: skipped as identical, counted."""
    shutil.copyfile(SAMPLE, "in.csv")
    assert _import("in.csv")[0] == 0
    # The same three settlements in another file (other bytes: a BOM, LF line ends).
    text = SAMPLE.read_text("utf-8")
    Path("again.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    before = dump_register(books)
    code, stdout, stderr = _import("again.csv")
    assert (code, stderr) == (0, "")
    assert stdout == (
        "again.csv: 3 rows, 0 imported, 3 already in the register (identical, skipped)\n"
    )
    after = dump_register(books)
    assert after.split("== imported_files")[0] == before.split("== imported_files")[0]
    assert after.endswith(
        "  in.csv | settlements | csv | 3 | 3 | 0\n  again.csv | settlements | csv | 3 | 0 | 3\n"
    )


def test_changed_content_of_an_imported_settlement_is_refused(books: Path) -> None:
    """A known setl_id with other amounts is refused, naming it; the register is unchanged."""
    shutil.copyfile(SAMPLE, "in.csv")
    assert _import("in.csv")[0] == 0
    before = dump_register(books)
    lines = SAMPLE.read_text("utf-8").splitlines()
    # X000000000002 again, with 10.00 moved from the own account to mutual aid.
    changed = lines[2].replace(",60.00,28.50,", ",50.00,38.50,")
    assert changed != lines[2]
    Path("changed.csv").write_text("\n".join([lines[0], changed]) + "\n", "utf-8")
    code, stdout, stderr = _import("changed.csv")
    assert code == 1
    assert stdout == ""
    assert stderr.splitlines() == [
        "changed.csv:2: setl_id: the same setl_id as in.csv:3, with different acct_mulaid_pay, "
        "acct_pay (found 'X000000000002', expected the same content or a new setl_id)",
        "refused: 1 problem; nothing was imported",
    ]
    assert dump_register(books) == before


def test_utf8_file_whose_detection_sample_ends_inside_a_character(books: Path) -> None:
    """Over 64 KiB of UTF-8 with Chinese in every row: the charset sample is cut somewhere,
    and a character cut in two must not make the file 'neither UTF-8 nor GB18030'."""
    header, first = SAMPLE.read_text("utf-8").splitlines()[:2]
    rest = first.split(",", 2)[2]  # after setl_id and mdtrt_id
    count = SAMPLE_BYTES // len(first.encode("utf-8")) + 20
    for pad in range(400):
        rows = [f"X{i:012d},XM{i:011d},{rest}," for i in range(1, count + 1)]
        rows[0] += "x" * pad
        data = "\n".join([f"{header},remark", *rows]).encode("utf-8") + b"\n"
        try:
            data[:SAMPLE_BYTES].decode("utf-8")
        except UnicodeDecodeError:
            break  # this padding puts the sample's end inside a character
    else:
        pytest.fail("no padding cuts a character at the sample's end")
    Path("big.csv").write_bytes(data)
    code, stdout, stderr = _import("big.csv")
    assert (code, stderr) == (0, "")
    assert stdout == (
        f"big.csv: {count} rows, {count} imported, 0 already in the register (identical, skipped)\n"
    )
