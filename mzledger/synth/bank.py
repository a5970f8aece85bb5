"""The disbursement accounts' bank statements (``bank-<code>-<YYYY-MM>.csv``) and
``bank-accounts.json``, from the batch parts the settlement stream gathered; the fiscal special
account's statements are ``fiscal``'s, from the transfers these make."""

from __future__ import annotations

import csv
import json
import random
import tomllib
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from importlib import resources
from pathlib import Path
from typing import IO

from ledger.books import region_prefix
from ledger.chart import DEFAULT_CHART_TEXT, parse_chart
from ledger.month import Month
from mzledger.synth.draws import ZERO, _decimal_money, _round, _yuan
from mzledger.synth.output import _write_atomic
from mzledger.synth.population import institution_rows
from mzledger.synth.settlements import _Stream
from mzledger.synth.spec import CitySpec

# Bank statements of the disbursement accounts (支出户), in the shipped "generic" layout.
BANK_HEADER: tuple[str, ...] = (
    "交易日期",
    "借方金额",
    "贷方金额",
    "余额",
    "对方户名",
    "对方账号",
    "摘要",
)
# (code, books account of the default chart, the bank's file encoding): the banks differ.
_CHART = parse_chart(DEFAULT_CHART_TEXT)
BANK_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("100401", _CHART.account("bank-pooled"), "utf-8"),
    ("100402", _CHART.account("bank-personal"), "gb18030"),
)
FISCAL_ACCOUNT_NAME = "鞍山市社会保险基金财政专户"  # the default region's (210300) fiscal account
FISCAL_SUFFIX = "社会保险基金财政专户"
TOPUP_DAY, PAY_DAY, INTEREST_DAY = 2, 10, 21
TOPUP_UNIT = Decimal("10000.00")  # the fiscal transfer: the month's payments rounded up to this
INTEREST_RATE = Decimal("0.0035")  # a year, demand deposit; credited quarterly (a quarter of it)
TOPUP_SUMMARY, INTEREST_SUMMARY = "财政专户拨入", "结息"
PAY_SUMMARY = "门诊统筹结算款"  # followed by the batch's link
#: 异地就医: a clearing agency's batches of a month are paid in one line a part, to the agency
REMOTE_SUMMARY = "异地就医清算资金"  # followed by the clearing month and the agency's code
AGENCY_SUFFIX = "医疗保障事务服务中心"


def city_name(region: str) -> str:
    """The region's city name, as the books title has it (``ledger/regions.toml``), else 示例市."""
    try:
        text = resources.files("ledger").joinpath("regions.toml").read_text("utf-8")
        city = tomllib.loads(text).get(region)
    except (ImportError, OSError, tomllib.TOMLDecodeError):
        city = None
    return city if isinstance(city, str) else "示例市"


def fiscal_account_name(region: str) -> str:
    """对方户名 of the fund's fiscal special account: the city's name, then 社会保险基金财政专户."""
    return f"{city_name(region)}{FISCAL_SUFFIX}"


def _bank_account_no(spec: CitySpec, party: str) -> str:
    """A fake account number, fixed by the seed and the party (an institution code, "fiscal")."""
    rng = random.Random(f"{spec.seed}/bank/{party}")
    if party == "fiscal":
        return f"{spec.region}{rng.randrange(10**10):010d}"
    return f"62{rng.randrange(10**17):017d}"


def _statement_lines(
    month: Month,
    opening: Decimal,
    batches: Sequence[tuple[str, str, Decimal]],
    parties: dict[str, tuple[str, str]],
    fiscal: tuple[str, str],
) -> tuple[list[list[str]], Decimal, Decimal]:
    """One account's statement of the payment month after clearing month ``month``: its lines,
    closing balance and the fiscal special account's transfer in. ``batches``: (payee, summary,
    this account's part), nonzero, in that order (``_payments``); ``parties``: payee -> (name,
    account number)."""
    pay_month = month.next()
    lines: list[list[str]] = []
    balance = opening

    def line(day: int, amount: Decimal, party: tuple[str, str], summary: str) -> None:
        nonlocal balance
        balance += amount
        debit, credit = (
            (_decimal_money(-amount), "") if amount < 0 else ("", _decimal_money(amount))
        )
        lines.append(
            [f"{pay_month}-{day:02d}", debit, credit, _decimal_money(balance), *party, summary]
        )

    paid = sum((part for _, _, part in batches if part > 0), ZERO)
    topup = (paid / TOPUP_UNIT).to_integral_value(rounding=ROUND_CEILING) * TOPUP_UNIT
    if topup > 0:
        line(TOPUP_DAY, topup, fiscal, TOPUP_SUMMARY)
    for payee, summary, part in batches:
        line(PAY_DAY, -part, parties[payee], summary)
    if pay_month.month % 3 == 0:  # quarterly interest, credited the day after the 20th
        interest = _round(balance * INTEREST_RATE / 4)
        if interest > 0:
            line(INTEREST_DAY, interest, ("", ""), INTEREST_SUMMARY)
    return lines, balance, topup


