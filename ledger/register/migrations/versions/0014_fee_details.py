"""fee details (费用明细, transaction 2204 and its output): one row per billed item

Revision ID: 0014
Revises: 0013

- fee_details: one row per item (ledger.register.models.FeeDetail): the platform's key
  (mdtrt_id, fixmedins_code, feedetl_sn), the person and time, the item (med_list_codg, its
  category med_chrgitm_type, the prescription rxno), its amounts as integer fen, the quantity
  (4 places), the price (6 places) and the supply days (2 places) as scaled integers, unknown
  columns, and the file and line it came from. Indexed for the join to the visit's settlements,
  for the audit by person and time, and for the indicators by month and institution. Books made
  before have none: `mzledger import fee-details` fills it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _code(length: int) -> sa.types.TypeEngine[str]:
    """ledger.register.models.Code: on PostgreSQL in the "C" collation (migration 0008)."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fee_details",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedetl_sn", _code(30), nullable=False),
        sa.Column("mdtrt_id", _code(30), nullable=False),
        sa.Column("psn_no", _code(30), nullable=False),
        sa.Column("fixmedins_code", _code(30), nullable=False),
        sa.Column("fee_ocur_time", sa.DateTime(), nullable=False),
        sa.Column("fee_period", sa.String(length=7), nullable=False),
        sa.Column("med_list_codg", sa.String(length=50), nullable=False),
        sa.Column("med_chrgitm_type", sa.String(length=6), nullable=False),
        sa.Column("rxno", sa.String(length=30), nullable=True),
        sa.Column("det_item_fee_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("cnt", sa.BigInteger(), nullable=False),
        sa.Column("pric", sa.BigInteger(), nullable=False),
        sa.Column("prd_days", sa.BigInteger(), nullable=True),
        sa.Column("fulamt_ownpay_amt", sa.BigInteger(), nullable=False),
        sa.Column("overlmt_amt", sa.BigInteger(), nullable=False),
        sa.Column("preselfpay_amt", sa.BigInteger(), nullable=False),
        sa.Column("inscp_scp_amt", sa.BigInteger(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fee_details", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fee_details_key", ["mdtrt_id", "fixmedins_code", "feedetl_sn"], unique=True
        )
        batch_op.create_index("ix_fee_details_psn_time", ["psn_no", "fee_ocur_time"])
        batch_op.create_index("ix_fee_details_period_institution", ["fee_period", "fixmedins_code"])


def downgrade() -> None:
    with op.batch_alter_table("fee_details", schema=None) as batch_op:
        batch_op.drop_index("ix_fee_details_period_institution")
        batch_op.drop_index("ix_fee_details_psn_time")
        batch_op.drop_index("ix_fee_details_key")
    op.drop_table("fee_details")
