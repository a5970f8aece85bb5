"""Every generated books file written again from the register with the books' chart: what a
move to another chart needs (``mzledger migrate-chart``), and what restores the generated
files after a hand edit. The hand-kept ``manual.beancount``, the locks and the year-end closing
(made from the books, after these) are the caller's."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from ledger.books import Books, BooksConfig, atomic_write, opening_day, write_main
from ledger.chart import Chart, render_accounts
from ledger.crediting import CreditingRule, rule_for
from ledger.month import Month
from postings.batches import summarize
from postings.contributions import render_contributions
from postings.opening import render_opening
from postings.period import render_period
from postings.statement_import import render_bank_month


def render_books(
    engine: Engine,
    books: Books,
    config: BooksConfig,
    chart: Chart,
    crediting: Sequence[CreditingRule],
) -> list[str]:
    """Write accounts, opening, every clearing period, bank month and contributions month
    again, then main.beancount; the problems that stopped a file (a contributions month whose
    crediting rule the policy no longer has), each naming it."""
    problems: list[str] = []
    atomic_write(books.accounts, render_accounts(chart, opening_day(books)))
    render_opening(engine, books, chart)
    with engine.connect() as conn:
        for period in books.clearing_periods():
            render_period(books, chart, period, summarize(conn, period, posted=True))
        for month in books.bank_months():
            render_bank_month(conn, books, chart, Month.parse(month))
    receiving = chart.account(config.receiving_role)
    for period in books.contribution_periods():
        rule = rule_for(crediting, Month.parse(period).first)
        if rule is None:
            problems.append(f"{books.contributions_file(period)}: no crediting rule for {period}")
            continue
        render_contributions(engine, books, chart, period, rule, receiving)
    write_main(books, config, chart.opened_on)
    return problems


__all__ = ["render_books"]
