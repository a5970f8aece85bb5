"""The latest audit findings (``audit/*.json``, written by `mzledger audit --format json`),
read for the extension's findings view."""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    @property
    def setl_id_ok(self) -> bool:
        return bool(ID_RE.match(self.setl_id))

    @property
    def batch_ok(self) -> bool:
        return self.batch is not None and bool(LINK_RE.match(self.batch))


class FindingsError(ValueError):
    """A findings file that is not what `mzledger audit --format json` writes."""


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


def _text(item: Mapping[str, Any], name: str, *, optional: bool = False) -> Any:
    value = item.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise FindingsError(f"{name}: expected a string (found {type(value).__name__})")
    return value


def load_findings(path: Path) -> list[FindingView]:
    """The findings of one file, sorted by rule, institution, time; FindingsError if the file
    is not a findings list."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FindingsError(f"{path.name}: cannot read: {exc}") from None
    if not isinstance(raw, list):
        raise FindingsError(f"{path.name}: not a JSON array of findings")
    out = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise FindingsError(f"{path.name}: item {n}: not an object")
        try:
            evidence = item.get("evidence") or {}
            if not isinstance(evidence, dict):
                raise FindingsError("evidence: expected an object")
            out.append(
                FindingView(
                    rule=_text(item, "rule"),
                    setl_id=_text(item, "setl_id"),
                    psn_no=_text(item, "psn_no"),
                    institution=_text(item, "institution"),
                    setl_time=_text(item, "setl_time"),
                    batch=_text(item, "batch", optional=True),
                    reported=_text(item, "reported_hifp_pay", optional=True),
                    expected=_text(item, "expected_hifp_pay", optional=True),
                    difference=_text(item, "difference", optional=True),
                    article=_text(item, "article", optional=True) or "",
                    explanation_zh=_text(item, "explanation_zh", optional=True) or "",
                    explanation_en=_text(item, "explanation_en", optional=True) or "",
                    evidence=tuple((str(k), str(v)) for k, v in evidence.items()),
                )
            )
        except FindingsError as exc:
            raise FindingsError(f"{path.name}: item {n}: {exc}") from None
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
