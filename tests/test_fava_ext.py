"""The Fava extension 门诊统筹 (reports.fava) on the demo books, through Fava's test client."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from beancount import loader
from beancount.core import data
from fava.application import create_app
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, select, text

from ledger.books import Books, open_books_register_readonly
from ledger.register.batching import batch_member
from ledger.register.models import ClearingBatch, Posting, Settlement
from ledger.register.opening import resolve_url
from reports.fava import batches, lookup, params
from reports.fava.batches import CSV_COLUMNS, SORT_KEYS
from tests.conftest import Cli, settlement, write_csv

EXTENSION_LINE = '2022-12-01 custom "fava-extension" "reports.fava_ext"'


def _add_extension(books: Path) -> None:
    """Every books directory enables the extension in its main.beancount (from `init` on)."""
    assert EXTENSION_LINE in (books / "main.beancount").read_text("utf-8")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fava_ext")
    Cli(root)("demo", "city")
    books = root / "city"
    _add_extension(books)
    return books


class Site:
    """Fava (read-only) on one books directory, and the extension's report URL."""

    def __init__(self, books: Path) -> None:
        app = create_app([str(books / "main.beancount")], read_only=True)
        self.client: FlaskClient = app.test_client()
        response = self.client.get("/", follow_redirects=True)
        assert response.status_code == 200
        self.base = response.request.path.rsplit("/", 2)[0]
        self.report = f"{self.base}/extension/MzLedger/"

    def get(self, query: str = "", status: int = 200) -> str:
        response = self.client.get(self.report + query)
        body = response.get_data(as_text=True)
        assert response.status_code == status, (query, response.status_code, body[:500])
        return body

    def csv(self, link: str) -> list[dict[str, str]]:
        response = self.client.get(f"{self.report}batch_csv?link={link}")
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        text = response.get_data(as_text=True)
        assert text.startswith("\ufeff")
        return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.fixture(scope="module")
def site(demo: Path) -> Site:
    return Site(demo)


def _engine(books: Path) -> Engine:
    config = Books(books).read_config()
    return create_engine(resolve_url(config.db_url, books))


_SIZES: dict[Path, list[tuple[str, int, str | None]]] = {}


def _batch_sizes(books: Path) -> list[tuple[str, int, str | None]]:
    """(link, settlements, voucher) of every batch, largest first."""
    if books in _SIZES:
        return _SIZES[books]
    engine = _engine(books)
    with engine.connect() as conn:
        rows = conn.execute(
            select(ClearingBatch.link, func.count(Settlement.id), Posting.voucher)
            .join(Settlement, batch_member(Settlement, ClearingBatch))
            .join(Posting, Posting.batch_id == ClearingBatch.id, isouter=True)
            .group_by(ClearingBatch.link, Posting.voucher)
            .order_by(func.count(Settlement.id).desc(), ClearingBatch.link)
        ).all()
    engine.dispose()
    _SIZES[books] = [(link, int(n), voucher) for link, n, voucher in rows]
    return _SIZES[books]


def _totals(body: str) -> dict[str, str]:
    return dict(re.findall(r'data-total="(\w+)">([^<]*)<', body))


def _rows(body: str) -> list[tuple[str, list[Decimal]]]:
    """(setl_id, money cells) of each settlement row of a drill-down page."""
    out = []
    for chunk in body.split('<tr id="s-')[1:]:
        setl_id = chunk.split('"', 1)[0]
        row = chunk.split("</tr>", 1)[0]
        cells = re.findall(r'<td class="num">([^<]*)</td>', row)
        out.append((setl_id, [Decimal(c.replace(",", "")) for c in cells]))
    return out


