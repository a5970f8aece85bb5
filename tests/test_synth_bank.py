"""The synthetic city's bank statements of the disbursement accounts, checked against batches
grouped here from the settlement rows (the city itself: tests/test_synth.py)."""

from __future__ import annotations

import csv
import datetime
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from mzledger.synth import (
    FISCAL_ACCOUNT_NAME,
    CitySpec,
    fiscal_account_name,
    institution_rows,
    write_city,
)
from tests.test_synth import CENT, City, Row, _city, d, read_csv

POOLED_ACCOUNT = "Assets:1004-支出户存款:01-统筹基金"
PERSONAL_ACCOUNT = "Assets:1004-支出户存款:02-个人账户基金"
FISCAL_ACCOUNT = "Assets:1003-财政专户存款"
#: the clearing agencies the default chart keeps an advance for (1101 by agency)
AGENCY_NAMES = {"110100": "北京市", "120100": "天津市", "210100": "沈阳市", "310100": "上海市"}
BANK_HEADER = "交易日期,借方金额,贷方金额,余额,对方户名,对方账号,摘要"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    return _city(CitySpec(), tmp_path_factory.mktemp("city"))


@dataclass
class Line:
    date: str
    amount: Decimal  # as the account sees it: negative = money out
    balance: Decimal
    name: str
    account: str
    summary: str


def next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:])
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def read_statement_lines(path: Path, encoding: str) -> list[Line]:
    raw = path.read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    text = raw.decode(encoding)
    assert text.splitlines()[0] == BANK_HEADER
    money = re.compile(r"\d+\.\d{2}")
    lines = []
    for r in csv.DictReader(text.splitlines()):
        debit, credit = r["借方金额"], r["贷方金额"]
        assert (debit == "") != (credit == ""), r  # exactly one of the two, the other empty
        assert money.fullmatch(debit or credit) and Decimal(debit or credit) > 0, r
        assert money.fullmatch(r["余额"]), r
        assert datetime.date.fromisoformat(r["交易日期"]).isoformat() == r["交易日期"]
        amount = -Decimal(debit) if debit else Decimal(credit)
        lines.append(
            Line(r["交易日期"], amount, Decimal(r["余额"]), r["对方户名"], r["对方账号"], r["摘要"])
        )
    return lines


def batch_parts(rows: Iterable[Row]) -> dict[tuple[str, str, str], tuple[Decimal, Decimal]]:
    """Clearing batches grouped here: (month, institution, clr_type) -> (pooled, personal)."""
    parts: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
    for r in rows:
        key = (r["setl_time"][:7], r["fixmedins_code"], r["clr_type"])
        pooled, personal = parts.get(key, (Decimal(0), Decimal(0)))
        parts[key] = (
            pooled + d(r, "hifp_pay"),
            personal + d(r, "acct_pay") + d(r, "acct_mulaid_pay"),
        )
    return parts


def _agency_lines(
    lines: list[Line], month: str, parts: dict[Any, Any], remote: dict[str, str], index: int
) -> list[Line]:
    """The lines to the clearing agencies: one per agency whose institutions' parts of the
    month add up to non-zero, in code order, the sum to the fen, to the agency by name."""
    agencies: dict[str, Decimal] = defaultdict(Decimal)
    for (m, inst, _clr), p in parts.items():
        if m == month and inst in remote:
            agencies[remote[inst]] += p[index]
    expected = [(agency, total) for agency, total in sorted(agencies.items()) if total]
    assert [(x.summary, x.name, -x.amount) for x in lines] == [
        (f"异地就医清算资金 {month} {agency}", f"{AGENCY_NAMES[agency]}医疗保障事务服务中心", total)
        for agency, total in expected
    ]
    return lines


