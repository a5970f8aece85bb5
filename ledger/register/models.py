"""The settlement register (结算登记簿): SQLAlchemy 2 models, SQLite or PostgreSQL.

Money is stored as exact integer fen and read back as ``Decimal`` yuan, so SQLite (which has no
decimal type) and PostgreSQL sum to the same fen. Personal data (psn_name, certno) is kept here
for the agency's own lookups and never leaves the register.
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false as sa_false


class Scaled(TypeDecorator[Decimal]):
    """A Decimal with a fixed number of places, stored as an exact scaled integer."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int = 2) -> None:
        super().__init__()
        self.places = places

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = value.scaleb(self.places)
        stored = int(scaled)
        if stored != scaled:
            raise ValueError(f"{value} has more than {self.places} decimals")
        return stored

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)


Money = Scaled(2)


def Code(length: int) -> String:
    """A settlement's identifier or code that an index sorts: on PostgreSQL in the "C"
    collation, byte order as on SQLite, compared with memcmp where the database's collation
    (C.UTF-8, en_US.UTF-8, ...) goes through strcoll and sorts without abbreviated keys
    (measured: the settlements' index builds a third faster; migration 0008)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


#: Money fields of a settlement result (2207 setlinfo), in the platform's order.
MONEY_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "hifdm_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "hosp_part_amt",
)

#: Funds whose payments belong to other funds' books (kept and reported, never posted here).
OTHER_FUND_FIELDS = (
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "hifdm_pay",
    "maf_pay",
    "oth_pay",
)

#: What a settlement pays from the personal accounts (个人账户基金): the person's own account
#: and mutual aid from a family member's (个人账户共济); the pooled fund (统筹基金) pays hifp_pay.
#: Every layer takes the personal part from here.
PERSONAL_PART = ("acct_pay", "acct_mulaid_pay")


def personal_part(amounts: Mapping[str, Decimal]) -> Decimal:
    """The personal-account part of a settlement's or a batch's amounts."""
    # added in order, no zero to start from: the same Decimal as acct_pay + acct_mulaid_pay
    return functools.reduce(operator.add, (amounts[name] for name in PERSONAL_PART))


def personal_part_sum(entity: Any) -> Any:
    """The personal-account part summed in SQL over ``entity``'s rows (a table or an alias)."""
    return functools.reduce(
        operator.add, (func.sum(getattr(entity, name)) for name in PERSONAL_PART)
    )


class Base(DeclarativeBase):
    pass


class ImportedFile(Base):
    """One imported file, recognised again by its sha256 (导入文件)."""

    __tablename__ = "imported_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # settlements | institutions
    name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_format: Mapped[str] = mapped_column(String(20))
    row_count: Mapped[int] = mapped_column(Integer)
    inserted_count: Mapped[int] = mapped_column(Integer)
    skipped_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    imported_by: Mapped[str] = mapped_column(String(100))


class Institution(Base):
    """A designated medical institution or retail pharmacy (定点医药机构)."""

    __tablename__ = "institutions"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    fixmedins_type: Mapped[str] = mapped_column(String(1))  # 1 medical institution, 2 pharmacy
    medins_lv: Mapped[str | None] = mapped_column(String(2))  # 1, 2, 3; None for pharmacies
    spec_hosp: Mapped[bool] = mapped_column(default=False)  # infectious-disease/psychiatric
    admdvs: Mapped[str | None] = mapped_column(String(6))  # None: the agency's own region
    # On an imported institution list (定点医药机构名单); one known only from settlement rows is
    # not, and the audit treats it as non-designated (Shanxi art. 26(1)).
    listed: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("imported_files.id"))


