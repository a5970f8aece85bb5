"""Bank statement lines -> payments of clearing batches, and the bank's own entries.

A batch is paid from two disbursement accounts: its pooled part (hifp_pay) from the pooled
fund's account, its personal-account part (acct_pay + acct_mulaid_pay) from the personal
accounts' account. Each statement line is judged on its own (``decide``, pure):

- money out (or, for a batch whose refunds exceed its settlements, money back in) whose
  counterparty is an institution (its name, or its code in the summary) and whose amount is
  exactly one open part of that institution's batches -> ``batch-payment``; a batch link
  (``clr-...``) in the summary narrows the choice to that batch;
- money in from the fiscal special account (财政专户) -> ``fiscal-transfer``;
- 结息 / 利息 -> ``interest``; 手续费 -> ``bank-charge``;
- anything else, or a payment that matches no part or more than one -> ``undecided``: listed
  for a person, never booked from a guess.

A batch is booked (a voucher, its transaction dated on the bank's date) once every non-zero
part is matched and all of them were paid the same day; parts paid on different days are
listed for a person. A batch booked earlier with ``post --paid-on`` is confirmed by a line of
the same date, and listed when the bank's date differs.

The fiscal special account's statement (财政专户对账单, 1003) is judged by ``decide_fiscal``
(pure): its lines are the fund's other income and the transfers between its accounts, each
booked against 1003 or matched to what booked it already; see its docstring. Like ``decide``'s,
its keywords are this module's constants, not data: both classifications read the same way.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from beancount.core.amount import Amount

from ledger.chart import FUND_OF_BANK, SUB_FUND_NAMES, Chart
from ledger.money import ZERO, from_fen, to_fen

LINK_RE = re.compile(r"clr-\d{4}-\d{2}-[A-Za-z0-9]+-[A-Za-z0-9]+")
FISCAL_MARK = "财政专户"
INTEREST_MARKS = ("结息", "利息")
CHARGE_MARK = "手续费"
ADVANCE_MARK = "预付金"  # 异地就医预付金: the advance to a clearing agency


@dataclass(frozen=True)
class Line:
    """A statement line as the matching sees it."""

    line: int
    date: datetime.date
    amount: Decimal  # negative: money out
    counterparty: str
    summary: str
    reference: str
    counterparty_account: str = ""


@dataclass(frozen=True)
class OpenPart:
    """A batch's part payable from this account, not yet matched to a bank line."""

    batch_id: int
    link: str
    institution_code: str
    institution_name: str
    amount: Decimal  # what the bank pays out: negative when the institution pays back
    paid_on: datetime.date | None  # booked earlier by `post --paid-on`
    agency: str | None = None  # 异地就医: paid through this clearing agency, not to the institution
    period: str = ""


@dataclass(frozen=True)
class Decision:
    # batch-payment | agency-payment | remote-advance | fiscal-transfer | interest |
    # bank-charge | undecided
    kind: str
    batch_id: int | None
    note: str
    agency: str | None = None  # agency-payment, remote-advance: the clearing agency
    batch_ids: tuple[int, ...] = ()  # agency-payment: the batches whose part the line paid


