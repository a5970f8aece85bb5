"""The indicators view of the Fava extension (定点医药机构考核指标, Shanxi art. 16): the year's
institution indicators from the register (``reports.indicators``), with the region's
thresholds. The year comes from ``?year=YYYY``; without one, the register's latest year. A
year that is not one answers 400."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from ledger.books import Books
from reports.audit.policy import PolicyError, books_policy
from reports.fava.params import BadRequest
from reports.indicators.figures import Indicator
from reports.indicators.output import HEADER, notes, row_values
from reports.indicators.register import (
    IndicatorReport,
    indicator_report,
    registered_periods,
    thresholds_of,
)


@dataclass(frozen=True)
class IndicatorsView:
    report: IndicatorReport | None  # None: the register holds no settlements
    years: tuple[int, ...]  # the years the register holds, newest first
    header: tuple[str, ...] = HEADER

    @property
    def notes(self) -> list[str]:
        return notes(self.report) if self.report is not None else []

    @staticmethod
    def values(item: Indicator) -> list[object]:
        return row_values(item)

    @staticmethod
    def share(value: Decimal | None) -> str:
        """A share or a growth as a percentage, ``12.34%``, exact (Decimal formatting)."""
        return "—" if value is None else f"{value:.2%}"


def parse_year(value: str | None, years: tuple[int, ...]) -> int | None:
    text = (value or "").strip()
    if not text:
        return years[0] if years else None
    if len(text) == 4 and text.isascii() and text.isdigit() and text != "0000":
        return int(text)
    raise BadRequest(
        f"年度无效：{text[:20]}（应为 YYYY）", f"year: expected YYYY (found {text[:20]!r})"
    )


def indicators_view(engine: Engine, books_root: Path, year_arg: str | None) -> IndicatorsView:
    with engine.connect() as conn:
        years = tuple(sorted({int(p[:4]) for p in registered_periods(conn)}, reverse=True))
    year = parse_year(year_arg, years)
    if year is None:
        return IndicatorsView(None, years)
    region = Books(books_root).read_config().region
    try:
        limits = books_policy(books_root, region).indicator_limits
    except PolicyError as exc:
        raise BadRequest(f"政策文件无法读取：{exc}", f"policy: {exc}") from None
    return IndicatorsView(indicator_report(engine, year, thresholds_of(limits)), years)


__all__ = ["IndicatorsView", "indicators_view", "parse_year"]
