"""The books loaded once (ledger/loading.py), and Beancount's errors written as every reader
has always written them: check and close, the fund report, ``mzledger query``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from ledger.loading import error_text, load_books


class _Error(NamedTuple):
    """Shaped as Beancount's errors are."""

    source: dict[str, Any] | None
    message: str
    entry: None = None


def _books(root: Path) -> Path:
    (root / "bank").mkdir()
    main = root / "main.beancount"
    main.write_text(
        'option "title" "测试账簿"\ninclude "bank/2023-03.beancount"\n'
        "2023-01-01 open Assets:Cash\n",
        "utf-8",
    )
    (root / "bank" / "2023-03.beancount").write_text(
        '2023-03-01 * "x" "y"\n  Assets:Cash  1.00 CNY\n', "utf-8"
    )
    return main


def test_a_books_error_names_its_file_as_each_reader_does(tmp_path: Path) -> None:
    books = load_books(_books(tmp_path))
    assert books.title == "测试账簿"
    assert books.main_file == tmp_path / "main.beancount"
    [error] = books.errors
    bank = tmp_path / "bank" / "2023-03.beancount"
    # check and close: the file as Beancount names it
    assert error_text(error) == f"{bank}:1: Transaction does not balance: (1.00 CNY)"
    # the fund report: relative to the books, bank/ not to be confused with clearing/
    assert (
        error_text(error, tmp_path)
        == "bank/2023-03.beancount:1: Transaction does not balance: (1.00 CNY)"
    )
    assert error_text(error, always_placed=True) == error_text(error)


def test_an_error_without_a_place_or_a_line(tmp_path: Path) -> None:
    unplaced = _Error(None, " plugin failed\n")
    assert error_text(unplaced) == " plugin failed\n"
    assert error_text(unplaced, tmp_path) == " plugin failed\n"
    assert error_text(unplaced, always_placed=True) == "?:0: plugin failed"
    no_line = _Error({"filename": "<load>"}, "no line")
    assert error_text(no_line) == "<load>:?: no line"
    assert error_text(no_line, tmp_path) == "<load>:?: no line"
    assert error_text(no_line, always_placed=True) == "<load>:0: no line"
    elsewhere = _Error({"filename": str(tmp_path.parent / "x.beancount"), "lineno": 3}, "m")
    assert error_text(elsewhere, tmp_path) == "x.beancount:3: m"  # outside the books: its name
    assert error_text("not an error") == "not an error"


def test_a_missing_main_file_is_an_error_of_the_load(tmp_path: Path) -> None:
    books = load_books(tmp_path / "nothing.beancount")
    [error] = books.errors
    assert error_text(error) == f'<load>:0: File "{tmp_path / "nothing.beancount"}" does not exist'
    assert books.entries == []
