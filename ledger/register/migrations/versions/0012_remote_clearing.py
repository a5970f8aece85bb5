"""异地就医: batches cleared through a clearing agency, and the lines that pay them

Revision ID: 0012
Revises: 0011

- clearing_batches.clr_optins: the clearing agency (清算经办机构) a batch of an institution
  outside the books' region is paid through; NULL (every batch formed before) is paid to the
  institution itself.
- agency_payment_batches: the batches one ``agency-payment`` statement line paid (one line to
  the agency pays that part of all its batches of a period).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clearing_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clr_optins", sa.String(length=10), nullable=True))
    op.create_table(
        "agency_payment_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["bank_statement_lines.id"]),
        sa.ForeignKeyConstraint(["batch_id"], ["clearing_batches.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("line_id", "batch_id"),
    )
    with op.batch_alter_table("agency_payment_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agency_payment_batches_line_id"), ["line_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agency_payment_batches_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("agency_payment_batches")
    with op.batch_alter_table("clearing_batches", schema=None) as batch_op:
        batch_op.drop_column("clr_optins")
