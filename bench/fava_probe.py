"""Fava over real HTTP: start ``mzledger fava``, time its first answer, its income statement
API and the 门诊统筹 extension's pages; and the extension's data layer called directly.

Routes (Fava 1.30): ``/`` redirects to ``/<bfile>/income_statement/`` (the slug is read from
that redirect); the income statement's data is the JSON API ``/<bfile>/api/income_statement``
(``fava.json_api.get_income_statement``: the trees and interval charts the page draws). The
extension (``reports.fava.extension``, class ``MzLedger``) serves ``/<bfile>/extension/MzLedger/``
with ``?view=lookup&setl_id=...`` and ``?view=batch&link=clr-...&page=N`` (100 rows a page).
Fava loads the books lazily, on its first request: the start time includes the load.
"""

from __future__ import annotations

import http.client
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, select

from bench.procs import Background, Measured, mzledger
from ledger.books import open_books_register_readonly
from ledger.register.models import ClearingBatch, Settlement
from reports.fava import batches, lookup, params

EXTENSION = "MzLedger"
REPEATS = 7


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, timeout: float = 600.0) -> tuple[int, bytes, str | None]:
    """One GET, body read whole: status, body, Location header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, body, response.getheader("Location")
    finally:
        conn.close()


def timed_get(port: int, path: str) -> float:
    """Seconds for one GET answered 200 (anything else stops the benchmark)."""
    started = time.perf_counter()
    status, body, _ = get(port, path)
    seconds = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
    return seconds


def repeated(call: Callable[[], float], repeats: int = REPEATS) -> dict[str, Any]:
    """The first (cold) call, then ``repeats`` more: their median and max, in seconds."""
    first = call()
    rest = [call() for _ in range(repeats)]
    return {
        "first_seconds": first,
        "median_seconds": statistics.median(rest),
        "max_seconds": max(rest),
        "calls": repeats,
    }


@dataclass(frozen=True)
class Targets:
    """What to look up: a settlement in the middle of the register, its largest batch."""

    setl_id: str
    link: str
    batch_id: int
    batch_rows: int
    register_rows: int


def pick_targets(books: Path) -> Targets:
    engine = open_books_register_readonly(books)
    try:
        with engine.connect() as conn:
            register_rows = int(conn.execute(select(func.count(Settlement.id))).scalar_one())
            max_id = int(conn.execute(select(func.max(Settlement.id))).scalar_one())
            setl_id = conn.execute(
                select(Settlement.setl_id)
                .where(Settlement.id >= max_id // 2)
                .order_by(Settlement.id)
                .limit(1)
            ).scalar_one()
            batch = conn.execute(
                select(ClearingBatch.id, ClearingBatch.link, ClearingBatch.settlement_count)
                .order_by(ClearingBatch.settlement_count.desc(), ClearingBatch.id)
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    return Targets(str(setl_id), str(batch[1]), int(batch[0]), int(batch[2]), register_rows)


def _last_page(rows: int, per_page: int = params.DEFAULT_PER_PAGE) -> int:
    return max(1, -(-rows // per_page))


def data_layer(books: Path, targets: Targets) -> dict[str, Any]:
    """The extension's queries (``reports.fava``) called in this process, no HTTP."""
    engine = open_books_register_readonly(books)
    per_page = params.DEFAULT_PER_PAGE

    def a_lookup() -> float:
        started = time.perf_counter()
        page = lookup.lookup(engine, "setl_id", targets.setl_id, 1, per_page)
        assert page.total >= 1
        return time.perf_counter() - started

    def batch_page(number: int) -> Callable[[], float]:
        def call() -> float:
            started = time.perf_counter()
            batch = batches.batch_by_link(engine, targets.link)
            totals = batches.batch_totals(engine, batch.id)
            batches.batch_settlements(engine, batch.id, number, per_page, total=totals.count)
            return time.perf_counter() - started

        return call

    try:
        return {
            "lookup_setl_id": repeated(a_lookup),
            "batch_page_first": repeated(batch_page(1)),
            "batch_page_last": repeated(batch_page(_last_page(targets.batch_rows))),
        }
    finally:
        engine.dispose()


def fava_session(books: Path, cwd: Path, targets: Targets, log: Path) -> dict[str, Any]:
    """Start Fava on the books, time it over HTTP, stop it. Raises if it never answers."""
    port = free_port()
    server = Background(
        "fava", mzledger("fava", "--books", str(books), "--port", str(port)), cwd, log
    )
    try:
        location: str | None = None
        while True:
            if not server.alive():
                raise RuntimeError(f"fava exited before answering; see {log}")
            if time.perf_counter() - server.started > 3600:
                raise RuntimeError(f"fava did not answer within an hour; see {log}")
            try:
                status, _body, location = get(port, "/")
                break
            except (ConnectionError, OSError):
                time.sleep(0.05)
        start_seconds = time.perf_counter() - server.started
        if status not in (301, 302, 303, 307, 308) or not location:
            raise RuntimeError(f"fava: GET / answered {status} without a redirect; see {log}")
        slug = urlsplit(location).path.strip("/").split("/", 1)[0]
        base = f"/{slug}"
        income = f"{base}/api/income_statement"
        first_income = timed_get(port, income)
        second_income = timed_get(port, income)
        extension = f"{base}/extension/{EXTENSION}/"
        lookup_path = f"{extension}?{urlencode({'view': 'lookup', 'setl_id': targets.setl_id})}"
        last = _last_page(targets.batch_rows)
        batch_first = f"{extension}?{urlencode({'view': 'batch', 'link': targets.link})}"
        batch_last = (
            f"{extension}?{urlencode({'view': 'batch', 'link': targets.link, 'page': last})}"
        )
        http_pages = {
            "lookup_setl_id": repeated(lambda: timed_get(port, lookup_path)),
            "batch_page_first": repeated(lambda: timed_get(port, batch_first)),
            "batch_page_last": repeated(lambda: timed_get(port, batch_last)),
        }
    finally:
        measured: Measured = server.stop()
    return {
        "port": port,
        "slug": slug,
        "start_seconds": start_seconds,
        "income_statement_api": income,
        "income_statement_first_seconds": first_income,
        "income_statement_second_seconds": second_income,
        "pages": {
            "lookup": lookup_path,
            "batch_first": batch_first,
            "batch_last": batch_last,
            "batch_last_page": last,
        },
        "http": http_pages,
        "peak_rss_mb": measured.peak_rss_mb,
        "session_seconds": measured.seconds,
        "argv": measured.argv,
    }