#: What ``bank-accounts.json`` lists of each account: its books account, its chart code and
#: its statement files, months in order.
Listed = dict[str, object]
#: The fiscal special account's transfer to each disbursement account: (payment month, code).
Topups = dict[tuple[Month, str], Decimal]


def _write_statements(
    spec: CitySpec, stream: _Stream, out_dir: Path, report: Callable[[Path, int], None]
) -> tuple[list[Path], Topups, list[Listed]]:
    """Both accounts' statements of every payment month, from the batch parts the stream
    gathered. Returns the statements, account by account (100401 first), months in order; the
    transfers in from the fiscal special account; and the accounts as bank-accounts.json
    lists them (``write_bank_accounts``)."""
    # an institution not on the list (the planted clinic): its name as its settlements give it
    names = {inst.code: inst.name for batches in stream.batches.values() for inst in batches}
    names.update((i["fixmedins_code"], i["fixmedins_name"]) for i in institution_rows(spec))
    totals = {
        key: (_yuan(pooled), _yuan(personal))
        for key, (pooled, personal) in stream.batch_parts().items()
    }
    codes = sorted({code for _, code, _ in totals})
    remote = {
        i["fixmedins_code"]: i["admdvs"]
        for i in institution_rows(spec)
        if not i["admdvs"].startswith(region_prefix(spec.region))
    }
    parties = {c: (names[c], _bank_account_no(spec, c)) for c in codes if c not in remote}
    parties.update(
        (agency, (f"{_CHART.agencies[agency]}{AGENCY_SUFFIX}", _bank_account_no(spec, agency)))
        for agency in set(remote.values())
    )
    fiscal = (fiscal_account_name(spec.region), _bank_account_no(spec, "fiscal"))
    paths: list[Path] = []
    accounts: list[Listed] = []
    topups: Topups = {}
    for index, (code, account, encoding) in enumerate(BANK_ACCOUNTS):
        balance = ZERO
        files = []
        for month in map(Month.parse, spec.months):
            batches = _payments(
                month,
                [
                    (inst, clr_type, parts[index])
                    for (m, inst, clr_type), parts in totals.items()
                    if m == month and parts[index] != 0
                ],
                remote,
            )
            lines, balance, topups[month.next(), code] = _statement_lines(
                month, balance, batches, parties, fiscal
            )

            def write(fh: IO[str], lines: list[list[str]] = lines) -> None:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(BANK_HEADER)
                writer.writerows(lines)

            path = out_dir / f"bank-{code}-{month.next()}.csv"
            paths.append(_write_atomic(path, write, encoding=encoding))
            files.append(path.name)
            report(path, len(lines))
        accounts.append({"account": account, "code": code, "files": files})
    return paths, topups, accounts


def _payments(
    month: Month, parts: Sequence[tuple[str, str, Decimal]], remote: dict[str, str]
) -> list[tuple[str, str, Decimal]]:
    """(payee, summary, amount) of a clearing month's payments from one account: a batch's part
    to its institution, the parts of an agency's batches (异地就医, ``remote``: institution ->
    agency) in one line to the agency; institutions, then agencies, each in code order."""
    lines = sorted(
        (code, f"{PAY_SUMMARY} clr-{month}-{code}-{clr_type}", part)
        for code, clr_type, part in parts
        if code not in remote
    )
    by_agency: dict[str, Decimal] = {}
    for code, _clr_type, part in parts:
        if code in remote:
            by_agency[remote[code]] = by_agency.get(remote[code], ZERO) + part
    lines += [
        (agency, f"{REMOTE_SUMMARY} {month} {agency}", amount)
        for agency, amount in sorted(by_agency.items())
        if amount != 0
    ]
    return lines


def write_bank_accounts(out_dir: Path, accounts: list[Listed]) -> Path:
    """bank-accounts.json: which statements belong to which books account."""

    def write(fh: IO[str]) -> None:
        fh.write(json.dumps(accounts, ensure_ascii=False, indent=2) + "\n")

    return _write_atomic(out_dir / "bank-accounts.json", write)