def decide(
    line: Line, parts: Sequence[OpenPart], agencies: Mapping[str, str] | None = None
) -> Decision:
    """What one statement line is (pure). ``agencies``: the clearing agencies the chart keeps
    an advance for (code -> name), whose lines ``_agency_line`` judges."""
    text = f"{line.summary} {line.reference}"
    if line.amount > ZERO and (FISCAL_MARK in line.counterparty or FISCAL_MARK in text):
        return Decision("fiscal-transfer", None, "transfer in from the fiscal special account")
    if line.amount > ZERO and any(mark in text for mark in INTEREST_MARKS):
        return Decision("interest", None, "interest")
    if line.amount < ZERO and CHARGE_MARK in text:
        return Decision("bank-charge", None, "bank charge")
    paid = -line.amount
    institutional = [
        p
        for p in parts
        if p.agency is None
        and (p.institution_name == line.counterparty.strip() or p.institution_code in text)
    ]
    # an institution's own name or code first: an agency's name (北京市) may be part of one
    agency = None if institutional else agency_named(agencies or {}, line.counterparty, text)
    if agency is not None:
        return _agency_line(line, agency, parts, text)
    named = LINK_RE.findall(text)
    if named:
        institutional = [p for p in institutional if p.link in named]
    candidates = [p for p in institutional if p.amount == paid]
    if len(candidates) == 1:
        part = candidates[0]
        if part.paid_on is not None and part.paid_on != line.date:
            return Decision(
                "undecided",
                part.batch_id,
                f"^{part.link} was booked as paid on {part.paid_on}, the bank paid it on "
                f"{line.date}",
            )
        return Decision("batch-payment", part.batch_id, f"^{part.link}")
    if candidates:
        links = ", ".join(f"^{p.link}" for p in candidates)
        return Decision("undecided", None, f"{paid} matches {len(candidates)} batches: {links}")
    if institutional:
        open_amounts = ", ".join(f"^{p.link} {p.amount}" for p in institutional[:5])
        return Decision(
            "undecided", None, f"no open batch part of {paid}; open parts: {open_amounts}"
        )
    who = line.counterparty or "(no counterparty)"
    return Decision("undecided", None, f"{who}: not an institution with an open batch part")


def agency_named(agencies: Mapping[str, str], counterparty: str, text: str) -> str | None:
    """The one clearing agency a line is with: its name in the counterparty (a bank prints
    ``沈阳市医疗保障事务服务中心``) or its code in the summary; None for none or several."""
    named = {
        code for code, name in agencies.items() if (name and name in counterparty) or code in text
    }
    return named.pop() if len(named) == 1 else None


def _agency_line(line: Line, agency: str, parts: Sequence[OpenPart], text: str) -> Decision:
    """A line with a clearing agency (异地就医): its advance (预付金, paid or returned), or the
    payment of one part of all the agency's open batches of one period at once (清算资金)."""
    if ADVANCE_MARK in text:
        return Decision("remote-advance", None, f"异地就医预付金, agency {agency}", agency)
    paid = -line.amount
    by_period: dict[str, list[OpenPart]] = {}
    for part in parts:
        if part.agency == agency:
            by_period.setdefault(part.period, []).append(part)
    sums = {period: sum((p.amount for p in group), ZERO) for period, group in by_period.items()}
    matching = [period for period, total in sums.items() if total == paid and total != ZERO]
    if len(matching) != 1:
        open_sums = ", ".join(f"{period} {total}" for period, total in sorted(sums.items()))
        found = f"{len(matching)} periods" if matching else "no period"
        return Decision(
            "undecided",
            None,
            f"{paid} to agency {agency} matches {found} of its open batches "
            f"(open: {open_sums or 'none'})",
        )
    group = by_period[matching[0]]
    early = sorted({p.paid_on for p in group if p.paid_on is not None and p.paid_on != line.date})
    if early:
        return Decision(
            "undecided",
            None,
            f"agency {agency} {matching[0]}: booked as paid on {early[0]}, the bank paid it on "
            f"{line.date}",
        )
    return Decision(
        "agency-payment",
        None,
        f"异地就医清算 {matching[0]}, agency {agency}: {len(group)} batches",
        agency,
        tuple(p.batch_id for p in group),
    )


@dataclass(frozen=True)
class BankEntry:
    """A booked line that is not a batch payment, or a statement's closing balance."""

    account: str
    date: datetime.date
    amount: Decimal
    kind: str  # fiscal-transfer | interest | bank-charge | balance | a FISCAL_ROLES kind
    counterparty: str
    summary: str
    source: str  # statement file:line
    #: what a fiscal special account's line was booked against, as decided at its import;
    #: a disbursement account's line has none: its other leg follows from its kind
    legs: tuple[tuple[str, Decimal], ...] = ()


