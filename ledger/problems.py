"""Problems found in input, returned as values and printed as
``file:line: field: what is wrong (found X, expected Y)``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    location: str  # "exports/2023-01.csv:17", or "exports/x.json:record 3"
    field: str
    message: str
    found: str = ""
    expected: str = ""

    def __str__(self) -> str:
        tail = ""
        if self.found or self.expected:
            found = f"'{self.found}'" if self.found else "nothing"
            tail = f" (found {found}, expected {self.expected})"
        return f"{self.location}: {self.field}: {self.message}{tail}"


@dataclass(frozen=True)
class Notice:
    """Something kept but worth telling: a code value mzledger does not know, for instance."""

    field: str
    value: str
    message: str
