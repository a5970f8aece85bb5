"""The order of month-end closes (结账 / 反结账 order, as an ERP keeps its periods).

A month is *closed* here when a lock is in force on it (``mzledger close M --lock``; Fava's
months page says 已锁定, its 已结账 only that the close checks passed). The books are closed
month after month, with no gap:

- a month closes only when every month of the books before it is closed: the months from the
  books' first month up to the month before it, each calendar month, those without a single
  entry included (an ERP closes every period; an empty month still has a bank statement to
  reconcile, and skipping it would let entries be added there behind a later lock);
- a closed month reopens only when no later month is closed (reopen the latest first).

The books' first month (``ledger.locks.books_first_month``) is the month of their earliest
entry other than an ``open`` or ``commodity``: the first voucher, bank line, balance or pad.
The chart's ``open`` entries are dated on its opening date (``chart.toml`` ``opened_on``, the
day the region's rules took effect), which may be months before the agency's first entry; the
demo's chart opens 2022-12-01 and its first entries are January's payments of the December
clearing period. Before that there is nothing to close (no entry, no bank movement, no
statement to reconcile), so those months do not hold up the first real one. Clearing periods
in the register do not count: the books are kept on a cash basis, a clearing period's batches
are entered in the month they are paid, and their settlements are checked by that month's
close. Books with nothing but their ``open`` entries start in the month of the earliest one.

Pure: months in, months and messages out.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

from ledger.month import Month


def span(months: Iterable[Month]) -> str:
    """Months as messages name them: runs of consecutive months as ``2022-12..2023-02``."""
    runs: list[list[Month]] = []
    for month in sorted(set(months)):
        if runs and runs[-1][1].next() == month:
            runs[-1][1] = month
        else:
            runs.append([month, month])
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in runs)


def open_before(month: Month, first: Month | None, closed: Set[Month]) -> list[Month]:
    """The months of the books before ``month`` that are not closed, oldest first."""
    if first is None:
        return []
    return [m for m in first.until(month.previous()) if m not in closed]


def closed_after(month: Month, closed: Set[Month]) -> list[Month]:
    """The closed months after ``month``, oldest first."""
    return sorted(m for m in closed if m > month)


def not_closed_yet(months: Iterable[Month]) -> str:
    """Why a month cannot close: the earlier months still open."""
    ordered = sorted(months)
    if len(ordered) == 1:
        return f"{ordered[0]} is not closed yet: close it first"
    return f"{span(ordered)} are not closed yet: close them first, from {ordered[0]} on"


def still_closed_after(months: Iterable[Month]) -> str:
    """Why a month cannot reopen: the later months still closed."""
    ordered = sorted(months)
    if len(ordered) == 1:
        return f"{ordered[0]}, a later month, is still locked: reopen it first"
    return (
        f"{span(ordered)}, later months, are still locked: reopen them first, "
        f"from {ordered[-1]} back"
    )


def out_of_order(first: Month | None, closed: Set[Month]) -> list[str]:
    """Closed months with an earlier month of the books open (books locked by an older
    mzledger, or entries since added before the books' first month): one message each."""
    out = []
    for month in sorted(closed):
        blocking = open_before(month, first, closed)
        if blocking:
            out.append(
                f"{month} is locked while {span(blocking)}, before it, "
                f"{'is' if len(blocking) == 1 else 'are'} not: lock "
                f"{'it' if len(blocking) == 1 else 'them'} or reopen {month}"
            )
    return out
