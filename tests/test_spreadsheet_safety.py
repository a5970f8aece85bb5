"""Formula injection (OWASP "CSV injection"): text from the exports that begins like a formula
reaches a spreadsheet as text. XLSX: a text cell, never a formula (the report's own check
formulas are the only formulas); CSV: a leading ``'``, while the amounts stay numbers.

Names and codes come in as JSON Lines, which every list and export reader takes, so that the
double quotes of ``=HYPERLINK("http://x")`` need no CSV quoting on the way in.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ledger.books import open_books_register_readonly
from reports.audit.findings import AuditResult, Finding
from reports.audit.output import as_csv, as_xlsx
from reports.fava import batches
from tests.conftest import Cli, settlement

LINK = '=HYPERLINK("http://x")'
#: Institution names, one for each first character a spreadsheet reads as a formula; the import
#: strips leading tabs and carriage returns, which the unit test below covers.
NAMES = {"H1": LINK, "H2": "+86 诊所", "H3": "-医院", "H4": "@SUM(1+1)*cmd|' /C calc'!A0"}


def _jsonl(path: Path, rows: list[dict[str, str]]) -> str:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    return path.name


def _institutions(cli: Cli, names: dict[str, str]) -> None:
    rows = [
        {
            "fixmedins_code": code,
            "fixmedins_name": name,
            "fixmedins_type": "1",
            "medins_lv": "1",
            "spec_hosp": "0",
            "admdvs": "",
        }
        for code, name in names.items()
    ]
    cli("import", "institutions", _jsonl(cli.cwd / "institutions.jsonl", rows), "--books", "books")


def _refund_of(row: dict[str, str], setl_id: str) -> dict[str, str]:
    """The refund of ``row``: every amount negated, refd_setl_flag 1, naming its original."""
    amounts = ("amt", "_pay", "selfpay", "_dedc")
    refund = {k: (f"{-Decimal(v):.2f}" if k.endswith(amounts) and v else v) for k, v in row.items()}
    refund.update(setl_id=setl_id, refd_setl_flag="1", init_setl_id=row["setl_id"])
    return refund


def _cells(path: Path) -> list[tuple[str, Any]]:
    """(sheet title, cell) of every cell of the workbook, as openpyxl reads it back."""
    workbook = openpyxl.load_workbook(path)
    return [(sheet.title, cell) for sheet in workbook for row in sheet.iter_rows() for cell in row]


def _assert_text_cells(cells: list[tuple[str, Any]], texts: set[str]) -> None:
    """Each text is in some cell, exactly, as a text cell with Excel's quote prefix."""
    for text in texts:
        found = [cell for _, cell in cells if cell.value == text]
        assert found, text
        assert all(cell.data_type == "s" and cell.quotePrefix for cell in found), text


def test_month_report_writes_institution_names_as_text(cli: Cli) -> None:
    cli("init", "books")
    _institutions(cli, NAMES)
    rows = [
        settlement(f"S{n}", f"Q{n}", "2023-01-05 09:00:00", code, "100.00", "30.00", acct="10.00")
        for n, code in enumerate(NAMES)
    ]
    cli("import", "settlements", _jsonl(cli.cwd / "s.jsonl", rows), "--books", "books")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    cli("report", "--period", "2023-02", "--books", "books")

    cells = _cells(cli.cwd / "books" / "reports" / "2023-02" / "fund-report-2023-02.xlsx")
    _assert_text_cells(cells, set(NAMES.values()))
    assert {title for title, cell in cells if cell.value == LINK} >= {
        title for title, _ in cells if title.startswith("明细账")
    }
    # the only formulas are the report's own checks, in the 公式核对 column K of two sheets
    formulas = [(title, cell) for title, cell in cells if cell.data_type == "f"]
    assert {title for title, _ in formulas} == {"月报", "科目余额表"}
    for _title, cell in formulas:
        assert cell.column_letter == "K" and re.match(r"=(IF|ROUND)\(", cell.value), cell.value
        assert "HYPERLINK" not in cell.value


@pytest.fixture
def audited(cli: Cli) -> Cli:
    """One settlement whose id, person number and institution code begin like formulas, and
    whose platform payment is 12.30 short of the rules' (500-300) x 60 % = 120.00."""
    cli("init", "books")
    _institutions(cli, {"@H1": "一号医院"})
    row = settlement(LINK, "+Q1", "2023-01-05 09:00:00", "@H1", "500.00", "107.70")
    row.update(act_pay_dedc="300.00", mdtrt_id="-M1")
    cli("import", "settlements", _jsonl(cli.cwd / "s.jsonl", [row]), "--books", "books")
    return cli


