"""The chart of accounts (会计科目表), read from a TOML data file.

Account names follow the books' convention ``Root:<code>-<中文名>:...``; each account's code and
Chinese full name are derived from its name, so the data file states them once.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from beancount.core import account as bc_account

#: The roles the posting rule needs (Shanxi art. 28); a chart must give each one an account.
POSTING_ROLES = (
    "bank-pooled",
    "bank-personal",
    "pooled-outpatient",
    "pooled-chronic",
    "personal-clinic",
    "personal-pharmacy",
)


#: What a chart's ``bank_account`` may hold: a bank's account number, digits (some banks add
#: letters or a hyphen), no blanks, as statements print it in their 对方账号 column.
BANK_NUMBER = re.compile(r"[0-9A-Za-z-]{4,40}")

#: The two sub-funds of the employee medical insurance fund (统筹基金, 个人账户基金), by the
#: bank account that holds each one's money (支出户存款 by sub-fund).
SUB_FUNDS = ("pooled", "personal")
FUND_OF_BANK = {"bank-pooled": "pooled", "bank-personal": "personal"}
#: The sub-fund an account's second-level component names after its code: the 2017 system puts
#: it there in 3001 and in every income and expenditure account (``01-统筹基金``,
#: ``02-个人账户基金``). The year-end closing and the statements by sub-fund read it.
SUB_FUND_TITLES = {"统筹基金": "pooled", "个人账户基金": "personal"}
#: Each sub-fund's Chinese name, for messages and statements.
SUB_FUND_NAMES = {fund: title for title, fund in SUB_FUND_TITLES.items()}
#: The role of a clearing agency's detail of 1101 暂付款——异地就医预付金 (each has ``agency``).
ADVANCE_ROLE = "remote-advance"
AGENCY_CODE = re.compile(r"\d{6}")


def sub_fund_of(account_name: str) -> str | None:
    """The sub-fund (``pooled``, ``personal``) the account's second level names, e.g.
    ``Income:4001-社会保险费收入:02-个人账户基金`` -> ``personal``; None when it names none, as in
    charts made before the 2017 system's (``Income:4004-利息收入``)."""
    parts = account_name.split(":")
    if len(parts) < 3:
        return None
    return SUB_FUND_TITLES.get(parts[2].partition("-")[2])


class ChartError(ValueError):
    """The chart data file is not usable; the message names the file and the entry."""


@dataclass(frozen=True)
class ChartAccount:
    name: str
    role: str
    fund: str | None = None  # the sub-fund (SUB_FUNDS) an account of a split role belongs to
    # a bank account's number (账号) as banks print it: the fiscal special account's statement
    # tells by it which disbursement account a transfer went to (optional)
    bank_account: str | None = None
    # a clearing agency's code (清算经办机构, the settlements' clr_optins) for its own detail of
    # 1101 暂付款——异地就医预付金 (role ``remote-advance``)
    agency: str | None = None

    @property
    def code(self) -> str:
        """Concatenated codes of the components, e.g. ``50010103``."""
        return "".join(part.split("-", 1)[0] for part in self.name.split(":")[1:])

    @property
    def title(self) -> str:
        """Chinese full name, e.g. ``社会保险待遇支出——统筹基金待遇支出——门诊统筹``."""
        return "——".join(part.split("-", 1)[-1] for part in self.name.split(":")[1:])


@dataclass(frozen=True)
class Chart:
    opened_on: datetime.date
    currency: str
    accounts: tuple[ChartAccount, ...]
    med_type_roles: dict[str, str]

    def account(self, role: str) -> str:
        for acc in self.accounts:
            if acc.role == role:
                return acc.name
        raise KeyError(role)

    def fund_account(self, role: str, fund: str) -> str:
        """The account of ``role`` for a sub-fund: the one the chart gives that sub-fund, else
        the role's one account (a chart made before the sub-funds split it)."""
        for acc in self.accounts:
            if acc.role == role and acc.fund == fund:
                return acc.name
        return self.account(role)

    def find(self, role: str, fund: str | None = None) -> str | None:
        """The account of ``role`` (of ``fund`` when given, as ``fund_account``), None when the
        chart has none: a role added after the books' chart was made (``4101 财政补贴收入``)."""
        try:
            return self.account(role) if fund is None else self.fund_account(role, fund)
        except KeyError:
            return None

    def fund_of_bank_account(self, number: str) -> str | None:
        """The sub-fund whose disbursement account has this bank number (``bank_account``)."""
        wanted = "".join(number.split())
        for acc in self.accounts:
            if acc.role in FUND_OF_BANK and acc.bank_account and acc.bank_account == wanted:
                return FUND_OF_BANK[acc.role]
        return None

    def advance_account(self, agency: str) -> str | None:
        """A clearing agency's detail of 1101 暂付款——异地就医预付金; None: the chart has none."""
        for acc in self.accounts:
            if acc.role == ADVANCE_ROLE and acc.agency == agency:
                return acc.name
        return None

    @property
    def agencies(self) -> dict[str, str]:
        """The clearing agencies the chart keeps an advance for: code -> name (the detail's
        title after its code, e.g. ``210100`` -> ``沈阳市``)."""
        return {
            acc.agency: acc.name.rsplit(":", 1)[-1].partition("-")[2]
            for acc in self.accounts
            if acc.role == ADVANCE_ROLE and acc.agency
        }

    def fund_of(self, account: str) -> str | None:
        """The sub-fund whose money a bank account holds (FUND_OF_BANK), if it is one."""
        for role, fund in FUND_OF_BANK.items():
            if self.account(role) == account:
                return fund
        return None