def _yuan(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_every_view_renders_in_chinese(site: Site, demo: Path) -> None:
    link = _batch_sizes(demo)[0][0]
    for query, title in [
        ("", "清算批次"),
        ("?view=batches&period=2023-01", "清算批次"),
        (f"?view=batch&link={link}", "清算批次明细"),
        (f"?view=batch&link=%5E{link}", "清算批次明细"),  # as Fava writes links: ^clr-...
        ("?view=lookup", "结算查询"),
        ("?view=findings", "稽核发现"),
        ("?view=months", "月结状态"),
    ]:
        body = site.get(query)
        assert "门诊统筹" in body and f"<h2>{title}</h2>" in body, query
    # the index lists the batches with links to their drill-down and journal
    index = site.get("?per_page=500")
    assert index.count("view=batch&amp;link=clr-") >= len(_batch_sizes(demo))
    assert "journal/?filter=%5Eclr-" in index
    # without a findings file, the page says how to make one
    assert "mzledger audit --period 2023 --format json --out audit/2023.json" in site.get(
        "?view=findings"
    )


def test_a_batch_rows_links_lead_to_its_settlement_and_person(site: Site, demo: Path) -> None:
    """The row links of a batch page (made from one prefix a page, not one url_for a row)
    open the lookup of that settlement and of that person."""
    link = _batch_sizes(demo)[0][0]
    body = site.get(f"?view=batch&link={link}")
    rows = re.findall(r'<tr id="s-([^"]+)"[^>]*>\s*<td><a href="([^"]+)">', body)
    assert rows
    setl_id, href = rows[0]
    assert unquote(href).startswith(site.report)
    assert href.endswith(f"/?view=lookup&amp;setl_id={setl_id}")
    found = site.client.get(href.replace("&amp;", "&"))
    assert found.status_code == 200
    assert f"<td>{setl_id}</td>" in found.get_data(as_text=True)
    people = re.findall(r'href="([^"]*view=lookup&amp;psn_no=([^"]+))"', body)
    assert len(people) == len(re.findall(r'<tr id="s-', body))
    person = site.client.get(people[0][0].replace("&amp;", "&")).get_data(as_text=True)
    assert f"view=lookup&amp;psn_no={people[0][1]}" in person


def test_drilldown_totals_equal_register_and_books(site: Site, demo: Path) -> None:
    link, count, voucher = _batch_sizes(demo)[0]
    body = site.get(f"?view=batch&link={link}")
    totals = _totals(body)
    engine = _engine(demo)
    with engine.connect() as conn:
        batch = conn.execute(
            select(
                ClearingBatch.period,
                ClearingBatch.fixmedins_code,
                ClearingBatch.clr_type,
                ClearingBatch.last_file_id,
            ).where(ClearingBatch.link == link)
        ).one()
        sums = conn.execute(
            text(
                "SELECT sum(hifp_pay), sum(acct_pay), sum(acct_mulaid_pay), sum(medfee_sumamt) "
                "FROM settlements WHERE setl_period = :period AND fixmedins_code = :fixmedins_code "
                "AND clr_type = :clr_type AND file_id <= :last_file_id"
            ),
            dict(batch._mapping),
        ).one()
    engine.dispose()
    hifp, acct, mulaid, medfee = (Decimal(int(v)) / 100 for v in sums)  # stored in fen
    assert int(totals["count"]) == count
    assert _yuan(totals["hifp_pay"]) == hifp
    assert _yuan(totals["acct_pay"]) == acct
    assert _yuan(totals["acct_mulaid_pay"]) == mulaid
    assert _yuan(totals["medfee_sumamt"]) == medfee
    # the batch's transaction in the books: its expense legs are pooled + personal
    entries, _errors, _options = loader.load_file(str(demo / "main.beancount"))
    (txn,) = [e for e in entries if isinstance(e, data.Transaction) and link in e.links]
    expenses = sum(
        (
            p.units.number
            for p in txn.postings
            if p.account.startswith("Expenses") and p.units and p.units.number is not None
        ),
        Decimal(0),
    )
    assert _yuan(totals["booked"]) == expenses == hifp + acct + mulaid
    assert voucher is not None and txn.meta["voucher"] == voucher and voucher in body
    assert txn.date.isoformat() in body
    assert "账簿与登记簿一致" in body
    assert f"journal/?filter=%5E{link}" in body
    assert f"batch_csv?link={link}" in body


def test_paging_and_sorting(site: Site, demo: Path) -> None:
    link, count, _voucher = _batch_sizes(demo)[0]
    assert count > 10
    first = _rows(site.get(f"?view=batch&link={link}&per_page=5"))
    second = _rows(site.get(f"?view=batch&link={link}&per_page=5&page=2"))
    assert len(first) == len(second) == 5
    assert not {s for s, _ in first} & {s for s, _ in second}
    assert [s for s, _ in first + second] == sorted(s for s, _ in first + second)  # setl_id
    # hifp_pay (third money column) descending, across the page boundary too
    pages = [
        _rows(site.get(f"?view=batch&link={link}&per_page=5&page={n}&sort=hifp_pay&order=desc"))
        for n in (1, 2)
    ]
    pooled = [cells[2] for page in pages for _s, cells in page]
    assert pooled == sorted(pooled, reverse=True) and pooled[0] > pooled[-1]
    every = _rows(site.get(f"?view=batch&link={link}&per_page=500&sort=psn_cash_pay"))
    assert len(every) == count
    cash = [cells[5] for _s, cells in every]
    assert cash == sorted(cash)
    for key in SORT_KEYS:
        for order in ("asc", "desc"):
            site.get(f"?view=batch&link={link}&sort={key}&order={order}&per_page=3&page=2")
    # the last page holds the rest; a lookup's link lands on the settlement's page
    last = _rows(site.get(f"?view=batch&link={link}&per_page=5&page={(count + 4) // 5}"))
    assert len(last) == count - 5 * ((count + 4) // 5 - 1)
    target = last[-1][0]
    body = site.get(f"?view=batch&link={link}&per_page=5&setl_id={target}")
    assert f'<tr id="s-{target}" class="mzl-hl">' in body


def test_csv_has_every_settlement_of_the_batch_once(site: Site, demo: Path) -> None:
    # the largest batch with a refund in it: the CSV must show refunds negative
    engine = _engine(demo)
    with engine.connect() as conn:
        with_refund = set(
            conn.execute(select(ClearingBatch.link).where(ClearingBatch.refund_count > 0))
            .scalars()
            .all()
        )
    engine.dispose()
    link, count, _voucher = next(b for b in _batch_sizes(demo) if b[0] in with_refund)
    rows = site.csv(link)
    assert list(rows[0]) == list(CSV_COLUMNS)
    engine = _engine(demo)
    with engine.connect() as conn:
        expected = {
            setl_id: (str(hifp), str(cash), str(ratio) if ratio is not None else "")
            for setl_id, hifp, cash, ratio in conn.execute(
                select(
                    Settlement.setl_id,
                    Settlement.hifp_pay,
                    Settlement.psn_cash_pay,
                    Settlement.pool_prop_selfpay,
                )
                .join(ClearingBatch, batch_member(Settlement, ClearingBatch))
                .where(ClearingBatch.link == link)
            )
        }
    engine.dispose()
    ids = [row["setl_id"] for row in rows]
    assert len(ids) == len(set(ids)) == count and set(ids) == set(expected)
    # amounts to the fen, refunds negative, as the register has them
    assert any(row["hifp_pay"].startswith("-") for row in rows)
    for row in rows:
        assert (row["hifp_pay"], row["psn_cash_pay"], row["pool_prop_selfpay"]) == expected[
            row["setl_id"]
        ]


def test_lookup_names_batch_voucher_and_payment(site: Site, demo: Path) -> None:
    engine = _engine(demo)
    with engine.connect() as conn:
        setl_id, mdtrt_id, psn_no, link, voucher, paid_on = conn.execute(
            select(
                Settlement.setl_id,
                Settlement.mdtrt_id,
                Settlement.psn_no,
                ClearingBatch.link,
                Posting.voucher,
                Posting.paid_on,
            )
            .join(ClearingBatch, batch_member(Settlement, ClearingBatch))
            .join(Posting, Posting.batch_id == ClearingBatch.id)
            .order_by(Settlement.setl_id)
            .limit(1)
        ).one()
        person_count = conn.execute(
            select(func.count()).where(Settlement.psn_no == psn_no)
        ).scalar_one()
    engine.dispose()
    body = site.get(f"?view=lookup&setl_id={setl_id}")
    assert "1 笔结算" in body and link in body and voucher in body and paid_on.isoformat() in body
    assert f"view=batch&amp;link={link}&amp;setl_id={setl_id}" in body
    assert f"journal/?filter=%5E{link}" in body
    assert setl_id in site.get(f"?view=lookup&mdtrt_id={mdtrt_id}&setl_id=")  # empty field ok
    person = site.get(f"?view=lookup&psn_no={psn_no}")
    assert f"{person_count} 笔结算" in person and setl_id in person


def test_findings_page_lists_the_planted_mistakes(site: Site, demo: Path) -> None:
    (demo / "audit").mkdir(exist_ok=True)
    cli = Cli(demo)
    pages: dict[str, str] = {}
    for period in ("2023", "2022-12"):  # the newest file is shown first
        out = demo / "audit" / f"{period}.json"
        cli(
            "audit",
            "--period",
            period,
            "--books",
            ".",
            "--format",
            "json",
            "--out",
            str(out),
            expect=3,
        )
        found = json.loads(out.read_text("utf-8"))
        pages[period] = body = site.get(f"?view=findings&file={period}.json")
        assert f"共 {len(found)} 条" in body
        for finding in found:
            assert f"view=lookup&amp;setl_id={finding['setl_id']}" in body
            if finding["batch"]:
                assert f"view=batch&amp;link={finding['batch']}&amp;setl_id=" in body
    later = (demo / "audit" / "2023.json").stat().st_mtime + 60
    os.utime(demo / "audit" / "2022-12.json", (later, later))
    assert site.get("?view=findings") == site.get("?view=findings&file=2022-12.json")
    planted = json.loads((demo / "exports" / "planted.json").read_text("utf-8"))
    listed = set(
        re.findall(r"<tr>\s*<td>([a-z-]+)</td>.*?setl_id=(\w+)", "".join(pages.values()), re.S)
    )
    assert {(p["rule"], p["setl_id"]) for p in planted} <= listed
    body = pages["2023"]
    counts = dict(re.findall(r'rule=([a-z-]+)">[a-z-]+</a></td><td class="num">(\d+)<', body))
    rule = "benefit-mismatch"
    found = json.loads((demo / "audit" / "2023.json").read_text("utf-8"))
    assert counts[rule] == str(sum(f["rule"] == rule for f in found))
    only = site.get(f"?view=findings&rule={rule}&file=2023.json")
    assert only.count(f"<td>{rule}</td>") == int(counts[rule])


def test_month_status_locked_closed_and_reopened(demo: Path) -> None:
    cli = Cli(demo)
    cli("close", "2023-01", "--lock", "--books", ".")
    cli("close", "2023-02", "--books", ".")
    body = Site(demo).get("?view=months")
    # the chart opens in December, the books' first entries are of January: their first month
    assert 'data-month="2022-12"' not in body
    assert 'data-month="2023-01" data-state="locked"' in body
    assert 'data-month="2023-02" data-state="closed"' in body
    assert 'data-month="2023-03" data-state="open"' in body
    assert "已锁定" in body and "没有重新打开的月份" in body
    cli("reopen", "2023-01", "--reason", "更正摘要", "--books", ".")
    body = Site(demo).get("?view=months")
    assert 'data-month="2023-01" data-state="closed"' in body
    assert "更正摘要" in body and "重新打开" in body


def test_months_page_reads_summaries_for_what_they_say(tmp_path: Path) -> None:
    """A summary that is not one is named with why; one of another shape shows what it holds."""
    from reports.fava.months import month_statuses

    close = tmp_path / "close"
    close.mkdir()
    (close / "2023-01.json").write_text("{not json", "utf-8")
    (close / "2023-02.json").write_text('{"can_close": "yes"}', "utf-8")
    (close / "2023-03.json").write_bytes(b"\xff\xfe")
    failed = {"name": "statements", "ok": False, "details": ["no bank statement covers 2023-04"]}
    (close / "2023-04.json").write_text(
        json.dumps({"can_close": False, "checks": [failed, 3, {"ok": False}, {"name": "x"}]}),
        "utf-8",
    )
    paid = {"batch": "clr-2023-04-H1-11", "institution": "诊所", "pooled": "1.00"}
    (close / "2023-05.json").write_text(
        json.dumps({"can_close": True, "checks": "none", "outstanding_payments": [paid, 7]}),
        "utf-8",
    )
    (close / "2023-06.json").write_text('{"can_close": true, "outstanding_payments": {}}', "utf-8")
    january, february, march, april, may, june = month_statuses(tmp_path, []).months
    assert january.summary_problem == (
        "2023-01.json: cannot read: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )
    assert february.summary_problem == "2023-02.json: not a close summary (no can_close)"
    assert march.summary_problem is not None
    assert march.summary_problem.startswith("2023-03.json: cannot read: 'utf-8' codec")
    assert [(m.state, m.summary, m.can_close) for m in (january, february, march)] == [
        ("open", False, None)
    ] * 3
    assert (april.state, april.can_close, april.summary_problem) == ("open", False, None)
    assert [(c.name, c.details) for c in april.failed_checks] == [
        ("statements", ("no bank statement covers 2023-04",)),
        ("?", ()),
    ]
    assert (may.state, may.failed_checks, may.outstanding) == ("closed", (), 2)
    assert (june.state, june.outstanding) == ("closed", 0)


BAD = [
    "?page=0",
    "?page=abc",
    "?page=-1",
    "?page=999",
    "?per_page=501",
    "?per_page=0",
    "?period=2023-13",
    "?view=nothing",
    "?view=batch",
    "?view=batch&link=bad",
    "?view=batch&link=clr-2023-01-H21030101-99",
    "?view=batch&link=clr-2023-01-../../x-11",
    "?view=batch&link={link}&sort=psn_name",
    "?view=batch&link={link}&sort=certno",
    "?view=batch&link={link}&order=up",
    "?view=batch&link={link}&page=999",
    "?view=batch&link={link}&page=1.5",
    "?view=batch&link={link}&setl_id=NOT-IN-BATCH",
    "?view=batch&link={link}&setl_id=%3Cscript%3E",
    "?view=lookup&setl_id=%3Cscript%3E",
    "?view=lookup&setl_id=X000000000000",
    "?view=lookup&psn_no=Q000000000",
    "?view=lookup&mdtrt_id=" + "M" * 41,
    "?view=lookup&setl_id=X1&psn_no=Q1",
    "?view=lookup&page=x",
    "?view=findings&file=../mzledger.toml",
    "?view=findings&file=missing.json",
    "?view=findings&rule=Bad%20Rule",
    "?view=findings&institution=%3Cx%3E",
    "batch_csv",
    "batch_csv?link=bad",
    "batch_csv?link=clr-2023-01-H21030101-99",
]


@pytest.mark.parametrize("query", BAD)
def test_bad_parameters_answer_400(site: Site, demo: Path, query: str) -> None:
    link = _batch_sizes(demo)[0][0]
    body = site.get(query.format(link=link), status=400)
    assert "参数错误" in body and "Bad request" in body
    assert "Traceback" not in body and len(body) < 600


def test_no_personal_data_anywhere(site: Site, demo: Path) -> None:
    names, certnos, people = set(), set(), set()
    for path in (demo / "exports").glob("settlements-*.csv"):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                names.add(row["psn_name"])
                certnos.add(row["certno"])
                people.add(row["psn_no"])
    assert names and certnos
    bodies = [
        site.get("?per_page=500"),
        site.get("?view=findings"),
        site.get("?view=months"),
        *(site.get(f"?view=lookup&psn_no={p}&per_page=500") for p in sorted(people)[::30]),
    ]
    # every kind of page; a third of the batches' pages and a sixth of their CSVs
    for n, (link, _count, _voucher) in enumerate(_batch_sizes(demo)):
        if n % 3 == 0:
            bodies.append(site.get(f"?view=batch&link={link}&per_page=500"))
        if n % 6 == 0:
            rows = site.csv(link)
            assert not {"psn_name", "certno"} & set(rows[0])
            bodies.append(json.dumps(rows, ensure_ascii=False))
    text = "\n".join(bodies)
    assert not [name for name in names if name in text]
    assert not [certno for certno in certnos if certno in text]


def test_without_a_register_the_pages_say_so(tmp_path: Path) -> None:
    """Books whose register is missing: 503 with a message for the register's views (nothing
    is created: the register is opened read-only), the other views still work."""
    (tmp_path / "mzledger.toml").write_text(
        'region = "210300"\ndb = "sqlite:///missing.sqlite"\n', "utf-8"
    )
    (tmp_path / "main.beancount").write_text(
        'option "operating_currency" "CNY"\n2023-01-01 open Assets:Bank CNY\n' + EXTENSION_LINE,
        "utf-8",
    )
    site = Site(tmp_path)
    for query in ("", "?view=batch&link=clr-2023-01-H1-11", "?view=lookup&setl_id=X1"):
        body = site.get(query, status=503)
        assert "登记簿不可用" in body and "missing.sqlite" in body and "Traceback" not in body
    assert site.client.get(site.report + "batch_csv?link=clr-2023-01-H1-11").status_code == 503
    assert not (tmp_path / "missing.sqlite").exists()
    assert 'data-month="2023-01" data-state="open"' in site.get("?view=months")
    assert "mzledger audit" in site.get("?view=findings")


def test_data_layer_on_each_register(books: Path, cli: Cli) -> None:
    """reports.fava.drilldown on SQLite and PostgreSQL (read-only there too): totals, paging,
    sorting with ties, a settlement's page, the CSV in small chunks, lookups."""
    (cli.cwd / "institutions.csv").write_text(
        "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs\n"
        "H1,一号医院,1,1,0,\n",
        "utf-8",
    )
    rows = [
        settlement(
            f"A{n:03d}",
            f"Q{n % 4}",
            f"2023-01-{1 + n % 20:02d} 09:00:00",
            "H1",
            f"{100 + n}.00",
            f"{n % 7}.50",
            acct="10.00",
        )
        for n in range(23)
    ]
    rows.append(settlement("B001", "Q1", "2023-02-01 09:00:00", "H1", "80.00", "8.00"))
    write_csv(cli.cwd / "settlements.csv", rows)
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    cli("post", "--period", "2023-01", "--paid-on", "2023-02-10", "--books", "books")
    engine = open_books_register_readonly(books)
    try:
        (batch,) = batches.list_batches(engine, 1, 10).items
        assert batch.link == "clr-2023-01-H1-11" and batch.voucher == "2023-02-记-0001"
        assert batches.batch_by_link(engine, batch.link) == batch
        totals = batches.batch_totals(engine, batch.id)
        assert totals.count == 23 and totals.refunds == 0
        assert totals.sums["hifp_pay"] == sum(Decimal(f"{n % 7}.50") for n in range(23))
        assert totals.personal == Decimal("230.00")
        seen: list[str] = []
        for number in (1, 2, 3):
            page = batches.batch_settlements(engine, batch.id, number, 10, "hifp_pay", "desc")
            seen += [row.setl_id for row in page.items]
            pooled = [row.hifp_pay for row in page.items]
            assert pooled == sorted(pooled, reverse=True)
        assert len(seen) == len(set(seen)) == 23  # ties broken by row id: no row twice
        # pages past the middle are read in the opposite order: the same rows, page by page
        for key in SORT_KEYS:
            for order in ("asc", "desc"):
                whole = batches.batch_settlements(engine, batch.id, 1, 100, key, order)
                for per_page in (1, 4, 10, 22):
                    paged = [
                        row
                        for number in range(1, -(-23 // per_page) + 1)
                        for row in batches.batch_settlements(
                            engine, batch.id, number, per_page, key, order
                        ).items
                    ]
                    assert paged == list(whole.items), (key, order, per_page)
        assert batches.page_of_settlement(engine, batch.id, seen[14], 10, "hifp_pay", "desc") == 2
        with pytest.raises(params.BadRequest):
            batches.batch_settlements(engine, batch.id, 4, 10)
        text_ = "".join(batches.iter_batch_csv(engine, batch.id, chunk=4))
        lines = list(csv.DictReader(io.StringIO(text_[1:])))
        assert sorted(row["setl_id"] for row in lines) == sorted(seen)
        assert {row["acct_pay"] for row in lines} == {"10.00"}
        hits = lookup.lookup(engine, "psn_no", "Q1", 1, 100).items
        assert [hit.batch for hit in hits][-1] is None  # February's: in no batch yet
        assert {hit.voucher for hit in hits[:-1]} == {"2023-02-记-0001"}
        with pytest.raises(params.BadRequest):
            lookup.lookup(engine, "setl_id", "NOPE", 1, 100)
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# A batch of 20,000 settlements: pages and the CSV never load the batch whole.

BIG = 20_000


def _big_csv(path: Path) -> None:
    """BIG settlements of one institution in January 2023, written line by line from one
    template row of ``conftest.settlement`` (amounts in fen keep the identities)."""
    template = settlement("S0", "Q0", "2023-01-01 08:00:00", "H1", "1.00", "0.00")
    header = list(template)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        row = dict(template)
        for n in range(BIG):
            medfee, pooled, acct = 10_000 + n % 90_000, n % 9_700, n % 50 * 100
            person = medfee - pooled
            row.update(
                setl_id=f"S{n:08d}",
                mdtrt_id=f"MS{n:08d}",
                psn_no=f"Q{n % 3000:06d}",
                setl_time=f"2023-01-{1 + n % 28:02d} {8 + n % 10:02d}:{n % 60:02d}:00",
                medfee_sumamt=f"{Decimal(medfee).scaleb(-2)}",
                inscp_scp_amt=f"{Decimal(medfee).scaleb(-2)}",
                hifp_pay=f"{Decimal(pooled).scaleb(-2)}",
                fund_pay_sumamt=f"{Decimal(pooled).scaleb(-2)}",
                psn_part_amt=f"{Decimal(person).scaleb(-2)}",
                acct_pay=f"{Decimal(acct).scaleb(-2)}",
                psn_cash_pay=f"{Decimal(person - acct).scaleb(-2)}",
            )
            writer.writerow(row.values())


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big")
    (root / "institutions.csv").write_text(
        "fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs\n"
        "H1,一号医院,1,1,0,\n",
        "utf-8",
    )
    _big_csv(root / "january.csv")
    # one settlement of February stays outside any batch
    write_csv(
        root / "february.csv",
        [settlement("F0000001", "Q000001", "2023-02-03 09:00:00", "H1", "50.00", "5.00")],
    )
    cli = Cli(root)
    cli("init", "books")
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "january.csv", "february.csv", "--books", "books")
    cli("post", "--period", "2023-01", "--books", "books")  # batched, not paid
    _add_extension(root / "books")
    return root / "books"


@pytest.fixture(scope="module")
def big_site(big: Path) -> Site:
    return Site(big)


@pytest.fixture
def statements() -> Iterator[list[str]]:
    captured: list[str] = []

    def capture(*args: Any) -> None:
        captured.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        yield captured
    finally:
        event.remove(Engine, "before_cursor_execute", capture)


def _reads_rows(sql: str) -> bool:
    """A statement that reads settlement rows (not an aggregate over them)."""
    flat = " ".join(sql.split()).lower()
    return "from settlements" in flat and not re.match(r"select (count|coalesce\(sum)", flat)


def test_big_batch_pages_use_limit(big_site: Site, statements: list[str]) -> None:
    site = big_site
    link = "clr-2023-01-H1-11"
    statements.clear()
    body = site.get(f"?view=batch&link={link}&per_page=500&page=7&sort=hifp_pay&order=desc")
    rows = _rows(body)
    assert len(rows) == 500
    assert _totals(body)["count"] == str(BIG)
    reading = [sql for sql in statements if _reads_rows(sql)]
    assert reading and all("LIMIT" in sql and "fixmedins_code" in sql for sql in reading), reading
    assert "未支付" in body  # posted without a payment: no transaction yet
    # the last page; past it, 400; unpaid and unbatched settlements say so
    assert len(_rows(site.get(f"?view=batch&link={link}&per_page=500&page={BIG // 500}"))) == 500
    site.get(f"?view=batch&link={link}&per_page=500&page={BIG // 500 + 1}", status=400)
    assert "批次未支付" in site.get("?view=lookup&setl_id=S00000042")
    assert "未入清算批次" in site.get("?view=lookup&setl_id=F0000001")


def test_big_batch_csv_is_streamed_in_chunks(big_site: Site, statements: list[str]) -> None:
    site = big_site
    statements.clear()
    rows = site.csv("clr-2023-01-H1-11")
    ids = {row["setl_id"] for row in rows}
    assert len(rows) == len(ids) == BIG
    reading = [sql for sql in statements if _reads_rows(sql)]
    # keyset chunks of the batch (<batch key> AND id > ? ... LIMIT), never one query for all
    assert len(reading) >= BIG // 2000 and all("LIMIT" in sql for sql in reading), reading[:2]


def test_statements_view_shows_the_books_statements(site: Site, demo: Path) -> None:
    """基金会计报表: both forms of a month and of a year, each figure as the statements
    (``reports.books.fund_statements``) give it from the books; a bad period answers 400."""
    from ledger.chart import load_chart
    from ledger.loading import load_books
    from ledger.month import Month
    from reports.books.fund_statements import fund_statements

    books = load_books(demo / "main.beancount")
    chart = load_chart(demo / "chart.toml")
    for period in ("2023-02", "2023"):
        body = site.get(f"?view=statements&period={period}")
        assert "<h2>基金会计报表</h2>" in body
        assert "资产负债表（会社保01表）" in body and "收支表（会社保02表）" in body
        key = Month.parse(period) if "-" in period else int(period)
        for statement in fund_statements(books, chart, key):
            columns = len(statement.columns)
            table = body.split(f'data-form="{statement.form}"', 1)[1].split("</table>", 1)[0]
            cells = re.findall(r'<td class="num">([^<]*)</td>', table)
            lines = [ln for ln in statement.lines if ln.kind != "heading"]
            assert len(cells) == len(lines) * (1 + columns)
            shown = [
                cells[i * (1 + columns) + 1 : (i + 1) * (1 + columns)] for i in range(len(lines))
            ]
            assert shown == [[f"{v:,.2f}" for v in ln.values] for ln in lines]
    latest = site.get("?view=statements")
    assert '<option value="2023-04" selected>' in latest
    assert "参数错误" in site.get("?view=statements&period=2023-13", status=400)


def test_a_remote_batch_says_which_agency_it_is_paid_through(site: Site) -> None:
    """异地就医: the batch page and the list name the clearing agency and link its payments."""
    body = site.get("?view=batch&link=clr-2023-01-H21010001-11")
    assert "清算经办机构（异地就医）" in body and "210100：经该机构清算" in body
    assert "journal/?filter=%5Eydjy-2023-01-210100" in body
    assert "异地，经210100清算" in site.get("?view=batches&period=2023-01&per_page=100")
    assert "清算经办机构" not in site.get("?view=batch&link=clr-2023-01-H21030101-11")