def test_audit_xlsx_has_no_formula(audited: Cli) -> None:
    audited(
        "audit",
        "--period",
        "2023-01",
        "--format",
        "xlsx",
        "--out",
        "f.xlsx",
        "--books",
        "books",
        expect=3,
    )
    cells = _cells(audited.cwd / "f.xlsx")
    assert [cell.coordinate for _, cell in cells if cell.data_type == "f"] == []
    _assert_text_cells(cells, {LINK, "+Q1", "@H1"})
    (difference,) = [cell for title, cell in cells if title == "稽核发现" and cell.row == 2][8:9]
    assert difference.data_type == "n" and Decimal(str(difference.value)) == Decimal("-12.30")


def test_audit_csv_quotes_text_and_keeps_amounts(audited: Cli) -> None:
    audited(
        "audit",
        "--period",
        "2023-01",
        "--format",
        "csv",
        "--out",
        "f.csv",
        "--books",
        "books",
        expect=3,
    )
    text = (audited.cwd / "f.csv").read_text("utf-8")
    assert '"\'=HYPERLINK(""http://x"")"' in text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert (row["setl_id"], row["psn_no"], row["institution"]) == ("'" + LINK, "'+Q1", "'@H1")
    assert (row["reported_hifp_pay"], row["expected_hifp_pay"], row["difference"]) == (
        "107.70",
        "120.00",
        "-12.30",
    )
    assert row["setl_time"] == "2023-01-05 09:00:00"


def test_audit_outputs_with_tab_and_carriage_return() -> None:
    """Every first character of the rule, including the two the importers strip."""
    starts = ["=1+1", "+1", "-1", "@A1", "\t=1+1", "\r=1+1"]
    result = AuditResult("2023-01")
    result.findings = [
        Finding(
            "benefit-mismatch",
            text,
            "Q1",
            "H1",
            datetime.datetime(2023, 1, 5, 9),
            None,
            Decimal("107.70"),
            Decimal("120.00"),
        )
        for text in starts
    ]
    rows = list(csv.DictReader(io.StringIO(as_csv(result))))
    assert [row["setl_id"] for row in rows] == ["'" + text for text in starts]
    assert {row["difference"] for row in rows} == {"-12.30"}
    workbook = openpyxl.load_workbook(io.BytesIO(as_xlsx(result)))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    column = [cell for cell in workbook["稽核发现"]["B"]][1:]
    assert [cell.value for cell in column] == starts
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in column)


def test_fava_batch_csv_quotes_text_and_keeps_amounts(cli: Cli) -> None:
    cli("init", "books")
    _institutions(cli, {"H1": "一号医院"})
    paid = settlement(LINK, "+Q1", "2023-01-05 09:00:00", "H1", "100.00", "12.30")
    paid.update(fixmedins_name="@诊所", mdtrt_id="-M1")
    rows = [paid, _refund_of(paid, "-R1")]
    rows.append(settlement("S2", "Q2", "2023-01-06 09:00:00", "H1", "200.00", "50.00"))
    cli("import", "settlements", _jsonl(cli.cwd / "s.jsonl", rows), "--books", "books")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    engine = open_books_register_readonly(cli.cwd / "books")
    try:
        (batch,) = batches.list_batches(engine, 1, 10).items
        text = "".join(batches.iter_batch_csv(engine, batch.id))
    finally:
        engine.dispose()
    assert '"\'=HYPERLINK(""http://x"")"' in text
    by_id = {row["setl_id"]: row for row in csv.DictReader(io.StringIO(text[1:]))}
    assert set(by_id) == {"'" + LINK, "'-R1", "S2"}
    refund = by_id["'-R1"]
    assert (refund["init_setl_id"], refund["psn_no"], refund["mdtrt_id"]) == (
        "'" + LINK,
        "'+Q1",
        "'-M1",
    )
    assert refund["fixmedins_name"] == "'@诊所"
    assert (refund["hifp_pay"], refund["medfee_sumamt"]) == ("-12.30", "-100.00")
    assert refund["setl_time"] == "2023-01-05 09:00:00" and refund["refd_setl_flag"] == "1"
    assert by_id["S2"]["fixmedins_code"] == "H1" and by_id["S2"]["hifp_pay"] == "50.00"


def test_query_csv_quotes_text_and_keeps_amounts() -> None:
    """``mzledger query --format csv``: a payee or narration is text, an amount a number."""
    from beancount.core.amount import Amount

    from reports.query import QueryColumn, QueryResult
    from reports.query import as_csv as query_csv

    result = QueryResult(
        columns=(
            QueryColumn("payee", "str"),
            QueryColumn("narration", "str"),
            QueryColumn("number", "decimal"),
            QueryColumn("position", "amount"),
        ),
        rows=((LINK, "-退费\r=1+1", Decimal("-12.30"), Amount(Decimal("-12.30"), "CNY")),),
    )
    text = query_csv(result)
    # the CR inside the narration is quoted: one field, not a new row starting "=1+1"
    assert '"\'=HYPERLINK(""http://x"")","\'-退费\r=1+1",-12.30,-12.30 CNY\r\n' in text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row == {
        "payee": "'" + LINK,
        "narration": "'-退费\r=1+1",
        "number": "-12.30",
        "position": "-12.30 CNY",
    }
