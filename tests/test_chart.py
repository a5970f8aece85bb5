"""The chart of accounts is data: the default one is valid, a broken one says what is wrong."""

from __future__ import annotations

import pytest
from beancount import loader
from beancount.core import account as bc_account

from ledger.chart import DEFAULT_CHART_TEXT, POSTING_ROLES, ChartError, parse_chart, render_accounts


def test_default_chart_follows_the_2017_system() -> None:
    """National first-level codes (社会保险基金会计制度, 财会〔2017〕28号); the sub-fund the second
    level of 3001 and of every income and expenditure account (docs/accounting-system-2017.md)."""
    chart = parse_chart(DEFAULT_CHART_TEXT)
    assert [(a.code, a.title) for a in chart.accounts] == [
        ("1003", "财政专户存款"),
        ("100401", "支出户存款——统筹基金"),
        ("100402", "支出户存款——个人账户基金"),
        ("1005", "国库存款"),
        # 异地就医预付金 by clearing agency: 1101, its detail 01, the agency's region code
        ("110101110100", "暂付款——异地就医预付金——北京市"),
        ("110101120100", "暂付款——异地就医预付金——天津市"),
        ("110101210100", "暂付款——异地就医预付金——沈阳市"),
        ("110101310100", "暂付款——异地就医预付金——上海市"),
        ("300101", "一般基金结余——统筹基金"),
        ("300102", "一般基金结余——个人账户基金"),
        ("400101", "社会保险费收入——统筹基金"),
        ("400102", "社会保险费收入——个人账户基金"),
        ("410101", "财政补贴收入——统筹基金"),
        ("420101", "利息收入——统筹基金"),
        ("420102", "利息收入——个人账户基金"),
        ("430102", "转移收入——个人账户基金"),
        ("450101", "其他收入——统筹基金"),
        ("450102", "其他收入——个人账户基金"),
        ("50010102", "社会保险待遇支出——统筹基金——门诊大病费用支出"),
        ("50010103", "社会保险待遇支出——统筹基金——门诊统筹费用支出"),
        ("50010202", "社会保险待遇支出——个人账户基金——门诊费用支出"),
        ("50010203", "社会保险待遇支出——个人账户基金——药店医药费用支出"),
        ("520102", "转移支出——个人账户基金"),
        ("540101", "其他支出——统筹基金"),
        ("540102", "其他支出——个人账户基金"),
    ]
    assert all(bc_account.is_valid(a.name) for a in chart.accounts)
    assert chart.account("pooled-outpatient") == (
        "Expenses:5001-社会保险待遇支出:01-统筹基金:03-门诊统筹费用支出"
    )
    assert chart.med_type_roles["14"] == "pooled-chronic"
    assert "21" not in chart.med_type_roles  # in-patient is never posted by default


def test_split_roles_follow_the_bank_accounts_sub_fund() -> None:
    """Interest and bank charges go to the sub-fund whose disbursement account they are on."""
    chart = parse_chart(DEFAULT_CHART_TEXT)
    personal = chart.account("bank-personal")
    assert chart.fund_of(personal) == "personal"
    assert chart.fund_of(chart.account("bank-pooled")) == "pooled"
    assert chart.fund_of(chart.account("fiscal-special")) is None
    assert (
        chart.fund_account("interest-income", "personal") == "Income:4201-利息收入:02-个人账户基金"
    )
    assert chart.fund_account("bank-charges", "pooled") == "Expenses:5401-其他支出:01-统筹基金"


def test_a_chart_made_before_the_sub_funds_keeps_its_one_account() -> None:
    """Books keep the chart they were made with: a role with one account and no sub-fund serves
    both sub-funds."""
    split = (
        '[[account]]\nname = "Income:4201-利息收入:01-统筹基金"\nrole = "interest-income"\n'
        'fund = "pooled"\n\n[[account]]\nname = "Income:4201-利息收入:02-个人账户基金"\n'
        'role = "interest-income"\nfund = "personal"\n'
    )
    assert split in DEFAULT_CHART_TEXT
    one = '[[account]]\nname = "Income:4004-利息收入"\nrole = "interest-income"\n'
    text = DEFAULT_CHART_TEXT.replace(split, one)
    chart = parse_chart(text)
    assert chart.fund_account("interest-income", "personal") == "Income:4004-利息收入"
    assert chart.fund_account("interest-income", "pooled") == "Income:4004-利息收入"


def test_rendered_accounts_load_in_beancount() -> None:
    entries, errors, _ = loader.load_string(render_accounts(parse_chart(DEFAULT_CHART_TEXT)))
    assert errors == []
    assert len(entries) == 25
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
fund = "retired"
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
    assert (
        "account #2: fund: not a sub-fund (found 'retired', expected pooled or personal)" in message
    )


def test_the_fiscal_special_accounts_roles_and_bank_numbers() -> None:
    """The roles the fiscal special account's statement books to; a role an older chart lacks
    is None, not an error; a disbursement account's bank number tells its sub-fund."""
    chart = parse_chart(DEFAULT_CHART_TEXT)
    assert chart.find("fiscal-subsidy") == "Income:4101-财政补贴收入:01-统筹基金"
    assert chart.find("transfer-in") == "Income:4301-转移收入:02-个人账户基金"
    assert chart.find("transfer-out") == "Expenses:5201-转移支出:02-个人账户基金"
    assert chart.find("other-income", "personal") == "Income:4501-其他收入:02-个人账户基金"
    assert chart.find("no-such-role") is None and chart.find("no-such-role", "pooled") is None
    assert chart.fund_of_bank_account("6222000000000000001") is None  # no numbers by default
    numbered = DEFAULT_CHART_TEXT.replace(
        'role = "bank-personal"\n', 'role = "bank-personal"\nbank_account = "2103000100000098"\n'
    )
    chart = parse_chart(numbered)
    assert chart.fund_of_bank_account("2103000100000098") == "personal"
    assert chart.fund_of_bank_account(" 2103000100000098 ") == "personal"
    assert chart.fund_of_bank_account("2103000100000099") is None
    with pytest.raises(ChartError) as caught:
        parse_chart(numbered.replace('"2103000100000098"', '"2103 0001"'), "chart.toml")
    assert str(caught.value) == (
        "chart.toml: account #3: bank_account: not a bank account number (found '2103 0001', "
        'expected digits, e.g. "2103000100000099")'
    )
