"""What a settlement row is made of: the export's header, the times of a day, a visit or a
refund due later, a day's facts, a visit's benefit tier, the drug codes."""

from __future__ import annotations

import random
from datetime import date
from typing import NamedTuple

from ledger.month import Month
from mzledger.synth.draws import _money
from mzledger.synth.population import _has, _Inst, _Record
from mzledger.synth.rules import _PSN_CODES, ARREARS, LONG_TERM, OUTSIDE, REFERRAL, RX_VALID_DAYS
from mzledger.synth.spec import CitySpec

SETTLEMENT_HEADER: tuple[str, ...] = (
    "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno", "psn_type", "insutype", "med_type",
    "setl_time", "fixmedins_code", "fixmedins_name", "fixmedins_type", "medins_lv",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
    "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt", "clr_type", "clr_way", "clr_optins",
    "refd_setl_flag", "init_setl_id",
    # Optional audit columns: 急危重 flag of a visit outside the city ("1"/"0"; empty in the city)
    # and the prescription of a pharmacy purchase (empty elsewhere).
    "emergency_flag", "rx_no", "rx_institution", "rx_date", "drug_code",
)  # fmt: skip
# Every money column of the settlement header (pool_prop_selfpay is a ratio, not money).
MONEY_FIELDS: tuple[str, ...] = tuple(
    f for f in SETTLEMENT_HEADER[13:33] if f != "pool_prop_selfpay"
)
DAY = 86_400
OPEN, CLOSE = 8 * 3600, 20 * 3600  # settlement times fall in [08:00:00, 20:00:00)
_ATC = "ABCDGHJLMNRS"
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

# A prescription: (rx_no, rx_institution, rx_date, drug_code).
_Rx = tuple[str, str, str, str]
# A settlement row: its CSV line, the SETTLEMENT_HEADER fields joined with commas (none can
# hold a comma, a quote or a line break: codes, digits, amounts and this module's fixed Chinese
# names, so this is what csv.writer writes).
_Row = str
_MONEY_INDEX = tuple(SETTLEMENT_HEADER.index(f) for f in MONEY_FIELDS)
_SETL_ID, _SETL_TIME = SETTLEMENT_HEADER.index("setl_id"), SETTLEMENT_HEADER.index("setl_time")
_REFD, _INIT = SETTLEMENT_HEADER.index("refd_setl_flag"), SETTLEMENT_HEADER.index("init_setl_id")


class _Visit(NamedTuple):
    """A settlement due later (a same-visit follow-up or a planted second purchase)."""

    person: int
    inst: _Inst
    mdtrt_id: str
    med_type: str
    plant: str = ""  # a planted follow-up settlement: "duplicate" or "same-drug"
    rx: _Rx | None = None


class _Refund(NamedTuple):
    """A refund due later: the settlement it reverses, its institution and its two batch parts
    (fen)."""

    row: _Row
    inst: _Inst
    pooled: int
    personal: int


def _drug_codes(spec: CitySpec) -> list[str]:
    """Fictional drug codes shaped like the national ones (e.g. XA01ABC123A001)."""
    rng = random.Random(f"{spec.seed}/drugs")
    codes: dict[str, None] = {}
    while len(codes) < 60:
        letters = "".join(rng.choice(_LETTERS) for _ in range(3))
        code = (
            f"X{rng.choice(_ATC)}{rng.randint(1, 16):02d}{letters}{rng.randint(1, 999):03d}"
            f"{rng.choice('ABCDE')}{rng.randint(1, 99):03d}"
        )
        codes[code] = None
    return list(codes)


# Settlement times of a day, [OPEN, CLOSE), as "HH:MM:SS".
_CLOCK = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(OPEN, CLOSE))
# Fen ranges (low, count) of a visit's policy-scope amount by medins_lv.
_VISIT_FEN = {"1": (2_000, 38_001), "2": (5_000, 75_001), "3": (10_000, 140_001)}


def _tier(inst: _Inst, records: list[_Record] | None, day: int, flag: str) -> tuple[str, str]:
    """The benefit tier of a visit by a person with records or outside the city, and why it
    is not covered ("" when it is): arrears, or an unreferred visit outside without an
    emergency."""
    remote = inst.remote
    long_term = remote and _has(records, LONG_TERM, day)
    referred = remote and _has(records, REFERRAL, day)
    tier = inst.tier if not remote or long_term else OUTSIDE
    why_not = (
        "arrears"
        if records is not None and _has(records, ARREARS, day)
        else "outside"
        if remote and not (long_term or referred or flag == "1")
        else ""
    )
    return tier, why_not


def _flexible(ptype: int, acct: int) -> list[tuple[str, str]]:
    """A flexible worker's planted personal-account payment: the person has no account."""
    note = f"psn_type {_PSN_CODES[ptype]} has no personal account, acct_pay {_money(acct)}"
    return [("flexible-worker-personal-account", note)]


class _Day:
    """A day's settlement-time prefix, clearing month, benefit key and the month's batches."""

    __slots__ = ("back", "batches", "key", "key_no", "month", "text")

    def __init__(
        self,
        day: int,
        month: Month,
        key: str | None,
        key_no: int,
        batches: dict[_Inst, list[int]],
    ) -> None:
        # YYYY-MM-DD of this day and of the days before it (prescription dates)
        self.back = tuple(date.fromordinal(day - k).isoformat() for k in range(RX_VALID_DAYS + 3))
        self.text = self.back[0]
        self.month, self.key, self.key_no = month, key, key_no
        # the month's clearing batches: institution -> [pooled, personal] parts in fen, refunds
        # included with their negative amounts (clr_type follows from the institution)
        self.batches = batches
