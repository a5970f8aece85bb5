"""Fava extension 门诊统筹: the register behind the books, read-only, in Chinese.

Loaded by ``custom "fava-extension" "reports.fava_ext"`` in ``main.beancount``. One report page,
``/<bfile>/extension/MzLedger/``, with views chosen by ``?view=``:

- ``batches`` (default): the register's clearing batches, paged, with links (清算批次);
- ``batch&link=clr-…``: a batch's settlements, paged and sortable, its totals (SQL sums), its
  voucher, payment date and booked transaction (清算批次明细);
- ``lookup&setl_id=…|mdtrt_id=…|psn_no=…``: settlements by exact number (结算查询);
- ``findings``: the audit's findings files ``<books>/audit/*.json`` (稽核发现);
- ``months``: each month open, closed or locked, failed checks, reopenings (月结状态);
- ``statements``: 会社保01表 and 会社保02表 of a month or a year (基金会计报表);
- ``indicators&year=YYYY``: the institutions' assessment indicators (机构考核指标);

and one endpoint, ``/<bfile>/extension/MzLedger/batch_csv?link=clr-…``: the batch as CSV,
streamed. A bad parameter answers 400 with a short Chinese and English message. The queries
live in the modules beside it (params, batches, lookup, findings, months); nothing here
writes.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from urllib.parse import urlencode

from fava.application import url_for
from fava.ext import FavaExtensionBase, extension_endpoint
from flask import Response, g, request
from sqlalchemy import Engine
from werkzeug.exceptions import abort

from ledger.books import open_books_register_readonly
from ledger.month import Month
from ledger.register.readonly import RegisterUnavailable
from reports.fava import batches, findings, lookup, months, params
from reports.fava.batches import SORT_KEYS, Batch, BatchTotals, SettlementRow
from reports.fava.findings import FindingsFile, FindingsSummary, FindingView
from reports.fava.indicators import indicators_view
from reports.fava.lookup import SettlementHit
from reports.fava.months import MonthsOverview
from reports.fava.params import LABELS, BadRequest, Page
from reports.fava.statements import statements_view

if TYPE_CHECKING:  # pragma: no cover
    from fava.core import FavaLedger

VIEWS: dict[str, str] = {
    "batches": "清算批次",
    "batch": "清算批次明细",
    "lookup": "结算查询",
    "findings": "稽核发现",
    "months": "月结状态",
    "statements": "基金会计报表",
    "indicators": "机构考核指标",
}
#: Views in the navigation bar (the drill-down is reached from a batch).
NAV = ("batches", "lookup", "findings", "months", "statements", "indicators")


def _plain(status: int, text: str) -> Response:
    return Response(text.rstrip("\n") + "\n", status=status, mimetype="text/plain")


def _refusal(error: BadRequest) -> Response:
    return _plain(400, f"400 参数错误：{error.zh}\nBad request: {error.en}")


def _unavailability(error: RegisterUnavailable) -> Response:
    return _plain(503, f"503 登记簿不可用：{error}\nThe register cannot be read: {error}")


def _refuse(error: BadRequest) -> NoReturn:
    """Stop rendering the report page: Flask answers with the 400 response."""
    abort(_refusal(error))


def _unavailable(error: RegisterUnavailable) -> NoReturn:
    abort(_unavailability(error))


def money(value: Decimal | str | None) -> str:
    """``1,234.50``; empty for None."""
    if value is None:
        return ""
    try:
        return f"{Decimal(value):,.2f}"
    except ArithmeticError:
        return str(value)


@dataclass(frozen=True)
class BooksSide:
    """A batch's transaction as the books have it."""

    date: datetime.date
    voucher: str
    narration: str
    postings: tuple[tuple[str, Decimal], ...]
    expenses: Decimal  # sum of the Expenses legs


@dataclass(frozen=True)
class BatchesView:
    page: Page[Batch]
    period: Month | None
    booked: dict[str, Decimal]  # link -> expenses booked, for paid batches in the books


@dataclass(frozen=True)
class BatchView:
    batch: Batch
    totals: BatchTotals
    page: Page[SettlementRow]
    sort: str
    order: Literal["asc", "desc"]
    highlight: str | None
    books: BooksSide | None

    @property
    def agrees(self) -> bool | None:
        """Whether the books' expense legs equal the register's pooled + personal sums."""
        if self.books is None:
            return None
        return self.books.expenses == self.totals.booked