def bank_directives(entries: Sequence[BankEntry], chart: Chart) -> list[data.Directive]:
    """The bank's own entries as transactions, closing balances as ``balance`` assertions."""
    other = {
        "fiscal-transfer": "fiscal-special",
        "interest": "interest-income",
        "bank-charge": "bank-charges",
    }
    directives: list[data.Directive] = []
    for entry in entries:
        meta: dict[str, object] = {"filename": "mzledger", "lineno": 0, "bank_line": entry.source}
        if entry.kind == "balance":
            # the balance after the statement's last day, as Beancount asserts at a day's start
            directives.append(
                data.Balance(
                    meta,
                    entry.date,
                    entry.account,
                    Amount(entry.amount, chart.currency),
                    None,
                    None,
                )
            )
            continue
        # the sub-fund whose bank account the line is on: its interest, its charges; the
        # fiscal special account's lines carry their legs (decide_fiscal)
        against = entry.legs or (
            (
                chart.fund_account(other[entry.kind], chart.fund_of(entry.account) or ""),
                -entry.amount,
            ),
        )
        legs = [
            data.Posting(account, Amount(amount, chart.currency), None, None, None, None)
            for account, amount in ((entry.account, entry.amount), *against)
        ]
        directives.append(
            data.Transaction(
                meta,
                entry.date,
                "*",
                entry.counterparty or None,
                entry.summary,
                frozenset(),
                frozenset(),
                legs,
            )
        )
    return directives


# --- the fiscal special account (财政专户存款, 1003) -----------------------------------------

#: Money in on the fiscal special account, by kind: the marks of its summary (a contribution's
#: also of its counterparty: the tax bureau collects, 税务局).
FISCAL_IN_MARKS: dict[str, tuple[str, ...]] = {
    "contribution": ("征缴", "社保费", "保险费", "医保费", "税务", "国库"),
    "fiscal-subsidy": ("财政补贴", "补助"),
    "transfer-in": ("转移", "转入"),
    "recovery": ("追回", "追缴", "退回"),
    "interest": INTEREST_MARKS,
}
#: Money out, likewise; a transfer to a disbursement account is also told by its number.
FISCAL_OUT_MARKS: dict[str, tuple[str, ...]] = {
    "to-disbursement": ("支出户", "拨付", "划拨"),
    "transfer-out": ("转移", "转出"),
    "bank-charge": (CHARGE_MARK,),
}
DISBURSEMENT_MARK = "支出户"  # money back in from a disbursement account: not for a guess
#: What a summary names each sub-fund by.
FUND_MARKS = {"pooled": "统筹", "personal": "个人账户"}
#: The disbursement account's role of each sub-fund.
BANK_OF_FUND = {fund: role for role, fund in FUND_OF_BANK.items()}

#: Each sub-fund's net assets (一般基金结余) at the end of the day before the given day.
NetAssets = Callable[[datetime.date], tuple[Decimal, Decimal]]
Legs = tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Receipt:
    """A contributions receipt in the books (借 1003, ``import contributions``) that no line of
    the fiscal special account's statement has matched yet."""

    file_id: int
    name: str  # the collection file
    date: datetime.date
    amount: Decimal


@dataclass(frozen=True)
class BookedTransfer:
    """A transfer between the fiscal special account and a disbursement account booked from
    one of the two statements' lines, not matched by the other statement's line yet."""

    line_id: int
    account: str  # the disbursement account
    date: datetime.date
    amount: Decimal  # into the disbursement account
    source: str  # the booking line, file:line


@dataclass(frozen=True)
class FiscalDecision:
    """What a fiscal special account's line is. ``legs`` (booked lines only): what the line is
    booked against, summing to minus its amount; a matched line books nothing."""

    kind: str  # contribution | matched-transfer | FISCAL_ROLES kinds | fiscal-transfer | undecided
    note: str
    legs: Legs = ()
    matched_line_id: int | None = None
    matched_file_id: int | None = None


