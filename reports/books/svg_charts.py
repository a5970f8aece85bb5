"""Bar charts as inline SVG, drawn by hand (no JavaScript, no external files).

Coordinates are computed in ``Decimal`` and written with one decimal, so the same data always
gives the same bytes. Negative values (a month whose refunds exceed its settlements) are drawn
below the zero line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from html import escape

ZERO = Decimal(0)
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: tuple[Decimal, ...]


def _n(value: Decimal) -> str:
    """A coordinate with one decimal, without a trailing ``.0``."""
    text = str(value.quantize(TENTH, rounding=ROUND_HALF_UP))
    return text[:-2] if text.endswith(".0") else text


def _step(span: Decimal, ticks: int = 5) -> Decimal:
    """A 1-2-5 step that divides ``span`` into at most about ``ticks`` intervals."""
    raw = span / ticks
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _axis(value: Decimal) -> str:
    return f"{value:,.0f}"


@dataclass(frozen=True)
class _Frame:
    """The plot area and its scale: ``low`` to ``high`` over ``plot_h`` pixels from ``top``."""

    left: Decimal
    top: Decimal
    plot_w: Decimal
    plot_h: Decimal
    low: Decimal
    high: Decimal
    step: Decimal

    def y(self, value: Decimal) -> Decimal:
        return self.top + (self.high - value) / (self.high - self.low) * self.plot_h


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 640,
    height: int = 300,
    unit: str = "元",
) -> str:
    """A grouped bar chart: one group per category, one bar per series."""
    left, right, top, bottom = Decimal(84), Decimal(16), Decimal(56), Decimal(44)
    frame = _frame(
        [v for s in series for v in s.values],
        left,
        top,
        Decimal(width) - left - right,
        Decimal(height) - top - bottom,
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{width // 2}" y="20" text-anchor="middle" class="chart-title">'
        f"{escape(title)}</text>",
    ]
    # legend
    x = left
    for s in series:
        parts.append(
            f'<rect x="{_n(x)}" y="30" width="12" height="12" fill="{escape(s.color)}"/>'
            f'<text x="{_n(x + 16)}" y="40" class="legend">{escape(s.name)}</text>'
        )
        x += Decimal(28 + 13 * len(s.name))
    parts.append(
        f'<text x="{width - int(right)}" y="40" text-anchor="end" class="legend">'
        f"单位：{escape(unit)}</text>"
    )
    parts += _grid(frame)
    parts += _bars(frame, categories, series)
    parts.append("</svg>")
    return "\n".join(parts)


def _frame(
    values: Sequence[Decimal], left: Decimal, top: Decimal, plot_w: Decimal, plot_h: Decimal
) -> _Frame:
    """The scale from zero (or below) to the highest value, rounded out to whole steps."""
    high = max([ZERO, *values])
    low = min([ZERO, *values])
    if high == low:
        high = Decimal(1)
    step = _step(high - low)
    high = (high / step).to_integral_value(ROUND_CEILING) * step
    low = (low / step).to_integral_value(ROUND_FLOOR) * step
    return _Frame(left, top, plot_w, plot_h, low, high, step)


def _grid(frame: _Frame) -> list[str]:
    """A line and an axis label per step, the zero line marked."""
    parts = []
    left, plot_w = frame.left, frame.plot_w
    tick = frame.low
    while tick <= frame.high:
        ty = frame.y(tick)
        cls = "zero" if tick == ZERO else "grid"
        parts.append(
            f'<line x1="{_n(left)}" y1="{_n(ty)}" x2="{_n(left + plot_w)}" y2="{_n(ty)}" '
            f'class="{cls}"/>'
            f'<text x="{_n(left - 6)}" y="{_n(ty + 4)}" text-anchor="end" class="tick">'
            f"{_axis(tick)}</text>"
        )
        tick += frame.step
    return parts


def _bars(frame: _Frame, categories: Sequence[str], series: Sequence[Series]) -> list[str]:
    """Per category a group of bars, one per series, labelled when there are few."""
    parts = []
    left = frame.left
    groups = max(len(categories), 1)
    group_w = frame.plot_w / groups
    bar_w = group_w * Decimal("0.7") / max(len(series), 1)
    zero_y = frame.y(ZERO)
    labels = len(categories) * len(series) <= 12
    for i, category in enumerate(categories):
        gx = left + group_w * i + group_w * Decimal("0.15")
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else ZERO
            vy = frame.y(value)
            bx = gx + bar_w * j
            y0, h = (vy, zero_y - vy) if value >= ZERO else (zero_y, vy - zero_y)
            parts.append(
                f'<rect x="{_n(bx)}" y="{_n(y0)}" width="{_n(bar_w)}" height="{_n(h)}" '
                f'fill="{escape(s.color)}"><title>{escape(category)} {escape(s.name)}：'
                f"{_money(value)}</title></rect>"
            )
            if labels:
                ly = vy - 4 if value >= ZERO else vy + 12
                parts.append(
                    f'<text x="{_n(bx + bar_w / 2)}" y="{_n(ly)}" text-anchor="middle" '
                    f'class="value">{_money(value)}</text>'
                )
        parts.append(
            f'<text x="{_n(left + group_w * i + group_w / 2)}" '
            f'y="{_n(frame.top + frame.plot_h + 18)}" '
            f'text-anchor="middle" class="category">{escape(category)}</text>'
        )
    return parts