def _check_listed(spec: CitySpec, out: Path) -> list[str]:
    """bank-accounts.json lists each account's statements, months in order; the payment
    months."""
    listed = json.loads((out / "bank-accounts.json").read_text(encoding="utf-8"))
    pay_months = [next_month(m) for m in spec.months]
    assert listed[:2] == [
        {"account": account, "code": code, "files": [f"bank-{code}-{m}.csv" for m in pay_months]}
        for account, code in ((POOLED_ACCOUNT, "100401"), (PERSONAL_ACCOUNT, "100402"))
    ]
    fiscal_months = sorted(set(pay_months) | {m for m in spec.months if m >= "2023-01"})
    assert listed[2:] == [
        {
            "account": FISCAL_ACCOUNT,
            "code": "1003",
            "files": [f"bank-1003-{m}.csv" for m in fiscal_months],
        }
    ]
    return pay_months


def check_statements(spec: CitySpec, out: Path, rows: list[Row]) -> Counter[str]:
    """Every statement of both accounts against batches grouped here from the settlement rows;
    counts what was seen ("credit-batch": a batch whose part came back, "interest")."""
    pay_months = _check_listed(spec, out)
    parts = batch_parts(rows)
    remote = {  # institution -> its clearing agency, for those outside the city
        i["fixmedins_code"]: i["admdvs"]
        for i in institution_rows(spec)
        if not i["admdvs"].startswith(spec.region[:4])
    }
    names = {i["fixmedins_code"]: i["fixmedins_name"] for i in institution_rows(spec)}
    for r in rows:  # an institution not on the list: its name as its settlements give it
        names.setdefault(r["fixmedins_code"], r["fixmedins_name"])
    seen: Counter[str] = Counter()
    accounts: dict[str, set[str]] = defaultdict(set)
    for index, (code, encoding) in enumerate((("100401", "utf-8"), ("100402", "gb18030"))):
        balance = Decimal("0.00")
        for month, pay in zip(spec.months, pay_months, strict=True):
            lines = read_statement_lines(out / f"bank-{code}-{pay}.csv", encoding)
            assert [x.date for x in lines] == sorted(x.date for x in lines)
            assert all(x.date.startswith(pay) for x in lines)
            for x in lines:  # the running balance, to the fen, chained from the month before
                balance += x.amount
                assert x.balance == balance >= 0, (code, pay, x)
            paid = [x for x in lines if x.date == f"{pay}-10"]
            due = {
                f"clr-{m}-{inst}-{clr}": p[index]
                for (m, inst, clr), p in sorted(parts.items())
                if m == month and p[index] != 0 and inst not in remote
            }
            # one line per nonzero batch, in (institution, clr_type) order, its link in 摘要;
            # then one per clearing agency (异地就医) for its institutions' batches
            to_agencies = _agency_lines(paid[len(due) :], month, parts, remote, index)
            assert [x.summary for x in paid[: len(due)]] == [
                f"门诊统筹结算款 {link}" for link in due
            ]
            paid = paid[: len(due)]
            assert sum((x.amount for x in paid), Decimal(0)) == -sum(due.values(), Decimal(0))
            for x, (link, part) in zip(paid, due.items(), strict=True):
                assert sum(link in y.summary for y in lines) == 1
                assert x.amount == -part and x.name == names[link.split("-")[3]]
                assert re.fullmatch(r"\d{16,19}", x.account)
                accounts[x.name].add(x.account)
                seen["credit-batch"] += part < 0
            out_total = sum(
                (part for part in (*due.values(), *(-x.amount for x in to_agencies)) if part > 0),
                Decimal(0),
            )
            topup = (out_total / 10000).to_integral_value(ROUND_CEILING) * 10000
            first = [x for x in lines if x.date == f"{pay}-02"]
            assert [(x.amount, x.name, x.summary) for x in first] == (
                [(topup, FISCAL_ACCOUNT_NAME, "财政专户拨入")] if topup else []
            )
            interest = [x for x in lines if x.date == f"{pay}-21"]
            if pay.endswith("-03"):
                before = interest[0].balance - interest[0].amount
                rate = Decimal("0.0035") / 4
                assert interest[0].amount == (before * rate).quantize(CENT, ROUND_HALF_UP) > 0
                assert (interest[0].name, interest[0].account, interest[0].summary) == (
                    "",
                    "",
                    "结息",
                )
                seen["interest"] += 1
            else:
                assert interest == []
            assert len(lines) == len(first) + len(paid) + len(to_agencies) + len(interest)
    assert all(len(a) == 1 for a in accounts.values())  # one account number per institution
    assert len({a for s in accounts.values() for a in s}) == len(accounts)
    return seen