class ClearingBatch(Base):
    """A clearing batch (清算批次): institution x clearing period x clearing category."""

    __tablename__ = "clearing_batches"
    __table_args__ = (Index("ix_batch_key", "period", "fixmedins_code", "clr_type", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM, by setl_time
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"))
    clr_type: Mapped[str] = mapped_column(String(10))
    link: Mapped[str] = mapped_column(String(100), unique=True)
    settlement_count: Mapped[int] = mapped_column(Integer)
    refund_count: Mapped[int] = mapped_column(Integer)
    # The file watermark: the batch takes in the settlements of its key from files up to this
    # one (the newest imported file when it was formed); see ledger.register.batching.
    last_file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    # 异地就医: the clearing agency (clr_optins) an institution outside the books' region is
    # paid through; None: paid to the institution itself (migration 0012)
    clr_optins: Mapped[str | None] = mapped_column(String(10))


class Posting(Base):
    """A batch as booked: its Beancount transaction (记账凭证) and where it is written."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("clearing_batches.id"), unique=True)
    voucher: Mapped[str] = mapped_column(String(30), unique=True)  # 2023-02-记-0001
    paid_on: Mapped[datetime.date] = mapped_column(Date)
    books_file: Mapped[str] = mapped_column(String(200))  # relative to the books directory
    posted_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    posted_by: Mapped[str] = mapped_column(String(100))


class Settlement(Base):
    """One settlement result (结算结果, 2207 setlinfo) or refund (2208 reversal)."""

    __tablename__ = "settlements"
    # On PostgreSQL the table is partitioned by month (LIST (setl_period),
    # ledger.register.partitions):
    # its primary key is (id, setl_period), id still unique by its sequence, and setl_id is
    # unique per partition (the importer checks it across months). SQLite keeps one table.
    __table_args__ = (
        # a batch's members by key and watermark, in setl_id order: a batch page read from the
        # index alone (migration 0006)
        Index(
            "ix_settlements_batch_page",
            "setl_period",
            "fixmedins_code",
            "clr_type",
            "setl_id",
            "file_id",
        ),
        Index("ix_settlements_psn_time", "psn_no", "setl_time"),
        # refunds only: the originals' lookups by init_setl_id
        Index(
            "ix_settlements_init_setl_id",
            "init_setl_id",
            sqlite_where=text("init_setl_id IS NOT NULL"),
            postgresql_where=text("init_setl_id IS NOT NULL"),
        ),
        UniqueConstraint("setl_id", info={"dialects": ("sqlite",)}).ddl_if(dialect="sqlite"),
        UniqueConstraint(
            "setl_id",
            "setl_period",
            name="settlements_setl_id_setl_period_key",
            info={"dialects": ("postgresql",)},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    setl_id: Mapped[str] = mapped_column(Code(40))
    mdtrt_id: Mapped[str] = mapped_column(Code(40), index=True)
    psn_no: Mapped[str] = mapped_column(Code(40))
    psn_name: Mapped[str | None] = mapped_column(String(100))  # personal data: register only
    certno: Mapped[str | None] = mapped_column(String(50))  # personal data: register only
    psn_type: Mapped[str] = mapped_column(String(6))
    insutype: Mapped[str] = mapped_column(String(6))
    med_type: Mapped[str] = mapped_column(String(6))
    setl_time: Mapped[datetime.datetime] = mapped_column(DateTime)
    setl_period: Mapped[str] = mapped_column(String(7))  # YYYY-MM of setl_time
    fixmedins_code: Mapped[str] = mapped_column(Code(30), ForeignKey("institutions.code"))
    fixmedins_name: Mapped[str] = mapped_column(String(200))
    fixmedins_type: Mapped[str | None] = mapped_column(String(1))  # as the file had it
    medins_lv: Mapped[str | None] = mapped_column(String(2))  # as the file had it

    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_selfpay: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    act_pay_dedc: Mapped[Decimal] = mapped_column(Money)
    hifp_pay: Mapped[Decimal] = mapped_column(Money)
    pool_prop_selfpay: Mapped[Decimal | None] = mapped_column(Scaled(4))
    cvlserv_pay: Mapped[Decimal] = mapped_column(Money)
    hifes_pay: Mapped[Decimal] = mapped_column(Money)
    hifmi_pay: Mapped[Decimal] = mapped_column(Money)
    hifob_pay: Mapped[Decimal] = mapped_column(Money)
    hifdm_pay: Mapped[Decimal] = mapped_column(Money)
    maf_pay: Mapped[Decimal] = mapped_column(Money)
    oth_pay: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    psn_part_amt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money)
    hosp_part_amt: Mapped[Decimal] = mapped_column(Money)

    clr_type: Mapped[str] = mapped_column(Code(10))
    clr_way: Mapped[str | None] = mapped_column(String(10))
    clr_optins: Mapped[str] = mapped_column(String(10))
    refd_setl_flag: Mapped[bool] = mapped_column(default=False)
    init_setl_id: Mapped[str | None] = mapped_column(Code(40))

    # Optional audit columns (issue 3): the 急危重 flag of a visit outside the city, and the
    # prescription a pharmacy purchase was made on (Shanxi art. 11, 14, 26(2)).
    emergency_flag: Mapped[bool | None] = mapped_column()
    rx_no: Mapped[str | None] = mapped_column(String(40))
    rx_institution: Mapped[str | None] = mapped_column(String(30))
    rx_date: Mapped[datetime.date | None] = mapped_column(Date)
    drug_code: Mapped[str | None] = mapped_column(String(50))

    extra: Mapped[dict[str, str] | None] = mapped_column(JSON)  # unknown columns, kept as given
    # The file it came in; its clearing batch follows from its key and the batches' file
    # watermarks (ledger.register.batching), never from a link written on the row.
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    line: Mapped[int] = mapped_column(Integer)  # where in that file


#: What a person decided of a held settlement.
HELD_STATUSES = ("held", "accepted", "rejected")


class HeldSettlement(Base):
    """A settlement held back for a person to decide (待核实结算): its visit, institution,
    person, time and amounts equal those of a settlement already in the register (or earlier
    in the same import) under another setl_id. A re-export that renumbered an old settlement
    would pay it twice; a real second settlement of the same visit to the second is rare.
    It is never booked on its own: ``mzledger held accept`` imports it (as a file of its own,
    by every rule of an import), ``mzledger held reject`` keeps it out, each with a reason.
    ``fields`` is the row as the file had it."""

    __tablename__ = "held_settlements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    line: Mapped[int] = mapped_column(Integer)
    setl_id: Mapped[str] = mapped_column(String(40), unique=True)
    same_as_setl_id: Mapped[str] = mapped_column(String(40))
    mdtrt_id: Mapped[str] = mapped_column(String(40))
    psn_no: Mapped[str] = mapped_column(String(40))
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    setl_time: Mapped[datetime.datetime] = mapped_column(DateTime)
    setl_period: Mapped[str] = mapped_column(String(7))
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    hifp_pay: Mapped[Decimal] = mapped_column(Money)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # one of HELD_STATUSES
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
    # the file record an accepted settlement was imported under
    accepted_file_id: Mapped[int | None] = mapped_column(ForeignKey("imported_files.id"))


class SettlementTotal(Base):
    """Sums of one imported file's settlements by batch key and med_type (清算汇总).

    Written by the import in the transaction that inserts the settlements, never updated
    (settlements are never deleted): posting and the books-vs-register check sum a few
    thousand of these instead of a month's settlements. ``check`` compares them with the
    settlements themselves.
    """

    __tablename__ = "settlement_totals"
    __table_args__ = (
        Index(
            "ix_settlement_totals_key",
            "period",
            "fixmedins_code",
            "clr_type",
            "med_type",
            "file_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    period: Mapped[str] = mapped_column(String(7))  # setl_period of the settlements
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    clr_type: Mapped[str] = mapped_column(String(10))
    med_type: Mapped[str] = mapped_column(String(6))
    settlement_count: Mapped[int] = mapped_column(Integer)  # all rows, refunds included
    refund_count: Mapped[int] = mapped_column(Integer)

    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_selfpay: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    act_pay_dedc: Mapped[Decimal] = mapped_column(Money)
    hifp_pay: Mapped[Decimal] = mapped_column(Money)
    cvlserv_pay: Mapped[Decimal] = mapped_column(Money)
    hifes_pay: Mapped[Decimal] = mapped_column(Money)
    hifmi_pay: Mapped[Decimal] = mapped_column(Money)
    hifob_pay: Mapped[Decimal] = mapped_column(Money)
    hifdm_pay: Mapped[Decimal] = mapped_column(Money)
    maf_pay: Mapped[Decimal] = mapped_column(Money)
    oth_pay: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    psn_part_amt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money)
    hosp_part_amt: Mapped[Decimal] = mapped_column(Money)


#: Kinds of person record (人员备案/状态) the benefit rules look at.
PERSON_RECORDS = ("long-term-residence", "referral", "arrears")


class PersonRecord(Base):
    """A dated record of a person: 异地长期居住备案, 转诊转院备案, or 欠费期间 (arrears)."""

    __tablename__ = "person_records"
    __table_args__ = (
        Index("ix_person_records_key", "psn_no", "record", "begndate", "enddate", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(40))
    record: Mapped[str] = mapped_column(String(30))  # one of PERSON_RECORDS
    begndate: Mapped[datetime.date] = mapped_column(Date)
    enddate: Mapped[datetime.date | None] = mapped_column(Date)  # inclusive; None = open
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))


#: A family binding's relation (家庭共济, Anshan art. 13): what the user is to the holder.
#: Art. 13 lets an account pay for the holder's spouse, parents and children; "other" is kept
#: as the file has it and judged by the audit.
FAMILY_RELATIONS = ("spouse", "parent", "child", "other")


class FamilyBinding(Base):
    """A family mutual-aid binding (家庭共济绑定, Anshan art. 13): from ``begndate`` to
    ``enddate`` (inclusive; None = open) the holder's (账户持有人) personal account may pay the
    user's (使用人) personal part of a settlement, ``acct_mulaid_pay`` (migration 0013)."""

    __tablename__ = "family_bindings"
    __table_args__ = (
        Index(
            "ix_family_bindings_key",
            "user_psn_no",
            "holder_psn_no",
            "relation",
            "begndate",
            "enddate",
            unique=True,
        ),
        Index("ix_family_bindings_holder", "holder_psn_no"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_psn_no: Mapped[str] = mapped_column(String(40))
    user_psn_no: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(10))  # one of FAMILY_RELATIONS
    begndate: Mapped[datetime.date] = mapped_column(Date)
    enddate: Mapped[datetime.date | None] = mapped_column(Date)  # inclusive; None = open
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    line: Mapped[int] = mapped_column(Integer)  # where in that file


#: A fee detail's amounts (费用明细, 2204 output), in the platform's order.
FEE_MONEY_FIELDS = (
    "det_item_fee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
)


class FeeDetail(Base):
    """One item of a visit's fee details (费用明细, transaction 2204 and its output): what was
    billed, how much of it, at what price and for how many days, and its self-pay parts. It
    joins its settlements by ``mdtrt_id`` and ``fixmedins_code`` (migration 0014); the audit
    checks that they add up, since either may come first."""

    __tablename__ = "fee_details"
    __table_args__ = (
        # the platform's key (feedetl_sn is unique within one visit) and the join to the
        # visit's settlements
        Index("ix_fee_details_key", "mdtrt_id", "fixmedins_code", "feedetl_sn", unique=True),
        Index("ix_fee_details_psn_time", "psn_no", "fee_ocur_time"),
        Index("ix_fee_details_period_institution", "fee_period", "fixmedins_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedetl_sn: Mapped[str] = mapped_column(Code(30))
    mdtrt_id: Mapped[str] = mapped_column(Code(30))
    psn_no: Mapped[str] = mapped_column(Code(30))
    fixmedins_code: Mapped[str] = mapped_column(Code(30))  # not a foreign key: may come first
    fee_ocur_time: Mapped[datetime.datetime] = mapped_column(DateTime)
    fee_period: Mapped[str] = mapped_column(String(7))  # YYYY-MM of fee_ocur_time
    med_list_codg: Mapped[str] = mapped_column(String(50))
    med_chrgitm_type: Mapped[str] = mapped_column(String(6))  # ledger.charge_items
    rxno: Mapped[str | None] = mapped_column(String(30))
    det_item_fee_sumamt: Mapped[Decimal] = mapped_column(Money)
    cnt: Mapped[Decimal] = mapped_column(Scaled(4))  # the platform's 16,4
    pric: Mapped[Decimal] = mapped_column(Scaled(6))  # the platform's 16,6
    prd_days: Mapped[Decimal | None] = mapped_column(Scaled(2))  # 周期天数, the platform's 4,2
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_amt: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    extra: Mapped[dict[str, str] | None] = mapped_column(JSON)  # unknown columns, as given
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    line: Mapped[int] = mapped_column(Integer)


class BankStatement(Base):
    """An imported bank statement (银行对账单) of one disbursement account."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"), unique=True)
    account: Mapped[str] = mapped_column(String(200))  # the books account it is the bank of
    first_date: Mapped[datetime.date] = mapped_column(Date)
    last_date: Mapped[datetime.date] = mapped_column(Date)
    opening_balance: Mapped[Decimal | None] = mapped_column(Money)
    closing_balance: Mapped[Decimal | None] = mapped_column(Money)


#: What a statement line was found to be: a disbursement account's (postings.payments.decide)
#: or the fiscal special account's (postings.fiscal_lines.decide_fiscal). ``matched-*`` lines
#: were booked from elsewhere (the other account's line, ``import contributions``).
STATEMENT_LINE_KINDS = (
    "batch-payment",
    "fiscal-transfer",
    "interest",
    "bank-charge",
    "undecided",
    "matched-transfer",
    "contribution",
    "fiscal-subsidy",
    "transfer-in",
    "transfer-out",
    "recovery",
    "agency-payment",
    "remote-advance",
    "from-treasury",
)


class BankStatementLine(Base):
    """One line of a bank statement and what it was matched to; ``undecided`` lines wait for a
    person (nothing is booked from a guess)."""

    __tablename__ = "bank_statement_lines"
    __table_args__ = (Index("ix_statement_lines_account_date", "account", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    account: Mapped[str] = mapped_column(String(200))
    line: Mapped[int] = mapped_column(Integer)
    date: Mapped[datetime.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)  # negative: money out
    balance: Mapped[Decimal | None] = mapped_column(Money)
    counterparty: Mapped[str] = mapped_column(String(200))
    counterparty_account: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))  # one of STATEMENT_LINE_KINDS
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("clearing_batches.id"), index=True)
    note: Mapped[str] = mapped_column(String(500))  # why undecided, or what it was matched by
    # a transfer booked from the other account's line (this one); each transfer is booked once
    matched_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_statement_lines.id", name="fk_statement_lines_matched_line")
    )
    # a contribution receipt: the collection file ``import contributions`` booked it from
    matched_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("imported_files.id", name="fk_statement_lines_matched_file")
    )


class AgencyPaymentBatch(Base):
    """A batch an ``agency-payment`` line paid (异地就医清算): one line to a clearing agency pays
    that part of all the agency's batches of a period at once (migration 0012)."""

    __tablename__ = "agency_payment_batches"
    __table_args__ = (UniqueConstraint("line_id", "batch_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("bank_statement_lines.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("clearing_batches.id"), index=True)


class BankLineLeg(Base):
    """A leg a fiscal special account's line was booked against (the line's own leg is its
    amount on its account), fixed at its import: the sub-fund of a recovery or of a transfer to
    a disbursement account, an interest line split between the sub-funds."""

    __tablename__ = "bank_line_legs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("bank_statement_lines.id"), index=True)
    account: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)


class PlatformTotal(Base):
    """The platform's own totals of a month (3201 对总账), as last imported for that month."""

    __tablename__ = "platform_totals"
    __table_args__ = (
        Index(
            "ix_platform_totals_key", "period", "insutype", "clr_type", "clr_optins", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM of settlement time
    insutype: Mapped[str] = mapped_column(String(6))
    clr_type: Mapped[str] = mapped_column(String(10))
    clr_optins: Mapped[str] = mapped_column(String(10))
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    count: Mapped[int] = mapped_column(Integer)
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))


class OpeningBalance(Base):
    """One account's opening balance (期初余额, 建账): a line of the old system's trial balance,
    as ``mzledger import opening-balances`` took it. The books carry them as one transaction,
    dated ``booked_on`` (the day before the first day of these books)."""

    __tablename__ = "opening_balances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    line: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(30))  # concatenated, as the file gives it: 100401
    account: Mapped[str] = mapped_column(String(200))  # the chart's account of that code
    name: Mapped[str] = mapped_column(String(200))  # 科目名称 as the file has it
    debit: Mapped[Decimal] = mapped_column(Money)
    credit: Mapped[Decimal] = mapped_column(Money)
    booked_on: Mapped[datetime.date] = mapped_column(Date)


class ContributionRow(Base):
    """One insured person's contribution of a month (征缴明细), as ``mzledger import
    contributions`` took it: the file's row and the day the money was received."""

    __tablename__ = "contributions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("imported_files.id"))
    line: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(7))
    psn_no: Mapped[str] = mapped_column(String(40))
    psn_type: Mapped[str] = mapped_column(String(6))
    base: Mapped[Decimal] = mapped_column(Money)
    employer: Mapped[Decimal] = mapped_column(Money)
    employee: Mapped[Decimal] = mapped_column(Money)
    received_on: Mapped[datetime.date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("period", "psn_no"),)
