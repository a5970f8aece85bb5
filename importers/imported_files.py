"""Imported files (导入文件): each recognised again by its sha256, whatever its kind (the
register's record of them: ``ledger.register.imported_files``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ledger.register.imported_files import earlier_import, record_file

__all__ = ["earlier_import", "file_sha256", "record_file"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
