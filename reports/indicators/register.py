"""The register's side of the institution indicators: per institution and span, the visits and
sums ``reports.indicators.figures`` needs, summed in the database (one GROUP BY over the
year's settlements; the visits' count distinct skips refunded settlements), and the year's
report assembled (``indicator_report``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, exists, func, select, type_coerce
from sqlalchemy.orm import aliased

from ledger.money import ZERO, to_fen
from ledger.register.fee_totals import exam_fen
from ledger.register.models import Institution, Money, Settlement
from reports.indicators.figures import Counts, Indicator, Thresholds, indicators
from reports.indicators.figures import Institution as InstitutionInfo


def _sum(column: Any) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(column), 0), Money)


def _not_refunded() -> ColumnElement[bool]:
    """A settlement that is not a refund and that no refund reverses."""
    refund = aliased(Settlement)
    return and_(
        Settlement.refd_setl_flag.is_(False),
        ~exists(select(refund.id).where(refund.init_setl_id == Settlement.setl_id)),
    )


def span_counts(conn: Connection, periods: Sequence[str], by_month: bool) -> list[Counts]:
    """Counts per institution over ``periods`` (YYYY-MM), per month when ``by_month``, else
    one span named by the periods' year."""
    if not periods:
        return []
    keys: list[Any] = [Settlement.fixmedins_code]
    if by_month:
        keys.append(Settlement.setl_period)
    where = Settlement.setl_period.in_(list(periods))
    sums = conn.execute(
        select(
            *keys,
            _sum(Settlement.medfee_sumamt).label("medfee"),
            _sum(Settlement.fulamt_ownpay_amt).label("ownpay"),
            _sum(Settlement.overlmt_selfpay).label("overlimit"),
            _sum(Settlement.preselfpay_amt).label("preself"),
        )
        .where(where)
        .group_by(*keys)
    ).all()
    visits = {
        tuple(row[:-1]): int(row[-1])
        for row in conn.execute(
            select(*keys, func.count(func.distinct(Settlement.mdtrt_id)))
            .where(where, _not_refunded())
            .group_by(*keys)
        )
    }
    year = periods[0][:4]
    exams = exam_fen(conn, periods, by_month)
    return [
        Counts(
            row[0],
            row[1] if by_month else year,
            visits.get(tuple(row[: len(keys)]), 0),
            to_fen(row.medfee),
            to_fen(row.ownpay),
            to_fen(row.overlimit + row.preself),
            exams.get((row[0], row[1] if by_month else year)),
        )
        for row in sums
    ]


def registered_periods(conn: Connection) -> set[str]:
    """Every month the register holds settlements of."""
    return set(conn.execute(select(Settlement.setl_period).distinct()).scalars())


def institutions(conn: Connection) -> dict[str, InstitutionInfo]:
    return {
        code: InstitutionInfo(name, kind or "", level or "")
        for code, name, kind, level in conn.execute(
            select(
                Institution.code,
                Institution.name,
                Institution.fixmedins_type,
                Institution.medins_lv,
            )
        )
    }


@dataclass(frozen=True)
class IndicatorReport:
    """A year's indicators: the year's, each month's, and what the comparison could use."""

    year: int
    yearly: tuple[Indicator, ...]
    monthly: tuple[Indicator, ...]
    thresholds: Thresholds
    months: tuple[str, ...]  # the year's months in the register
    compared: bool  # the year is compared with the same months a year earlier

    @property
    def medfee(self) -> Decimal:
        return sum((i.medfee for i in self.yearly), ZERO)


def _year_before(period: str) -> str:
    return f"{int(period[:4]) - 1:04d}{period[4:]}"


def thresholds_of(limits: Sequence[tuple[str, Decimal]]) -> Thresholds:
    """The policy file's ``[indicators]`` (``Policy.indicator_limits``) as thresholds."""
    return Thresholds(**dict(limits))


def indicator_report(engine: Engine, year: int, thresholds: Thresholds) -> IndicatorReport:
    """The year's indicators from the register; the year compared with the same months of
    the year before only when the register holds every one of them."""
    with engine.connect() as conn:
        held = registered_periods(conn)
        months = sorted(p for p in held if p.startswith(f"{year:04d}-"))
        before = [_year_before(m) for m in months]
        compared = bool(months) and all(m in held for m in before)
        known = institutions(conn)
        yearly = span_counts(conn, months, by_month=False)
        monthly = span_counts(conn, months, by_month=True)
        previous_year = (
            {(c.code, str(year)): c for c in span_counts(conn, before, False)} if compared else {}
        )
        previous_months = {
            (c.code, f"{year:04d}{c.span[4:]}"): c
            for c in span_counts(conn, [b for b in before if b in held], True)
        }
    return IndicatorReport(
        year,
        tuple(indicators(yearly, previous_year, known, thresholds)),
        tuple(indicators(monthly, previous_months, known, thresholds)),
        thresholds,
        tuple(months),
        compared,
    )


__all__ = ["IndicatorReport", "indicator_report", "span_counts", "thresholds_of"]
