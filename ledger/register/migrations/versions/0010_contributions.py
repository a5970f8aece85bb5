"""contributions (征缴明细): a month's collection, person by person

Revision ID: 0010
Revises: 0009

- contributions: one row per insured person and month (ledger.register.models.ContributionRow),
  money in fen; one row per person and month in the register (a second is refused at import).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("psn_type", sa.String(length=6), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("employer", sa.BigInteger(), nullable=False),
        sa.Column("employee", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "psn_no"),
    )


def downgrade() -> None:
    op.drop_table("contributions")
