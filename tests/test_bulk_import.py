"""The bulk path (importers/bulk_csv.py, bulk_loader.py) against the row path.

The contract: whatever the bulk path takes, it stores exactly as the row path stores it (the
raw column values, the totals, the institutions, the file records, the notices); whatever it
does not take, it leaves untouched, and the row path decides. Checked on every golden import
case and on generated files with the awkward forms an export may have.
"""

from __future__ import annotations

import csv
import datetime
import functools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from importers.institutions import import_institutions
from importers.settlements.bulk_loader import bulk_import
from importers.settlements.loader import import_settlements
from importers.settlements.results import ImportResult
from ledger.register.opening import open_register
from tests.conftest import settlement

GOLDEN = Path(__file__).parent / "golden" / "import"
NOW = datetime.datetime(2024, 1, 31, 9, 0, 0)
USER = "clerk"

# Golden cases the bulk path must take itself (plain CSV exports without a problem).
BULK_CASES = ("csv_gb18030", "csv_semicolon", "csv_utf8", "csv_utf8_bom", "local_med_type_kept")


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The register's rows as stored (raw driver values), ids left out."""
    queries = {
        "settlements": "SELECT * FROM settlements ORDER BY setl_id",
        "settlement_totals": "SELECT * FROM settlement_totals "
        "ORDER BY period, fixmedins_code, clr_type, med_type, file_id",
        "institutions": "SELECT * FROM institutions ORDER BY code",
        "imported_files": "SELECT * FROM imported_files ORDER BY sha256",
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table, sql in queries.items():
            result = conn.exec_driver_sql(sql)
            keys = list(result.keys())
            # ids and the clock's reading of an institution list's import are not content
            keep = [i for i, k in enumerate(keys) if k not in ("id", "imported_at")]
            out[table] = [tuple(row[i] for i in keep) for row in result]
    return out


def _summary(result: ImportResult) -> list[Any]:
    return [
        [str(p) for p in result.problems],
        result.problem_count,
        [
            (f.rows, f.inserted, f.skipped_identical, f.already_imported, sorted(f.notices.items()))
            for f in result.files
        ],
    ]


@functools.cache
def _template() -> Path:
    """An empty, migrated register, copied for each one a test needs (migrating is slow)."""
    path = Path(tempfile.mkdtemp(prefix="mzledger-template-")) / "register.sqlite"
    open_register(f"sqlite:///{path}").dispose()
    return path


def _register(tmp: Path, name: str, institutions: Path | None) -> Engine:
    shutil.copyfile(_template(), tmp / f"{name}.sqlite")
    engine = open_register(f"sqlite:///{tmp / name}.sqlite")
    if institutions is not None:
        import_institutions(engine, institutions, user=USER)
    return engine


def _both(tmp: Path, inputs: list[Path], institutions: Path | None) -> tuple[bool, Any, Any]:
    """Import with the bulk path first (as the CLI does) and with the row path only; whether
    the bulk path took it, and both outcomes."""
    bulk_engine = _register(tmp, "bulk", institutions)
    row_engine = _register(tmp, "row", institutions)
    took = bulk_import(bulk_engine, inputs, user=USER, now=NOW) is not None
    if not took:
        bulk_engine.dispose()
        bulk_engine = _register(tmp, "bulk2", institutions)
    via_bulk = import_settlements(bulk_engine, inputs, user=USER, now=NOW) if not took else None
    via_rows = import_settlements(row_engine, inputs, user=USER, now=NOW, bulk=False)
    bulk_result = via_bulk
    if took:
        # the result of the bulk import itself: run it again on a fresh register for it
        again = _register(tmp, "bulk3", institutions)
        bulk_result = import_settlements(again, inputs, user=USER, now=NOW)
        bulk_engine = again
    assert bulk_result is not None
    return (
        took,
        (_summary(bulk_result), _dump(bulk_engine)),
        (_summary(via_rows), _dump(row_engine)),
    )


def _golden_inputs(case: Path) -> tuple[list[Path], Path | None] | None:
    if (case / "args.txt").exists():
        return None
    names = sorted(p for p in case.iterdir() if p.name not in ("expected.txt", "institutions.csv"))
    if not names or any(p.suffix.lower() != ".csv" for p in names):
        return None
    institutions = case / "institutions.csv"
    return names, institutions if institutions.exists() else None


CSV_CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and _golden_inputs(p) is not None)


@pytest.mark.parametrize("case", CSV_CASES)
def test_golden_case_bulk_equals_rows(case: str, tmp_path: Path) -> None:
    work = tmp_path / "in"
    shutil.copytree(GOLDEN / case, work)
    found = _golden_inputs(work)
    assert found is not None
    inputs, institutions = found
    took, bulk, rows = _both(tmp_path, inputs, institutions)
    assert bulk == rows
    if case in BULK_CASES:
        assert took, f"{case}: the bulk path should take this plain export"
    if case.startswith("refuse_"):
        assert not took, f"{case}: the bulk path took a file the row path refuses"


