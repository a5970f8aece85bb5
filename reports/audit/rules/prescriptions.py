"""Pharmacy purchases on an e-prescription (电子处方): that there is one, its age, who wrote it,
where its drugs were bought (Shanxi arts. 10, 11, 14, 26)."""

from __future__ import annotations

from collections.abc import Iterator

from ledger.money import ZERO
from reports.audit.findings import Finding
from reports.audit.rules.person import PHARMACY_PURCHASE, Person, finding, money

PRESCRIPTION_DAYS = 3  # Shanxi art. 11: an e-prescription is valid for 3 days


def prescription_expired(person: Person) -> Iterator[Finding]:
    """prescription-expired: more than 3 days between rx_date and the purchase."""
    for row in person.live:
        if row.rx_date is not None:
            age = (row.setl_time.date() - row.rx_date).days
            if age > PRESCRIPTION_DAYS:
                yield finding(
                    "prescription-expired",
                    row,
                    evidence=(
                        ("rx_no", row.rx_no or ""),
                        ("rx_date", str(row.rx_date)),
                        ("days", str(age)),
                    ),
                )


def prescription_missing(person: Person) -> Iterator[Finding]:
    """prescription-missing: a pharmacy purchase (med_type 41) paid by the pooled fund without
    a prescription (rx_no empty); the fund owes it nothing (art. 26(2), expected 0)."""
    for row in person.live:
        if (
            row.med_type == PHARMACY_PURCHASE
            and row.hifp_pay > ZERO
            and not (row.rx_no or "").strip()
        ):
            yield finding(
                "prescription-missing",
                row,
                reported=row.hifp_pay,
                expected=ZERO,
                evidence=(
                    ("med_type", row.med_type),
                    ("hifp_pay", money(row.hifp_pay)),
                    ("rx_no", ""),
                ),
            )


def prescription_after_purchase(person: Person) -> Iterator[Finding]:
    """prescription-after-purchase: rx_date is later than the day of the purchase."""
    for row in person.live:
        if row.rx_date is not None and row.rx_date > row.setl_time.date():
            yield finding(
                "prescription-after-purchase",
                row,
                evidence=(
                    ("rx_no", row.rx_no or ""),
                    ("rx_date", str(row.rx_date)),
                    ("purchase_date", str(row.setl_time.date())),
                    ("days_after", str((row.rx_date - row.setl_time.date()).days)),
                ),
            )


def prescription_not_designated(person: Person) -> Iterator[Finding]:
    """prescription-not-designated: rx_institution is not a listed medical institution."""
    for row in person.live:
        if row.rx_institution and row.rx_institution not in person.prescribers:
            yield finding(
                "prescription-not-designated",
                row,
                evidence=(("rx_no", row.rx_no or ""), ("rx_institution", row.rx_institution)),
            )


def same_drug_two_institutions(person: Person) -> Iterator[Finding]:
    """same-drug-two-institutions: the same rx_no and drug_code bought at a second institution
    (the first seller is the earliest purchase)."""
    first_seller: dict[tuple[str, str], str] = {}
    for row in person.live:
        if row.rx_no and row.drug_code:
            seller = first_seller.setdefault((row.rx_no, row.drug_code), row.fixmedins_code)
            if seller != row.fixmedins_code:
                yield finding(
                    "same-drug-two-institutions",
                    row,
                    evidence=(
                        ("rx_no", row.rx_no),
                        ("drug_code", row.drug_code),
                        ("first_bought_at", seller),
                    ),
                )


__all__ = [
    "PRESCRIPTION_DAYS",
    "prescription_after_purchase",
    "prescription_expired",
    "prescription_missing",
    "prescription_not_designated",
    "same_drug_two_institutions",
]
