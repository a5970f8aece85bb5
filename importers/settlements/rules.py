"""The settlement contract's rules, written once (结算数据校验规则).

The row path (``record.parse_settlement``) runs them value by value and names every problem with
its line; the bulk path (``bulk_reader.validate_block``) runs the same table over whole columns
and hands any file it would not take exactly so to the row path. So a rule changed here changes
both, and the two cannot drift apart: the fields and their kinds, the code lists, the money
identities, the sign rules, what a refund must share with the settlement it reverses and what
makes two settlements one settlement renumbered.

The field contract is domain.md section 2 (national platform field codes, 2207 output
``setlinfo``); lengths are the platform's (``importers.fields``).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from ledger.register.models import MONEY_FIELDS, OTHER_FUND_FIELDS


class TextField(NamedTuple):
    """A text field of the settlement contract and its rule (``importers.fields``)."""

    name: str
    kind: Literal["code", "text", "time"]  # time: typed, checked by its own rule
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
#: Read as their type (not kept as text): blanks around their value are not part of it.
TYPED_TEXT = tuple(f.name for f in TEXT_FIELDS if f.kind == "time")
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
#: The typed fields that are neither money nor text: a ratio, two flags and a date.
OTHER_TYPED = ("pool_prop_selfpay", "refd_setl_flag", "emergency_flag", "rx_date")
KNOWN_FIELDS = frozenset(REQUIRED_TEXT + OPTIONAL_TEXT + MONEY_FIELDS + OTHER_TYPED)

# The institution's name, type and level describe the institution, not the settlement: the same
# settlement from a CSV export (which carries them) and a raw 2207 response (which does not) is
# the same row.
DIGEST_FIELDS = KNOWN_FIELDS - {"fixmedins_name", "fixmedins_type", "medins_lv"}
DIGEST_ORDER = tuple(sorted(DIGEST_FIELDS))

# -- code lists --------------------------------------------------------------------------------
INSUTYPE_EMPLOYEE = "310"  # 职工基本医疗保险: the only fund these books keep
KNOWN_PSN_TYPES = frozenset({"1101", "1102", "1103", "1201", "1202", "1203"})
KNOWN_MED_TYPES = frozenset({"11", "12", "13", "14", "19", "41"})
FLAGS = ("0", "1")  # refd_setl_flag (empty is 0) and emergency_flag (empty is unknown)
HOSPITAL, PHARMACY = "1", "2"  # fixmedins_type: 定点医疗机构, 定点零售药店
INSTITUTION_TYPES = (HOSPITAL, PHARMACY)
HOSPITAL_LEVELS = ("1", "2", "3")  # medins_lv; a pharmacy has none
UNKNOWN_CODE = "kept; not a code mzledger knows"
INPATIENT_TYPE = "kept; an in-patient type in outpatient data"


def code_notice(name: str, value: str) -> str | None:
    """Why a psn_type or med_type is noticed (kept, not refused), or None for a known code."""
    if name == "psn_type":
        return None if value in KNOWN_PSN_TYPES else UNKNOWN_CODE
    if value.startswith("2"):
        return INPATIENT_TYPE
    return None if value in KNOWN_MED_TYPES else UNKNOWN_CODE


# -- typed text --------------------------------------------------------------------------------
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
TIME_STRPTIME = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "yyyy-MM-dd"
DATE_STRPTIME = "%Y-%m-%d"
# Bounded month, day and time: fromisoformat alone would take "2023-03-01 08:40+08" (with a
# zone) or a week date; a day past the month's end is left to the calendar.
DATE_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
TIME_PATTERN = DATE_PATTERN[:-1] + r" ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"
DATE_RE = re.compile(DATE_PATTERN, re.ASCII)
TIME_RE = re.compile(TIME_PATTERN, re.ASCII)
YUAN_DIGITS = 15  # at most, before the point: the register's Numeric(17, 2)
RATIO_PLACES = 4  # pool_prop_selfpay, 0 to 1

# -- money -------------------------------------------------------------------------------------
#: Each total is the sum of its parts, exactly (no tolerance: the platform's figures add up).
MONEY_IDENTITIES = (
    ("fund_pay_sumamt", ("hifp_pay", *OTHER_FUND_FIELDS)),
    ("medfee_sumamt", ("fund_pay_sumamt", "psn_part_amt", "hosp_part_amt")),
    ("psn_part_amt", ("acct_pay", "acct_mulaid_pay", "psn_cash_pay")),
)
# Signs: a settlement's amounts are >= 0, a refund's (refd_setl_flag 1, a 2208 reversal) <= 0.

#: A refund is of the same person at the same institution as the settlement it reverses, and
#: reverses it amount for amount (every MONEY_FIELDS figure negated).
REFUND_MUST_MATCH = ("psn_no", "fixmedins_code")

#: A settlement whose visit, institution, person, time and amounts are those of one already in
#: the register under another setl_id is held for a person to decide (ledger.register.models
#: HeldSettlement): a re-export that renumbered an old settlement must not pay it twice. Not
#: refunds: a second refund of one settlement is refused by the refund rules themselves.
SAME_SETTLEMENT_FIELDS = ("mdtrt_id", "fixmedins_code", "psn_no", "setl_time", *MONEY_FIELDS)
