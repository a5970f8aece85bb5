"""Each month's state for the extension: open, closed (``close/YYYY-MM.json``), locked,
and its reopenings."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ledger.close_order import out_of_order
from ledger.locks import LOCK_TYPE, REOPEN_TYPE, LockHistory, books_first_month, lock_history
from ledger.month import Month
from reports.controls.summary import CloseSummary, SummaryError

# ---------------------------------------------------------------------------------------------
# Month status (月结状态): close summaries and locks


@dataclass(frozen=True)
class FailedCheck:
    name: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class Reopening:
    month: Month
    date: datetime.date
    who: str
    when: str
    why: str


@dataclass(frozen=True)
class LockView:
    month: Month
    date: datetime.date
    locked_by: str
    locked_at: str
    manifest: str
    reopening: Reopening | None

    @property
    def in_force(self) -> bool:
        return self.reopening is None


MonthState = Literal["open", "closed", "locked"]
STATE_LABELS: dict[str, str] = {"open": "未结账", "closed": "已结账", "locked": "已锁定"}


@dataclass(frozen=True)
class MonthStatus:
    month: Month
    state: MonthState
    summary: bool  # a close summary exists
    can_close: bool | None
    failed_checks: tuple[FailedCheck, ...]
    outstanding: int  # batches of earlier periods unpaid at the month's end, per the summary
    locks: tuple[LockView, ...]
    summary_problem: str | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class MonthsOverview:
    months: tuple[MonthStatus, ...]
    reopenings: tuple[Reopening, ...]
    problems: tuple[str, ...] = field(default=())


def _meta(entry: Any, name: str) -> str:
    value = (getattr(entry, "meta", None) or {}).get(name)
    return value.strip() if isinstance(value, str) else ""


def _read_summary(path: Path) -> tuple[CloseSummary | None, str | None]:
    """The close summary at ``path``, or why it cannot be read."""
    try:
        return CloseSummary.from_json(path.read_text("utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name}: cannot read: {exc}"
    except SummaryError as exc:
        return None, f"{path.name}: {exc}"


def month_statuses(root: Path, entries: Sequence[Any]) -> MonthsOverview:
    """Every month of the books, first to last, with its close summary and lock state.

    The books' months run from their first month (``ledger.locks.books_first_month``: months
    between the chart's opening and the first entry are not the books' and need no close) to
    the last dated entry (lock, reopen and Fava's own entries left out, as they are dated when
    written), widened by any close summary or lock. A month is locked when a lock is in force,
    else closed when its summary says can_close, else open. A locked month with an earlier
    month not locked (``ledger.close_order``) is listed among the problems.
    """
    history = lock_history(entries)
    summaries = _summary_paths(root)
    first = books_first_month(entries)
    months = _books_months(entries, first) | set(summaries) | {lock.month for lock in history.locks}
    locks_by_month, reopenings = _lock_views(history)
    in_force = history.in_force()
    out = tuple(
        _month_status(month, summaries.get(month), month in in_force, locks_by_month)
        for month in (min(months).until(max(months)) if months else ())
    )
    problems = tuple(p.message for p in history.problems) + tuple(
        out_of_order(first, in_force.keys())
    )
    return MonthsOverview(out, reopenings, problems)


def _summary_paths(root: Path) -> dict[Month, Path]:
    """month -> its close summary, ``close/YYYY-MM.json``."""
    summaries: dict[Month, Path] = {}
    close_dir = root / "close"
    if close_dir.is_dir():
        for path in close_dir.glob("*.json"):
            if Month.is_month(path.stem):
                summaries[Month.parse(path.stem)] = path
    return summaries


def _books_months(entries: Sequence[Any], first: Month | None) -> set[Month]:
    """The books' first month and the month of their last dated entry (none without one)."""
    dated: set[Month] = set()
    for entry in entries:
        entry_type = getattr(entry, "type", None)
        if isinstance(entry_type, str) and (
            entry_type in (LOCK_TYPE, REOPEN_TYPE) or entry_type.startswith("fava-")
        ):
            continue
        date = getattr(entry, "date", None)
        if isinstance(date, datetime.date):
            dated.add(Month.of(date))
    return {first, max(dated)} if dated and first is not None else set()


def _lock_views(history: LockHistory) -> tuple[dict[Month, list[LockView]], tuple[Reopening, ...]]:
    """Every lock by month, with its reopening if it was reopened; the reopenings in order."""
    locks_by_month: dict[Month, list[LockView]] = {}
    reopenings: list[Reopening] = []
    for lock in history.locks:
        reopening = None
        if lock.reopened_by is not None:
            reason = lock.reopened_by.values[1].value if len(lock.reopened_by.values) > 1 else ""
            reopening = Reopening(
                lock.month,
                lock.reopened_by.date,
                _meta(lock.reopened_by, "reopened_by"),
                _meta(lock.reopened_by, "reopened_at"),
                str(reason),
            )
            reopenings.append(reopening)
        locks_by_month.setdefault(lock.month, []).append(
            LockView(
                lock.month,
                lock.entry.date,
                _meta(lock.entry, "locked_by"),
                _meta(lock.entry, "locked_at"),
                lock.manifest,
                reopening,
            )
        )
    return locks_by_month, tuple(reopenings)


def _month_status(
    month: Month, summary_path: Path | None, locked: bool, locks: dict[Month, list[LockView]]
) -> MonthStatus:
    summary, problem = _read_summary(summary_path) if summary_path is not None else (None, None)
    can_close = summary.can_close if summary is not None else None
    state: MonthState = "locked" if locked else "closed" if can_close else "open"
    return MonthStatus(
        month,
        state,
        summary is not None,
        can_close,
        tuple(
            FailedCheck(check.name, check.details)
            for check in (summary.failed_checks if summary is not None else ())
        ),
        len(summary.outstanding_payments) if summary is not None else 0,
        tuple(locks.get(month, ())),
        problem,
    )
