"""What an import of settlement exports did: per file and in all (rows, imported, skipped,
held, notices, problems), as both import paths report it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ledger.problems import Problem

MAX_PROBLEMS_PER_FILE = 100

Progress = Callable[[Path, int, int], None]  # (file, bytes done, bytes total)


class HeldRow(NamedTuple):
    """A row held back for a person to decide, and the settlement it may repeat."""

    location: str
    setl_id: str
    same_as: str  # the setl_id of the settlement with the same visit, person, time, amounts
    same_as_location: str


@dataclass
class FileSummary:
    path: Path
    sha256: str
    file_format: str = ""
    rows: int = 0
    inserted: int = 0
    skipped_identical: int = 0
    already_imported: bool = False
    file_id: int | None = None
    problem_count: int = 0
    notices: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    posted_periods: set[str] = field(default_factory=set)
    held: list[HeldRow] = field(default_factory=list)  # held back by this import
    already_held: int = 0  # rows held by an earlier import, found again (identical)


@dataclass
class ImportResult:
    files: list[FileSummary]
    problems: list[Problem]  # at most MAX_PROBLEMS_PER_FILE per file are kept
    problem_count: int

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def stored_location(name: object, file_format: str, line: int) -> str:
    """Where a stored row came from, as the file counts: JSON arrays by record, others by line."""
    return f"{name}:record {line}" if file_format == "json" else f"{name}:{line}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


def notices_text(summary: FileSummary) -> list[str]:
    return [
        f"{summary.path}: {field_}: {value}: {message} ({plural(count, 'row')})"
        for (field_, value, message), count in sorted(summary.notices.items())
    ]