def test_bulk_takes_a_plain_export_and_is_idempotent(tmp_path: Path) -> None:
    rows = [
        settlement(
            f"S{i:05d}",
            f"P{i % 7}",
            f"2023-01-{1 + i % 28:02d} 08:00:00",
            "H1",
            "100.00",
            "60.00",
            fixmedins_name="示例医院",
            fixmedins_type="1",
            medins_lv="2",
        )
        for i in range(500)
    ]
    path = _write(tmp_path / "s.csv", rows)
    engine = _register(tmp_path, "r", None)
    first = bulk_import(engine, [path], user=USER, now=NOW)
    assert first is not None and first.files[0].inserted == 500
    before = _dump(engine)
    second = import_settlements(engine, [path], user=USER, now=NOW)
    assert second.files[0].already_imported
    assert _dump(engine) == before


def test_bulk_skips_a_file_imported_before_even_one_it_cannot_read(tmp_path: Path) -> None:
    """The first file is read while it is hashed; when it turns out to be imported already
    (here by the row path: a quoted line break is not for the bulk reader), what the reader
    made of it, blocks or refusal, is dropped and the next file goes in by the bulk path."""

    def rows(prefix: str) -> list[dict[str, str]]:
        return [
            settlement(
                f"{prefix}{i:04d}", f"P{i % 5}", "2023-01-05 08:00:00", "H1", "100.00", "60.00"
            )
            for i in range(50)
        ]

    awkward = rows("A")
    awkward[3]["psn_name"] = "张\n三"
    first = _write(tmp_path / "a.csv", awkward)
    second = _write(tmp_path / "b.csv", rows("B"))
    institutions = tmp_path / "institutions.csv"
    institutions.write_text(INSTITUTIONS_CSV, encoding="utf-8")
    engine = _register(tmp_path, "r", institutions)
    assert bulk_import(engine, [first], user=USER, now=NOW) is None
    assert import_settlements(engine, [first], user=USER, now=NOW).problem_count == 0
    both = bulk_import(engine, [first, second], user=USER, now=NOW)
    assert both is not None
    assert [(f.already_imported, f.inserted) for f in both.files] == [(True, 0), (False, 50)]
    reference = _register(tmp_path, "ref", institutions)
    for inputs in ([first], [first, second]):
        import_settlements(reference, inputs, user=USER, now=NOW, bulk=False)
    assert _dump(engine)["settlements"] == _dump(reference)["settlements"]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- generated files: awkward but plausible forms -----------------------------------------

AMOUNT_FORMS = st.sampled_from(["{}", " {} ", "{}0", "+{}", "{}\u3000"])
TEXT_PADS = st.sampled_from(["", " ", "\t", "\u3000", "\x1c"])


@st.composite
def exports(draw: st.DrawFn) -> list[dict[str, str]]:
    count = draw(st.integers(1, 12))
    rows = []
    for i in range(count):
        inscp = draw(st.integers(0, 50_000))
        pooled = draw(st.integers(0, inscp))
        row = settlement(
            f"S{i:04d}",
            f"P{draw(st.integers(0, 3))}",
            f"2023-0{draw(st.integers(1, 2))}-{draw(st.integers(1, 28)):02d} 10:00:00",
            draw(st.sampled_from(["H1", "D1"])),
            f"{inscp // 100}.{inscp % 100:02d}",
            f"{pooled // 100}.{pooled % 100:02d}",
            med_type=draw(st.sampled_from(["11", "14", "41", "99", "21"])),
            psn_type=draw(st.sampled_from(["1101", "1201", "9999"])),
        )
        if draw(st.booleans()):
            name = draw(st.sampled_from(["medfee_sumamt", "hifp_pay", "psn_cash_pay"]))
            row[name] = draw(AMOUNT_FORMS).format(row[name])
        if draw(st.booleans()):
            name = draw(st.sampled_from(["psn_no", "setl_id", "med_type", "setl_time"]))
            row[name] = draw(TEXT_PADS) + row[name] + draw(TEXT_PADS)
        if draw(st.integers(0, 9)) == 0:
            row["setl_time"] = draw(st.sampled_from(["2023-02-30 10:00:00", "2023-1-05 10:00:00"]))
        rows.append(row)
    if draw(st.booleans()) and rows:
        original = rows[0]
        refund = dict(original)
        refund.update(setl_id="R0001", refd_setl_flag="1", init_setl_id=original["setl_id"])
        for name, value in original.items():
            if name.endswith(("_amt", "_pay", "_selfpay")) and value.strip():
                text = value.strip().lstrip("+")
                refund[name] = text if text.strip("0.") == "" else "-" + text
        rows.append(refund)
    return rows


INSTITUTIONS_CSV = (
    "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs\n"
    "H1,示例医院,1,2,0,\n"
    "D1,示例药房,2,,0,\n"
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=exports())
def test_generated_exports_bulk_equals_rows(rows: list[dict[str, str]], tmp_path: Path) -> None:
    for work in _fresh(tmp_path):
        institutions = work / "institutions.csv"
        institutions.write_text(INSTITUTIONS_CSV, encoding="utf-8")
        path = _write(work / "export.csv", rows)
        _took, bulk, by_rows = _both(work, [path], institutions)
        assert bulk == by_rows


def _fresh(tmp_path: Path) -> Iterator[Path]:
    """A new directory per hypothesis example (the fixture's tmp_path is shared)."""
    index = 0
    while (tmp_path / f"ex{index}").exists():
        index += 1
    work = tmp_path / f"ex{index}"
    work.mkdir()
    yield work
