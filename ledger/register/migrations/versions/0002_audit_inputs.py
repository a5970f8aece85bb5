"""audit inputs: person records, emergency flag and prescription columns

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("record", sa.String(length=30), nullable=False),
        sa.Column("begndate", sa.Date(), nullable=False),
        sa.Column("enddate", sa.Date(), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_person_records_key", ["psn_no", "record", "begndate", "enddate"], unique=True
        )
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency_flag", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("rx_no", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("rx_institution", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("rx_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("drug_code", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settlements", schema=None) as batch_op:
        batch_op.drop_column("drug_code")
        batch_op.drop_column("rx_date")
        batch_op.drop_column("rx_institution")
        batch_op.drop_column("rx_no")
        batch_op.drop_column("emergency_flag")
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("listed")
    with op.batch_alter_table("person_records", schema=None) as batch_op:
        batch_op.drop_index("ix_person_records_key")
    op.drop_table("person_records")
