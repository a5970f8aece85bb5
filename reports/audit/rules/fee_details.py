"""Fee details (费用明细) against their settlements and the prescription rules: whether a
visit's items add up to its settlements, items whose settlement never came, one drug of one
prescription at two institutions (Shanxi art. 14), supply days (Anshan art. 23), and
examinations and tests done away from who prescribed them (Shanxi art. 9).

Items join their settlements by visit: ``mdtrt_id`` and ``fixmedins_code``. A visit may have
several settlements (domain.md section 2): its items are compared with them together. The
settlements are the live ones (a refund and the settlement it reverses are out, as in every
rule): a visit whose settlements were all refunded should have no items left (the platform's
2205 revokes them), and one that does is a mismatch against 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from operator import attrgetter

from ledger.charge_items import DRUGS, EXAMINATIONS
from ledger.money import ZERO, from_fen
from reports.audit.findings import Finding
from reports.audit.rows import Item, Row, yuan
from reports.audit.rules.person import Person, item_finding

#: What a visit's items must add up to: (the items' field, the settlement's field).
ITEM_TOTALS = (
    ("det_item_fee_sumamt", "medfee_sumamt"),
    ("fulamt_ownpay_amt", "fulamt_ownpay_amt"),
    ("overlmt_amt", "overlmt_selfpay"),
    ("preselfpay_amt", "preselfpay_amt"),
    ("inscp_scp_amt", "inscp_scp_amt"),
)
SHOWN_ITEMS = 10  # feedetl_sn listed in a finding's evidence, at most
PHARMACY = "2"


def _visits(rows: Sequence[Row]) -> dict[tuple[str, str], list[Row]]:
    visits: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        visits[(row.mdtrt_id, row.fixmedins_code)].append(row)
    return visits


def _first_live(person: Person) -> dict[tuple[str, str], Row]:
    """visit -> its first live settlement (``.get``: None when it has none)."""
    first: dict[tuple[str, str], Row] = {}
    for row in person.live:
        first.setdefault((row.mdtrt_id, row.fixmedins_code), row)
    return first


_ITEM_TOTALS = attrgetter(*(item_field for item_field, _settled in ITEM_TOTALS))
_SETTLED_TOTALS = attrgetter(*(settled for _item_field, settled in ITEM_TOTALS))


def _totals(values: Iterable[tuple[Decimal, ...]]) -> list[Decimal]:
    """The column sums of ``values`` (one tuple of ITEM_TOTALS' fields each), 0.00 when none."""
    columns = list(zip(*values, strict=True))
    return [sum(column, ZERO) for column in columns] if columns else [ZERO] * len(ITEM_TOTALS)


def _item_totals(items: Sequence[Item]) -> list[Decimal]:
    """The items' sums of ITEM_TOTALS' fields, added in fen (as the items hold them)."""
    columns = list(zip(*map(_ITEM_TOTALS, items), strict=True))
    return [yuan(sum(column)) for column in columns] if columns else [ZERO] * len(ITEM_TOTALS)


def _names(items: Sequence[Item]) -> str:
    shown = " ".join(i.feedetl_sn for i in items[:SHOWN_ITEMS])
    more = len(items) - SHOWN_ITEMS
    return shown + (f" (and {more} more)" if more > 0 else "")


def fee_details_mismatch(person: Person) -> Iterator[Finding]:
    """fee-details-mismatch: a visit's items do not add up to its live settlements' total or
    self-pay parts; fee-details-without-settlement: items of a visit the register has no
    settlement of at all. A settlement whose visit has no items is not judged (fee details
    may not be imported for every institution or month)."""
    items_of: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in person.items:
        items_of[item.visit].append(item)
    live = _visits(person.live)
    # a visit of which only a refund is among the rows read (its settlement is of another
    # period) is judged where that settlement is: its items are that settlement's
    every = _visits([row for row in person.rows if not row.refd_setl_flag])
    refunded = {(row.mdtrt_id, row.fixmedins_code) for row in person.rows if row.refd_setl_flag}
    for visit, items in items_of.items():
        if visit not in every:
            if visit not in person.settled_elsewhere and visit not in refunded:
                yield item_finding(
                    "fee-details-without-settlement",
                    items[0],
                    None,
                    (
                        ("mdtrt_id", visit[0]),
                        ("items", _names(items)),
                        (
                            "det_item_fee_sumamt",
                            f"{from_fen(sum(i.det_item_fee_sumamt for i in items))}",
                        ),
                    ),
                )
            continue  # settled outside the rows read (another period): judged there
        settlements = live.get(visit, [])
        billed = _item_totals(items)
        settled = _totals(map(_SETTLED_TOTALS, settlements))
        if billed == settled:
            continue
        differ = [
            (item_field, f"items {b}, {settlement_field} {t}")
            for (item_field, settlement_field), b, t in zip(
                ITEM_TOTALS, billed, settled, strict=True
            )
            if b != t
        ]
        if differ:
            first = settlements[0] if settlements else every[visit][0]
            yield item_finding(
                "fee-details-mismatch",
                items[0],
                first,
                (
                    ("mdtrt_id", visit[0]),
                    ("settlements", " ".join(r.setl_id for r in settlements) or "none live"),
                    ("items", _names(items)),
                    *differ,
                ),
            )


def item_same_drug_two_institutions(person: Person) -> Iterator[Finding]:
    """item-same-drug-two-institutions: a drug item (西药, 中药饮片, 中成药) whose rxno and
    med_list_codg were billed before at another institution (the first seller is the
    earliest item)."""
    first: dict[tuple[str, str], Item] = {}
    settlement_of = _first_live(person).get
    for item in person.items:
        if item.rxno and item.med_chrgitm_type in DRUGS:
            seller = first.setdefault((item.rxno, item.med_list_codg), item)
            if seller.fixmedins_code != item.fixmedins_code:
                yield item_finding(
                    "item-same-drug-two-institutions",
                    item,
                    settlement_of(item.visit),
                    (
                        ("feedetl_sn", item.feedetl_sn),
                        ("rxno", item.rxno),
                        ("med_list_codg", item.med_list_codg),
                        ("det_item_fee_sumamt", f"{from_fen(item.det_item_fee_sumamt)}"),
                        ("first_bought_at", seller.fixmedins_code),
                        ("first_feedetl_sn", seller.feedetl_sn),
                    ),
                )


def supply_days(person: Person) -> Iterator[Finding]:
    """item-supply-over-longest: a drug item's prd_days above the longest prescription (90),
    whatever the reason; item-supply-over-usual: above the usual (7) without a
    long-prescription reason (the policy's med_types of the visit, or drugs)."""
    rule = person.policy.prescription_days
    settlement_of = _first_live(person).get
    for item in person.items:
        if item.prd_days is None or item.med_chrgitm_type not in DRUGS:
            continue
        if item.prd_days <= rule.usual:
            continue  # within the usual days: nothing to judge, whatever the reason
        settlement = settlement_of(item.visit)
        reason = ""
        if settlement is not None and settlement.med_type in rule.reason_med_types:
            reason = f"med_type {settlement.med_type}"
        elif item.med_list_codg in rule.reason_drugs:
            reason = f"med_list_codg {item.med_list_codg}"
        if item.prd_days > rule.longest:
            name, limit = "item-supply-over-longest", rule.longest
        elif item.prd_days > rule.usual and not reason:
            name, limit = "item-supply-over-usual", rule.usual
        else:
            continue
        yield item_finding(
            name,
            item,
            settlement,
            (
                ("feedetl_sn", item.feedetl_sn),
                ("med_list_codg", item.med_list_codg),
                ("prd_days", f"{item.prd_days.normalize():f}"),
                ("limit", str(limit)),
                ("reason", reason or "none"),
                ("det_item_fee_sumamt", f"{from_fen(item.det_item_fee_sumamt)}"),
            ),
        )


def exam_elsewhere(person: Person) -> Iterator[Finding]:
    """exam-at-pharmacy: an examination or test (检查 03, 化验 04) billed by a pharmacy;
    exam-outside-prescriber: billed by another institution than the one that prescribed it:
    the visit's settlement's rx_institution when it names one, else the institution that
    billed the item's rxno first."""
    rx_first: dict[str, Item] = {}
    settlement_of = _first_live(person).get
    for item in person.items:
        if item.rxno:
            rx_first.setdefault(item.rxno, item)
    for item in person.items:
        if item.med_chrgitm_type not in EXAMINATIONS:
            continue
        settlement = settlement_of(item.visit)
        shown = (
            ("feedetl_sn", item.feedetl_sn),
            ("med_chrgitm_type", item.med_chrgitm_type),
            ("med_list_codg", item.med_list_codg),
            ("det_item_fee_sumamt", f"{from_fen(item.det_item_fee_sumamt)}"),
        )
        if item.fixmedins_type == PHARMACY:
            yield item_finding("exam-at-pharmacy", item, settlement, shown)
            continue
        prescriber, told_by = None, ""
        if settlement is not None and settlement.rx_institution:
            prescriber, told_by = settlement.rx_institution, "the settlement's rx_institution"
        elif item.rxno and item.rxno in rx_first:
            prescriber, told_by = rx_first[item.rxno].fixmedins_code, "rxno first billed at"
        if prescriber is not None and prescriber != item.fixmedins_code:
            yield item_finding(
                "exam-outside-prescriber",
                item,
                settlement,
                (
                    *shown,
                    ("rxno", item.rxno or ""),
                    ("prescribed_by", prescriber),
                    ("told_by", told_by),
                ),
            )


__all__ = [
    "ITEM_TOTALS",
    "exam_elsewhere",
    "fee_details_mismatch",
    "item_same_drug_two_institutions",
    "supply_days",
]
