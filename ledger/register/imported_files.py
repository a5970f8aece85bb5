"""The register's record of each imported file (导入文件): its kind, name, hash and counts.

Every importer records its file here, one way: a file is recognised again by its sha256
whatever its kind, so the same bytes are never imported twice, nor as two kinds of file.
"""

from __future__ import annotations

import datetime
import getpass

from sqlalchemy import Connection, insert, select

from ledger.register.models import ImportedFile


def earlier_import(conn: Connection, sha256: str) -> str | None:
    """The kind of an earlier import of the same bytes, if any."""
    kind: str | None = conn.execute(
        select(ImportedFile.kind).where(ImportedFile.sha256 == sha256)
    ).scalar()
    return kind


def record_file(
    conn: Connection,
    *,
    kind: str,
    name: str,
    sha256: str,
    file_format: str,
    rows: int = 0,
    inserted: int = 0,
    user: str | None = None,
    now: datetime.datetime | None = None,
) -> int:
    """Record an imported file (its counts may be set later) and return its id; ``user`` and
    ``now`` default to the operating-system user and this second."""
    file_id: int = conn.execute(
        insert(ImportedFile)
        .values(
            kind=kind,
            name=name,
            sha256=sha256,
            file_format=file_format,
            row_count=rows,
            inserted_count=inserted,
            skipped_count=0,
            imported_at=now or datetime.datetime.now().replace(microsecond=0),
            imported_by=user or getpass.getuser(),
        )
        .returning(ImportedFile.id)
    ).scalar_one()
    return file_id
