"""The bulk path on PostgreSQL (binary COPY into months attached at the end) against the row
path on PostgreSQL: the same rows stored, and a setl_id of another month refused.

A month new to the register is loaded into a table of its own, indexed when it is attached;
a month already there takes its rows into its partition. setl_id is unique per month by
constraint; across months ledger/bulk.py checks it, here for each way a setl_id can come again.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from importers.institutions import import_institutions
from importers.settlements.bulk_loader import bulk_import
from importers.settlements.loader import import_settlements
from ledger.register.models import MONEY_FIELDS
from ledger.register.opening import open_register
from tests.conftest import postgres_url_or_skip, settlement
from tests.test_bulk_import import (
    BULK_CASES,
    GOLDEN,
    INSTITUTIONS_CSV,
    NOW,
    USER,
    _dump,
    _golden_inputs,
    _summary,
    _write,
)

pytestmark = pytest.mark.postgres

Registers = Callable[[], Engine]


@pytest.fixture
def registers(tmp_path: Path) -> Iterator[Registers]:
    """Fresh registers, each in a schema of its own, with the two test institutions."""
    base = postgres_url_or_skip()
    admin = create_engine(base)
    made: list[tuple[str, Engine]] = []
    institutions = tmp_path / "institutions.csv"
    institutions.write_text(INSTITUTIONS_CSV, encoding="utf-8")

    def register() -> Engine:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base else "?"
        engine = open_register(f"{base}{separator}options=-csearch_path%3D{schema}")
        made.append((schema, engine))
        import_institutions(engine, institutions, user=USER)
        return engine

    try:
        yield register
    finally:
        for schema, engine in made:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _row(setl_id: str, when: str, **fields: str) -> dict[str, str]:
    return settlement(setl_id, "P1", when, "H1", "100.00", "60.00", **fields)


@pytest.mark.parametrize("case", BULK_CASES)
def test_golden_case_bulk_equals_rows(case: str, tmp_path: Path, registers: Registers) -> None:
    work = tmp_path / "in"
    shutil.copytree(GOLDEN / case, work)
    found = _golden_inputs(work)
    assert found is not None
    inputs, institutions = found
    bulk, rows = registers(), registers()
    for engine in (bulk, rows):
        if institutions is not None:
            import_institutions(engine, institutions, user=USER)
    took = bulk_import(bulk, inputs, user=USER, now=NOW)
    assert took is not None, f"{case}: the bulk path should take this plain export"
    by_rows = import_settlements(rows, inputs, user=USER, now=NOW, bulk=False)
    assert (_summary(took), _dump(bulk)) == (_summary(by_rows), _dump(rows))


def test_awkward_values_months_new_and_old_stored_as_rows_store_them(
    tmp_path: Path, registers: Registers
) -> None:
    """Backslashes, non-ASCII text, empty optional fields next to given ones, refunds, big
    amounts; a second import into a month the register has and a new one. (A code is
    printable ASCII: non-ASCII text goes in the free-text fields.)"""
    first = [
        _row("S0001", "2023-01-05 08:00:00", psn_name="王小明", certno=""),
        _row("S0002", "2023-01-31 23:59:59", psn_name="back\\slash", rx_date="2023-01-30"),
        settlement("S0003", "P2", "2023-01-06 09:30:00", "D1", "98765432.10", "12345678.90"),
        _row("S0004", "2023-01-07 10:00:00", emergency_flag="1", rx_no="RX-1", clr_way=""),
    ]
    refund = dict(first[0])
    refund.update(setl_id="R0001", refd_setl_flag="1", init_setl_id="S0001")
    for name, value in first[0].items():
        if name in MONEY_FIELDS and value.strip("0.") != "":
            refund[name] = "-" + value
    second = [
        refund,  # into January, a month the register has now
        _row("S0005", "2023-02-01 00:00:00", psn_name="门诊 统筹"),
        _row("S0006", "2023-02-28 12:00:00", emergency_flag="0"),
    ]
    files = [_write(tmp_path / "a.csv", first), _write(tmp_path / "b.csv", second)]
    bulk, rows = registers(), registers()
    for path in files:
        assert bulk_import(bulk, [path], user=USER, now=NOW) is not None, path.name
        import_settlements(rows, [path], user=USER, now=NOW, bulk=False)
    assert _dump(bulk) == _dump(rows)


@pytest.mark.parametrize(
    ("register_has", "import_brings"),
    [
        # two months of one import
        ([], [("S1", "2023-01-05"), ("S1", "2023-02-05")]),
        # three
        ([], [("S1", "2023-01-05"), ("S2", "2023-02-05"), ("S1", "2023-03-05")]),
        # a month of the register and a new month
        ([("S1", "2023-01-05")], [("S1", "2023-02-05")]),
        # into a month the register has, the setl_id being in another month of it
        ([("S1", "2023-01-05"), ("S2", "2023-02-05")], [("S2", "2023-01-06")]),
        # into a month the register has and a new month of the same import
        ([("S1", "2023-01-05")], [("S2", "2023-01-06"), ("S2", "2023-03-01")]),
    ],
)
def test_a_setl_id_of_another_month_is_left_to_the_row_path(
    register_has: list[tuple[str, str]],
    import_brings: list[tuple[str, str]],
    tmp_path: Path,
    registers: Registers,
) -> None:
    engine = registers()
    if register_has:
        earlier = _write(
            tmp_path / "earlier.csv", [_row(i, f"{d} 08:00:00") for i, d in register_has]
        )
        assert bulk_import(engine, [earlier], user=USER, now=NOW) is not None
    before = _dump(engine)
    path = _write(tmp_path / "new.csv", [_row(i, f"{d} 09:00:00") for i, d in import_brings])
    assert bulk_import(engine, [path], user=USER, now=NOW) is None
    assert _dump(engine) == before  # nothing written
    result = import_settlements(engine, [path], user=USER, now=NOW)
    assert result.problem_count > 0
    assert _dump(engine) == before


def test_months_without_a_repeated_setl_id_are_taken(tmp_path: Path, registers: Registers) -> None:
    engine = registers()
    earlier = _write(tmp_path / "earlier.csv", [_row("S1", "2023-01-05 08:00:00")])
    assert bulk_import(engine, [earlier], user=USER, now=NOW) is not None
    rows = [_row("S2", "2023-01-06 08:00:00"), _row("S3", "2023-02-06 08:00:00")]
    taken = bulk_import(engine, [_write(tmp_path / "new.csv", rows)], user=USER, now=NOW)
    assert taken is not None and taken.files[0].inserted == 2
    with engine.connect() as conn:
        months = conn.exec_driver_sql(
            "SELECT setl_period, count(*) FROM settlements GROUP BY 1 ORDER BY 1"
        ).all()
    assert [tuple(m) for m in months] == [("2023-01", 2), ("2023-02", 1)]


def _collations(engine: Engine, table: str) -> dict[str, str | None]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).all()
    return {name: collation for name, collation in rows}


def test_the_settlements_codes_sort_by_bytes_as_on_sqlite(
    tmp_path: Path, registers: Registers
) -> None:
    """Migration 0008: the indexed codes in the "C" collation, on the table and its months,
    undone and done again with rows in the register; a page in setl_id order is byte order."""
    from alembic import command

    from ledger.register.opening import _alembic_config

    codes = {"setl_id", "mdtrt_id", "psn_no", "fixmedins_code", "clr_type", "init_setl_id"}
    engine = registers()
    ids = ["b", "B", "_1", "a-2", "~1", "Z", "0"]  # codes are ASCII: its order by bytes
    rows = [_row(setl_id, f"2023-01-{5 + i:02d} 08:00:00") for i, setl_id in enumerate(ids)]
    assert bulk_import(engine, [_write(tmp_path / "s.csv", rows)], user=USER, now=NOW)
    before = _dump(engine)
    config = _alembic_config()
    for target, collation in (("0007", None), ("head", "C")):
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            (command.downgrade if target == "0007" else command.upgrade)(config, target)
        for table in ("settlements", "settlements_2023_01"):
            found = _collations(engine, table)
            assert {name: found[name] for name in codes} == dict.fromkeys(codes, collation)
        assert _dump(engine) == before
    with engine.connect() as conn:
        listed = conn.exec_driver_sql("SELECT setl_id FROM settlements ORDER BY setl_id").all()
    assert [row[0] for row in listed] == sorted(ids, key=lambda s: s.encode("utf-8"))
