"""The rules the generated settlements follow (domain.md section 4), in integer fen: tiers,
deductibles, ratios and caps by benefit key, person types, record kinds."""

from __future__ import annotations

from ledger.month import Month

LONG_TERM, REFERRAL, ARREARS = "long-term-residence", "referral", "arrears"
# Anshan art. 32: a transitional month with its own deductible and cap, and its own benefit key
TRANSITION = Month(2022, 12)
DEC_2022 = str(TRANSITION)  # the key
OUTSIDE = "outside"  # tier: referred outside the city, or unreferred emergency (Anshan art. 10)
# The benefit rule in integer fen; ratios in percent (every ratio is a whole percentage, so
# (E - deductible) x ratio rounded half up is (fen x percent + 50) // 100, exactly).
DEDUCTIBLE_FEN = {"1": 30_000, "2": 40_000, "3": 60_000, OUTSIDE: 60_000}
RATIO_PCT = {"1": (60, 65), "2": (55, 60), "3": (50, 55), OUTSIDE: (50, 50)}  # (in work, retired)
ANNUAL_CAP_FEN = 300_000
DEC_DEDUCTIBLE_FEN, DEC_CAP_FEN = 3_000, 30_000
RX_VALID_DAYS = 3  # Shanxi art. 11: an e-prescription is valid for 3 days

PSN_TYPES = (("1101", 55), ("1102", 5), ("1103", 8), ("1201", 27), ("1202", 3), ("1203", 2))
FLEXIBLE = frozenset({"1103", "1203"})  # no personal account (Anshan art. 12)
_PSN_CODES = tuple(code for code, _ in PSN_TYPES)
_RETIRED = tuple(code.startswith("12") for code in _PSN_CODES)
_NO_ACCOUNT = tuple(code in FLEXIBLE for code in _PSN_CODES)
_CIVIL_SERVANT = _PSN_CODES.index("1102")
_PROP = {pct: f"{pct / 100:.4f}" for pcts in RATIO_PCT.values() for pct in pcts}


def _first_day(month: Month) -> int:
    return month.first.toordinal()


def _key(month: Month) -> str | None:
    """Benefit accumulation key: None before the rules (2022-12), that month, then the year."""
    if month < TRANSITION:
        return None
    return DEC_2022 if month == TRANSITION else f"{month.year:04d}"