#: The role each booked kind of the fiscal special account's lines is booked against.
FISCAL_ROLES = {
    "fiscal-subsidy": "fiscal-subsidy",
    "transfer-in": "transfer-in",
    "recovery": "other-income",
    "interest": "interest-income",
    "transfer-out": "transfer-out",
    "bank-charge": "bank-charges",
}
FISCAL_NOTES = {
    "fiscal-subsidy": "fiscal subsidy (财政补贴收入)",
    "transfer-in": "a personal account transferred in (转移收入)",
    "transfer-out": "a personal account transferred out (转移支出)",
    "bank-charge": "bank charge, the pooled fund's: 1003 has no sub-fund of its own",
}


def decide_fiscal(
    line: Line,
    chart: Chart,
    receipts: Sequence[Receipt] | None,
    transfers: Sequence[BookedTransfer],
    net_assets: NetAssets,
) -> FiscalDecision:
    """What one line of the fiscal special account's statement is (pure: ``net_assets`` is
    asked only for an interest line that names no sub-fund).

    The line's kind is read from its summary (and reference) by the marks of
    ``FISCAL_IN_MARKS`` / ``FISCAL_OUT_MARKS`` for its direction; a summary that reads as two
    kinds, or as none, is to decide. Money in: a contribution receipt is booked already by
    ``import contributions``: matched to its receipt of the same day and amount (``receipts``
    None: the books receive contributions into 1005 国库存款, not here); a fiscal subsidy, a
    personal account transferred in, a benefit recovered (追回, 4501 of the sub-fund the
    summary names) and interest are booked. Money out: a transfer to a disbursement account is
    matched to its booking from that account's statement (same day and amount), else booked
    here, to the account its number (chart ``bank_account``) or its summary (统筹 / 个人账户)
    names; a personal account transferred out and a bank charge (the pooled fund's: 1003 has
    no sub-fund of its own) are booked. A role the books' chart lacks (a chart made before it)
    leaves its line to decide, naming the role.

    Interest (``split_interest``): 1003 holds both sub-funds' money and the books do not keep
    it by sub-fund, so interest the summary does not give to one sub-fund is split in
    proportion to the two sub-funds' net assets (一般基金结余: 3001 plus income less
    expenditure, each account's sub-fund its second level), each sub-fund's claim on the
    fund's money, at the end of the day before: the balance the bank paid interest on, before
    the day's own lines. Without a proportion (both zero, or either negative: the claims no
    longer say whose money it is) it is to decide. A chart with one interest account for both
    sub-funds books it whole.
    """
    text = f"{line.summary} {line.reference}"
    number_fund = chart.fund_of_bank_account(line.counterparty_account)
    if ADVANCE_MARK in text and line.amount != ZERO:
        return _fiscal_advance(line, chart, text)
    if line.amount > ZERO:
        if number_fund is not None or DISBURSEMENT_MARK in text:
            return _undecided("money back from a disbursement account: book it by hand")
        kinds = _kinds(text, FISCAL_IN_MARKS)
        if "contribution" not in kinds and _marked(line.counterparty, "contribution"):
            kinds.insert(0, "contribution")
    elif line.amount < ZERO:
        kinds = _kinds(text, FISCAL_OUT_MARKS)
        if number_fund is not None and "to-disbursement" not in kinds:
            kinds.insert(0, "to-disbursement")
    else:
        return _undecided("a line of 0.00")
    if len(kinds) != 1:
        marks = FISCAL_IN_MARKS if line.amount > ZERO else FISCAL_OUT_MARKS
        if kinds:
            return _undecided(f"the summary reads as {' and as '.join(kinds)}: which is it?")
        known = "; ".join(f"{kind}: {'/'.join(words)}" for kind, words in marks.items())
        return _undecided(f"{line.summary or '(no summary)'}: no known kind ({known})")
    kind = kinds[0]
    if kind == "contribution":
        return _contribution(line, chart, receipts)
    if kind == "to-disbursement":
        return _to_disbursement(line, chart, transfers, number_fund, _funds(text))
    if kind in ("recovery", "interest"):
        return _by_fund(kind, line, chart, _funds(text), net_assets)
    fund = "pooled" if kind == "bank-charge" else None
    return _booked(kind, line.amount, chart, fund, FISCAL_NOTES[kind])


