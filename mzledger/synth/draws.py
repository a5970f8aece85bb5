"""Draws and money for the generator: seeded bit streams (never the global generator, never
the clock) and amounts as integer fen, written from a table of money strings."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _round(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _half_up(fen_times_pct: int) -> int:
    """fen x percent / 100 rounded to the fen, half away from zero (Decimal's ROUND_HALF_UP)."""
    if fen_times_pct < 0:
        return -((-fen_times_pct + 50) // 100)
    return (fen_times_pct + 50) // 100


# Every amount a settlement row can hold, as its money string, ready (about 40 MB): formatting
# would be a fifth of a row's cost. The largest amount: the largest visit (150,000 fen) times
# the largest multiplier (4), plus the largest fulamt_ownpay_amt, overlmt_selfpay and
# preselfpay_amt (8,000, 3,000 and 5,000 fen); refunds negate the strings.
_MAX_FEN = 150_000 * 4 + 8_000 + 3_000 + 5_000
_MONEY_TABLE_FEN = _MAX_FEN + 1
_money_table: list[str] = []


def _money_strings() -> list[str]:
    if not _money_table:
        cents = [f"{c:02d}" for c in range(100)]
        _money_table.extend(f"{y}.{c}" for y in range(_MONEY_TABLE_FEN // 100) for c in cents)
    return _money_table


def _money(fen: int) -> str:
    """Fen as yuan with two decimals ("-1.50"); exact, no float."""
    if fen < 0:
        return "-" + _money(-fen)
    if fen < _MONEY_TABLE_FEN and _money_table:
        return _money_table[fen]
    return f"{fen // 100}.{fen % 100:02d}"


def _decimal_money(x: Decimal) -> str:
    return f"{x:.2f}"


def _words(seed: str) -> Callable[[int], int]:
    """The draws of one purpose: ``random.Random(seed).getrandbits``. Every draw below is
    ``getrandbits(30) % n`` (``getrandbits(62) % n`` for n above 2**20): integer, and biased by
    at most n / 2**30 (2**-42), which synthetic data does not notice; rng.randrange costs
    three times as much and the rows take about a dozen draws each."""
    return random.Random(seed).getrandbits


def _sample(bits: Callable[[int], int], n: int, k: int) -> list[int]:
    """k distinct indices of range(n) (a partial Fisher-Yates shuffle), k <= n."""
    pool = list(range(n))
    for i in range(k):
        j = i + bits(62) % (n - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]
