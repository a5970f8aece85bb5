"""The monthly report as one self-contained HTML page: charts as inline SVG, the month's tables,
the trial balance and the detail ledgers. No timestamp: the same report gives the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from reports.books import layout
from reports.books.fund_report import (
    AccountRow,
    Breakdown,
    BreakdownRow,
    Check,
    Figures,
    MonthReport,
)
from reports.books.html_style import money_cell, page_end, page_head
from reports.books.ledgers import DetailLedger, TrialBalance, direction
from reports.books.statement_output import statement_table
from reports.books.svg_charts import Series, bar_chart

POOLED_COLOR = "#2f6fb0"
PERSONAL_COLOR = "#e08a1e"


def _count_cell(value: int | None) -> str:
    if value is None:
        return '<td class="num">—</td>'
    return f'<td class="num">{value:,}</td>'


def _text_cell(value: str) -> str:
    return f"<td>{escape(value)}</td>"


def _tr(cells: Sequence[str], total: bool = False) -> str:
    opening = '<tr class="total">' if total else "<tr>"
    return opening + "".join(cells) + "</tr>"


def _th_row(headers: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>"


def _account_table(rows: Sequence[AccountRow]) -> str:
    lines = [
        "<table>",
        _th_row(layout.ACCOUNT_HEADINGS),
    ]
    for row in rows:
        lines.append(
            _tr(
                [
                    _text_cell(row.code),
                    _text_cell(row.title),
                    money_cell(row.month),
                    money_cell(row.ytd),
                    money_cell(row.prior),
                    money_cell(row.change),
                    money_cell(row.register_month),
                    money_cell(row.difference),
                    money_cell(row.register_ytd),
                    money_cell(row.ytd_difference),
                ],
                total=row.kind != "account",
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _figure_cells(figures: Figures | None) -> list[str]:
    if figures is None:
        return [money_cell(None)] * 3 + [_count_cell(None)] * 2
    return [
        money_cell(figures.pooled),
        money_cell(figures.personal),
        money_cell(figures.total),
        _count_cell(figures.settlements),
        _count_cell(figures.persons),
    ]


def _breakdown_table_html(breakdown: Breakdown) -> str:
    n = len(layout.BREAKDOWN_COLUMNS)
    lines = [
        "<table>",
        '<tr><th rowspan="2">类别</th>'
        + "".join(f'<th colspan="{n}">{g}</th>' for g in ("本月", "本年累计", "上年同月"))
        + "</tr>",
        "<tr>" + "".join(f"<th>{c}</th>" for c in layout.BREAKDOWN_COLUMNS * 3) + "</tr>",
    ]
    rows: list[BreakdownRow] = [*breakdown.rows, breakdown.total]
    for row in rows:
        lines.append(
            _tr(
                [
                    _text_cell(row.label),
                    *_figure_cells(row.month),
                    *_figure_cells(row.ytd),
                    *_figure_cells(row.prior),
                ],
                total=row is breakdown.total,
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _summary_table(report: MonthReport) -> str:
    lines = ["<table>", _th_row(("项目", "本月", "本年累计", "上年同月"))]
    for label, attribute, kind in layout.SUMMARY_ROWS:
        cells = [_text_cell(label)]
        for figures in layout.summary_windows(report.summary):
            value = layout.summary_value(figures, attribute)
            if kind == "money":
                cells.append(money_cell(value if isinstance(value, Decimal) else None))
            else:
                cells.append(_count_cell(value if isinstance(value, int) else None))
        lines.append(_tr(cells))
    lines.append("</table>")
    return "\n".join(lines)


def _checks_table(checks: Sequence[Check]) -> str:
    lines = [
        "<table>",
        _th_row(("核对项目", "项目一", "金额一", "项目二", "金额二", "差额", "结果")),
    ]
    for c in checks:
        if c.kind == "money":
            values = [money_cell(c.left), money_cell(c.right), money_cell(c.difference)]
        else:
            values = [
                _count_cell(layout.as_count(c.left)),
                _count_cell(layout.as_count(c.right)),
                _count_cell(layout.as_count(c.difference)),
            ]
        lines.append(
            _tr(
                [
                    _text_cell(c.label),
                    _text_cell(c.left_label),
                    values[0],
                    _text_cell(c.right_label),
                    values[1],
                    values[2],
                    f'<td class="{"ok" if c.ok else "bad"}">{layout.check_result(c)}</td>',
                ]
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _trial_table(balance: TrialBalance) -> str:
    lines = [
        "<table>",
        '<tr><th rowspan="2">科目编码</th><th rowspan="2">科目名称</th>'
        '<th colspan="2">期初余额</th><th colspan="2">本期发生额</th>'
        '<th colspan="2">本年累计发生额</th><th colspan="2">期末余额</th></tr>',
        "<tr>" + "<th>借方</th><th>贷方</th>" * 4 + "</tr>",
    ]
    for row in balance.rows:
        lines.append(
            _tr(
                [
                    _text_cell(row.code),
                    _text_cell(row.title),
                    *(money_cell(v) for v in layout.trial_figures(row)),
                ]
            )
        )
    t = balance.total
    lines.append(
        _tr(
            [
                _text_cell(""),
                _text_cell("合计"),
                *(money_cell(v) for v in layout.trial_figures(t)),
            ],
            total=True,
        )
    )
    lines.append("</table>")
    verdict = "平衡" if balance.balanced else "不平衡"
    cls = "ok" if balance.balanced else "bad"
    lines.append(f'<table><tr><td>试算平衡</td><td class="{cls}">{verdict}</td></tr></table>')
    return "\n".join(lines)


def _ledger_table(ledger: DetailLedger) -> str:
    lines = [
        "<table>",
        _th_row(layout.LEDGER_HEADERS),
    ]
    for date, voucher, payee, text, debit, credit, balance, total in layout.ledger_rows(ledger):
        lines.append(
            _tr(
                [
                    _text_cell(date.isoformat()),
                    _text_cell(voucher),
                    _text_cell(payee),
                    _text_cell(text),
                    money_cell(debit) if debit is not None else "<td></td>",
                    money_cell(credit) if credit is not None else "<td></td>",
                    _text_cell(direction(balance)),
                    money_cell(abs(balance)),
                ],
                total=total,
            )
        )
    lines.append("</table>")
    return "\n".join(lines)


def _charts(report: MonthReport) -> str:
    months = report.by_month
    charts = [
        bar_chart(
            f"{report.month.year}年各月待遇支出（账簿，按支付月份）",
            [f"{int(m.period[5:])}月" for m in months],
            [
                Series("统筹基金", POOLED_COLOR, tuple(m.pooled for m in months)),
                Series("个人账户", PERSONAL_COLOR, tuple(m.personal for m in months)),
            ],
        )
    ]
    for breakdown in report.breakdowns:
        charts.append(
            bar_chart(
                f"本月待遇支出{breakdown.title}（登记簿）",
                [row.label for row in breakdown.rows],
                [
                    Series("统筹基金", POOLED_COLOR, tuple(r.month.pooled for r in breakdown.rows)),
                    Series(
                        "个人账户", PERSONAL_COLOR, tuple(r.month.personal for r in breakdown.rows)
                    ),
                ],
            )
        )
    return '<div class="charts">\n' + "\n".join(charts) + "\n</div>"


def render_html(report: MonthReport) -> str:
    title = f"{report.title}　基金收支月报　{report.month.label}"
    parts = page_head(title)
    parts += [
        f"<h1>{escape(report.title)}　基金收支月报</h1>",
        f'<p class="meta">{escape(layout.period_line(report))}</p>',
        f'<p class="meta">{escape(layout.batches_line(report))}</p>',
    ]
    verdict = "账簿与登记簿核对一致" if report.ok else "账簿与登记簿存在差异，见“核对”"
    parts.append(f'<p class="meta"><strong>{escape(verdict)}</strong></p>')
    parts.append("<h2>图表</h2>")
    parts.append(_charts(report))
    parts.append("<h2>月报</h2>")
    parts.append("<h3>一、待遇支出（按会计科目：账簿与登记簿核对）</h3>")
    parts.append(_account_table(report.accounts))
    parts.append(f'<p class="note">{escape(layout.ACCOUNT_NOTE)}</p>')
    note = layout.prior_note(report)
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    parts.append("<h3>二、结算概况（登记簿：本月支付的清算批次）</h3>")
    parts.append(_summary_table(report))
    for numeral, breakdown in zip(("三", "四", "五", "六"), report.breakdowns, strict=False):
        parts.append(f"<h3>{numeral}、{escape(breakdown.title)}（登记簿）</h3>")
        parts.append(_breakdown_table_html(breakdown))
    parts.append(f'<p class="note">{escape(layout.PERSONS_NOTE)}</p>')
    parts.append("<h3>核对</h3>")
    parts.append(_checks_table(report.checks))
    parts += [statement_table(s, report.title) for s in report.statements]
    parts.append("<h2>科目余额表</h2>")
    parts.append(_trial_table(report.trial_balance))
    parts.append(f'<p class="note">{escape(layout.TRIAL_NOTE)}</p>')
    for ledger in report.ledgers:
        parts.append(f"<h2>明细账　{escape(ledger.code)} {escape(ledger.title)}</h2>")
        parts.append(_ledger_table(ledger))
        parts.append(f'<p class="note">{escape(layout.LEDGER_NOTE)}</p>')
    if report.warnings:
        parts.append("<h2>提示</h2>")
        parts += [f'<p class="note">{escape(w)}</p>' for w in report.warnings]
    parts += page_end()
    return "\n".join(parts)
