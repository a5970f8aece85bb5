"""beangulp importers, so that the same readers serve the CLI and Fava's import page.

A settlement export never becomes Beancount entries one by one: the books hold one transaction
per clearing batch (see postings/), and the settlements go to the register. So ``extract``
returns no entries; ``identify`` and ``records`` are what the CLI and Fava share.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import beangulp
from beancount.core import data

from importers.settlements.rows import SettlementRow, read_settlements
from importers.sources import SourceError, detect_format, open_source

IDENTIFYING_FIELDS = frozenset({"setl_id", "hifp_pay", "psn_no"})


class SettlementImporter(beangulp.Importer):  # type: ignore[misc]
    """结算结果导入: national platform settlement results (2207 output) in any supported format."""

    def __init__(self, account: str = "Assets:1004-支出户存款:01-统筹基金") -> None:
        self._account = account

    def identify(self, filepath: str) -> bool:
        path = Path(filepath)
        if detect_format(path) is None:
            return False
        try:
            source = open_source(path)
        except SourceError:
            return False
        try:
            if source.columns is not None:
                return set(source.columns) >= IDENTIFYING_FIELDS
            first = next(source.rows, None)
            return first is not None and set(first.fields) >= IDENTIFYING_FIELDS
        finally:
            source.close()

    def account(self, filepath: str) -> str:
        return self._account

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        """No entries: settlements are booked per clearing batch by `mzledger post`."""
        return []

    def records(self, filepath: str, institution: str | None = None) -> Iterator[SettlementRow]:
        """Each row validated: the register record, or the problems that refuse it."""
        source = open_source(Path(filepath))
        try:
            yield from read_settlements(source, institution)
        finally:
            source.close()
