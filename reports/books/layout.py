"""What the workbook and the page of the monthly report both show: headings, notes and the
lines of a detail ledger, worded once (``xlsx_workbook`` and ``html_page`` lay them out)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ledger.month import Month
from reports.books.fund_report import BreakdownRow, Check, Figures, MonthReport
from reports.books.ledgers import DetailLedger, TrialBalanceRow, TrialBalanceTotals

#: Columns of the expenditure-by-account table, the same in the workbook and the page.
ACCOUNT_HEADINGS = (
    "科目编码",
    "科目名称",
    "本月",
    "本年累计",
    "上年同月",
    "比上年同月增减",
    "登记簿本月",
    "本月差额",
    "登记簿本年累计",
    "本年累计差额",
)


def period_line(report: MonthReport) -> str:
    m = report.month
    return (
        f"期间：{m.label}（{m.first.isoformat()} 至 {m.last.isoformat()}，"
        f"收付实现制：按支付日期）　单位：元"
    )


def batches_line(report: MonthReport) -> str:
    if not report.batches:
        return "本月无支付的清算批次。"
    return (
        f"本月支付的清算批次 {report.batches} 个，清算期间 {'、'.join(report.clearing_periods)}。"
    )


def prior_note(report: MonthReport) -> str | None:
    if report.prior_available or report.prior_period is None:
        return None
    since = report.books_since.isoformat() if report.books_since else "（无科目）"
    return f"上年同月（{report.prior_period}）：账簿自 {since} 起，无该月数据，不列示。"


PERSONS_NOTE = (
    "结算笔数含退费；人数按人员编号去重，同一人在多个类别结算的，在各类别分别计数，"
    "合计行为全部结算去重后的人数，不等于各行之和。在职、退休按结算时的人员类别（11xx、12xx）。"
)
ACCOUNT_NOTE = (
    "账簿：本月支付日期的分录合计（收付实现制）；登记簿：本月支付的清算批次所含结算，"
    "统筹基金按医疗类别映射科目，个人账户（含共济）按机构类型：医疗机构计普通门诊支出，"
    "定点零售药店计定点药店医药费支出；药店购药的统筹基金支付计门诊统筹。"
)
TRIAL_NOTE = (
    "借方为本期正数分录合计，贷方为负数分录合计（取正数）；退费冲减支出记入贷方。"
    "账簿未做期末收支结转，支出类科目余额为建账以来累计。"
)


def trial_figures(line: TrialBalanceRow | TrialBalanceTotals) -> tuple[Decimal, ...]:
    """The trial balance's eight money columns of an account or of the total, in its order:
    opening balance, the month, the year to date, closing balance; each debit, then credit."""
    return (
        line.opening_debit,
        line.opening_credit,
        line.debit,
        line.credit,
        line.ytd_debit,
        line.ytd_credit,
        line.closing_debit,
        line.closing_credit,
    )


#: Columns of a detail ledger; a bank entry without a voucher shows its statement line
#: (``file.csv:line``) in the voucher column, and its counterparty (e.g. the fiscal special
#: account for a transfer in) as 对方单位.
LEDGER_HEADERS = ("日期", "凭证号／银行流水", "对方单位", "摘要", "借方", "贷方", "借或贷", "余额")
LEDGER_NOTE = (
    "凭证号为清算批次的记账凭证号；银行自身的分录（财政专户拨入、利息、手续费）无凭证号，"
    "列示银行对账单文件及行号。"
)

BREAKDOWN_COLUMNS = ("统筹基金支出", "个人账户支出", "支出合计", "结算笔数", "人数")

#: The summary table: label, Figures attribute, money or count.
SUMMARY_ROWS = (
    ("统筹基金支付", "pooled", "money"),
    ("个人账户支付（含共济）", "personal", "money"),
    ("支付合计", "total", "money"),
    ("结算笔数（含退费）", "settlements", "count"),
    ("其中：退费笔数", "refunds", "count"),
    ("结算人数（按人员编号去重）", "persons", "count"),
)


def summary_windows(row: BreakdownRow) -> tuple[Figures, Figures, Figures | None]:
    """The summary table's columns: the month, the year to date, the previous year's month."""
    return row.month, row.ytd, row.prior


def summary_value(figures: Figures | None, attribute: str) -> Decimal | int | None:
    if figures is None:
        return None
    value = getattr(figures, attribute)
    assert isinstance(value, Decimal | int)
    return value


def check_result(check: Check) -> str:
    """A check's verdict as the report words it."""
    return "一致" if check.ok else "不一致"


def as_count(value: Decimal) -> int:
    """A count check's figure (a ``Decimal`` to compare with money) as the count it is."""
    return int(value)


LedgerRow = tuple[datetime.date, str, str, str, Decimal | None, Decimal | None, Decimal, bool]


def ledger_rows(ledger: DetailLedger) -> list[LedgerRow]:
    """The ledger's lines as shown: opening, postings, month total, year total."""
    month = Month.parse(ledger.period)
    rows: list[LedgerRow] = [(month.first, "", "", "期初余额", None, None, ledger.opening, True)]
    rows += [
        (
            line.date,
            line.reference,
            line.payee,
            line.narration,
            line.debit,
            line.credit,
            line.balance,
            False,
        )
        for line in ledger.lines
    ]
    last = month.last
    rows.append((last, "", "", "本月合计", ledger.debit, ledger.credit, ledger.closing, True))
    rows.append(
        (last, "", "", "本年累计", ledger.ytd_debit, ledger.ytd_credit, ledger.closing, True)
    )
    return rows
