"""One fee-detail row -> a typed ``fee_details`` record, or the problems that refuse it.

Pure: no I/O. The readers are the settlement row path's (``importers.settlements.record``),
run over the fee-detail rules table (``importers.fee_details.rules``): codes printable ASCII,
text as given, amounts Decimal with at most 2 decimals, the time ``yyyy-MM-dd HH:mm:ss``,
unknown columns kept. Quantities are read with their own places (cnt 4, pric 6, prd_days 2),
more refused, never rounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from importers.fee_details.rules import (
    FEE_FIELDS,
    FEE_TEXT_FIELDS,
    QUANTITIES,
    QUANTITY_DIGITS,
    REQUIRED_FEE_MONEY,
    SELF_PAY_PARTS,
)
from importers.lists import line_of
from importers.settlements.record import (
    extra_columns,
    read_money_fields,
    read_text_fields,
    read_time,
)
from ledger.charge_items import MED_CHRGITM_TYPES
from ledger.money import parse_amount
from ledger.problems import Notice, Problem
from ledger.register.models import FEE_MONEY_FIELDS

UNKNOWN_CATEGORY = "kept; not a code of the national list 医疗收费项目类别"
_DIGITS = re.compile(rf"\d{{1,{QUANTITY_DIGITS}}}(\.\d*)?", re.ASCII)


def parse_fee_detail(
    raw: Mapping[str, Any], location: str
) -> tuple[dict[str, Any] | None, list[Problem], list[Notice]]:
    """Validate one row; the record (None if refused), its problems and notices."""
    problems: list[Problem] = []
    notices: list[Notice] = []
    record: dict[str, Any] = {}

    def problem(field: str, message: str, found: str = "", expected: str = "") -> None:
        problems.append(Problem(location, field, message, found, expected))

    read_text_fields(raw, record, problem, FEE_TEXT_FIELDS)
    before = len(problems)
    read_money_fields(raw, record, problem, FEE_MONEY_FIELDS, REQUIRED_FEE_MONEY)
    amounts_read = len(problems) == before
    occurred = record["fee_ocur_time"]
    if occurred and read_time(record, "fee_ocur_time", problem):
        record["fee_period"] = occurred[:7]
    for name, places, required in QUANTITIES:
        record[name] = _quantity(raw, name, places, required, problem)
    if amounts_read:
        _check_amounts(record, problem)
    category = record["med_chrgitm_type"]
    if category and category not in MED_CHRGITM_TYPES:
        notices.append(Notice("med_chrgitm_type", category, UNKNOWN_CATEGORY))
    extra = extra_columns(raw, problem, FEE_FIELDS)
    if problems:
        return None, problems, notices
    record["extra"] = extra or None
    record["line"] = line_of(location)
    return record, problems, notices


def _quantity(
    raw: Mapping[str, Any], name: str, places: int, required: bool, problem: Any
) -> Decimal | None:
    value = raw.get(name)
    text = ("" if value is None else str(value)).strip()
    if not text:
        if required:
            problem(name, "required quantity is empty", "", f"a number, at most {places} decimals")
        return None
    expected = f"a number not below 0 with at most {places} decimals"
    if not _DIGITS.fullmatch(text):
        problem(name, "not a quantity", text, expected)
        return None
    try:
        return parse_amount(text, places=places)
    except ValueError as exc:
        problem(name, f"not a quantity: {exc}", text, expected)
        return None


def _check_amounts(record: dict[str, Any], problem: Any) -> None:
    """No amount below 0 (a revoked item is revoked on the platform, 2205, not sent negative);
    no self-pay part above the item's total."""
    for name in FEE_MONEY_FIELDS:
        if record[name] < 0:
            problem(name, "negative amount", f"{record[name]}", ">= 0")
    total = record["det_item_fee_sumamt"]
    for name in SELF_PAY_PARTS:
        if record[name] > total:
            problem(
                name,
                "more than the item's total",
                f"{record[name]}",
                f"at most det_item_fee_sumamt {total}",
            )


__all__ = ["UNKNOWN_CATEGORY", "parse_fee_detail"]
