"""family bindings (家庭共济绑定, Anshan art. 13): whose personal account may pay for whom

Revision ID: 0013
Revises: 0012

- family_bindings: one row per binding (ledger.register.models.FamilyBinding): the holder
  (账户持有人) whose personal account pays, the user (使用人) it pays for, the user's relation
  to the holder, the dates it is in force (enddate inclusive, NULL = open), and the file and
  line it came from. Books made before have none: `mzledger import family-bindings` fills it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "family_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder_psn_no", sa.String(length=40), nullable=False),
        sa.Column("user_psn_no", sa.String(length=40), nullable=False),
        sa.Column("relation", sa.String(length=10), nullable=False),
        sa.Column("begndate", sa.Date(), nullable=False),
        sa.Column("enddate", sa.Date(), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("family_bindings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_family_bindings_key",
            ["user_psn_no", "holder_psn_no", "relation", "begndate", "enddate"],
            unique=True,
        )
        batch_op.create_index("ix_family_bindings_holder", ["holder_psn_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("family_bindings", schema=None) as batch_op:
        batch_op.drop_index("ix_family_bindings_holder")
        batch_op.drop_index("ix_family_bindings_key")
    op.drop_table("family_bindings")
