"""The fiscal special account's statements (财政专户对账单, ``bank-1003-<YYYY-MM>.csv``), one for
each month it moves money: the months the disbursement accounts are topped up and the months
contributions are received.

Its opening balance is the opening trial balance's 1003 (both sub-funds' reserves). Each month:
the transfers to the two disbursement accounts on the 2nd (the same day and amounts as their
statements' transfers in), the month's contribution receipt on the 25th (what its collection
file adds up to). Once each, where the months allow: a benefit recovered from an institution
(追回…统筹基金) in the first month, a personal account transferred in from another region in
the second, one transferred out in the third, a fiscal subsidy (财政补贴收入, 200,000.00) in
the first March; and the quarter's interest on the 21st of March, June, September and
December, at the disbursement accounts' rate on the balance before it. The amounts drawn are
fixed by the seed; the balance never goes below zero, the reserves being twice what is paid
out.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

from ledger.month import Month
from mzledger.synth.bank import (
    _CHART,
    AGENCY_SUFFIX,
    BANK_HEADER,
    INTEREST_DAY,
    INTEREST_RATE,
    INTEREST_SUMMARY,
    TOPUP_DAY,
    Listed,
    Topups,
    _bank_account_no,
    city_name,
)
from mzledger.synth.contributions import RECEIVED_DAY
from mzledger.synth.draws import _decimal_money, _round
from mzledger.synth.output import _write_atomic
from mzledger.synth.population import institution_rows
from mzledger.synth.spec import CitySpec

FISCAL_CODE = "1003"
FISCAL_BOOKS_ACCOUNT = _CHART.account("fiscal-special")
SUBSIDY = Decimal("200000.00")
#: 异地就医预付金 paid to each clearing agency of the city's outside institutions, on the first
#: month's statement (the agencies' monthly clearings are paid from the disbursement accounts)
ADVANCE, ADVANCE_DAY = Decimal("30000.00"), 8
SUBSIDY_DAY, TRANSFER_IN_DAY, TRANSFER_OUT_DAY, RECOVERY_DAY = 6, 15, 16, 18
OTHER_IN, OTHER_OUT = "大连市医疗保障事务服务中心", "沈阳市医疗保障事务服务中心"
#: Each disbursement account as the fiscal special account's statement names it.
DISBURSEMENT = {"100401": "统筹基金", "100402": "个人账户基金"}


def _once(spec: CitySpec, months: Sequence[Month]) -> dict[Month, list[tuple[int, str, Decimal]]]:
    """The lines that come once: (day, kind, amount) by month; amounts drawn from the seed."""
    rng = random.Random(f"{spec.seed}/fiscal")
    events: dict[Month, list[tuple[int, str, Decimal]]] = {}
    drawn = [Decimal(rng.randrange(100_000, 900_000)).scaleb(-2) for _ in range(3)]
    for index, (day, kind) in enumerate(
        ((RECOVERY_DAY, "recovery"), (TRANSFER_IN_DAY, "transfer-in"), (TRANSFER_OUT_DAY, "out"))
    ):
        if index < len(months):
            events.setdefault(months[index], []).append((day, kind, drawn[index]))
    march = next((m for m in months if m.month == 3), None)
    if march is not None:
        events.setdefault(march, []).append((SUBSIDY_DAY, "subsidy", SUBSIDY))
    return events


def write_fiscal_statements(
    spec: CitySpec,
    out_dir: Path,
    opening: Decimal,
    topups: Topups,
    receipts: Sequence[tuple[Month, Path, Decimal]],
    report: Callable[[Path, int], None],
) -> tuple[list[Path], Listed]:
    """out_dir/bank-1003-YYYY-MM.csv for each month of ``topups`` and ``receipts``, in order;
    and the account as bank-accounts.json lists it. ``opening``: 1003's opening balance."""
    city = city_name(spec.region)
    received = {month: paid for month, _path, paid in receipts}
    months = sorted({month for month, _code in topups} | set(received))
    once = _once(spec, months)
    institution = institution_rows(spec)[0]
    hospital = (
        institution["fixmedins_name"],
        _bank_account_no(spec, institution["fixmedins_code"]),
    )
    parties = {  # (对方户名, 对方账号, 摘要); the other regions' agencies by their region codes
        "recovery": (*hospital, "追回违规结算统筹基金待遇"),
        "transfer-in": (OTHER_IN, _bank_account_no(spec, "210200"), "个人账户转入 跨统筹区转移"),
        "out": (OTHER_OUT, _bank_account_no(spec, "210100"), "个人账户转出 跨统筹区转移"),
        "subsidy": (f"{city}财政局", _bank_account_no(spec, "treasury"), "财政补贴收入"),
    }
    balance = opening
    paths: list[Path] = []
    files: list[str] = []
    for month in months:
        lines: list[tuple[int, Decimal, str, str, str]] = []  # day, amount, name, number, summary
        for code, fund in DISBURSEMENT.items():
            topup = topups.get((month, code), Decimal(0))
            if topup > 0:
                name = f"{city}医疗保障事务服务中心{fund}支出户"
                number = _bank_account_no(spec, code)
                lines.append((TOPUP_DAY, -topup, name, number, f"拨付{fund}支出户"))
        if month == months[0]:
            lines += _advances(spec)
        for day, kind, amount in once.get(month, []):
            name, number, summary = parties[kind]
            lines.append((day, -amount if kind == "out" else amount, name, number, summary))
        if month in received:
            tax = (f"国家税务总局{city}税务局", _bank_account_no(spec, "tax"))
            lines.append((RECEIVED_DAY, received[month], *tax, f"社保费征缴 {month}"))
        lines.sort(key=lambda line: line[0])  # by day; a day's lines in the order made
        rows, balance = _rows(month, balance, lines)
        path = _write(out_dir / f"bank-{FISCAL_CODE}-{month}.csv", rows)
        report(path, len(rows))
        paths.append(path)
        files.append(path.name)
    return paths, {"account": FISCAL_BOOKS_ACCOUNT, "code": FISCAL_CODE, "files": files}


