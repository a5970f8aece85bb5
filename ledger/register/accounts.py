"""The books account names the register keeps (a statement's account, a line's, the legs a
fiscal line was booked against, an opening balance's account): read and renamed together when
the books move to another chart (``ledger.chart_migration``)."""

from __future__ import annotations

from sqlalchemy import Connection, select, union, update

from ledger.register.models import BankLineLeg, BankStatement, BankStatementLine, OpeningBalance

_TABLES = (BankStatement, BankStatementLine, BankLineLeg, OpeningBalance)


def stored_accounts(conn: Connection) -> set[str]:
    """Every account name the register keeps."""
    query = union(*(select(table.account) for table in _TABLES))
    return set(conn.execute(query).scalars())


def rename_stored_accounts(conn: Connection, renames: dict[str, str]) -> int:
    """Rename each old account to its new name wherever the register keeps one; how many rows
    changed (in the caller's transaction)."""
    changed = 0
    for table in _TABLES:
        for old, new in renames.items():
            result = conn.execute(update(table).where(table.account == old).values(account=new))
            changed += result.rowcount
    return changed


__all__ = ["rename_stored_accounts", "stored_accounts"]
