"""One settlement result row -> a typed register record, or the problems that refuse it.

Pure: no I/O. The rules are ``importers.settlements.rules``, which the bulk path runs too; here
each is run on one row's values and every problem is named. Money is parsed to ``Decimal``
with at most 2 decimals; an amount with more decimals is refused, not rounded, because
rounding input would be a guess.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from importers.fields import code_problem, text_problem
from importers.settlements.rules import (
    DATE_FORMAT,
    DATE_RE,
    DIGEST_ORDER,
    FLAGS,
    HOSPITAL_LEVELS,
    INSTITUTION_TYPES,
    INSUTYPE_EMPLOYEE,
    KNOWN_FIELDS,
    MONEY_IDENTITIES,
    PHARMACY,
    RATIO_PLACES,
    REQUIRED_MONEY,
    SAME_SETTLEMENT_FIELDS,
    TEXT_FIELDS,
    TIME_FORMAT,
    TIME_RE,
    YUAN_DIGITS,
    TextField,
    code_notice,
)
from ledger.money import ZERO, parse_amount
from ledger.problems import Notice, Problem
from ledger.register.models import MONEY_FIELDS

#: The usual form of an amount, which needs no rounding rule.
AMOUNT_RE = re.compile(rf"-?\d{{1,{YUAN_DIGITS}}}\.\d\d", re.ASCII)


def _exact(raw: Mapping[str, Any], name: str) -> str:
    """A field as the file has it (a JSON or XLSX number as its text)."""
    value = raw.get(name)
    if type(value) is str:
        return value
    return "" if value is None else str(value)


def _text(raw: Mapping[str, Any], name: str) -> str:
    """A typed field's text (an amount, a flag, a time): blanks around it are not its value."""
    return _exact(raw, name).strip()


def _amount(text: str) -> Decimal:
    """``parse_amount``, with a fast path for text already written with exactly 2 decimals."""
    return Decimal(text) if AMOUNT_RE.fullmatch(text) else parse_amount(text)


Report = Callable[..., None]  # (field, message, found="", expected="") -> None


def parse_settlement(
    raw: Mapping[str, Any], location: str
) -> tuple[dict[str, Any] | None, list[Problem], list[Notice]]:
    """Validate one row against ``rules``; return the register record (None if refused), its
    problems and notices. Problems come in the order of the rules, each field's once."""
    problems: list[Problem] = []
    notices: list[Notice] = []
    record: dict[str, Any] = {}

    def problem(field: str, message: str, found: str = "", expected: str = "") -> None:
        problems.append(Problem(location, field, message, found, expected))

    read_text_fields(raw, record, problem)
    read_money_fields(raw, record, problem)
    _read_typed(raw, record, problem)
    _check_codes(record, problem, notices)
    _check_refund_link(record, problem)
    if not problems:
        _check_amounts(record, record["refd_setl_flag"], problem)
    extra = extra_columns(raw, problem)
    if problems:
        return None, problems, notices
    record["extra"] = extra or None
    return record, problems, notices


def read_text_fields(
    raw: Mapping[str, Any],
    record: dict[str, Any],
    problem: Report,
    fields: Sequence[TextField] = TEXT_FIELDS,
) -> None:
    """Codes and free text as the file has them (nothing trimmed), checked by their rule; a
    time is only read here (``read_time`` types it). ``fields``: a rules table in the style of
    ``rules.TEXT_FIELDS`` (the settlement's by default; fee details have their own)."""
    for rule in fields:
        name = rule.name
        value = _text(raw, name) if rule.kind == "time" else _exact(raw, name)
        if not value:
            if rule.required:
                problem(name, "required field is empty", "", "a value")
            record[name] = "" if rule.required else None
            continue
        record[name] = value
        if rule.kind == "code":
            wrong = code_problem(value, rule.length or 0)
        elif rule.kind == "text":
            wrong = text_problem(value, rule.length)
        else:
            continue
        if wrong is not None:
            problem(name, *wrong)


def read_money_fields(
    raw: Mapping[str, Any],
    record: dict[str, Any],
    problem: Report,
    names: Sequence[str] = MONEY_FIELDS,
    required: Sequence[str] = REQUIRED_MONEY,
) -> None:
    """Amounts in yuan with at most 2 decimals, as Decimal (an empty optional one is 0)."""
    for name in names:
        text = _text(raw, name)
        if not text:
            if name in required:
                problem(name, "required amount is empty", "", "yuan such as 12.34")
            record[name] = ZERO
            continue
        try:
            record[name] = _amount(text)
        except ValueError as exc:
            problem(name, f"not an amount: {exc}", text, "yuan with at most 2 decimals")
            record[name] = ZERO


def _read_typed(raw: Mapping[str, Any], record: dict[str, Any], problem: Report) -> None:
    """The ratio, the two flags, the prescription's date and the settlement's time."""
    ratio = _text(raw, "pool_prop_selfpay")
    record["pool_prop_selfpay"] = None
    if ratio:
        try:
            share = parse_amount(ratio, places=RATIO_PLACES)
            if not ZERO <= share <= 1:
                raise ValueError("outside 0..1")
            record["pool_prop_selfpay"] = share
        except ValueError as exc:
            problem("pool_prop_selfpay", f"not a ratio: {exc}", ratio, "0 to 1, 4 decimals")

    flag = _text(raw, "refd_setl_flag") or "0"
    if flag not in FLAGS:
        problem("refd_setl_flag", "not a refund flag", flag, "0 or 1")
    record["refd_setl_flag"] = flag == "1"

    emergency = _text(raw, "emergency_flag")
    record["emergency_flag"] = None if not emergency else emergency == "1"
    if emergency and emergency not in FLAGS:
        problem("emergency_flag", "not a flag", emergency, "0, 1 or empty")
    rx_date = _text(raw, "rx_date")
    record["rx_date"] = None
    if rx_date:
        try:
            if not DATE_RE.fullmatch(rx_date):
                raise ValueError
            record["rx_date"] = datetime.date.fromisoformat(rx_date)
        except ValueError:
            problem("rx_date", "not a date", rx_date, DATE_FORMAT)

    setl_time = record["setl_time"]
    if setl_time and read_time(record, "setl_time", problem):
        record["setl_period"] = setl_time[:7]