def test_bank_statements(city: City) -> None:
    seen = check_statements(CitySpec(), city.out, city.rows)
    assert seen["interest"] == 2  # payment month 2023-03, each account
    assert FISCAL_ACCOUNT_NAME == fiscal_account_name("210300") == "鞍山市社会保险基金财政专户"
    for path in city.paths:
        if path.name.startswith("bank-100402-"):
            path.read_bytes().decode("gb18030")
            with pytest.raises(UnicodeDecodeError):
                path.read_bytes().decode("utf-8")
        elif path.name.startswith("bank-100401-"):
            path.read_bytes().decode("utf-8")
    planted_clinic = "H21039901"  # the non-designated clinic: paid under its settlement name
    for code, encoding in (("100401", "utf-8"), ("100402", "gb18030")):
        first = read_statement_lines(city.out / f"bank-{code}-2023-01.csv", encoding)[0]
        assert first.balance - first.amount == 0 and first.summary == "财政专户拨入"
    assert any(
        planted_clinic in x.summary and x.name == "示例某某诊所"
        for m in range(1, 5)
        for x in read_statement_lines(city.out / f"bank-100401-2023-{m:02d}.csv", "utf-8")
    )


def test_bank_statements_when_refunds_exceed_a_batch(tmp_path: Path) -> None:
    """Few settlements: a batch holding mostly a refund comes back as money in on the 10th."""
    spec = CitySpec(
        seed=1, persons=60, institutions=4, months=("2023-01", "2023-02"), settlements_per_month=12
    )
    paths = write_city(spec, tmp_path)
    rows = [r for p in paths if p.name.startswith("settlements-") for r in read_csv(p)]
    seen = check_statements(spec, tmp_path, rows)
    assert seen["credit-batch"] >= 2 and seen["interest"] == 2


def test_bank_statements_read_by_the_generic_layout(city: City) -> None:
    """The project's statement reader takes every file with the shipped layout."""
    from importers.statements import load_layout, read_statement

    layout = load_layout("generic")
    closing = {"100401": Decimal(0), "100402": Decimal(0), "1003": _opening_1003(city.out)}
    for path in city.paths:
        if path.name.startswith("bank-"):
            statement, problems = read_statement(path, layout)
            assert problems == [] and statement is not None
            code = path.name.split("-")[1]
            assert statement.opening_balance == closing[code]
            assert statement.closing_balance is not None
            closing[code] = statement.closing_balance


def _opening_1003(out: Path) -> Decimal:
    rows = list(csv.DictReader((out / "opening-balances.csv").read_text("gb18030").splitlines()))
    return Decimal(next(r["借方余额"] for r in rows if r["科目编码"] == "1003"))


