"""Input an attacker, or a careless re-export, would send: codes spelled another way, control
characters, field lengths, doubled quotes, and settlements renumbered to be paid again.

Each of these was accepted, or changed, or crashed PostgreSQL, before: the tests name what
was wrong. The register is checked on SQLite and PostgreSQL (the ``books`` fixture).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from beancount import loader as beancount_loader
from beancount.core import data
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from importers.fields import character_name, code_problem
from ledger.books import Books
from ledger.register.models import MONEY_FIELDS, HeldSettlement, Institution, Settlement
from ledger.register.opening import open_register, resolve_url
from tests.conftest import Cli, settlement, write_csv

HEADER_EXTRA = {"fixmedins_name": "示例医院", "fixmedins_type": "1", "medins_lv": "1"}


def _month(prefix: str = "X") -> list[dict[str, str]]:
    """Eight settlements of one month at one hospital that describes itself."""
    return [
        settlement(
            f"{prefix}{i:012d}",
            f"Q{i % 3:09d}",
            f"2023-01-{i + 2:02d} 09:00:00",
            "H21030101",
            f"{100 + i}.00",
            f"{30 + i}.00",
            mdtrt_id=f"XM{i:011d}",
            acct="10.00",
            **HEADER_EXTRA,
        )
        for i in range(8)
    ]


def _engine(books: Path) -> Engine:
    return open_register(resolve_url(Books(books).read_config().db_url, books))


def _count(engine: Engine, model: type[Settlement] | type[HeldSettlement]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_the_same_settlements_spelled_otherwise_are_refused(books: Path, cli: Cli) -> None:
    """A zero-width space after every setl_id, then a full-width first letter: both files
    were taken, and the register held 24 settlements for 8, three times the money."""
    rows = _month()
    write_csv(cli.cwd / "month.csv", rows)
    write_csv(cli.cwd / "zwsp.csv", [{**r, "setl_id": r["setl_id"] + "\u200b"} for r in rows])
    write_csv(
        cli.cwd / "fullwidth.csv",
        [{**r, "setl_id": chr(ord(r["setl_id"][0]) + 0xFEE0) + r["setl_id"][1:]} for r in rows],
    )
    cli("import", "settlements", "month.csv", "--books", "books")
    _code, _out, err = cli("import", "settlements", "zwsp.csv", "--books", "books", expect=1)
    assert (
        "zwsp.csv:2: setl_id: not a platform code: U+200B ZERO WIDTH SPACE at position 14 "
        "(found 'X000000000000\\u200b'"
    ) in err
    _code, _out, err = cli("import", "settlements", "fullwidth.csv", "--books", "books", expect=1)
    assert (
        "fullwidth.csv:2: setl_id: not a platform code: U+FF38 FULLWIDTH LATIN CAPITAL LETTER X "
        "at position 1"
    ) in err
    assert "refused: 8 problems; nothing was imported" in err
    engine = _engine(books)
    assert _count(engine, Settlement) == 8
    engine.dispose()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "mdtrt_id",
            "XM0000\x0000000",
            "not a platform code: U+0000 a control character at position 7",
        ),
        ("psn_no", "Q 00000001", "not a platform code: U+0020 SPACE at position 2"),
        (
            "fixmedins_code",
            "H2103\u00a00101",
            "not a platform code: U+00A0 NO-BREAK SPACE at position 6",
        ),
        ("clr_optins", "2103000", "longer than the platform's 6 characters"),
        ("setl_id", "X" * 31, "longer than the platform's 30 characters"),
        ("certno", "1" * 51, "longer than the platform's 50 characters"),
        ("psn_name", "张\x00三", "U+0000 a control character at position 2"),
    ],
)
def test_codes_take_printable_ascii_and_every_field_its_length(
    books: Path, cli: Cli, field: str, value: str, message: str
) -> None:
    """A NUL inside an mdtrt_id was stored (SQLite's length() then said 6); a 45-character
    certno or a 7-character clr_optins made PostgreSQL's import die with a traceback."""
    rows = _month()
    rows[3][field] = value
    write_csv(cli.cwd / "bad.csv", rows)
    _code, _out, err = cli("import", "settlements", "bad.csv", "--books", "books", expect=1)
    assert f"bad.csv:5: {field}: {message}" in err
    assert "Traceback" not in err
    engine = _engine(books)
    assert _count(engine, Settlement) == 0
    engine.dispose()


def test_a_certno_as_long_as_the_platform_allows_is_kept(books: Path, cli: Cli) -> None:
    rows = _month()
    rows[0]["certno"] = "P" * 45
    rows[1]["certno"] = "Z" * 50
    write_csv(cli.cwd / "long.csv", rows)
    cli("import", "settlements", "long.csv", "--books", "books")
    engine = _engine(books)
    with engine.connect() as conn:
        kept = conn.execute(
            select(Settlement.certno).where(Settlement.setl_id.in_([r["setl_id"] for r in rows]))
        ).scalars()
        assert {"P" * 45, "Z" * 50} <= set(kept)
    engine.dispose()


NAMES = ('鞍山市"中心"医院', '=HYPERLINK("http://x")', " 前后有空格 ", "a,b;c|d\te")


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "rows"])
def test_text_is_stored_as_the_csv_writer_wrote_it(
    books: Path, cli: Cli, bulk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``"鞍山市""中心""医院"`` was stored as 鞍山市"中心""医院": the sniffer read a header
    without quotes as a dialect without doubled quotes. The books printed the wrong payee."""
    if not bulk:
        import importers.settlements.bulk_loader

        monkeypatch.setattr(importers.settlements.bulk_loader, "bulk_import", lambda *a, **k: None)
    rows = _month()[:4]
    for row, name in zip(rows, NAMES, strict=True):
        row["fixmedins_code"] = f"H{NAMES.index(name)}"
        row["fixmedins_name"] = name
        row["psn_name"] = name
    write_csv(cli.cwd / "quoted.csv", rows)
    cli("import", "settlements", "quoted.csv", "--books", "books")
    engine = _engine(books)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Settlement.setl_id, Settlement.psn_name)).all())
        institutions = dict(conn.execute(select(Institution.code, Institution.name)).all())
    engine.dispose()
    assert stored == {row["setl_id"]: row["psn_name"] for row in rows}
    assert institutions == {row["fixmedins_code"]: row["fixmedins_name"] for row in rows}
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    entries, errors, _options = beancount_loader.load_file(str(books / "main.beancount"))
    assert errors == []
    payees = {e.payee for e in entries if isinstance(e, data.Transaction)}
    assert payees == set(NAMES)


def test_a_renumbered_repeat_is_held_and_decided_by_a_person(books: Path, cli: Cli) -> None:
    """A re-export that gives old settlements new setl_ids must not pay them again: the rows
    are held back, listed, and only a person's decision (with a reason) brings one in."""
    rows = _month()
    write_csv(cli.cwd / "month.csv", rows)
    write_csv(cli.cwd / "again.csv", [{**r, "setl_id": "R" + r["setl_id"][1:]} for r in rows])
    cli("import", "settlements", "month.csv", "--books", "books")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    clearing = (books / "clearing" / "2023-01.beancount").read_bytes()
    _code, out, err = cli("import", "settlements", "again.csv", "--books", "books")
    assert "again.csv: 8 rows, 0 imported" in out and "8 held for a decision" in out
    assert (
        "held: again.csv:2: setl_id R000000000000 has the visit, institution, person, time and "
        "amounts of settlement X000000000000 (month.csv:2)"
    ) in err
    engine = _engine(books)
    assert (_count(engine, Settlement), _count(engine, HeldSettlement)) == (8, 8)
    # nothing reaches the books: posting again finds nothing new
    _code, _out, err = cli(
        "post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books", "--replace"
    )
    assert "note: 2023-01: 8 settlements held for a decision, not in its batches" in err
    assert (books / "clearing" / "2023-01.beancount").read_bytes() == clearing
    _code, out, _err = cli("held", "list", "--books", "books")
    assert "R000000000007" in out and "X000000000007" in out and "held" in out

    _code, _out, err = cli(
        "held", "accept", "R000000000000", "--reason", "", "--books", "books", expect=1
    )
    assert "a decision needs a reason" in err
    cli("held", "reject", "R000000000001", "--reason", "重复导出", "--books", "books")
    cli("held", "accept", "R000000000000", "--reason", "同一就诊的第二次结算", "--books", "books")
    _code, _out, err = cli(
        "held", "accept", "R000000000001", "--reason", "x", "--books", "books", expect=1
    )
    assert "already rejected by" in err
    assert (_count(engine, Settlement), _count(engine, HeldSettlement)) == (9, 8)
    with engine.connect() as conn:
        decided = conn.execute(
            select(HeldSettlement.setl_id, HeldSettlement.status, HeldSettlement.reason).where(
                HeldSettlement.status != "held"
            )
        ).all()
    assert sorted(decided) == [
        ("R000000000000", "accepted", "同一就诊的第二次结算"),
        ("R000000000001", "rejected", "重复导出"),
    ]
    # the accepted one is a late settlement of its month: `post --replace` books it
    _code, _out, err = cli("check", "--books", "books")
    assert "2023-01: 1 settlements imported after the period was posted" in err
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books", "--replace")
    assert "结算9笔" in (books / "clearing" / "2023-01.beancount").read_text("utf-8")
    # the same re-export, in another file, finds its rows held or decided already
    shutil.copyfile(cli.cwd / "again.csv", cli.cwd / "again-2.csv")
    with (cli.cwd / "again-2.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    _code, out, _err = cli("import", "settlements", "again-2.csv", "--books", "books")
    assert "1 already in the register (identical, skipped), 7 held before (skipped)" in out
    assert (_count(engine, Settlement), _count(engine, HeldSettlement)) == (9, 8)
    engine.dispose()


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "rows"])
def test_a_repeat_inside_one_file_is_held(
    books: Path, cli: Cli, bulk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not bulk:
        import importers.settlements.bulk_loader

        monkeypatch.setattr(importers.settlements.bulk_loader, "bulk_import", lambda *a, **k: None)
    rows = _month()
    rows.append({**rows[2], "setl_id": "Y000000000002"})
    path = write_csv(cli.cwd / "twice.csv", rows)
    _code, out, err = cli("import", "settlements", path.name, "--books", "books")
    assert "9 rows, 8 imported" in out and "1 held for a decision" in out
    assert "twice.csv:10: setl_id Y000000000002" in err and "(twice.csv:4)" in err


def test_a_refund_repeated_is_refused_not_held(books: Path, cli: Cli) -> None:
    rows = _month()[:2]
    refund = {
        **rows[0],
        "setl_id": "F1",
        "refd_setl_flag": "1",
        "init_setl_id": rows[0]["setl_id"],
        "setl_time": "2023-01-20 10:00:00",
    }
    for name in MONEY_FIELDS:
        if rows[0].get(name, "") not in ("", "0.00"):
            refund[name] = "-" + rows[0][name]
    write_csv(cli.cwd / "r.csv", [*rows, refund, {**refund, "setl_id": "F2"}])
    _code, _out, err = cli("import", "settlements", "r.csv", "--books", "books", expect=1)
    assert "init_setl_id: already refunded by F1" in err


def test_a_month_with_a_held_settlement_cannot_close(books: Path, cli: Cli) -> None:
    import json

    rows = _month()
    write_csv(cli.cwd / "month.csv", rows)
    write_csv(cli.cwd / "again.csv", [{**rows[0], "setl_id": "R1"}])
    cli("import", "settlements", "month.csv", "again.csv", "--books", "books")

    def held_check() -> dict[str, object]:
        cli("close", "2023-01", "--books", "books", expect=None)
        summary = json.loads((books / "close" / "2023-01.json").read_text("utf-8"))
        [check] = [c for c in summary["checks"] if c["name"] == "held-settlements-decided"]
        return dict(check)

    check = held_check()
    assert check["ok"] is False
    assert "R1 (same as X000000000000, pooled 30.00) is held for a decision" in str(
        check["details"]
    )
    cli("held", "reject", "R1", "--reason", "重复导出", "--books", "books")
    assert held_check() == {"name": "held-settlements-decided", "ok": True, "details": []}


@given(st.text(st.characters(max_codepoint=0x3000), max_size=12), st.integers(0, 12))
def test_a_code_is_printable_ascii_without_spaces_and_not_too_long(value: str, length: int) -> None:
    """code_problem's fast path (str methods) says what its character loop says: a problem
    exactly when a character is outside U+0021..U+007E (named, with its position) or the code
    is longer than its rule."""
    wrong = code_problem(value, length)
    bad = [(n, c) for n, c in enumerate(value, start=1) if not 0x21 <= ord(c) <= 0x7E]
    if bad:
        position, char = bad[0]
        assert wrong is not None
        assert (
            wrong.message == f"not a platform code: {character_name(char)} at position {position}"
        )
    elif len(value) > length:
        assert (
            wrong is not None and wrong.message == f"longer than the platform's {length} characters"
        )
    else:
        assert wrong is None
