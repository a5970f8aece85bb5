"""Golden-file tests of `mzledger import fee-details` (费用明细): input files -> expected text.

Each directory under ``tests/golden/fee_details/`` is one case: its files imported in one
command, in name order; ``expected.txt`` holds the exit code, what was printed and the
register's fee details and imported files afterwards. ``MZLEDGER_UPDATE_GOLDEN=1`` rewrites
them (read the diff before committing it). The runner and the books are those of
``tests/test_import_golden.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from ledger.register.models import FeeDetail, ImportedFile
from tests.test_import_golden import (
    BOOKS,
    IMPORTED_FILE_COLUMNS,
    UPDATE,
    _command_text,
    _show,
    books,
    empty_books,
    run,
)

__all__ = ["books", "empty_books"]  # the fixtures, used by name

GOLDEN = Path(__file__).parent / "golden" / "fee_details"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def dump_fee_details(books_dir: Path) -> str:
    engine = create_engine(f"sqlite:///{books_dir / 'register.sqlite'}")
    columns = [c for c in FeeDetail.__table__.columns if c.name not in ("id", "file_id")]
    file_columns = [ImportedFile.__table__.c[name] for name in IMPORTED_FILE_COLUMNS]
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(*columns).order_by(FeeDetail.mdtrt_id, FeeDetail.feedetl_sn)
            ).all()
            lines = [f"== fee_details: {len(rows)} =="]
            for row in rows:
                lines.append(f"[{row.mdtrt_id} {row.feedetl_sn}]")
                lines.extend(
                    f"  {c.name} = {_show(v)}"
                    for c, v in zip(columns, row, strict=True)
                    if c.name not in ("mdtrt_id", "feedetl_sn")
                )
            files = conn.execute(select(*file_columns).order_by(ImportedFile.id)).all()
    finally:
        engine.dispose()
    lines.append(f"== imported_files: {len(files)} ==")
    lines.append("  " + " | ".join(IMPORTED_FILE_COLUMNS))
    lines.extend("  " + " | ".join(_show(v) for v in row) for row in files)
    return "\n".join(lines) + "\n"


def _import(*files: str) -> tuple[int, str, str]:
    return run("import", "fee-details", "--books", BOOKS, *files)


@pytest.mark.parametrize("case", CASES)
def test_fee_details_golden(case: str, books: Path) -> None:
    case_dir = GOLDEN / case
    inputs = sorted(p.name for p in case_dir.iterdir() if p.name != "expected.txt")
    for name in inputs:
        shutil.copyfile(case_dir / name, books.parent / name)
    args = ["import", "fee-details", "--books", BOOKS, *inputs]
    code, stdout, stderr = run(*args)
    actual = _command_text(args, code, stdout, stderr) + "\n" + dump_fee_details(books)
    assert str(books.parent) not in actual, "an absolute path leaked into the output"
    if case.startswith("refuse_"):
        assert code == 1, actual
        assert "== fee_details: 0 ==" in actual and "== imported_files: 0 ==" in actual, actual
    else:
        assert code == 0, actual
    expected = case_dir / "expected.txt"
    if UPDATE:
        expected.write_text(actual, "utf-8")
    assert actual == expected.read_text("utf-8")


def test_same_file_twice_changes_nothing(books: Path) -> None:
    """The same bytes again are recognised by sha256: nothing is read into the register."""
    shutil.copyfile(GOLDEN / "csv_utf8" / "in.csv", "in.csv")
    assert _import("in.csv")[0] == 0
    before = dump_fee_details(books)
    code, stdout, stderr = _import("in.csv")
    assert (code, stdout, stderr) == (
        0,
        "in.csv: already imported (same sha256), nothing to do\n",
        "",
    )
    assert dump_fee_details(books) == before


def test_a_file_imported_as_settlements_is_refused(books: Path) -> None:
    """Bytes already imported as another kind of file are not taken as fee details."""
    sample = Path(__file__).parent / "golden" / "import" / "csv_utf8" / "in.csv"
    shutil.copyfile(sample, "in.csv")
    assert run("import", "settlements", "--books", BOOKS, "in.csv")[0] == 0
    code, _stdout, stderr = _import("in.csv")
    assert code == 1
    assert "required column missing from the header" in stderr
    assert "== fee_details: 0 ==" in dump_fee_details(books)


def test_items_are_streamed_in_chunks_and_checked_across_them(
    books: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two items a chunk (the import writes CHUNK at a time and holds no more): an item
    repeated three rows on, across chunks, is skipped when identical and refused, naming its
    first line, when it differs; the refusal keeps nothing of the earlier chunks."""
    from importers.fee_details import loader

    monkeypatch.setattr(loader, "CHUNK", 2)
    lines = (GOLDEN / "csv_utf8" / "in.csv").read_text("utf-8").splitlines()
    header, first = lines[0], lines[1]
    columns = header.split(",")
    fields = first.split(",")

    def item(sn: str, **changed: str) -> str:
        values = dict(zip(columns, fields, strict=True))
        values.update(feedetl_sn=sn, **changed)
        return ",".join(values[c] for c in columns)

    rows = [item("1"), item("2"), item("3"), item("1"), item("4")]
    Path("same.csv").write_text("\n".join([header, *rows]) + "\n", "utf-8")
    code, stdout, _stderr = _import("same.csv")
    assert (code, stdout) == (
        0,
        "same.csv: 5 items, 4 imported, 1 already in the register (identical, skipped)\n",
    )
    rows[3] = item("1", prd_days="3")
    Path("changed.csv").write_text("\n".join([header, *rows]) + "\n", "utf-8")
    before = dump_fee_details(books)
    code, _stdout, stderr = _import("changed.csv")
    assert code == 1
    assert "changed.csv:5: feedetl_sn: the same item as same.csv:2, with different prd_days" in (
        stderr.replace("\n", " ")
    )
    assert dump_fee_details(books) == before
