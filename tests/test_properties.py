"""Properties of money parsing, the register's money type, row validation and the posting rule."""

from __future__ import annotations

import datetime
from decimal import Decimal

from beancount.core import account as bc_account
from beancount.core import data
from hypothesis import given
from hypothesis import strategies as st

from importers.settlements.record import parse_settlement
from ledger.chart import DEFAULT_CHART_TEXT, parse_chart
from ledger.money import ZERO, parse_amount
from ledger.register.models import Money, Scaled
from postings.batches import REPORTED_TOTALS, BatchSummary, Payment
from postings.rules import post_batch

CHART = parse_chart(DEFAULT_CHART_TEXT)
fen = st.integers(min_value=-(10**11), max_value=10**11).map(lambda n: Decimal(n).scaleb(-2))
positive_fen = st.integers(min_value=0, max_value=10**9).map(lambda n: Decimal(n).scaleb(-2))


@given(fen)
def test_amounts_round_trip_through_text(value: Decimal) -> None:
    assert parse_amount(str(value)) == value
    assert parse_amount(f"{value:.2f}") == value


@given(st.integers(min_value=1, max_value=9), fen)
def test_a_third_decimal_is_refused_not_rounded(digit: int, value: Decimal) -> None:
    text = f"{value:.2f}{digit}"
    try:
        parse_amount(text)
    except ValueError as exc:
        assert "more than 2 decimals" in str(exc)
    else:
        raise AssertionError(f"{text} was accepted")


@given(fen)
def test_money_column_stores_exact_fen(value: Decimal) -> None:
    stored = Money.process_bind_param(value, None)  # type: ignore[arg-type]
    assert isinstance(stored, int)
    assert Money.process_result_value(stored, None) == value  # type: ignore[arg-type]
    ratio = Scaled(4)
    assert ratio.process_result_value(ratio.process_bind_param(Decimal("0.6"), None), None) == (  # type: ignore[arg-type]
        Decimal("0.6000")
    )


@st.composite
def batches(draw: st.DrawFn) -> BatchSummary:
    med_types = draw(st.lists(st.sampled_from(sorted(CHART.med_type_roles)), unique=True))
    pooled = tuple((m, draw(fen)) for m in sorted(med_types))
    totals = {name: draw(fen) for name in REPORTED_TOTALS}
    totals["hifp_pay"] = sum((a for _m, a in pooled), ZERO)
    return BatchSummary(
        period="2023-01",
        institution_code="H21030101",
        institution_name="示例医院",
        institution_type=draw(st.sampled_from(["1", "2"])),
        clr_type="11",
        settlement_count=draw(st.integers(min_value=1, max_value=10**6)),
        refund_count=0,
        pooled_by_med_type=pooled,
        totals=tuple(totals.items()),
        payment=Payment("2023-02-记-0001", datetime.date(2023, 2, 10)),
    )


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and isinstance(posting.units.number, Decimal)
    return posting.units.number


@given(batches())
def test_posting_rule_balances_and_matches_the_batch(batch: BatchSummary) -> None:
    txn, problems = post_batch(batch, CHART)
    assert problems == [] and txn is not None
    numbers = [_number(p) for p in txn.postings]
    assert sum(numbers, ZERO) == ZERO  # balanced to the fen
    assert ZERO not in numbers  # zero legs are left out
    assert all(bc_account.is_valid(p.account) for p in txn.postings)
    expenses = sum((_number(p) for p in txn.postings if p.account.startswith("Expenses")), ZERO)
    assert expenses == batch.total("hifp_pay") + batch.personal
    banks = {p.account: _number(p) for p in txn.postings if p.account.startswith("Assets")}
    assert banks.get(CHART.account("bank-pooled"), ZERO) == -batch.total("hifp_pay")
    assert banks.get(CHART.account("bank-personal"), ZERO) == -batch.personal
    wrong = "personal-clinic" if batch.institution_type == "2" else "personal-pharmacy"
    assert CHART.account(wrong) not in {p.account for p in txn.postings}
    assert txn.links == frozenset({"clr-2023-01-H21030101-11"})


@st.composite
def settlement_rows(draw: st.DrawFn) -> dict[str, str]:
    hifp, cvl, maf = draw(positive_fen), draw(positive_fen), draw(positive_fen)
    acct, mulaid, cash, hosp = (draw(positive_fen) for _ in range(4))
    fund = hifp + cvl + maf
    person = acct + mulaid + cash
    return {
        "setl_id": "S1",
        "mdtrt_id": "M1",
        "psn_no": "Q1",
        "psn_type": "1101",
        "insutype": "310",
        "med_type": "11",
        "setl_time": "2023-01-05 09:00:00",
        "fixmedins_code": "H1",
        "clr_type": "11",
        "clr_optins": "210300",
        "medfee_sumamt": str(fund + person + hosp),
        "inscp_scp_amt": str(fund + person),
        "hifp_pay": str(hifp),
        "cvlserv_pay": str(cvl),
        "maf_pay": str(maf),
        "fund_pay_sumamt": str(fund),
        "psn_part_amt": str(person),
        "acct_pay": str(acct),
        "acct_mulaid_pay": str(mulaid),
        "psn_cash_pay": str(cash),
        "hosp_part_amt": str(hosp),
    }


@given(settlement_rows(), st.sampled_from(["fund_pay_sumamt", "medfee_sumamt", "psn_part_amt"]))
def test_identities_accept_exact_rows_and_refuse_a_fen_off(row: dict[str, str], total: str) -> None:
    record, problems, _ = parse_settlement(row, "f.csv:2")
    assert problems == [] and record is not None
    assert record["hifp_pay"] == Decimal(row["hifp_pay"])
    broken = {**row, total: str(Decimal(row[total]) + Decimal("0.01"))}
    record, problems, _ = parse_settlement(broken, "f.csv:2")
    assert record is None
    assert any(p.field == total and "does not add up" in p.message for p in problems)
    assert all(str(p).startswith("f.csv:2: ") for p in problems)
