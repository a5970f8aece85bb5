"""The latest audit findings (``audit/*.json``, written by `mzledger audit --format json`),
read for the extension's findings view."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reports.audit import findings as audit_findings
from reports.audit.findings import Finding
from reports.audit.findings import FindingsError as FindingsError  # the extension catches it here
from reports.fava.params import CODE_RE, FINDINGS_FILE_RE, ID_RE, LINK_RE, RULE_RE, BadRequest

# ---------------------------------------------------------------------------------------------
# Audit findings (files written by `mzledger audit --format json --out <books>/audit/...`)


@dataclass(frozen=True)
class FindingsFile:
    name: str
    path: Path
    modified: datetime.datetime


@dataclass(frozen=True)
class FindingView:
    """One finding as the page shows it: person number only, never a name."""

    rule: str
    setl_id: str
    psn_no: str
    institution: str
    setl_time: str
    batch: str | None
    reported: str | None
    expected: str | None
    difference: str | None
    article: str
    explanation_zh: str
    explanation_en: str
    evidence: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, finding: Finding) -> FindingView:
        """The finding as its file holds it: time and amounts as the audit writes them."""
        written = finding.as_dict()
        return cls(
            rule=finding.rule,
            setl_id=finding.setl_id,
            psn_no=finding.psn_no,
            institution=finding.institution,
            setl_time=written["setl_time"],
            batch=finding.batch,
            reported=written["reported_hifp_pay"],
            expected=written["expected_hifp_pay"],
            difference=written["difference"],
            article=finding.article,
            explanation_zh=finding.explanation_zh,
            explanation_en=finding.explanation_en,
            evidence=finding.evidence,
        )

    @property
    def setl_id_ok(self) -> bool:
        return bool(ID_RE.match(self.setl_id))

    @property
    def batch_ok(self) -> bool:
        return self.batch is not None and bool(LINK_RE.match(self.batch))


def findings_files(root: Path) -> list[FindingsFile]:
    """``<books>/audit/*.json``, newest first."""
    directory = root / "audit"
    if not directory.is_dir():
        return []
    stamped = [
        (path.stat().st_mtime_ns, path)
        for path in directory.glob("*.json")
        if path.is_file() and FINDINGS_FILE_RE.match(path.name)
    ]
    stamped.sort(key=lambda pair: (pair[0], pair[1].name), reverse=True)
    files = [
        FindingsFile(
            path.name,
            path,
            datetime.datetime.fromtimestamp(ns / 1e9).replace(microsecond=0),
        )
        for ns, path in stamped
    ]
    return files


def pick_findings_file(files: Sequence[FindingsFile], name: str | None) -> FindingsFile | None:
    """The file asked for (by name, from the list only), else the newest."""
    if name is None or not name.strip():
        return files[0] if files else None
    name = name.strip()
    for candidate in files:
        if candidate.name == name:
            return candidate
    raise BadRequest(
        f"没有稽核结果文件 {name[:100]}", f"file: no findings file {name[:100]!r} in audit/"
    )


def load_findings(path: Path) -> list[FindingView]:
    """The findings of one file (read by ``reports.audit.findings``, the audit's own reader),
    sorted by rule, institution, time; FindingsError if the file is not a findings list."""
    out = [FindingView.of(finding) for finding in audit_findings.load_findings(path)]
    out.sort(key=lambda f: (f.rule, f.institution, f.setl_time, f.setl_id))
    return out


@dataclass(frozen=True)
class FindingsSummary:
    by_rule: tuple[tuple[str, int], ...]
    by_institution: tuple[tuple[str, int], ...]
    total: int


def summarize_findings(findings: Iterable[FindingView]) -> FindingsSummary:
    rules: Counter[str] = Counter()
    institutions: Counter[str] = Counter()
    total = 0
    for finding in findings:
        rules[finding.rule] += 1
        institutions[finding.institution] += 1
        total += 1
    return FindingsSummary(tuple(sorted(rules.items())), tuple(sorted(institutions.items())), total)


def parse_rule(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    rule = value.strip()
    if not RULE_RE.match(rule):
        raise BadRequest(f"稽核规则无效：{rule[:60]}", f"rule: malformed ({rule[:60]!r})")
    return rule


def parse_institution(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip()
    if not CODE_RE.match(code):
        raise BadRequest(f"机构编码无效：{code[:30]}", f"institution: malformed ({code[:30]!r})")
    return code


def filter_findings(
    findings: Sequence[FindingView], rule: str | None, institution: str | None
) -> list[FindingView]:
    return [
        f
        for f in findings
        if (rule is None or f.rule == rule)
        and (institution is None or f.institution == institution)
    ]
