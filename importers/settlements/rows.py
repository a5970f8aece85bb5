"""An open export's rows, each read and validated: shared by the CLI's loader and beangulp."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from importers.settlements.record import parse_settlement
from importers.sources import Source, shape_problem
from ledger.problems import Notice, Problem


class SettlementRow(NamedTuple):
    location: str  # file:line, or file:record N for JSON arrays
    number: int  # that line or record number
    record: dict[str, Any] | None  # None when refused
    problems: list[Problem]
    notices: list[Notice]
    fields: Mapping[str, Any] | None = None  # the row as the file had it (and --institution)


def read_settlements(source: Source, institution: str | None = None) -> Iterator[SettlementRow]:
    """Validate each row; ``institution`` names the institution of files that carry no
    fixmedins_code (a raw 2207 response is one institution's export and never names it)."""
    for raw in source.rows:
        number = int(raw.location.rsplit(":", 1)[1].removeprefix("record "))
        unreadable = shape_problem(raw)
        if unreadable is not None:
            yield SettlementRow(raw.location, number, None, [unreadable], [])
            continue
        fields = raw.fields
        if not fields.get("fixmedins_code"):
            if institution is None:
                problem = Problem(
                    raw.location,
                    "fixmedins_code",
                    "the file does not name the institution (raw 2207 responses never do)",
                    "",
                    "the column, or --institution CODE for the institution whose export this is",
                )
                yield SettlementRow(raw.location, number, None, [problem], [])
                continue
            fields = {**fields, "fixmedins_code": institution}
        record, problems, notices = parse_settlement(fields, raw.location)
        yield SettlementRow(raw.location, number, record, problems, notices, fields)
