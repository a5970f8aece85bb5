"""Keeping the platform's 3201 totals of a month in the register, so that `close` compares
them. The file is read and checked by ``reports.controls.platform_totals.read_platform_totals``; the
last file imported for a month replaces the month's figures (a corrected file from the platform
supersedes the first), in one transaction."""

from __future__ import annotations

import datetime
import getpass
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert

from importers.settlements.loader import earlier_import
from ledger.month import Month
from ledger.register.models import ImportedFile, PlatformTotal


def store_platform_totals(
    engine: Engine,
    month: Month,
    groups: Sequence[Mapping[str, Any]],
    path: Path,
    sha256: str,
    *,
    user: str | None = None,
) -> bool:
    """Replace ``month``'s platform figures; False when these bytes were imported before."""
    period = month.period
    with engine.begin() as conn:
        if earlier_import(conn, sha256) is not None:
            return False
        file_id = conn.execute(
            insert(ImportedFile)
            .values(
                kind="platform-totals",
                name=str(path),
                sha256=sha256,
                file_format=path.suffix.lstrip(".").lower() or "csv",
                row_count=len(groups),
                inserted_count=len(groups),
                skipped_count=0,
                imported_at=datetime.datetime.now().replace(microsecond=0),
                imported_by=user or getpass.getuser(),
            )
            .returning(ImportedFile.id)
        ).scalar_one()
        conn.execute(delete(PlatformTotal).where(PlatformTotal.period == period))
        for group in groups:
            conn.execute(insert(PlatformTotal).values(**group, period=period, file_id=file_id))
    return True
