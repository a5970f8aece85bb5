"""Imported files (导入文件): each recognised again by its sha256, whatever its kind."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Connection, select

from ledger.register.models import ImportedFile


def earlier_import(conn: Connection, sha256: str) -> str | None:
    """The kind of an earlier import of the same bytes, if any."""
    kind: str | None = conn.execute(
        select(ImportedFile.kind).where(ImportedFile.sha256 == sha256)
    ).scalar()
    return kind


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