def _fiscal_advance(line: Line, chart: Chart, text: str) -> FiscalDecision:
    """异地就医预付金 paid to a clearing agency from the fiscal special account (借 1101 暂付款——
    异地就医预付金——<agency>), or returned by it: the agency is the one the counterparty or
    the summary names among the chart's."""
    agency = agency_named(chart.agencies, line.counterparty, text)
    advance = chart.advance_account(agency or "")
    if advance is None:
        known = ", ".join(f"{code} {name}" for code, name in sorted(chart.agencies.items()))
        return _undecided(
            f"异地就医预付金: {line.counterparty or '(no counterparty)'} is not one clearing "
            f"agency of the chart's 1101 accounts ({known or 'none'})"
        )
    return FiscalDecision(
        "remote-advance", f"异地就医预付金, agency {agency}", ((advance, -line.amount),)
    )


def split_interest(
    amount: Decimal, pooled: Decimal, personal: Decimal
) -> tuple[Decimal, Decimal] | None:
    """``amount`` split between the sub-funds in proportion to their net assets ``pooled`` and
    ``personal``: the personal accounts' share half up to the fen, the pooled fund the
    remainder, so that the two sum to ``amount`` exactly. None when there is no proportion:
    both zero, or either negative."""
    if pooled < ZERO or personal < ZERO or pooled + personal == ZERO:
        return None
    fen, p, q = to_fen(amount), to_fen(pooled), to_fen(personal)
    total = p + q
    # half up (away from zero on a tie), in integers: no rounding but this one
    share = (2 * abs(fen) * q + total) // (2 * total)
    share = share if fen >= 0 else -share
    return from_fen(fen - share), from_fen(share)


def _undecided(note: str) -> FiscalDecision:
    return FiscalDecision("undecided", note)


def _marked(text: str, kind: str) -> bool:
    return any(word in text for word in FISCAL_IN_MARKS[kind])


def _kinds(text: str, marks: dict[str, tuple[str, ...]]) -> list[str]:
    return [kind for kind, words in marks.items() if any(word in text for word in words)]


def _funds(text: str) -> list[str]:
    return [fund for fund, mark in FUND_MARKS.items() if mark in text]


def _missing_role(role: str, fund: str | None) -> FiscalDecision:
    from ledger.chart import DEFAULT_CHART_TEXT, parse_chart

    default = parse_chart(DEFAULT_CHART_TEXT)
    names = [a.name for a in default.accounts if a.role == role and fund in (None, a.fund)]
    return _undecided(
        f"the books' chart has no account of role {role} (a chart made before it): add "
        f"{' / '.join(names) or role} from ledger/chart.toml to chart.toml, or book it by hand"
    )


def _booked(
    kind: str, amount: Decimal, chart: Chart, fund: str | None, note: str
) -> FiscalDecision:
    role = FISCAL_ROLES[kind]
    account = chart.find(role, fund)
    if account is None:
        return _missing_role(role, fund)
    return FiscalDecision(kind, note, ((account, -amount),))