def _check_codes(record: dict[str, Any], problem: Report, notices: list[Notice]) -> None:
    """The fund, the institution's type and level; notices for codes kept but not known."""
    if record["insutype"] and record["insutype"] != INSUTYPE_EMPLOYEE:
        problem(
            "insutype",
            "not employee basic medical insurance",
            record["insutype"],
            INSUTYPE_EMPLOYEE,
        )
    kind, level = record["fixmedins_type"], record["medins_lv"]
    if kind is not None and kind not in INSTITUTION_TYPES:
        problem("fixmedins_type", "unknown institution type", kind, "1 or 2")
    if level is not None and level not in HOSPITAL_LEVELS:
        problem("medins_lv", "unknown hospital level", level, "1, 2, 3 or empty")
    elif kind == PHARMACY and level is not None:
        problem("medins_lv", "a pharmacy has no level", level, "empty")
    for name in ("psn_type", "med_type"):
        message = code_notice(name, record[name]) if record[name] else None
        if message is not None:
            notices.append(Notice(name, record[name], message))


def _check_refund_link(record: dict[str, Any], problem: Report) -> None:
    """A refund names the settlement it reverses; nothing else names another settlement."""
    refund, init = record["refd_setl_flag"], record["init_setl_id"]
    if refund and not init:
        problem("init_setl_id", "a refund must name the settlement it reverses", "", "a setl_id")
    if not refund and init:
        problem("init_setl_id", "only a refund names another settlement", init, "empty")


def read_time(record: dict[str, Any], name: str, problem: Report) -> bool:
    """``record[name]``, read as ``yyyy-MM-dd HH:mm:ss`` text, typed as a datetime; False
    (and the problem said) when it is not one. An empty value is left as it is."""
    value = record[name]
    if not value:
        return True
    try:
        if not TIME_RE.fullmatch(value):
            raise ValueError
        record[name] = datetime.datetime.fromisoformat(value)
    except ValueError:
        what = "not a settlement time" if name == "setl_time" else "not a time"
        problem(name, what, value, TIME_FORMAT)
        return False
    return True


def extra_columns(
    raw: Mapping[str, Any], problem: Report, known: frozenset[str] = KNOWN_FIELDS
) -> dict[str, str]:
    """Unknown columns, kept as given (domain.md section 2), as text the register can store."""
    extra = {
        str(k): _exact(raw, k)
        for k in raw
        if k not in known and _exact(raw, k) and not str(k).startswith("_")
    }
    for name, value in extra.items():
        wrong = text_problem(value, None)
        if wrong is not None:
            problem(name, *wrong)
    return extra


def _check_amounts(record: dict[str, Any], refund: bool, problem: Report) -> None:
    for name in MONEY_FIELDS:
        value: Decimal = record[name]
        if refund and value > 0:
            problem(name, "a refund row's amount must not be positive", f"{value}", "<= 0")
        if not refund and value < 0:
            problem(
                name, "negative amount on a settlement that is not a refund", f"{value}", ">= 0"
            )
    for total, parts in MONEY_IDENTITIES:
        _identity(record, total, parts, problem)


def _identity(record: dict[str, Any], total: str, parts: tuple[str, ...], problem: Report) -> None:
    expected = sum((record[p] for p in parts), ZERO)
    if record[total] != expected:
        shown = " + ".join(f"{p} {record[p]}" for p in parts if record[p] or p == parts[0])
        problem(
            total,
            "does not add up",
            f"{record[total]}",
            f"{expected} = {shown}",
        )


def same_settlement_key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """What two settlements share when one may be the other renumbered."""
    return tuple(record[name] for name in SAME_SETTLEMENT_FIELDS)


def _comparable(value: Any) -> Any:
    """A field's value as a stored row gives it back: empty text is no value, and text that
    the register stores typed (a time, a date, an amount, a flag) is read as that type."""
    if value is None or value == "":
        return None
    return value


def _same_value(first: Any, second: Any) -> bool:
    first, second = _comparable(first), _comparable(second)
    if first == second:
        return True
    if first is None or second is None:
        return False
    if isinstance(first, str) and not isinstance(second, str):
        first, second = second, first
    if not isinstance(second, str):
        return False  # two typed values that differ (Decimal 12.3 == 12.30 compared equal)
    text = second.strip()
    try:
        if isinstance(first, bool):
            return text in ("0", "1") and first == (text == "1")
        if isinstance(first, datetime.datetime):
            return first == datetime.datetime.fromisoformat(text)
        if isinstance(first, datetime.date):
            return first == datetime.date.fromisoformat(text)
        if isinstance(first, Decimal | int):
            return first == Decimal(text)
    except (ValueError, ArithmeticError):
        return False
    return False


def differing_fields(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """The contract fields in which two versions of a settlement differ, by value: the same
    settlement from a CSV export and a raw 2207 response, or as the register stored it, has
    none. Only the contract's fields count: extra columns differ between export formats (a
    full 2207 setlinfo has dozens more) and do not make the settlement another one."""
    return [name for name in DIGEST_ORDER if not _same_value(first.get(name), second.get(name))]
