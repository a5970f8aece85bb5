"""A calendar month (会计期间 / 清算期), the one type every layer uses for a period.

A month is parsed once, where it comes in (a command's option, a file name, a query string,
a stored ``YYYY-MM``), and travels as ``Month``; ``str(month)`` is its ``YYYY-MM``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass

_MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)


@dataclass(frozen=True, order=True)
class Month:
    """``2023-02``: ordered, hashable, printed as its ``YYYY-MM``."""

    year: int
    month: int

    @staticmethod
    def parse(text: object) -> Month:
        """``YYYY-MM`` -> Month; ValueError saying what was found and what is expected."""
        if isinstance(text, str):
            match = _MONTH_RE.fullmatch(text)
            if match is not None and int(match.group(1)) >= 1:
                return Month(int(match.group(1)), int(match.group(2)))
        raise ValueError(f"not a month (found {text!r}, expected YYYY-MM)")

    @staticmethod
    def is_month(text: str) -> bool:
        try:
            Month.parse(text)
        except ValueError:
            return False
        return True

    @staticmethod
    def of(day: datetime.date) -> Month:
        return Month(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def period(self) -> str:
        """``YYYY-MM``, as the register stores a settlement period."""
        return str(self)

    @property
    def label(self) -> str:
        """Chinese label, ``2023年2月``."""
        return f"{self.year}年{self.month}月"

    @property
    def first(self) -> datetime.date:
        return datetime.date(self.year, self.month, 1)

    @property
    def last(self) -> datetime.date:
        return self.next().first - datetime.timedelta(days=1)

    @property
    def year_start(self) -> datetime.date:
        return datetime.date(self.year, 1, 1)

    def next(self) -> Month:
        if self.month == 12:
            return Month(self.year + 1, 1)
        return Month(self.year, self.month + 1)

    def previous(self) -> Month:
        if self.month == 1:
            return Month(self.year - 1, 12)
        return Month(self.year, self.month - 1)

    def previous_year(self) -> Month | None:
        """The same month a year earlier, or None before year 1."""
        return Month(self.year - 1, self.month) if self.year > 1 else None

    def year_to_date(self) -> tuple[Month, ...]:
        """January to this month."""
        return tuple(Month(self.year, m) for m in range(1, self.month + 1))

    def until(self, last: Month) -> Iterator[Month]:
        """This month to ``last``, both included (nothing when ``last`` is earlier)."""
        month = self
        while month <= last:
            yield month
            month = month.next()


__all__ = ["Month"]
