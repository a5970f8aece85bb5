"""The refunds of an import against the settlements they reverse (退费校验, a 2208 reversal).

Each refund of an import reverses exactly one settlement of the register or of the import, of
the same person and institution (``rules.REFUND_MUST_MATCH``), amount for amount, and no
settlement is refunded twice. Run inside the import's transaction, after its last row, so that a
refund may reverse a settlement of the same import; the bulk path counts the same cases in one
query (``bulk_loader._irregular_refunds``) and hands the import here when there is any.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import aliased

from importers.settlements.results import MAX_PROBLEMS_PER_FILE, ImportResult, stored_location
from importers.settlements.rules import REFUND_MUST_MATCH
from ledger.problems import Problem
from ledger.register.models import MONEY_FIELDS, ImportedFile, Settlement

Report = Callable[..., None]  # (file name, file format, line, field, message, found, expected)


def check_refunds(conn: Connection, result: ImportResult) -> None:
    """Add to ``result`` the problems of this import's refunds (at most MAX_PROBLEMS_PER_FILE a
    file of each kind)."""
    file_ids = [s.file_id for s in result.files if s.file_id is not None]
    if not file_ids:
        return
    limit = MAX_PROBLEMS_PER_FILE * len(file_ids)
    problems: list[Problem] = []

    def report(name: object, file_format: str, line: int, *problem: str) -> None:
        problems.append(Problem(stored_location(name, file_format, line), *problem))

    _unknown_originals(conn, file_ids, limit, report)
    _mismatched_originals(conn, file_ids, limit, report, problems)
    _refunded_twice(conn, file_ids, limit, report)
    result.problem_count += len(problems)
    result.problems += problems


_REFUND, _ORIGINAL = aliased(Settlement), aliased(Settlement)
_WHERE = (ImportedFile.name, ImportedFile.file_format, _REFUND.line)


def _unknown_originals(conn: Connection, file_ids: list[int], limit: int, report: Report) -> None:
    unknown = conn.execute(
        select(*_WHERE, _REFUND.init_setl_id)
        .join(ImportedFile, ImportedFile.id == _REFUND.file_id)
        .outerjoin(_ORIGINAL, _ORIGINAL.setl_id == _REFUND.init_setl_id)
        .where(
            _REFUND.file_id.in_(file_ids),
            _REFUND.refd_setl_flag.is_(True),
            _ORIGINAL.id.is_(None),
        )
        .order_by(_REFUND.file_id, _REFUND.line)
        .limit(limit)
    ).all()
    for name, file_format, line, init_setl_id in unknown:
        report(
            name,
            file_format,
            line,
            "init_setl_id",
            "the refunded settlement is neither in the register nor in this import",
            init_setl_id or "",
            "a known setl_id",
        )


def _mismatched_originals(
    conn: Connection, file_ids: list[int], limit: int, report: Report, problems: list[Problem]
) -> None:
    columns = [c.name for c in Settlement.__table__.columns]
    pairs = conn.execute(
        select(
            *_WHERE,
            *(getattr(_REFUND, c) for c in columns),
            *(getattr(_ORIGINAL, c) for c in columns),
        )
        .join(ImportedFile, ImportedFile.id == _REFUND.file_id)
        .join(_ORIGINAL, _ORIGINAL.setl_id == _REFUND.init_setl_id)
        .where(_REFUND.file_id.in_(file_ids), _REFUND.refd_setl_flag.is_(True))
        .order_by(_REFUND.file_id, _REFUND.line)
    )
    for row in pairs:
        name, file_format, line = row[:3]
        mine = dict(zip(columns, row[3 : 3 + len(columns)], strict=True))
        theirs = dict(zip(columns, row[3 + len(columns) :], strict=True))
        for problem in refund_problems(mine, theirs):
            report(name, file_format, line, *problem)
        if len(problems) >= limit:
            break


def refund_problems(
    mine: Mapping[str, Any], theirs: Mapping[str, Any]
) -> list[tuple[str, str, str, str]]:
    """What is wrong with a refund (``mine``) against the settlement it names (``theirs``):
    (field, message, found, expected) each."""
    if theirs["refd_setl_flag"]:
        return [
            (
                "init_setl_id",
                "names a refund, not a settlement",
                mine["init_setl_id"],
                "the setl_id of the settlement reversed",
            )
        ]
    differs = f"differs from the refunded settlement {theirs['setl_id']}"
    wrong = [
        (name, differs, mine[name], theirs[name])
        for name in REFUND_MUST_MATCH
        if mine[name] != theirs[name]
    ]
    wrong += [
        (
            name,
            f"a refund reverses {theirs['setl_id']} amount for amount",
            str(mine[name]),
            str(-theirs[name]),
        )
        for name in MONEY_FIELDS
        if mine[name] != -theirs[name]
    ]
    return wrong


def _refunded_twice(conn: Connection, file_ids: list[int], limit: int, report: Report) -> None:
    earlier = aliased(Settlement)
    earlier_file = aliased(ImportedFile)
    twice = conn.execute(
        select(
            *_WHERE,
            _REFUND.init_setl_id,
            earlier.setl_id,
            earlier_file.name,
            earlier_file.file_format,
            earlier.line,
        )
        .join(ImportedFile, ImportedFile.id == _REFUND.file_id)
        .join(
            earlier,
            (earlier.init_setl_id == _REFUND.init_setl_id)
            & earlier.refd_setl_flag.is_(True)
            & (earlier.id < _REFUND.id),
        )
        .join(earlier_file, earlier_file.id == earlier.file_id)
        .where(_REFUND.file_id.in_(file_ids), _REFUND.refd_setl_flag.is_(True))
        .order_by(_REFUND.file_id, _REFUND.line)
        .limit(limit)
    ).all()
    for name, file_format, line, init_setl_id, other, other_name, other_format, other_line in twice:
        report(
            name,
            file_format,
            line,
            "init_setl_id",
            f"already refunded by {other} at "
            f"{stored_location(other_name, other_format, other_line)}",
            init_setl_id or "",
            "one refund per settlement",
        )


__all__ = ["check_refunds", "refund_problems"]
