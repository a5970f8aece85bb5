"""The posting rule (Shanxi procedures art. 28): clearing batches -> Beancount transactions.

Pure: batches and the chart in, transactions and problems out; no I/O.

For each batch, on its payment date (cash basis, 收付实现制):
- pooled-fund part (hifp_pay): debit 统筹基金待遇支出 (门诊统筹, or 门诊慢特病 by the chart's
  med_type mapping), credit 统筹基金支出户存款;
- personal-account part (acct_pay + acct_mulaid_pay): debit 个人账户待遇支出 (普通门诊支出 for
  medical institutions, 定点药店医药费支出 for pharmacies), credit 个人账户支出户存款.
Cash paid by the person and other funds' parts are never posted to this fund; the other funds'
totals ride along as metadata (a fund that paid nothing in the batch is not listed: a city-year
has tens of thousands of transactions and every line costs at each load). Zero legs are left
out; a batch whose refunds exceed its
settlements posts negative amounts (a reduction of expenditure), never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from beancount.core import data
from beancount.core.amount import Amount

from ledger.chart import Chart
from ledger.money import ZERO
from ledger.problems import Problem
from ledger.register.models import OTHER_FUND_FIELDS
from postings.batches import BatchSummary

META_SOURCE = "mzledger"
#: Batch totals the legs do not show: the whole cost, the cash part, and every other fund's part
#: (for those funds' own books). The pooled and personal parts are the legs themselves.
META_TOTALS = ("medfee_sumamt", "psn_cash_pay", *OTHER_FUND_FIELDS)


def agency_link(period: str, agency: str) -> str:
    """The link of a clearing agency's batches of a period, ``ydjy-2023-01-210100``."""
    return f"ydjy-{period}-{agency}"


def _leg(account: str, number: Decimal, currency: str) -> data.Posting:
    return data.Posting(account, Amount(number, currency), None, None, None, None)


def post_batch(batch: BatchSummary, chart: Chart) -> tuple[data.Transaction | None, list[Problem]]:
    """One batch -> its transaction, or the problems that stop it (located at its link)."""
    if batch.payment is None:
        return None, [Problem(batch.link, "payment", "batch has no voucher and payment date yet")]
    by_role: dict[str, Decimal] = {}
    unmapped = []
    for med_type, amount in batch.pooled_by_med_type:
        role = chart.med_type_roles.get(med_type)
        if role is None:
            unmapped.append(med_type)
            continue
        by_role[role] = by_role.get(role, ZERO) + amount
    if unmapped:
        return None, [
            Problem(
                batch.link,
                "med_type",
                "not in the chart's med_type mapping",
                ", ".join(unmapped),
                "a code of chart.toml [med_type]",
            )
        ]
    personal_role = "personal-pharmacy" if batch.institution_type == "2" else "personal-clinic"
    currency = chart.currency
    legs = [
        _leg(chart.account(role), by_role[role], currency)
        for role in ("pooled-outpatient", "pooled-chronic")
        if by_role.get(role, ZERO) != ZERO
    ]
    pooled = sum(by_role.values(), ZERO)
    personal = batch.personal
    if personal != ZERO:
        legs.append(_leg(chart.account(personal_role), personal, currency))
    if pooled != ZERO:
        legs.append(_leg(chart.account("bank-pooled"), -pooled, currency))
    if personal != ZERO:
        legs.append(_leg(chart.account("bank-personal"), -personal, currency))

    meta: dict[str, object] = {
        "filename": META_SOURCE,
        "lineno": 0,
        "voucher": batch.payment.voucher,
        "period": batch.period,
        "institution": batch.institution_code,
        "clr_type": batch.clr_type,
        "settlement_count": Decimal(batch.settlement_count),
        "refund_count": Decimal(batch.refund_count),
    }
    meta.update(
        (name, batch.total(name))
        for name in META_TOTALS
        if name not in OTHER_FUND_FIELDS or batch.total(name) != ZERO
    )
    narration = (
        f"{batch.period} 门诊费用清算 清算类别{batch.clr_type} "
        f"结算{batch.settlement_count}笔 退费{batch.refund_count}笔"
    )
    links = {batch.link}
    agency = batch.clearing_agency
    if agency is not None:
        # 异地就医: paid through the clearing agency with the agency's other batches of the
        # period, one bank line per part; the agency's link gathers them in Fava
        meta["clr_optins"] = agency
        narration = f"异地就医 经{chart.agencies.get(agency, agency)}清算 {narration}"
        links.add(agency_link(batch.period, agency))
    txn = data.Transaction(
        meta,
        batch.payment.paid_on,
        "*",
        batch.institution_name,
        narration,
        frozenset(),
        frozenset(links),
        legs,
    )
    return txn, []


def post_batches(
    batches: Iterable[BatchSummary], chart: Chart
) -> tuple[list[data.Transaction], list[Problem]]:
    """All batches -> transactions in voucher order, with every problem collected."""
    transactions: list[data.Transaction] = []
    problems: list[Problem] = []
    for batch in batches:
        txn, batch_problems = post_batch(batch, chart)
        problems += batch_problems
        if txn is not None:
            transactions.append(txn)
    transactions.sort(key=lambda t: (t.date, t.meta["voucher"]))
    return transactions, problems
