"""The figures table (Markdown, pasteable into the README) and the machine facts."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import Measured


@dataclass
class Figure:
    """One row of the table. ``value`` is the number judged against ``limit``: at least it
    when ``higher_is_better``, at most it otherwise; no limit, no judgement."""

    figure: str
    target: str
    measured: str
    value: float | None = None
    limit: float | None = None
    higher_is_better: bool = False
    vs_csv: str = "—"
    vs_naive: str = "—"

    @property
    def met(self) -> bool | None:
        if self.value is None or self.limit is None:
            return None
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "target": self.target,
            "measured": self.measured,
            "value": self.value,
            "limit": self.limit,
            "higher_is_better": self.higher_is_better,
            "met": self.met,
            "vs_csv_reader": self.vs_csv,
            "vs_naive_beancount": self.vs_naive,
        }


def times(seconds: float, baseline_seconds: float) -> str:
    """How many times the baseline's time for the same work: ``×2.5`` (below 1: faster)."""
    if baseline_seconds <= 0:
        return "—"
    ratio = seconds / baseline_seconds
    return f"×{ratio:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(figures: Sequence[Figure]) -> str:
    header = ("figure", "target", "measured", "met?", "vs csv.reader", "vs naive Beancount")
    lines = [
        "| " + " | ".join(header) + " |",
        "|---|---|---:|:---:|---:|---:|",
    ]
    for f in figures:
        met = {True: "yes", False: "**no**", None: ""}[f.met]
        cells = (f.figure, f.target, f.measured, met, f.vs_csv, f.vs_naive)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def steps_markdown(steps: Sequence[Measured]) -> str:
    lines = ["| step | seconds | peak memory (MB) |", "|---|---:|---:|"]
    for step in steps:
        lines.append(f"| {_cell(step.step)} | {step.seconds:.2f} | {step.peak_rss_mb:.0f} |")
    return "\n".join(lines)


def _first_line(path: str, prefix: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _git(root: Path, *args: str) -> str:
    """Read-only git queries (the commit measured); empty when git is not there."""
    try:
        return subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


def machine(root: Path) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _first_line("/proc/cpuinfo", "model name"),
        "memory": _first_line("/proc/meminfo", "MemTotal"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "beancount": _version("beancount"),
        "fava": _version("fava"),
        "sqlalchemy": _version("sqlalchemy"),
        "git_commit": _git(root, "rev-parse", "HEAD"),
        "git_dirty": bool(_git(root, "status", "--porcelain", "--untracked-files=no")),
    }
