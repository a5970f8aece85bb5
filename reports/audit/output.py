"""Audit findings as a table, JSON, CSV or XLSX (with Chinese headings)."""

from __future__ import annotations

import io
from typing import Any

from reports.audit.findings import RULES, AuditResult, dump_findings
from reports.spreadsheet import csv_text, csv_writer, row_cells

COLUMNS = (
    ("rule", "规则"),
    ("setl_id", "结算ID"),
    ("psn_no", "人员编号"),
    ("institution", "定点医药机构"),
    ("setl_time", "结算时间"),
    ("batch", "清算批次"),
    ("reported_hifp_pay", "统筹支付(上报)"),
    ("expected_hifp_pay", "统筹支付(重算)"),
    ("difference", "差额"),
    ("article", "依据"),
    ("explanation_zh", "说明"),
    ("explanation_en", "explanation"),
    ("evidence", "计算过程/证据"),
)
MONEY = frozenset({"reported_hifp_pay", "expected_hifp_pay", "difference"})
#: Columns the audit formats itself: the amounts (a difference can be negative) and the
#: settlement time. Every other column is text from the exports, or carries some, and goes
#: through ``csv_text``.
FORMATTED = MONEY | {"setl_time"}


def _evidence_text(evidence: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in evidence.items())


def as_json(result: AuditResult) -> str:
    return dump_findings(result.findings)


def as_csv(result: AuditResult) -> str:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([name for name, _ in COLUMNS])
    for finding in result.findings:
        row = finding.as_dict()
        row["evidence"] = _evidence_text(row["evidence"])
        writer.writerow([_csv_field(name, row[name]) for name, _ in COLUMNS])
    return buffer.getvalue()


def _csv_field(name: str, value: str | None) -> str:
    if value is None:
        return ""
    return value if name in FORMATTED else csv_text(value)


def as_xlsx(result: AuditResult) -> bytes:
    """Findings sheet (frozen header, money as numbers with 2 decimals) and a summary sheet."""
    from decimal import Decimal

    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "稽核发现"
    sheet.append(row_cells(sheet, [title for _, title in COLUMNS]))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for finding in result.findings:
        row: dict[str, Any] = finding.as_dict()
        row["evidence"] = _evidence_text(row["evidence"])
        values = [
            Decimal(row[name]) if name in MONEY and row[name] is not None else row[name]
            for name, _ in COLUMNS
        ]
        sheet.append(row_cells(sheet, values))
        for index, (name, _) in enumerate(COLUMNS, start=1):
            if name in MONEY:
                sheet.cell(row=sheet.max_row, column=index).number_format = "#,##0.00"
    summary = workbook.create_sheet("汇总")
    summary.append(row_cells(summary, ["规则", "依据", "说明", "发现数"]))
    counts = result.by_rule()
    for rule, (article, zh, _en) in RULES.items():
        summary.append(row_cells(summary, [rule, article, zh, counts.get(rule, 0)]))
    summary.append(row_cells(summary, ["期间", result.period]))
    summary.append(row_cells(summary, ["结算笔数", result.settlements]))
    summary.append(row_cells(summary, ["重算笔数", result.recomputed]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
