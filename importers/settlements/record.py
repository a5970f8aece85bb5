"""One settlement result row -> a typed register record, or the problems that refuse it.

Pure: no I/O. The field contract is domain.md section 2 (national platform field codes, 2207
output ``setlinfo``). Money is parsed to ``Decimal`` with at most 2 decimals; an amount with more
decimals is refused, not rounded, because rounding input would be a guess.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from importers.fields import code_problem, text_problem
from ledger.money import ZERO, parse_amount
from ledger.problems import Notice, Problem
from ledger.register.models import MONEY_FIELDS, OTHER_FUND_FIELDS


class TextField(NamedTuple):
    """A text field of the settlement contract and its rule (``importers.fields``)."""

    name: str
    kind: Literal["code", "text", "time"]  # time: typed, checked by its own rule below
    required: bool
    length: int | None  # the platform's maximum, in characters


#: The settlement's text fields, in the order their problems are reported. Lengths: the
#: platform's 2207 setlinfo (``importers.fields``); the audit columns (rx_no, rx_institution,
#: drug_code) are not the platform's: the register's own widths.
TEXT_FIELDS = (
    TextField("setl_id", "code", True, 30),
    TextField("mdtrt_id", "code", True, 30),
    TextField("psn_no", "code", True, 30),
    TextField("psn_type", "code", True, 6),
    TextField("insutype", "code", True, 6),
    TextField("med_type", "code", True, 6),
    TextField("setl_time", "time", True, None),
    TextField("fixmedins_code", "code", True, 30),
    TextField("clr_type", "code", True, 6),
    TextField("clr_optins", "code", True, 6),
    TextField("psn_name", "text", False, 50),
    TextField("certno", "text", False, 50),
    TextField("fixmedins_name", "text", False, 200),
    TextField("fixmedins_type", "code", False, 6),
    TextField("medins_lv", "code", False, 6),
    TextField("clr_way", "code", False, 6),
    TextField("init_setl_id", "code", False, 30),
    TextField("rx_no", "code", False, 40),  # optional audit columns: the prescription of a
    TextField("rx_institution", "code", False, 30),  # pharmacy purchase
    TextField("drug_code", "code", False, 50),
)
REQUIRED_TEXT = tuple(f.name for f in TEXT_FIELDS if f.required)
OPTIONAL_TEXT = tuple(f.name for f in TEXT_FIELDS if not f.required)
REQUIRED_MONEY = (
    "medfee_sumamt",
    "inscp_scp_amt",
    "hifp_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
)
OPTIONAL_MONEY = tuple(f for f in MONEY_FIELDS if f not in REQUIRED_MONEY)
KNOWN_FIELDS = frozenset(
    REQUIRED_TEXT
    + OPTIONAL_TEXT
    + MONEY_FIELDS
    + ("pool_prop_selfpay", "refd_setl_flag", "emergency_flag", "rx_date")
)

# The institution's name, type and level describe the institution, not the settlement: the same
# settlement from a CSV export (which carries them) and a raw 2207 response (which does not) is
# the same row.
DIGEST_FIELDS = KNOWN_FIELDS - {"fixmedins_name", "fixmedins_type", "medins_lv"}

INSUTYPE_EMPLOYEE = "310"  # 职工基本医疗保险: the only fund these books keep
KNOWN_PSN_TYPES = frozenset({"1101", "1102", "1103", "1201", "1202", "1203"})
KNOWN_MED_TYPES = frozenset({"11", "12", "13", "14", "19", "41"})
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)


AMOUNT_RE = re.compile(r"-?\d{1,15}\.\d\d", re.ASCII)  # the usual form: no rounding needed


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


def parse_settlement(
    raw: Mapping[str, Any], location: str
) -> tuple[dict[str, Any] | None, list[Problem], list[Notice]]:
    """Validate one row; return the register record (None if refused), problems, notices."""
    problems: list[Problem] = []
    notices: list[Notice] = []
    record: dict[str, Any] = {}

    def problem(field: str, message: str, found: str = "", expected: str = "") -> None:
        problems.append(Problem(location, field, message, found, expected))

    for rule in TEXT_FIELDS:
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

    for name in MONEY_FIELDS:
        text = _text(raw, name)
        if not text:
            if name in REQUIRED_MONEY:
                problem(name, "required amount is empty", "", "yuan such as 12.34")
            record[name] = ZERO
            continue
        try:
            record[name] = _amount(text)
        except ValueError as exc:
            problem(name, f"not an amount: {exc}", text, "yuan with at most 2 decimals")
            record[name] = ZERO

    ratio = _text(raw, "pool_prop_selfpay")
    record["pool_prop_selfpay"] = None
    if ratio:
        try:
            share = parse_amount(ratio, places=4)
            if not ZERO <= share <= 1:
                raise ValueError("outside 0..1")
            record["pool_prop_selfpay"] = share
        except ValueError as exc:
            problem("pool_prop_selfpay", f"not a ratio: {exc}", ratio, "0 to 1, 4 decimals")

    flag = _text(raw, "refd_setl_flag") or "0"
    if flag not in ("0", "1"):
        problem("refd_setl_flag", "not a refund flag", flag, "0 or 1")
    refund = flag == "1"
    record["refd_setl_flag"] = refund

    emergency = _text(raw, "emergency_flag")
    record["emergency_flag"] = None if not emergency else emergency == "1"
    if emergency not in ("", "0", "1"):
        problem("emergency_flag", "not a flag", emergency, "0, 1 or empty")
    rx_date = _text(raw, "rx_date")
    record["rx_date"] = None
    if rx_date:
        try:
            if not DATE_RE.fullmatch(rx_date):
                raise ValueError
            record["rx_date"] = datetime.date.fromisoformat(rx_date)
        except ValueError:
            problem("rx_date", "not a date", rx_date, "yyyy-MM-dd")

    setl_time = record["setl_time"]
    if setl_time:
        try:
            # fromisoformat alone would take "2023-03-01 08:40+08" (with a zone) or a week date
            if not TIME_RE.fullmatch(setl_time):
                raise ValueError
            when = datetime.datetime.fromisoformat(setl_time)
            record["setl_time"] = when
            record["setl_period"] = setl_time[:7]
        except ValueError:
            problem("setl_time", "not a settlement time", setl_time, TIME_FORMAT)

    if record["insutype"] and record["insutype"] != INSUTYPE_EMPLOYEE:
        problem(
            "insutype",
            "not employee basic medical insurance",
            record["insutype"],
            INSUTYPE_EMPLOYEE,
        )
    if record["fixmedins_type"] not in (None, "1", "2"):
        problem("fixmedins_type", "unknown institution type", record["fixmedins_type"], "1 or 2")
    if record["medins_lv"] not in (None, "1", "2", "3"):
        problem("medins_lv", "unknown hospital level", record["medins_lv"], "1, 2, 3 or empty")
    elif record["fixmedins_type"] == "2" and record["medins_lv"] is not None:
        problem("medins_lv", "a pharmacy has no level", record["medins_lv"], "empty")
    if record["psn_type"] and record["psn_type"] not in KNOWN_PSN_TYPES:
        notices.append(Notice("psn_type", record["psn_type"], "kept; not a code mzledger knows"))
    med_type = record["med_type"]
    if med_type.startswith("2"):
        notices.append(Notice("med_type", med_type, "kept; an in-patient type in outpatient data"))
    elif med_type and med_type not in KNOWN_MED_TYPES:
        notices.append(Notice("med_type", med_type, "kept; not a code mzledger knows"))

    if refund and not record["init_setl_id"]:
        problem("init_setl_id", "a refund must name the settlement it reverses", "", "a setl_id")
    if not refund and record["init_setl_id"]:
        problem(
            "init_setl_id",
            "only a refund names another settlement",
            record["init_setl_id"],
            "empty",
        )

    if not problems:
        _check_amounts(record, refund, problem)
    # Unknown columns are kept as given (domain.md section 2), as text the register can store.
    extra = {
        str(k): _exact(raw, k)
        for k in raw
        if k not in KNOWN_FIELDS and _exact(raw, k) and not str(k).startswith("_")
    }
    for name, value in extra.items():
        wrong = text_problem(value, None)
        if wrong is not None:
            problem(name, *wrong)
    if problems:
        return None, problems, notices
    record["extra"] = extra or None
    return record, problems, notices


def _check_amounts(record: dict[str, Any], refund: bool, problem: Any) -> None:
    for name in MONEY_FIELDS:
        value: Decimal = record[name]
        if refund and value > 0:
            problem(name, "a refund row's amount must not be positive", f"{value}", "<= 0")
        if not refund and value < 0:
            problem(
                name, "negative amount on a settlement that is not a refund", f"{value}", ">= 0"
            )
    funds = ("hifp_pay", *OTHER_FUND_FIELDS)
    _identity(record, "fund_pay_sumamt", funds, problem)
    _identity(
        record, "medfee_sumamt", ("fund_pay_sumamt", "psn_part_amt", "hosp_part_amt"), problem
    )
    _identity(record, "psn_part_amt", ("acct_pay", "acct_mulaid_pay", "psn_cash_pay"), problem)


def _identity(record: dict[str, Any], total: str, parts: tuple[str, ...], problem: Any) -> None:
    expected = sum((record[p] for p in parts), ZERO)
    if record[total] != expected:
        shown = " + ".join(f"{p} {record[p]}" for p in parts if record[p] or p == parts[0])
        problem(
            total,
            "does not add up",
            f"{record[total]}",
            f"{expected} = {shown}",
        )


#: A refund is of the same person at the same institution as the settlement it reverses.
REFUND_MUST_MATCH = ("psn_no", "fixmedins_code")

DIGEST_ORDER = tuple(sorted(DIGEST_FIELDS))

#: A settlement whose visit, institution, person, time and amounts are those of one already in
#: the register under another setl_id is held for a person to decide (ledger.register.models
#: HeldSettlement): a re-export that renumbered an old settlement must not pay it twice. Not
#: refunds: a second refund of one settlement is refused by the refund rules themselves.
SAME_SETTLEMENT_FIELDS = ("mdtrt_id", "fixmedins_code", "psn_no", "setl_time", *MONEY_FIELDS)


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
