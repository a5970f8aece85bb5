"""The chart of accounts is data: the default one is valid, a broken one says what is wrong."""

from __future__ import annotations

import pytest
from beancount import loader
from beancount.core import account as bc_account

from ledger.chart import DEFAULT_CHART_TEXT, POSTING_ROLES, ChartError, parse_chart, render_accounts


def test_default_chart_follows_domain_md() -> None:
    chart = parse_chart(DEFAULT_CHART_TEXT)
    names = [a.name for a in chart.accounts]
    assert names == [
        "Assets:1003-财政专户存款",
        "Assets:1004-支出户存款:01-统筹基金",
        "Assets:1004-支出户存款:02-个人账户",
        "Expenses:5001-社会保险待遇支出:01-统筹基金待遇支出:03-门诊统筹",
        "Expenses:5001-社会保险待遇支出:01-统筹基金待遇支出:04-门诊慢特病",
        "Expenses:5001-社会保险待遇支出:02-个人账户待遇支出:01-普通门诊支出",
        "Expenses:5001-社会保险待遇支出:02-个人账户待遇支出:02-定点药店医药费支出",
        "Income:4004-利息收入",
        "Expenses:5301-其他支出:01-银行手续费",
    ]
    assert all(bc_account.is_valid(n) for n in names)
    outpatient = chart.accounts[3]
    assert (outpatient.code, outpatient.title) == (
        "50010103",
        "社会保险待遇支出——统筹基金待遇支出——门诊统筹",
    )
    assert chart.med_type_roles["14"] == "pooled-chronic"
    assert "21" not in chart.med_type_roles  # in-patient is never posted by default


def test_rendered_accounts_load_in_beancount() -> None:
    entries, errors, _ = loader.load_string(render_accounts(parse_chart(DEFAULT_CHART_TEXT)))
    assert errors == []
    assert len(entries) == 9
    assert entries[0].meta["code"] == "1003"


def test_a_broken_chart_names_every_problem() -> None:
    text = """
opened_on = 2022-12-01
[[account]]
name = "Assets:支出户存款"
role = "bank-pooled"
[[account]]
name = "Expenses:5001-x"
role = "bank-pooled"
[med_type]
"11" = "personal-clinic"
"""
    with pytest.raises(ChartError) as caught:
        parse_chart(text, "books/chart.toml")
    message = str(caught.value)
    assert "books/chart.toml: account #1: name: not a valid Beancount account" in message
    assert "role 'bank-pooled': needs exactly one account (found 2)" in message
    for role in set(POSTING_ROLES) - {"bank-pooled"}:
        assert f"role {role!r}: needs exactly one account (found 0)" in message
    assert "med_type 11: role must be a pooled-fund expense" in message