def _contribution(line: Line, chart: Chart, receipts: Sequence[Receipt] | None) -> FiscalDecision:
    if receipts is None:
        # the books received the contributions into 1005 国库存款 (contributions_received_into):
        # this is the treasury's transfer of them to the fiscal special account, 借 1003 贷 1005
        treasury = chart.find("treasury")
        if treasury is None:
            return _undecided(
                "contributions moved from the treasury (国库), and the books' chart has no "
                "role treasury (1005 国库存款): add it from ledger/chart.toml"
            )
        return FiscalDecision(
            "from-treasury",
            "contributions moved from the treasury (国库存款 to 财政专户存款)",
            ((treasury, -line.amount),),
        )
    for receipt in receipts:
        if receipt.date == line.date and receipt.amount == line.amount:
            note = f"booked by `import contributions` from {receipt.name}"
            return FiscalDecision("contribution", note, matched_file_id=receipt.file_id)
    return _undecided(
        f"a contribution receipt, and the books hold none of {line.amount} on {line.date}: "
        f"import the month's contributions first (`mzledger import contributions FILE "
        f"--received-on {line.date}`)"
    )


def _to_disbursement(
    line: Line,
    chart: Chart,
    transfers: Sequence[BookedTransfer],
    number_fund: str | None,
    named: list[str],
) -> FiscalDecision:
    if number_fund is not None and named and named != [number_fund]:
        return _undecided(
            f"the counterparty's account is the {SUB_FUND_NAMES[number_fund]}'s disbursement "
            f"account, the summary names {'、'.join(SUB_FUND_NAMES[f] for f in named)}"
        )
    fund = number_fund or (named[0] if len(named) == 1 else None)
    candidates = [
        t
        for t in transfers
        if t.date == line.date
        and t.amount == -line.amount
        and (fund is None or chart.fund_of(t.account) == fund)
    ]
    accounts = sorted({t.account for t in candidates})
    if len(accounts) == 1:
        first = candidates[0]
        return FiscalDecision(
            "matched-transfer", f"booked from {first.source}", matched_line_id=first.line_id
        )
    which = "name the sub-fund in the summary (统筹 / 个人账户) or give each disbursement " + (
        "account its bank_account in chart.toml"
    )
    if accounts:
        return _undecided(f"matches transfers of {line.date} to {', '.join(accounts)}: {which}")
    if fund is None:
        return _undecided(f"a transfer to a disbursement account, but to which: {which}")
    account = chart.account(BANK_OF_FUND[fund])
    return FiscalDecision("fiscal-transfer", f"transfer to {account}", ((account, -line.amount),))


def _by_fund(
    kind: str, line: Line, chart: Chart, named: list[str], net_assets: NetAssets
) -> FiscalDecision:
    """A recovery or interest: the sub-fund the summary names; interest naming none is split."""
    if len(named) == 1:
        note = "benefits recovered (其他收入)" if kind == "recovery" else "interest"
        return _booked(kind, line.amount, chart, named[0], f"{note}, {SUB_FUND_NAMES[named[0]]}")
    if named:
        return _undecided("the summary names both sub-funds: which one's is it?")
    if kind == "recovery":
        return _undecided("benefits recovered: name the sub-fund in the summary (统筹 / 个人账户)")
    pooled, personal = (
        chart.find("interest-income", "pooled"),
        chart.find("interest-income", "personal"),
    )
    if pooled is None or personal is None:
        return _missing_role("interest-income", None)
    if pooled == personal:  # a chart made before the sub-funds: one interest account
        return FiscalDecision("interest", "interest", ((pooled, -line.amount),))
    before = line.date - datetime.timedelta(days=1)
    pooled_net, personal_net = net_assets(line.date)
    split = split_interest(line.amount, pooled_net, personal_net)
    figures = f"统筹基金 {pooled_net:,}, 个人账户基金 {personal_net:,}"
    if split is None:
        return _undecided(
            f"interest of both sub-funds, and their net assets at the end of {before} give no "
            f"proportion ({figures}): name the sub-fund in the summary, or book it by hand"
        )
    legs = tuple(
        (account, -share) for account, share in zip((pooled, personal), split, strict=True) if share
    )
    return FiscalDecision(
        "interest", f"interest split by net assets at the end of {before} ({figures})", legs
    )
