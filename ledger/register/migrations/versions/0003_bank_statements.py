"""bank statements and their lines

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("opening_balance", sa.BigInteger(), nullable=True),
        sa.Column("closing_balance", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_id"),
    )
    op.create_table(
        "bank_statement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=True),
        sa.Column("counterparty", sa.String(length=200), nullable=False),
        sa.Column("counterparty_account", sa.String(length=60), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["clearing_batches.id"]),
        sa.ForeignKeyConstraint(["statement_id"], ["bank_statements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bank_statement_lines", schema=None) as batch_op:
        batch_op.create_index("ix_statement_lines_account_date", ["account", "date"])
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bank_statement_lines_statement_id"), ["statement_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("bank_statement_lines")
    op.drop_table("bank_statements")