def _advances(spec: CitySpec) -> list[tuple[int, Decimal, str, str, str]]:
    """The advance (异地就医预付金) to each agency that clears the city's outside institutions."""
    agencies = sorted({i["admdvs"] for i in institution_rows(spec)} - {spec.region})
    return [
        (
            ADVANCE_DAY,
            -ADVANCE,
            f"{_CHART.agencies[agency]}{AGENCY_SUFFIX}",
            _bank_account_no(spec, agency),
            f"异地就医预付金 {agency}",
        )
        for agency in agencies
    ]


def _rows(
    month: Month, balance: Decimal, lines: Sequence[tuple[int, Decimal, str, str, str]]
) -> tuple[list[list[str]], Decimal]:
    """The statement's rows with their running balance, the quarter's interest among them."""
    rows: list[list[str]] = []

    def row(day: int, amount: Decimal, name: str, number: str, summary: str) -> None:
        nonlocal balance
        balance += amount
        debit, credit = (
            (_decimal_money(-amount), "") if amount < 0 else ("", _decimal_money(amount))
        )
        date = f"{month}-{day:02d}"
        rows.append([date, debit, credit, _decimal_money(balance), name, number, summary])

    interest_due = month.month % 3 == 0
    for line in lines:
        if interest_due and line[0] > INTEREST_DAY:
            _interest(row, balance)
            interest_due = False
        row(*line)
    if interest_due:
        _interest(row, balance)
    return rows, balance


def _interest(row: Callable[[int, Decimal, str, str, str], None], balance: Decimal) -> None:
    interest = _round(balance * INTEREST_RATE / 4)
    if interest > 0:
        row(INTEREST_DAY, interest, "", "", INTEREST_SUMMARY)


def _write(path: Path, rows: list[list[str]]) -> Path:
    def write(fh: IO[str]) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(BANK_HEADER)
        writer.writerows(rows)

    return _write_atomic(path, write)
