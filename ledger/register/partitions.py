"""Monthly partitions of the settlements on PostgreSQL (按月分区).

On PostgreSQL ``settlements`` is partitioned by LIST (setl_period), one partition per month,
``settlements_YYYY_MM``; a month's partition must exist before rows of that month are
inserted. SQLite keeps one table: everything here is a no-op there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection

from ledger.month import Month

PARTITION_RE = re.compile(r"settlements_\d{4}_\d{2}", re.ASCII)


def partition_name(period: str) -> str:
    month = Month.parse(period)  # validated: the name is inlined in SQL
    return f"settlements_{month.year:04d}_{month.month:02d}"


def ensure_partitions(conn: Connection, periods: Iterable[str]) -> None:
    """Create the partitions of ``periods`` that do not exist yet (PostgreSQL), in the
    connection's current schema; a no-op on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    for period in sorted(set(periods)):
        name = partition_name(period)  # validated: the period is inlined as a literal
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {quote(name)} PARTITION OF settlements "
            f"FOR VALUES IN ('{period}')"
        )


def include_object_for(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """An ``include_object`` for Alembic's autogenerate and schema comparison on ``dialect``:
    the monthly partitions are not in the models (:func:`ensure_partitions` makes them), and
    a model object meant for other dialects (``info={"dialects": (...)}``) is not compared."""

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table" and name is not None and PARTITION_RE.fullmatch(name):
            return False
        dialects = getattr(obj, "info", {}).get("dialects")
        return reflected or dialects is None or dialect in dialects

    return include_object


__all__ = ["ensure_partitions", "include_object_for", "partition_name"]
