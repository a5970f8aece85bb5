"""the platform's 3201 totals, kept for the close

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("insutype", sa.String(length=6), nullable=False),
        sa.Column("clr_type", sa.String(length=10), nullable=False),
        sa.Column("clr_optins", sa.String(length=10), nullable=False),
        sa.Column("medfee_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("fund_pay_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("acct_pay", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("platform_totals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_platform_totals_key",
            ["period", "insutype", "clr_type", "clr_optins"],
            unique=True,
        )


def downgrade() -> None:
    op.drop_table("platform_totals")
