"""The audit's fee-detail rules (费用明细) on a small hand-made register: each rule fires on the
case planted for it and stays silent on its twin (a consistent visit, a long prescription with
a reason, an examination where it was prescribed). Amounts stay under the deductible (300), so
the benefit rules find nothing: every finding is a fee-detail rule's."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli, settlement, write_csv

INSTITUTIONS = """fixmedins_code,fixmedins_name,fixmedins_type,medins_lv,spec_hosp,admdvs
H1,一级社区医院,1,1,0,
H3,三级医院,1,3,0,210300
P1,一号药房,2,,0,
"""


def item(
    sn: str,
    setl: str,
    psn: str,
    at: str,
    time: str,
    kind: str,
    amount: str,
    *,
    rxno: str = "",
    days: str = "",
    drug: str = "X01",
    visit: str = "",
) -> dict[str, str]:
    return {
        "feedetl_sn": sn,
        "mdtrt_id": visit or "M" + setl,
        "psn_no": psn,
        "fixmedins_code": at,
        "fee_ocur_time": time,
        "med_list_codg": drug,
        "med_chrgitm_type": kind,
        "det_item_fee_sumamt": amount,
        "cnt": "1",
        "pric": amount,
        "prd_days": days,
        "rxno": rxno,
        "fulamt_ownpay_amt": "0.00",
        "overlmt_amt": "0.00",
        "preselfpay_amt": "0.00",
        "inscp_scp_amt": amount,
    }


Made = tuple[dict[str, str], list[dict[str, str]]]


def visit(setl: str, psn: str, at: str, time: str, *items: tuple[str, str], **more: str) -> Made:
    """A settlement and its items, (kind, amount) each, which add up to it."""
    from decimal import Decimal

    total = sum((Decimal(amount) for _kind, amount in items), Decimal("0.00"))
    extra = {k: v for k, v in more.items() if k in ("med_type",)}
    row = settlement(setl, psn, time, at, f"{total}", "0.00", **extra)
    shared = {k: v for k, v in more.items() if k in ("rxno", "days", "drug")}
    return row, [
        item(f"{setl}-{n}", setl, psn, at, time, kind, amount, **shared)
        for n, (kind, amount) in enumerate(items, start=1)
    ]


def _case() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    rows, items = [], []

    def add(made: Made) -> list[dict[str, str]]:
        rows.append(made[0])
        items.extend(made[1])
        return made[1]

    # silent: items add up, a 7-day drug, an examination where it was prescribed
    add(visit("S1", "Q01", "H1", "2023-03-01 09:00:00", ("09", "60.00"), ("03", "40.00"), days="7"))
    # fee-details-mismatch: 90 of items for a settlement of 100 (one item short)
    add(visit("S2", "Q02", "H1", "2023-03-02 09:00:00", ("09", "60.00"), ("04", "40.00")))
    items.pop()
    items.append(item("S2-2", "S2", "Q02", "H1", "2023-03-02 09:00:00", "04", "30.00"))
    # fee-details-without-settlement: a visit no settlement ever names
    items.append(item("N-1", "NONE", "Q03", "H1", "2023-03-03 09:00:00", "05", "25.00"))
    # item-same-drug-two-institutions: RX4's drug at the hospital, then again at the pharmacy
    add(visit("S4", "Q04", "H1", "2023-03-03 09:00:00", ("09", "50.00"), rxno="RX4", drug="XB"))
    add(
        visit("S5", "Q04", "P1", "2023-03-04 09:00:00", ("09", "50.00"), rxno="RX4", drug="XB",
              med_type="41")
    )  # fmt: skip
    # supply days: 30 without a reason (fires), 30 in a 门诊慢特病 visit (silent), 120 (fires)
    add(visit("S6", "Q05", "H1", "2023-03-05 09:00:00", ("11", "20.00"), days="30"))
    add(visit("S7", "Q05", "H1", "2023-03-06 09:00:00", ("11", "20.00"), days="30", med_type="14"))
    add(visit("S8", "Q05", "H1", "2023-03-07 09:00:00", ("11", "20.00"), days="120", med_type="14"))
    # examinations: a test billed by a pharmacy; a test of RX6 (written at H1) done at H3
    add(visit("S9", "Q06", "P1", "2023-03-08 09:00:00", ("04", "15.00"), med_type="41"))
    add(visit("S10", "Q06", "H1", "2023-03-09 09:00:00", ("09", "10.00"), rxno="RX6"))
    add(visit("S11", "Q06", "H3", "2023-03-10 09:00:00", ("04", "35.00"), rxno="RX6"))
    # silent: a test of RX6 at H1 itself
    add(visit("S12", "Q06", "H1", "2023-03-11 09:00:00", ("03", "12.00"), rxno="RX6"))
    return rows, items


PLANTED = {
    ("fee-details-mismatch", "S2"),
    ("fee-details-without-settlement", ""),
    ("item-same-drug-two-institutions", "S5"),
    ("item-supply-over-usual", "S6"),
    ("item-supply-over-longest", "S8"),
    ("exam-at-pharmacy", "S9"),
    ("exam-outside-prescriber", "S11"),
}


def _audit(books: Path, cli: Cli) -> list[dict[str, object]]:
    rows, items = _case()
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", rows)
    write_csv(cli.cwd / "fee.csv", items)
    cli("import", "institutions", "institutions.csv", "--books", "books")
    # the items first: a settlement may come after its items
    cli("import", "fee-details", "fee.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    _code, out, _err = cli(
        "audit", "--period", "2023-03", "--format", "json", "--books", "books", expect=3
    )
    found: list[dict[str, object]] = json.loads(out)
    return found


def test_each_fee_detail_rule_fires_where_planted_and_only_there(books: Path, cli: Cli) -> None:
    found = _audit(books, cli)
    assert {(f["rule"], f["setl_id"]) for f in found} == PLANTED
    # two worker processes, each a part of the people, find the same
    _code, out, _err = cli(
        "audit", "--period", "2023-03", "--format", "json", "--jobs", "2", "--books", "books",
        expect=3,
    )  # fmt: skip
    assert json.loads(out) == found


def test_fee_detail_findings_carry_items_and_amounts(books: Path, cli: Cli) -> None:
    by_rule = {str(f["rule"]): f for f in _audit(books, cli)}
    assert by_rule["fee-details-mismatch"]["evidence"] == {
        "mdtrt_id": "MS2",
        "settlements": "S2",
        "items": "S2-1 S2-2",
        "det_item_fee_sumamt": "items 90.00, medfee_sumamt 100.00",
        "inscp_scp_amt": "items 90.00, inscp_scp_amt 100.00",
    }
    orphan = by_rule["fee-details-without-settlement"]
    assert (orphan["psn_no"], orphan["institution"], orphan["setl_time"]) == (
        "Q03",
        "H1",
        "2023-03-03 09:00:00",
    )
    assert orphan["evidence"] == {
        "mdtrt_id": "MNONE",
        "items": "N-1",
        "det_item_fee_sumamt": "25.00",
    }
    assert by_rule["item-same-drug-two-institutions"]["evidence"] == {
        "feedetl_sn": "S5-1",
        "rxno": "RX4",
        "med_list_codg": "XB",
        "det_item_fee_sumamt": "50.00",
        "first_bought_at": "H1",
        "first_feedetl_sn": "S4-1",
    }
    assert by_rule["item-supply-over-usual"]["evidence"]["prd_days"] == "30"  # type: ignore[index]
    longest = by_rule["item-supply-over-longest"]
    assert longest["evidence"]["reason"] == "med_type 14"  # type: ignore[index]
    assert longest["article"] == "鞍医保发〔2022〕14号 第二十三条"
    outside = by_rule["exam-outside-prescriber"]["evidence"]
    assert outside["prescribed_by"] == "H1" and outside["told_by"] == "rxno first billed at"  # type: ignore[index]
    assert by_rule["exam-at-pharmacy"]["article"] == "晋医保办发〔2022〕27号 第九条"


def test_the_settlement_arriving_silences_the_item_without_one(books: Path, cli: Cli) -> None:
    """Items imported before their settlement are reported until it comes, then judged."""
    _audit(books, cli)
    late = settlement("S3", "Q03", "2023-03-03 10:00:00", "H1", "25.00", "0.00", mdtrt_id="MNONE")
    write_csv(cli.cwd / "late.csv", [late])
    cli("import", "settlements", "late.csv", "--books", "books")
    _code, out, _err = cli(
        "audit", "--period", "2023-03", "--format", "json", "--books", "books", expect=3
    )
    rules = {(f["rule"], f["setl_id"]) for f in json.loads(out)}
    assert rules == PLANTED - {("fee-details-without-settlement", "")}


def test_exam_fen_per_institution_and_span(books: Path, cli: Cli) -> None:
    """The indicators' examination cost: 03 and 04 items per institution and month (or year);
    a span without items has no entry."""
    from ledger.books import Books
    from ledger.register.fee_totals import exam_fen
    from ledger.register.opening import open_register, resolve_url

    _audit(books, cli)
    engine = open_register(resolve_url(Books(books).read_config().db_url, books))
    try:
        with engine.connect() as conn:
            monthly = exam_fen(conn, ["2023-03"], by_month=True)
            yearly = exam_fen(conn, ["2023-02", "2023-03"], by_month=False)
            none = exam_fen(conn, ["2023-04"], by_month=True)
    finally:
        engine.dispose()
    # H1: S1 40.00 (03) + S2 30.00 (04) + S12 12.00 (03); H3: S11 35.00; P1: S9 15.00
    assert monthly == {("H1", "2023-03"): 8200, ("H3", "2023-03"): 3500, ("P1", "2023-03"): 1500}
    assert yearly == {("H1", "2023"): 8200, ("H3", "2023"): 3500, ("P1", "2023"): 1500}
    assert none == {}


def test_prescription_days_are_read_strictly() -> None:
    """The shipped thresholds; a broken [prescription_days] names every key at fault."""
    import pytest

    from reports.audit.policy import PolicyError, parse_policy, shipped_policy

    shipped = shipped_policy("210300").prescription_days
    assert (shipped.usual, shipped.longest, shipped.reason_med_types) == (7, 90, frozenset({"14"}))
    text = (Path(__file__).parent.parent / "reports/audit/policies/210300.toml").read_text("utf-8")
    broken = text.replace("usual = 7", 'usual = "7"').replace(
        "reason_drugs = []", "reason_drugs = [1]\ncolour = 1"
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(broken, "bad.toml")
    assert [p.split(":")[1].strip() for p in caught.value.problems] == [
        "prescription_days.colour",
        "prescription_days.usual",
        "prescription_days.reason_drugs",
    ]


def test_a_visit_with_only_its_refund_in_the_year_is_judged_where_its_settlements_are(
    books: Path, cli: Cli
) -> None:
    """A December visit of two settlements, the first with its items, the second (no items)
    refunded on 2 January: the audit of 2023 reads the refund and the items (of a visit one of
    its rows names) but not the December settlements, and says nothing of the visit; December,
    where its settlements are, finds the items adding up to the one left. (Before, the year's
    audit compared the items with no settlement: a fee-details-mismatch against 0.)"""
    first, items = visit("D1", "Q09", "H1", "2022-12-30 09:00:00", ("09", "60.00"))
    second = settlement("D2", "Q09", "2022-12-30 09:30:00", "H1", "40.00", "0.00", mdtrt_id="MD1")
    refund = settlement("D2R", "Q09", "2023-01-02 10:00:00", "H1", "-40.00", "0.00", mdtrt_id="MD1")
    refund.update(refd_setl_flag="1", init_setl_id="D2", psn_cash_pay="-40.00")
    refund.update(psn_part_amt="-40.00")
    later, later_items = visit("J1", "Q09", "H1", "2023-01-05 09:00:00", ("09", "20.00"))
    (cli.cwd / "institutions.csv").write_text(INSTITUTIONS, "utf-8")
    write_csv(cli.cwd / "settlements.csv", [first, second, refund, later])
    write_csv(cli.cwd / "fee.csv", [*items, *later_items])
    cli("import", "institutions", "institutions.csv", "--books", "books")
    cli("import", "settlements", "settlements.csv", "--books", "books")
    cli("import", "fee-details", "fee.csv", "--books", "books")
    for period in ("2023", "2022-12"):
        _code, out, err = cli(
            "audit", "--period", period, "--format", "json", "--books", "books", expect=None
        )
        # (December 2022's own policy pays from the first yuan: its benefit finding is not here)
        fee_rules = [f["rule"] for f in json.loads(out) if str(f["rule"]).startswith("fee-")]
        assert fee_rules == [], (period, out, err)
