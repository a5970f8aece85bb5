"""Problems found in input, returned as values and printed as
``file:line: field: what is wrong (found X, expected Y)``.

The one error type every layer returns: importers for a file's rows, postings for a period
(``location`` the clearing period, ``2023-01``, or the statement's file) and for what the
caller asked (``field`` the domain's name of the input at fault: ``paid_on``, ``account``;
no location). A problem of a whole period or file names no field. Each front end names a field
in its own words when it shows one (:meth:`Problem.render`): the command line its options
(``paid_on`` -> ``--paid-on``), Fava's import page Chinese labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    location: str  # "exports/2023-01.csv:17", "exports/x.json:record 3", "2023-01", or ""
    field: str  # a column, a domain field ("paid_on"), or "" for the whole period or file
    message: str
    found: str = ""
    expected: str = ""

    def __str__(self) -> str:
        return self.render()

    def render(self, labels: Mapping[str, str] | None = None) -> str:
        """``location: field: message (found 'X', expected Y)``, an empty location or field
        left out; ``labels`` names a field as the reader knows it (``{"paid_on": "--paid-on"}``),
        a field it does not name is shown as it is."""
        field = labels.get(self.field, self.field) if labels else self.field
        tail = ""
        if self.found or self.expected:
            found = f"'{self.found}'" if self.found else "nothing"
            tail = f" (found {found}, expected {self.expected})"
        return ": ".join(part for part in (self.location, field, f"{self.message}{tail}") if part)


@dataclass(frozen=True)
class Notice:
    """Something kept but worth telling: a code value mzledger does not know, for instance."""

    field: str
    value: str
    message: str