def check_fiscal_statements(spec: CitySpec, out: Path) -> Counter[str]:
    """The fiscal special account's statements: its running balance chained from the opening
    trial balance's 1003 and never below zero; its transfers to the disbursement accounts those
    accounts' transfers in (same day, same amount); its contribution receipts what the month's
    collection file adds up to, on the 25th; and the lines that come once. Counts the kinds."""
    listed = json.loads((out / "bank-accounts.json").read_text(encoding="utf-8"))
    files = next(a["files"] for a in listed if a["code"] == "1003")
    balance = _opening_1003(out)
    seen: Counter[str] = Counter()
    for name in files:
        month = name[-11:-4]
        lines = read_statement_lines(out / name, "utf-8")
        assert [x.date for x in lines] == sorted(x.date for x in lines)
        for x in lines:
            balance += x.amount
            assert x.balance == balance >= 0, (name, x)
        # the 2nd: the same amounts as the disbursement accounts' transfers in, on their day
        expected = []
        for code, encoding, fund in (
            ("100401", "utf-8", "统筹基金"),
            ("100402", "gb18030", "个人账户基金"),
        ):
            path = out / f"bank-{code}-{month}.csv"
            theirs = read_statement_lines(path, encoding) if path.exists() else []
            expected += [
                (x.date, -x.amount, f"拨付{fund}支出户")
                for x in theirs
                if x.summary == "财政专户拨入"
            ]
        assert [(x.date, x.amount, x.summary) for x in lines if "拨付" in x.summary] == expected
        seen["transfer"] += len(expected)
        collection = out / f"contributions-{month}.csv"
        receipts = [x for x in lines if x.summary.startswith("社保费征缴")]
        if collection.exists():
            rows = read_csv(collection)
            paid = sum(
                (d(r, "employer_amount") + d(r, "employee_amount") for r in rows), Decimal(0)
            )
            assert [(x.date, x.amount) for x in receipts] == [(f"{month}-25", paid)]
            assert receipts[0].name == "国家税务总局鞍山市税务局"
            seen["contribution"] += 1
        else:
            assert receipts == []
        for x in lines:
            kind = {
                "追回违规结算统筹基金待遇": "recovery",
                "个人账户转入 跨统筹区转移": "transfer-in",
                "个人账户转出 跨统筹区转移": "transfer-out",
                "财政补贴收入": "subsidy",
                "结息": "interest",
            }.get(x.summary)
            if x.summary.startswith("异地就医预付金 "):  # the first month, each agency
                assert x.amount == Decimal("-30000.00") and name == files[0]
                assert x.name == f"{AGENCY_NAMES[x.summary[-6:]]}医疗保障事务服务中心"
                kind = "advance"
            if kind is not None:
                seen[kind] += 1
                assert (x.amount < 0) == (kind in ("transfer-out", "advance"))
        interest = [x for x in lines if x.summary == "结息"]
        if month[5:] in ("03", "06", "09", "12"):
            before = interest[0].balance - interest[0].amount
            rate = Decimal("0.0035") / 4
            assert interest[0].amount == (before * rate).quantize(CENT, ROUND_HALF_UP)
            assert interest[0].date == f"{month}-21"
        else:
            assert interest == []
    assert seen["subsidy"] == (1 if any(name[-6:-4] == "03" for name in files) else 0)
    return seen


def test_fiscal_special_account_statements(city: City) -> None:
    seen = check_fiscal_statements(CitySpec(), city.out)
    assert seen == Counter(
        transfer=8, contribution=3, recovery=1, **{"transfer-in": 1, "transfer-out": 1},
        subsidy=1, interest=1, advance=2,
    )  # fmt: skip
    march = read_statement_lines(city.out / "bank-1003-2023-03.csv", "utf-8")
    assert [(x.date, x.amount) for x in march if x.summary == "财政补贴收入"] == [
        ("2023-03-06", Decimal("200000.00"))
    ]


def test_fiscal_statements_of_a_city_starting_in_january(tmp_path: Path) -> None:
    """The first month collects contributions and pays nothing yet: its fiscal statement holds
    the receipt (and the recovery), and the balance chains on to March, when February's batches
    are paid (and the subsidy and the quarter's interest come)."""
    spec = CitySpec(
        seed=1, persons=60, institutions=4, months=("2023-01", "2023-02"), settlements_per_month=12
    )
    write_city(spec, tmp_path)
    seen = check_fiscal_statements(spec, tmp_path)
    assert seen == Counter(
        transfer=4, contribution=2, recovery=1, **{"transfer-in": 1, "transfer-out": 1},
        subsidy=1, interest=1, advance=2,
    )  # fmt: skip
    january = read_statement_lines(tmp_path / "bank-1003-2023-01.csv", "utf-8")
    assert [x.summary for x in january] == [
        "异地就医预付金 110100",  # the advance to each clearing agency, in its first month
        "异地就医预付金 210100",
        "追回违规结算统筹基金待遇",
        "社保费征缴 2023-01",
    ]
