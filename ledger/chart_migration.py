"""Moving books to another chart (科目迁移): which account of the old chart becomes which of the
new, decided by role (pure: charts and texts in, a plan and problems out).

Books keep the chart they were made with (their own ``chart.toml``). Books made before the
national chart of the 2017 system (``4004-利息收入``, ``5301-其他支出:01-银行手续费``, one
interest account for both sub-funds, ``02-个人账户`` for the personal accounts' bank account)
move to it with ``mzledger migrate-chart``, which applies this plan: every generated books
file is written again from the register with the new chart, the hand-kept ``manual.beancount``
and the register's stored account names are renamed, the locked months are reopened and locked
again with the reason given (``mzledger.workflows.migrate_chart``).

An old account maps to the new chart's account of the same role (and sub-fund, when the old
account had one). Where the new chart splits a role by sub-fund and the old account served
both (one 利息收入 for the two), the old account is *split*: the generated entries are
written again by the sub-fund of their bank account, as the new chart books them; an entry
kept by hand on it cannot be split without a person, so the move is refused naming its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.chart import Chart, parse_chart

#: The roles whose accounts carry a bank's account number, carried over to the new chart.
BANK_ROLES = ("fiscal-special", "bank-pooled", "bank-personal")


@dataclass(frozen=True)
class ChartMove:
    """What moving the books from ``old`` to ``new`` does to their account names."""

    renames: dict[str, str]  # old account -> new account
    split: dict[str, tuple[str, ...]]  # old account -> the new chart's accounts by sub-fund
    problems: tuple[str, ...]  # old accounts with no counterpart in the new chart
    chart_text: str  # the new chart.toml, with the old one's bank numbers and med_type mapping

    @property
    def ok(self) -> bool:
        return not self.problems


def plan_chart_move(old: Chart, new_text: str, source: str = "chart.toml") -> ChartMove:
    """The plan for moving books on ``old`` to the chart ``new_text``."""
    new = parse_chart(new_text, source)
    renames: dict[str, str] = {}
    split: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    for acc in old.accounts:
        same_role = [n for n in new.accounts if n.role == acc.role]
        if acc.fund is not None:
            same_role = [n for n in same_role if n.fund in (acc.fund, None)]
        if acc.agency is not None:
            same_role = [n for n in same_role if n.agency == acc.agency]
        if len(same_role) == 1:
            if same_role[0].name != acc.name:
                renames[acc.name] = same_role[0].name
        elif same_role and acc.fund is None and all(n.fund for n in same_role):
            split[acc.name] = tuple(n.name for n in same_role)
        else:
            found = ", ".join(n.name for n in same_role) or "none"
            problems.append(
                f"{acc.name} (role {acc.role}): no one account of the new chart takes it "
                f"(found {found}); add it to the new chart or move its entries by hand"
            )
    text = _with_old_settings(new_text, old, new)
    parse_chart(text, source)  # the carried settings keep it a valid chart
    return ChartMove(renames, split, tuple(problems), text)


def _with_old_settings(new_text: str, old: Chart, new: Chart) -> str:
    """``new_text`` with the old chart's bank account numbers (by role and sub-fund) and its
    med_type mapping, which are the agency's own settings, not the chart's."""
    text = new_text
    for acc in old.accounts:
        if acc.role not in BANK_ROLES or not acc.bank_account:
            continue
        target = next(n for n in new.accounts if n.role == acc.role)
        block = f'name = "{target.name}"\nrole = "{target.role}"\n'
        if block in text and "bank_account" not in _block_of(text, block):
            text = text.replace(block, f'{block}bank_account = "{acc.bank_account}"\n', 1)
    head, marker, _table = text.partition("\n[med_type]\n")
    if marker and old.med_type_roles != new.med_type_roles:
        lines = "".join(f'"{code}" = "{role}"\n' for code, role in old.med_type_roles.items())
        text = f"{head}{marker}{lines}"
    return text


def _block_of(text: str, start: str) -> str:
    after = text[text.index(start) :]
    return after.split("[[", 1)[0]


#: A Beancount account name where it stands in a books file: after a blank or a line's start,
#: before a blank, a line's end or a comment.
def _account_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![^\s]){re.escape(name)}(?=\s|$|;)", re.MULTILINE)


def rename_accounts(text: str, renames: dict[str, str]) -> str:
    """``text`` (Beancount source) with each old account name replaced by its new one, as a
    whole name: a longer account that starts with an old one is left alone."""
    for old, new in sorted(renames.items(), key=lambda item: -len(item[0])):
        text = _account_pattern(old).sub(new, text)
    return text


def unmovable(
    accounts_by_line: Iterable[tuple[int, str]], move: ChartMove, source: str
) -> list[str]:
    """Why hand-kept entries cannot move: an account the new chart splits by sub-fund, or a
    sub-account of an account the move renames (``source:line: account: ...``)."""
    problems = []
    for line, account in accounts_by_line:
        if account in move.split:
            choices = " or ".join(move.split[account])
            problems.append(
                f"{source}:{line}: {account}: the new chart keeps it by sub-fund ({choices}): "
                "book the entry to one of them by hand first"
            )
        elif any(account.startswith(old + ":") for old in (*move.renames, *move.split)):
            problems.append(
                f"{source}:{line}: {account}: a sub-account of an account the new chart renames: "
                "rename it by hand first"
            )
    return problems


__all__ = ["BANK_ROLES", "ChartMove", "plan_chart_move", "rename_accounts", "unmovable"]
