"""Money: ``decimal.Decimal`` quantized to the fen (0.01 yuan), ROUND_HALF_UP, everywhere."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CURRENCY = "CNY"


def quantize(value: Decimal) -> Decimal:
    """Round to the fen, half up (the rule the benefit formula and the books share)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(text: str, places: int = 2) -> Decimal:
    """Parse a yuan amount written with at most ``places`` decimals.

    Raises ValueError with a short reason; more decimals are refused rather than rounded,
    because rounding an input amount would be a guess.
    """
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite():
        raise ValueError("not a number")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ValueError(f"more than {places} decimals")
    return value.quantize(Decimal(1).scaleb(-places))


def to_fen(value: Decimal) -> int:
    """Exact integer fen, for storage; the value must already be on the fen."""
    fen = value.scaleb(2)
    if fen != fen.to_integral_value():
        raise ValueError(f"{value} is not on the fen")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)
