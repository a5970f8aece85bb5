"""The audit in parts (分片): the people split by psn_no into as many parts as worker
processes, each part audited in its own process (``people.audit_part``), the results added up.

A person's settlements and fee details are all in one part, so every rule sees all of a
person; the parts are cut where the register's settlements divide evenly. Workers are spawned,
not forked: each opens its own connection to the register and gets the small tables read once
here (``people.Context``). The caller holds the register (``mzledger audit``), so every part
reads it as it is at one moment.
"""

from __future__ import annotations

import copyreg
import multiprocessing
import os
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import Engine, func, select

from ledger.register.models import Settlement
from ledger.register.opening import make_engine
from reports.audit.findings import AuditResult
from reports.audit.people import Context, audit_part
from reports.audit.rows import Shard


def split_people(engine: Engine, parts: int) -> list[Shard]:
    """``parts`` ranges of psn_no, each about as many settlements, in order; fewer when the
    register has fewer people."""
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Settlement)).scalar_one()
        cuts: list[str] = []
        for part in range(1, parts):
            cut = conn.execute(
                select(Settlement.psn_no)
                .order_by(Settlement.psn_no)
                .offset(count * part // parts)
                .limit(1)
            ).scalar()
            if cut is not None and (not cuts or cut > cuts[-1]):
                cuts.append(cut)
    bounds: list[str | None] = [None, *cuts, None]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def _read_only(table: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(table)


def _mapping_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _read_only, (dict(proxy),)


# The policy's read-only tables (PolicyPeriod.tiers) travel to the workers as what they are.
copyreg.pickle(MappingProxyType, _mapping_proxy)

#: Below this many settlements in the register the audit runs in one process: a worker's
#: start (about half a second, importing the audit) is more than its share of the reading.
PARALLEL_FROM = 200_000


def workers_for(engine: Engine, jobs: int) -> int:
    """How many workers: ``jobs`` when given (> 0); else one per core for a register of at
    least PARALLEL_FROM settlements, one otherwise."""
    if jobs > 0:
        return jobs
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Settlement)).scalar_one()
    return max(1, os.cpu_count() or 1) if count >= PARALLEL_FROM else 1


def _audit_part(url: str, context: Context, shard: Shard) -> AuditResult:
    """One worker: its own engine on the register, one part."""
    engine = make_engine(url)
    try:
        return audit_part(engine, context, shard)
    finally:
        engine.dispose()


def audit_in_parts(engine: Engine, context: Context, jobs: int) -> AuditResult:
    """The audit of every person, ``jobs`` parts at once (0: ``workers_for``); the results in
    the parts' order."""
    shards = split_people(engine, workers_for(engine, jobs))
    if len(shards) == 1:
        return audit_part(engine, context, None)
    url = engine.url.render_as_string(hide_password=False)
    with multiprocessing.get_context("spawn").Pool(len(shards)) as pool:
        results = pool.starmap(_audit_part, [(url, context, shard) for shard in shards])
    return added_up(context.period, results)


def added_up(period: str, results: Sequence[AuditResult]) -> AuditResult:
    total = AuditResult(period)
    for result in results:
        total.findings.extend(result.findings)
        total.settlements += result.settlements
        total.recomputed += result.recomputed
        total.not_recomputed.update(result.not_recomputed)
        total.errors.extend(result.errors)
    return total


__all__ = ["PARALLEL_FROM", "added_up", "audit_in_parts", "split_people", "workers_for"]