DEFAULT_CHART_TEXT = resources.files("ledger").joinpath("chart.toml").read_text("utf-8")


def parse_chart(text: str, source: str = "chart.toml") -> Chart:
    """Parse and check a chart; every problem is reported at once in one ChartError."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChartError(f"{source}: not valid TOML: {exc}") from None
    problems: list[str] = []
    opened_on = raw.get("opened_on")
    if not isinstance(opened_on, datetime.date):
        problems.append(f"{source}: opened_on: missing or not a date (expected 2022-12-01)")
        opened_on = datetime.date(1970, 1, 1)
    currency = raw.get("currency", "CNY")
    accounts: list[ChartAccount] = []
    for index, item in enumerate(raw.get("account", []), start=1):
        name, role = item.get("name", ""), item.get("role", "")
        fund, number = item.get("fund"), item.get("bank_account")
        agency = item.get("agency")
        where = f"{source}: account #{index}"
        if (role == ADVANCE_ROLE) != (agency is not None) or (
            agency is not None and not (isinstance(agency, str) and AGENCY_CODE.fullmatch(agency))
        ):
            problems.append(
                f"{where}: agency: a {ADVANCE_ROLE} account names its clearing agency and no "
                f'other account does (found {agency!r}, expected a region code, e.g. "210100")'
            )
            agency = None
        if number is not None and not (isinstance(number, str) and BANK_NUMBER.fullmatch(number)):
            problems.append(
                f"{where}: bank_account: not a bank account number (found {number!r}, "
                'expected digits, e.g. "2103000100000099")'
            )
            number = None
        if fund is not None and fund not in SUB_FUNDS:
            problems.append(
                f"{where}: fund: not a sub-fund (found {fund!r}, expected pooled or personal)"
            )
        if not bc_account.is_valid(name):
            problems.append(f"{where}: name: not a valid Beancount account (found {name!r})")
        elif any("-" not in part for part in name.split(":")[1:]):
            problems.append(f"{where}: name: each component must be <code>-<name> (found {name!r})")
        if not role:
            problems.append(f"{where}: role: missing")
        accounts.append(ChartAccount(name, role, fund, number, agency))
    roles = [acc.role for acc in accounts]
    for role in POSTING_ROLES:
        if roles.count(role) != 1:
            problems.append(
                f"{source}: role {role!r}: needs exactly one account (found {roles.count(role)})"
            )
    med_types = {str(k): str(v) for k, v in raw.get("med_type", {}).items()}
    for med_type, role in sorted(med_types.items()):
        if role not in ("pooled-outpatient", "pooled-chronic"):
            problems.append(
                f"{source}: med_type {med_type}: role must be a pooled-fund expense "
                f"(found {role!r}, expected pooled-outpatient or pooled-chronic)"
            )
    if problems:
        raise ChartError("\n".join(problems))
    return Chart(opened_on, currency, tuple(accounts), med_types)


def load_chart(path: Path) -> Chart:
    return parse_chart(path.read_text("utf-8"), str(path))


def render_accounts(chart: Chart, since: datetime.date | None = None) -> str:
    """The ``accounts.beancount`` text: an ``open`` per account with its code and full name,
    dated the chart's ``opened_on``, or ``since`` when the books open earlier (an opening
    balance booked before the chart's date)."""
    opened_on = min(chart.opened_on, since) if since else chart.opened_on
    lines = [
        ";; Generated by mzledger from chart.toml. Do not edit: change chart.toml instead.",
        "",
    ]
    for acc in chart.accounts:
        lines.append(f"{opened_on.isoformat()} open {acc.name} {chart.currency}")
        lines.append(f'  code: "{acc.code}"')
        lines.append(f'  title: "{acc.title}"')
        lines.append("")
    return "\n".join(lines)
