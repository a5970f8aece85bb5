"""Platform totals (对总账): the register's month grouped as the national platform reconciles it.

The platform's reconciliation of totals (transaction 3201, 医药机构费用结算对总账) compares,
per 险种 × 清算类别 × 经办机构, four figures: medfee_sumamt (医疗费总额), fund_pay_sumamt
(基金支付总额), acct_pay (个人账户支付金额) and fixmedins_setl_cnt (结算笔数). Here the register
gives the same four figures (``register_totals``), and those last imported from the platform
for a month (``stored_platform_totals``); the platform's file is read by
``importers.platform_totals`` and the two are compared by ``reports.controls.platform_totals``.

Which settlements a month holds:

- a settlement belongs to the month of its ``setl_time`` (the platform reconciles by settlement
  time), whether or not it has been posted into a clearing batch;
- a refund (refd_setl_flag 1) belongs to the month of its own ``setl_time``, whatever month the
  settlement it reverses was in; its negative amounts are summed with the rest;
- every row counts once in the settlement count, a refund included: the platform counts a
  refund in fixmedins_setl_cnt as a row of its own (3201's default, refd_setl_flag empty or 1:
  refunds included), so a visit settled and refunded in one month counts 2, with amounts 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, func, select, type_coerce

from ledger.month import Month
from ledger.register.models import Money, PlatformTotal, Settlement

#: The grouping key, in the platform's order (3201 input fields).
KEY_FIELDS = ("insutype", "clr_type", "clr_optins")
#: The amounts compared, in the platform's order.
AMOUNT_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
#: The platform's name of the settlement count.
COUNT_FIELD = "fixmedins_setl_cnt"


Key = tuple[str, str, str]


@dataclass(frozen=True)
class PlatformGroup:
    """One group's totals: insutype × clr_type × clr_optins, as the register or the platform
    has them. ``count`` is the settlement count (3201 fixmedins_setl_cnt), refunds included."""

    insutype: str
    clr_type: str
    clr_optins: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    count: int

    @property
    def key(self) -> Key:
        return (self.insutype, self.clr_type, self.clr_optins)

    def figure(self, name: str) -> Decimal | int:
        """A compared figure by its platform name (``fixmedins_setl_cnt`` is ``count``)."""
        if name == COUNT_FIELD:
            return self.count
        value: Decimal = getattr(self, name)
        return value


#: The compared figures, by platform name, in the platform's order.
FIGURES = (*AMOUNT_FIELDS, COUNT_FIELD)


def register_totals(engine: Engine, month: Month) -> list[PlatformGroup]:
    """The register's totals of ``month``, one group per insutype × clr_type ×
    clr_optins, sorted by that key; summed in the database.

    The month is taken by settlement time (``setl_time``, kept as ``setl_period``): every
    settlement settled in it, posted or not. Refunds (refd_setl_flag 1) are included with
    their negative amounts and each counts as one row in ``count``, as the platform counts
    them in fixmedins_setl_cnt. A month without settlements gives an empty list.
    """
    key = (Settlement.insutype, Settlement.clr_type, Settlement.clr_optins)
    query = (
        select(
            *key,
            *(type_coerce(func.sum(getattr(Settlement, f)), Money).label(f) for f in AMOUNT_FIELDS),
            func.count().label("n"),
        )
        .where(Settlement.setl_period == month.period)
        .group_by(*key)
    )
    with engine.connect() as conn:
        groups = [
            PlatformGroup(
                insutype=row.insutype,
                clr_type=row.clr_type,
                clr_optins=row.clr_optins,
                medfee_sumamt=row.medfee_sumamt,
                fund_pay_sumamt=row.fund_pay_sumamt,
                acct_pay=row.acct_pay,
                count=int(row.n),
            )
            for row in conn.execute(query)
        ]
    # Sorted here, not by the database: string collations differ between SQLite and PostgreSQL.
    return sorted(groups, key=lambda g: g.key)


def stored_platform_totals(engine: Engine, month: Month) -> list[PlatformGroup] | None:
    """The platform's figures last imported for ``month``; None when none were."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                PlatformTotal.insutype,
                PlatformTotal.clr_type,
                PlatformTotal.clr_optins,
                PlatformTotal.medfee_sumamt,
                PlatformTotal.fund_pay_sumamt,
                PlatformTotal.acct_pay,
                PlatformTotal.count,
            ).where(PlatformTotal.period == month.period)
        ).all()
    if not rows:
        return None
    return sorted((PlatformGroup(*row) for row in rows), key=lambda g: g.key)


__all__ = [
    "AMOUNT_FIELDS",
    "COUNT_FIELD",
    "FIGURES",
    "KEY_FIELDS",
    "Key",
    "PlatformGroup",
    "register_totals",
    "stored_platform_totals",
]
