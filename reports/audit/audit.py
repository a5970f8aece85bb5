"""The audit (稽核): the register's settlements of a year or a month recomputed and checked,
by the people's parts (``reports.audit.parts``) or in one process (``reports.audit.people``),
the findings in one order."""

from __future__ import annotations

from sqlalchemy import Engine

from reports.audit.findings import AuditResult
from reports.audit.parts import audit_in_parts
from reports.audit.people import audit_part, parse_period, read_context
from reports.audit.policy import Policy


def audit(
    engine: Engine, policy: Policy, own_region: str, period: str, jobs: int = 1
) -> AuditResult:
    """Findings for the settlements dated in ``period`` (a year or a month), read by ``jobs``
    worker processes, each a part of the people (``reports.audit.parts``; 0: as many as the
    machine's cores for a large register); 1 reads in this process. The findings are the
    same whatever ``jobs`` is."""
    context = read_context(engine, policy, own_region, period)
    if jobs != 1:
        result = audit_in_parts(engine, context, jobs)
    else:
        result = audit_part(engine, context, None)
    result.findings.sort(key=lambda f: (f.rule, f.setl_time, f.setl_id))
    return result


__all__ = ["audit", "parse_period"]
