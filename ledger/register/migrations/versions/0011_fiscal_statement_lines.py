"""the fiscal special account's statement lines: what each was matched to, what it was booked to

Revision ID: 0011
Revises: 0010

- bank_statement_lines.matched_line_id: a line whose transfer between the fiscal special account
  (1003) and a disbursement account (1004) was booked from the other account's statement line,
  this one (each transfer booked once, whichever statement came first).
- bank_statement_lines.matched_file_id: a contribution receipt on the fiscal special account's
  statement, matched to the collection file `import contributions` booked it from.
- bank_line_legs: the legs a fiscal special account's line was booked against, as decided at
  its import (the sub-fund of a recovery or a transfer, interest split between the sub-funds),
  money in fen (ledger.register.models.BankLineLeg).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bank_statement_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matched_line_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("matched_file_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_statement_lines_matched_line", "bank_statement_lines", ["matched_line_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_statement_lines_matched_file", "imported_files", ["matched_file_id"], ["id"]
        )
    op.create_table(
        "bank_line_legs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["bank_statement_lines.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bank_line_legs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_line_legs_line_id"), ["line_id"], unique=False)


def downgrade() -> None:
    op.drop_table("bank_line_legs")
    with op.batch_alter_table("bank_statement_lines", schema=None) as batch_op:
        batch_op.drop_constraint("fk_statement_lines_matched_file", type_="foreignkey")
        batch_op.drop_constraint("fk_statement_lines_matched_line", type_="foreignkey")
        batch_op.drop_column("matched_file_id")
        batch_op.drop_column("matched_line_id")