@dataclass(frozen=True)
class LookupView:
    field: str | None
    value: str | None
    page: Page[SettlementHit] | None
    booked_links: frozenset[str]


@dataclass(frozen=True)
class FindingsPageView:
    files: tuple[FindingsFile, ...]
    file: FindingsFile | None
    error: str | None
    summary: FindingsSummary | None
    page: Page[FindingView] | None
    rule: str | None
    institution: str | None


@dataclass(frozen=True)
class View:
    name: str
    title: str
    data: Any


class MzLedger(FavaExtensionBase):
    """门诊统筹: clearing batches, settlements, audit findings and month status."""

    report_title = "门诊统筹"

    def __init__(self, ledger: FavaLedger, config: str | None = None) -> None:
        super().__init__(ledger, config)
        self._engine: Engine | None = None
        self._by_link: dict[str, Any] | None = None

    # -- the books and the register ------------------------------------------------------------

    @property
    def books_root(self) -> Path:
        """The books directory: where the ledger's main file is."""
        return Path(self.ledger.beancount_file_path).parent

    def engine(self) -> Engine:
        """The register, opened read-only once per ledger."""
        if self._engine is None:
            self._engine = open_books_register_readonly(self.books_root)
        return self._engine

    def after_load_file(self) -> None:
        self._by_link = None

    def _transactions(self) -> dict[str, Any]:
        if self._by_link is None:
            self._by_link = {
                link: entry
                for entry in self.ledger.all_entries_by_type.Transaction
                for link in entry.links
                if link.startswith("clr-")
            }
        return self._by_link

    def books_side(self, link: str) -> BooksSide | None:
        entry = self._transactions().get(link)
        if entry is None:
            return None
        expenses_root = str(self.ledger.options["name_expenses"])
        postings = tuple(
            (str(p.account), Decimal(p.units.number))
            for p in entry.postings
            if p.units is not None and p.units.number is not None
        )
        expenses = sum(
            (n for account, n in postings if account.split(":")[0] == expenses_root), Decimal(0)
        )
        return BooksSide(
            entry.date,
            str(entry.meta.get("voucher", "")),
            str(entry.narration or ""),
            postings,
            expenses,
        )

    # -- URLs ----------------------------------------------------------------------------------

    def url(self, view: str = "batches", **params: object) -> str:
        """A URL of this extension's report page (None values are left out)."""
        values = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        report = self._report_url()
        return f"{report}{'&' if '?' in report else '?'}{urlencode({'view': view, **values})}"

    def url_prefix(self, view: str, name: str) -> str:
        """The URL of ``view`` up to the value of its parameter ``name``: a page's rows add
        their own value (``|urlencode``) to it, with none of ``url``'s work per row."""
        return f"{self.url(view)}&{urlencode({name: ''})}"

    def _report_url(self) -> str:
        """The report page's URL with Fava's filters, made once per request: ``url_for`` costs
        tens of microseconds a call, and a page of a batch links each of its rows twice."""
        report: str | None = getattr(g, "mzledger_report_url", None)
        if report is None:
            report = g.mzledger_report_url = url_for("extension_report", extension_name=self.name)
        return report

    def csv_url(self, link: str) -> str:
        """The CSV endpoint of a batch. Built from the report's URL: ``url_for`` cannot be
        given the ``endpoint`` value that Fava's extension route takes."""
        return f"{self._report_url().split('?', 1)[0]}batch_csv?{urlencode({'link': link})}"

    @staticmethod
    def journal_url(link: str) -> str:
        """Fava's journal filtered by the batch's link: the clearing transaction. The page's
        own time and account filters are left off, as they could hide it."""
        journal = url_for("report", report_name="journal").split("?", 1)[0]
        return f"{journal}?{urlencode({'filter': f'^{link}'})}"

    def sort_url(self, view: BatchView, key: str) -> str:
        order = "desc" if view.sort == key and view.order == "asc" else "asc"
        return self.url(
            "batch",
            link=view.batch.link,
            sort=key,
            order=order,
            per_page=view.page.per_page if view.page.per_page != params.DEFAULT_PER_PAGE else None,
        )

    money = staticmethod(money)
    default_per_page = params.DEFAULT_PER_PAGE
    labels = LABELS
    sort_keys = tuple(SORT_KEYS)
    views = VIEWS
    nav = NAV

    # -- the report page -----------------------------------------------------------------------

    def page(self) -> View:
        """The view asked for by the query string; 400 for a bad parameter."""
        args = request.args
        name = (args.get("view") or "batches").strip() or "batches"
        try:
            if name == "batches":
                content: Any = self._batches(args)
            elif name == "batch":
                content = self._batch(args)
            elif name == "lookup":
                content = self._lookup(args)
            elif name == "findings":
                content = self._findings(args)
            elif name == "months":
                content = self._months()
            elif name == "statements":
                content = statements_view(
                    Path(self.ledger.beancount_file_path),
                    self.ledger.all_entries,
                    dict(self.ledger.options),
                    args.get("period"),
                )
            elif name == "indicators":
                content = indicators_view(self.engine(), self.books_root, args.get("year"))
            else:
                raise BadRequest(
                    f"未知页面：{name[:30]}",
                    f"view: expected one of {', '.join(VIEWS)} (found {name[:30]!r})",
                )
        except BadRequest as error:
            _refuse(error)
        except RegisterUnavailable as error:
            _unavailable(error)
        return View(name, VIEWS[name], content)

    def _batches(self, args: Any) -> BatchesView:
        number = params.parse_page(args)
        per_page = params.parse_per_page(args)
        period = params.parse_period(args.get("period"))
        page = batches.list_batches(self.engine(), number, per_page, period)
        booked = {}
        for batch in page.items:
            side = self.books_side(batch.link)
            if side is not None:
                booked[batch.link] = side.expenses
        return BatchesView(page, period, booked)

    def _batch(self, args: Any) -> BatchView:
        link = params.parse_link(args.get("link"))
        per_page = params.parse_per_page(args)
        sort, order = batches.parse_sort(args)
        highlight = (args.get("setl_id") or "").strip() or None
        if highlight is not None:
            params.parse_id("setl_id", highlight)
        engine = self.engine()
        batch = batches.batch_by_link(engine, link)
        if highlight is not None and not (args.get("page") or "").strip():
            number = batches.page_of_settlement(engine, batch.id, highlight, per_page, sort, order)
        else:
            number = params.parse_page(args)
        totals = batches.batch_totals(engine, batch.id)
        page = batches.batch_settlements(
            engine, batch.id, number, per_page, sort, order, total=totals.count
        )
        return BatchView(batch, totals, page, sort, order, highlight, self.books_side(link))

    def _lookup(self, args: Any) -> LookupView:
        asked = lookup.parse_lookup(args)
        if asked is None:
            params.parse_page(args)
            params.parse_per_page(args)
            return LookupView(None, None, None, frozenset())
        name, value = asked
        number = params.parse_page(args)
        per_page = params.parse_per_page(args)
        page = lookup.lookup(self.engine(), name, value, number, per_page)
        booked = frozenset(
            hit.batch
            for hit in page.items
            if hit.batch is not None and hit.batch in self._transactions()
        )
        return LookupView(name, value, page, booked)

    def _findings(self, args: Any) -> FindingsPageView:
        rule = findings.parse_rule(args.get("rule"))
        institution = findings.parse_institution(args.get("institution"))
        number = params.parse_page(args)
        per_page = params.parse_per_page(args)
        files = tuple(findings.findings_files(self.books_root))
        chosen = findings.pick_findings_file(files, args.get("file"))
        if chosen is None:
            return FindingsPageView(files, None, None, None, None, rule, institution)
        try:
            found = findings.load_findings(chosen.path)
        except findings.FindingsError as exc:
            return FindingsPageView(files, chosen, str(exc), None, None, rule, institution)
        summary = findings.summarize_findings(found)
        shown = findings.filter_findings(found, rule, institution)
        page = params.paginate(shown, number, per_page)
        return FindingsPageView(files, chosen, None, summary, page, rule, institution)

    def _months(self) -> MonthsOverview:
        return months.month_statuses(self.books_root, self.ledger.all_entries)

    # -- endpoints -----------------------------------------------------------------------------

    @extension_endpoint
    def batch_csv(self) -> Response:
        """Every settlement of a batch as CSV, streamed in chunks (never the batch in memory)."""
        try:
            link = params.parse_link(request.args.get("link"))
            engine = self.engine()
            batch = batches.batch_by_link(engine, link)
        except BadRequest as error:
            return _refusal(error)
        except RegisterUnavailable as error:
            return _unavailability(error)
        response = Response(batches.iter_batch_csv(engine, batch.id), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{link}.csv"'
        response.headers["Cache-Control"] = "no-store"
        return response


__all__ = ["MzLedger"]
