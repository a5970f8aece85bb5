"""Held settlements (待核实结算): listed, and decided by a person with a reason on record.

An import holds back a row whose visit, institution, person, time and amounts are those of a
settlement already in the register under another setl_id (``loader.FileImport``): a re-export
that renumbered old settlements would otherwise pay them again. ``mzledger held`` lists them;
``accept`` imports one as a file of its own (an ``imported_files`` record named after where the
row came from, so that it is a late settlement of its month like any other and the next
``post`` books it), by every rule of an import but the hold itself; ``reject`` keeps it out for
good. Who decided, when and why stay in the register.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, update

from importers.imported_files import record_file
from importers.settlements.loader import FileImport
from importers.settlements.record import parse_settlement
from importers.settlements.refunds import check_refunds
from importers.settlements.results import FileSummary, ImportResult
from ledger.problems import Problem
from ledger.register.batching import lock_for_import
from ledger.register.models import HeldSettlement, ImportedFile, Institution


@dataclass(frozen=True)
class HeldListing:
    """A held row as a clerk sees it (person number only, never a name)."""

    setl_id: str
    same_as: str
    location: str  # file:line it came from
    psn_no: str
    institution: str
    setl_time: datetime.datetime
    medfee_sumamt: Decimal
    hifp_pay: Decimal
    status: str
    decided_by: str | None
    decided_at: datetime.datetime | None
    reason: str | None


def held_settlements(
    engine: Engine, *, decided: bool = False, period: str | None = None
) -> list[HeldListing]:
    """The rows waiting for a decision (with ``decided``: every held row), oldest first."""
    query = (
        select(
            HeldSettlement.__table__,
            ImportedFile.name.label("file_name"),
            Institution.name.label("institution_name"),
        )
        .join(ImportedFile, ImportedFile.id == HeldSettlement.file_id)
        .join(Institution, Institution.code == HeldSettlement.fixmedins_code)
        .order_by(HeldSettlement.id)
    )
    if not decided:
        query = query.where(HeldSettlement.status == "held")
    if period is not None:
        query = query.where(HeldSettlement.setl_period == period)
    with engine.connect() as conn:
        return [
            HeldListing(
                held.setl_id,
                held.same_as_setl_id,
                f"{held.file_name}:{held.line}",
                held.psn_no,
                f"{held.fixmedins_code} {held.institution_name}",
                held.setl_time,
                held.medfee_sumamt,
                held.hifp_pay,
                held.status,
                held.decided_by,
                held.decided_at,
                held.reason,
            )
            for held in conn.execute(query).all()
        ]


class _Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("refused")
        self.problems = problems


def decide_held(
    engine: Engine,
    setl_id: str,
    *,
    accept: bool,
    reason: str,
    user: str,
    now: datetime.datetime,
) -> list[Problem]:
    """Accept (import) or reject a held row; the problems that refuse it (nothing written)."""
    where = f"held {setl_id}"
    if not reason.strip():
        return [Problem(where, "reason", "a decision needs a reason", "", "why, for auditors")]
    try:
        with engine.begin() as conn:
            held = conn.execute(
                select(HeldSettlement.__table__).where(HeldSettlement.setl_id == setl_id)
            ).first()
            if held is None:
                raise _Refused([Problem(where, "setl_id", "no settlement held with this setl_id")])
            if held.status != "held":
                raise _Refused(
                    [
                        Problem(
                            where,
                            "status",
                            f"already {held.status} by {held.decided_by} on {held.decided_at}",
                            held.status,
                            "held",
                        )
                    ]
                )
            accepted_file = _import_held(conn, held, user, now) if accept else None
            conn.execute(
                update(HeldSettlement)
                .where(HeldSettlement.id == held.id)
                .values(
                    status="accepted" if accept else "rejected",
                    decided_by=user,
                    decided_at=now,
                    reason=reason,
                    accepted_file_id=accepted_file,
                )
            )
    except _Refused as refused:
        return refused.problems
    return []


def _import_held(conn: Connection, held: Row[Any], user: str, now: datetime.datetime) -> int:
    """The held row imported as a one-row file of its own; its file record's id."""
    origin = conn.execute(
        select(ImportedFile.name, ImportedFile.file_format).where(ImportedFile.id == held.file_id)
    ).one()
    location = f"{origin.name}:{held.line}"
    lock_for_import(conn)  # as an import: a posting's file watermark must not pass it
    # Unique like a file's hash, and never a file's: the decision on this held row.
    stamp = hashlib.sha256(f"mzledger held settlement {held.id} accepted".encode()).hexdigest()
    file_id = record_file(
        conn,
        kind="settlements",
        name=f"{location} (held {held.setl_id}, accepted by {user})",
        sha256=stamp,
        file_format=origin.file_format,
        rows=1,
        inserted=1,
        user=user,
        now=now,
    )
    summary = FileSummary(Path(str(origin.name)), stamp, file_format=origin.file_format)
    summary.file_id = file_id
    result = ImportResult([summary], [], 0)
    state = FileImport(conn, summary, result, file_id, None, hold_same=False)
    record, problems, _notices = parse_settlement(held.fields, location)
    for problem in problems:
        state.report(problem)
    if record is not None and state.institution_of(record, location):
        state.add(record, held.line, held.fields)
        state.flush()
        state.write_totals()
    if result.problem_count == 0:
        check_refunds(conn, result)
    if result.problem_count or summary.inserted != 1:
        raise _Refused(result.problems or [Problem(location, "setl_id", "not imported")])
    return int(file_id)


__all__ = ["HeldListing", "decide_held", "held_settlements"]
