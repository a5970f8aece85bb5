"""`mzledger synth`: the generator at scale from the command line (small sizes here)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mzledger.synth import CitySpec, _month_counts, parse_months, write_city
from tests.conftest import Cli


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_arguments_same_bytes(cli: Cli, tmp_path: Path) -> None:
    args = ("--persons", "80", "--settlements", "250", "--institutions", "9", "--seed", "5")
    _code, stdout, _err = cli("synth", *args, "--months", "2022-12..2023-02", "a")
    cli("synth", *args, "--months", "2022-12,2023-01,2023-02", "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b
    months = ("2022-12", "2023-01", "2023-02")
    assert {f"settlements-{m}.csv" for m in months} | {
        "institutions.csv", "persons.csv", "planted.json", "bank-accounts.json",
    } <= set(a)  # fmt: skip
    assert json.loads(a["planted.json"])  # mistakes are planted by default
    # one line per file, then the total
    lines = stdout.splitlines()
    assert lines[0].startswith("institutions.csv: 11 rows (")
    assert any(line.startswith("settlements-2023-01.csv: ") for line in lines)
    rows = sum(
        len(list(csv.reader(a[f"settlements-{m}.csv"].decode().splitlines()))) - 1 for m in months
    )
    assert lines[-1].startswith(f"{rows:,} settlement rows in ")
    assert "rows/s" in lines[-1]
    cli("synth", *args, "--months", "2022-12..2023-02", "--seed", "6", "c")
    assert _files(tmp_path / "c")["settlements-2023-01.csv"] != a["settlements-2023-01.csv"]


def test_defaults_are_the_demo_city(cli: Cli, tmp_path: Path) -> None:
    cli("synth", "cli")
    write_city(CitySpec(), tmp_path / "lib")
    assert _files(tmp_path / "cli") == _files(tmp_path / "lib")


def test_no_mistakes(cli: Cli, tmp_path: Path) -> None:
    cli("synth", "--settlements", "60", "--months", "2023-01", "--no-mistakes", "out")
    assert json.loads((tmp_path / "out" / "planted.json").read_text("utf-8")) == []
    assert sorted(p.name for p in (tmp_path / "out").glob("settlements-*")) == [
        "settlements-2023-01.csv"
    ]


def test_months_and_the_split() -> None:
    assert parse_months("2023-11..2024-02") == ("2023-11", "2023-12", "2024-01", "2024-02")
    assert parse_months("2023-05") == parse_months("2023-05..2023-05") == ("2023-05",)
    assert parse_months("2023-01, 2023-03") == ("2023-01", "2023-03")
    assert len(parse_months("2022-12..2023-12")) == 13
    spec = CitySpec(months=parse_months("2023-01..2023-03"), settlements=10)
    assert _month_counts(spec) == [4, 3, 3]
    assert _month_counts(CitySpec(months=("2023-01",), settlements=7)) == [7]
    assert _month_counts(CitySpec(settlements_per_month=5)) == [5, 5, 5, 5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--months", "2023-13"), "--months: not a month (found '2023-13', expected YYYY-MM)"),
        (("--months", "2023-02..2023-01"), "--months: 2023-02..2023-01: the last month comes"),
        (("--months", "2023-02,2023-01"), "--months: months must be in ascending order"),
        (("--months", "2023-01,2023-01"), "--months: months must be in ascending order"),
        (("--months", "2023-1..2023-03"), "--months: not a month (found '2023-1'"),
        # year 0 is no month (it used to pass here and end in a traceback from datetime)
        (("--months", "0000-12..0001-01"), "--months: not a month (found '0000-12'"),
        (("--persons", "0"), "--persons: from 1 to 100,000,000 (found 0)"),
        (("--institutions", "3"), "--institutions: at least 4 (found 3)"),
        (("--settlements", "-1"), "--settlements: at least 0 (found -1)"),
    ],
)
def test_bad_arguments_exit_1_with_a_message(
    cli: Cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    _code, stdout, err = cli("synth", *args, "out", expect=1)
    assert err.startswith(message) and len(err.splitlines()) == 1
    assert "Traceback" not in err + stdout
    assert not (tmp_path / "out").exists()


def test_unwritable_directory_is_a_message(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file", "utf-8")
    _code, _out, err = cli("synth", "--settlements", "10", "taken", expect=1)
    assert "cannot write" in err and "Traceback" not in err
