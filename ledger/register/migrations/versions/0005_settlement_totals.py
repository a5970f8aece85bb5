"""settlement totals, batch membership by file watermark, lean settlements, monthly partitions

Revision ID: 0005
Revises: 0004

- settlement_totals (清算汇总): per imported file, the sums of its settlements by batch key and
  med_type, backfilled from the settlements;
- clearing_batches.last_file_id: the batch's file watermark, backfilled as the newest file of
  its settlements (or, for a batch with none, the newest imported file);
- settlements lose batch_id (membership is key + watermark now), digest (a re-imported row is
  compared field by field) and the file_id index; the init_setl_id index covers refunds only;
- PostgreSQL: settlements becomes a table partitioned by month, LIST (setl_period), primary key
  (id, setl_period), UNIQUE (setl_id, setl_period); the rows move into their months' partitions.

Names are unqualified throughout: the migration works in the connection's current schema.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ledger.register.models import MONEY_FIELDS
from ledger.register.partitions import ensure_partitions

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The settlements' columns after this migration, in their order (batch_id and digest go).
SETTLEMENT_COLUMNS = (
    "id", "setl_id", "mdtrt_id", "psn_no", "psn_name", "certno", "psn_type", "insutype",
    "med_type", "setl_time", "setl_period", "fixmedins_code", "fixmedins_name", "fixmedins_type",
    "medins_lv", "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
    "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay",
    "hifmi_pay", "hifob_pay", "hifdm_pay", "maf_pay", "oth_pay", "fund_pay_sumamt",
    "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "hosp_part_amt", "clr_type",
    "clr_way", "clr_optins", "refd_setl_flag", "init_setl_id", "emergency_flag", "rx_no",
    "rx_institution", "rx_date", "drug_code", "extra", "file_id", "line",
)  # fmt: skip

REFUNDS_ONLY = sa.text("init_setl_id IS NOT NULL")


def upgrade() -> None:
    conn = op.get_bind()
    _settlement_totals()
    if conn.dialect.name == "postgresql":
        _watermarks_postgresql()
        _partitioned_settlements()
    else:
        _lean_settlements_sqlite()  # first: settlements no longer reference clearing_batches
        _watermarks_sqlite()


def _settlement_totals() -> None:
    op.create_table(
        "settlement_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=30), nullable=False),
        sa.Column("clr_type", sa.String(length=10), nullable=False),
        sa.Column("med_type", sa.String(length=6), nullable=False),
        sa.Column("settlement_count", sa.Integer(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in MONEY_FIELDS),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    key = "file_id, setl_period, fixmedins_code, clr_type, med_type"
    op.execute(
        f"INSERT INTO settlement_totals (file_id, period, fixmedins_code, clr_type, med_type, "
        f"settlement_count, refund_count, {', '.join(MONEY_FIELDS)}) "
        f"SELECT {key}, count(*), "
        "sum(CASE WHEN refd_setl_flag THEN 1 ELSE 0 END), "
        f"{', '.join(f'sum({name})' for name in MONEY_FIELDS)} "
        f"FROM settlements GROUP BY {key}"
    )
    with op.batch_alter_table("settlement_totals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_settlement_totals_key",
            ["period", "fixmedins_code", "clr_type", "med_type", "file_id"],
            unique=True,
        )


# The watermark of a batch: the newest file of its settlements (batch_id still exists here),
# or, for a batch with none, the newest imported file.
WATERMARK = (
    "coalesce((SELECT max(s.file_id) FROM settlements s WHERE s.batch_id = clearing_batches.id), "
    "(SELECT max(f.id) FROM imported_files f))"
)


def _watermarks_postgresql() -> None:
    op.add_column("clearing_batches", sa.Column("last_file_id", sa.Integer(), nullable=True))
    op.execute(f"UPDATE clearing_batches SET last_file_id = {WATERMARK}")
    op.alter_column("clearing_batches", "last_file_id", nullable=False)
    op.create_foreign_key(
        "clearing_batches_last_file_id_fkey",
        "clearing_batches",
        "imported_files",
        ["last_file_id"],
        ["id"],
    )


def _watermarks_sqlite() -> None:
    """clearing_batches gains a NOT NULL foreign key: a table rebuild. postings and
    bank_statement_lines reference it, so the rebuild runs with the foreign keys deferred
    (PRAGMA defer_foreign_keys lasts to the end of the transaction): dropping the table
    counts their rows as violations, inserting the same ids into the new table uncounts
    them, and the commit verifies that none is left. (Alembic's batch mode renames a copy
    into place instead, which would leave the violations counted.)"""
    op.execute("PRAGMA defer_foreign_keys = ON")
    # batch_id still exists on the old settlements: the watermarks come from there
    op.execute(
        "CREATE TABLE _watermarks AS SELECT b.id AS batch_id, "
        "coalesce(max(s.file_id), (SELECT max(f.id) FROM imported_files f)) AS last_file_id "
        "FROM clearing_batches b LEFT JOIN _old_settlement_batches s ON s.batch_id = b.id "
        "GROUP BY b.id"
    )
    op.execute("CREATE TABLE _old_clearing_batches AS SELECT * FROM clearing_batches")
    op.execute("DROP INDEX ix_batch_key")
    op.drop_table("clearing_batches")
    op.create_table(
        "clearing_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=30), nullable=False),
        sa.Column("clr_type", sa.String(length=10), nullable=False),
        sa.Column("link", sa.String(length=100), nullable=False),
        sa.Column("settlement_count", sa.Integer(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("last_file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["fixmedins_code"], ["institutions.code"]),
        sa.ForeignKeyConstraint(["last_file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link"),
    )
    op.execute(
        "INSERT INTO clearing_batches (id, period, fixmedins_code, clr_type, link, "
        "settlement_count, refund_count, last_file_id) "
        "SELECT b.id, b.period, b.fixmedins_code, b.clr_type, b.link, b.settlement_count, "
        "b.refund_count, w.last_file_id "
        "FROM _old_clearing_batches b JOIN _watermarks w ON w.batch_id = b.id"
    )
    op.create_index(
        "ix_batch_key", "clearing_batches", ["period", "fixmedins_code", "clr_type"], unique=True
    )
    for name in ("_watermarks", "_old_clearing_batches", "_old_settlement_batches"):
        op.drop_table(name)


def _lean_settlements_sqlite() -> None:
    # keep the batch links for the watermarks, which need clearing_batches rebuilt after this
    op.execute(
        "CREATE TABLE _old_settlement_batches AS SELECT batch_id, max(file_id) AS file_id "
        "FROM settlements WHERE batch_id IS NOT NULL GROUP BY batch_id"
    )
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_index("ix_settlements_batch_id")
        batch_op.drop_index("ix_settlements_file_id")
        batch_op.drop_index("ix_settlements_init_setl_id")
        batch_op.drop_column("batch_id")
        batch_op.drop_column("digest")
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_settlements_init_setl_id", ["init_setl_id"], sqlite_where=REFUNDS_ONLY
        )


def _partitioned_settlements() -> None:
    """Move the settlements into a table partitioned by month, under the same name."""
    conn = op.get_bind()
    sequence = conn.execute(sa.text("SELECT pg_get_serial_sequence('settlements', 'id')")).scalar()
    for index in (
        "ix_settlements_batch_id",
        "ix_settlements_file_id",
        "ix_settlements_init_setl_id",
        "ix_settlements_mdtrt_id",
        "ix_settlements_period_batch_key",
        "ix_settlements_psn_time",
    ):
        op.execute(f"DROP INDEX {index}")
    op.execute("ALTER TABLE settlements RENAME TO settlements_unpartitioned")
    for constraint in ("settlements_pkey", "settlements_setl_id_key"):  # their indexes' names
        op.execute(
            f"ALTER TABLE settlements_unpartitioned RENAME CONSTRAINT {constraint} "
            f"TO {constraint.replace('settlements_', 'settlements_unpartitioned_', 1)}"
        )
    if sequence is None:  # an identity column, not a serial: use a sequence of our own
        op.execute("CREATE SEQUENCE settlements_id_seq AS integer")
        op.execute(
            "SELECT setval('settlements_id_seq', coalesce(max(id), 0) + 1, false) "
            "FROM settlements_unpartitioned"
        )
        sequence = "settlements_id_seq"
    else:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    op.create_table(
        "settlements",
        sa.Column(
            "id",
            sa.Integer(),
            server_default=sa.text(f"nextval('{sequence}'::regclass)"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("setl_id", sa.String(length=40), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("psn_name", sa.String(length=100), nullable=True),
        sa.Column("certno", sa.String(length=40), nullable=True),
        sa.Column("psn_type", sa.String(length=6), nullable=False),
        sa.Column("insutype", sa.String(length=6), nullable=False),
        sa.Column("med_type", sa.String(length=6), nullable=False),
        sa.Column("setl_time", sa.DateTime(), nullable=False),
        sa.Column("setl_period", sa.String(length=7), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=30), nullable=False),
        sa.Column("fixmedins_name", sa.String(length=200), nullable=False),
        sa.Column("fixmedins_type", sa.String(length=1), nullable=True),
        sa.Column("medins_lv", sa.String(length=2), nullable=True),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in MONEY_FIELDS[: MONEY_FIELDS.index("hifp_pay") + 1]
        ),
        sa.Column("pool_prop_selfpay", sa.BigInteger(), nullable=True),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in MONEY_FIELDS[MONEY_FIELDS.index("hifp_pay") + 1 :]
        ),
        sa.Column("clr_type", sa.String(length=10), nullable=False),
        sa.Column("clr_way", sa.String(length=10), nullable=True),
        sa.Column("clr_optins", sa.String(length=10), nullable=False),
        sa.Column("refd_setl_flag", sa.Boolean(), nullable=False),
        sa.Column("init_setl_id", sa.String(length=40), nullable=True),
        sa.Column("emergency_flag", sa.Boolean(), nullable=True),
        sa.Column("rx_no", sa.String(length=40), nullable=True),
        sa.Column("rx_institution", sa.String(length=30), nullable=True),
        sa.Column("rx_date", sa.Date(), nullable=True),
        sa.Column("drug_code", sa.String(length=50), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["imported_files.id"], name="settlements_file_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["fixmedins_code"], ["institutions.code"], name="settlements_fixmedins_code_fkey"
        ),
        sa.PrimaryKeyConstraint("id", "setl_period", name="settlements_pkey"),
        sa.UniqueConstraint("setl_id", "setl_period", name="settlements_setl_id_setl_period_key"),
        postgresql_partition_by="LIST (setl_period)",
    )
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY settlements.id")
    periods = conn.execute(
        sa.text("SELECT DISTINCT setl_period FROM settlements_unpartitioned")
    ).scalars()
    ensure_partitions(conn, list(periods))
    columns = ", ".join(SETTLEMENT_COLUMNS)
    op.execute(
        f"INSERT INTO settlements ({columns}) SELECT {columns} FROM settlements_unpartitioned"
    )
    op.drop_table("settlements_unpartitioned")
    # on the parent: every partition, present and future, gets them
    op.create_index("ix_settlements_mdtrt_id", "settlements", ["mdtrt_id"])
    op.create_index(
        "ix_settlements_period_batch_key",
        "settlements",
        ["setl_period", "fixmedins_code", "clr_type"],
    )
    op.create_index("ix_settlements_psn_time", "settlements", ["psn_no", "setl_time"])
    op.create_index(
        "ix_settlements_init_setl_id",
        "settlements",
        ["init_setl_id"],
        postgresql_where=REFUNDS_ONLY,
    )


def downgrade() -> None:
    raise NotImplementedError(
        "0005 is not reversible: settlements' batch links and digests are not kept"
    )
