"""held settlements (待核实结算); certno as long as the platform's 50 characters

Revision ID: 0007
Revises: 0006

- held_settlements: rows an import held back for a person to decide, because a settlement
  with the same visit, institution, person, time and amounts is in the register under another
  setl_id (ledger.register.models.HeldSettlement);
- settlements.certno: VARCHAR(50), the platform's length (2207 setlinfo), was 40. PostgreSQL
  widens a VARCHAR without rewriting the table. SQLite does not enforce a declared length, so
  only the declaration changes, by SQLite's documented procedure for a change that leaves the
  stored content as it is (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
  Changes"): the table's CREATE statement in sqlite_schema, then a new schema version. A
  rebuild of the table would rewrite every settlement for nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "held_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("setl_id", sa.String(length=40), nullable=False),
        sa.Column("same_as_setl_id", sa.String(length=40), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=30), nullable=False),
        sa.Column("setl_time", sa.DateTime(), nullable=False),
        sa.Column("setl_period", sa.String(length=7), nullable=False),
        sa.Column("medfee_sumamt", sa.BigInteger(), nullable=False),
        sa.Column("hifp_pay", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("accepted_file_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["imported_files.id"]),
        sa.ForeignKeyConstraint(["accepted_file_id"], ["imported_files.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("setl_id"),
    )
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE settlements ALTER COLUMN certno TYPE VARCHAR(50)")
    else:
        _declare_sqlite_certno("VARCHAR(40)", "VARCHAR(50)")


def downgrade() -> None:
    op.drop_table("held_settlements")
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE settlements ALTER COLUMN certno TYPE VARCHAR(40)")
    else:
        _declare_sqlite_certno("VARCHAR(50)", "VARCHAR(40)")


def _declare_sqlite_certno(old: str, new: str) -> None:
    conn = op.get_bind()
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'settlements'"
    ).scalar_one()
    declared = f"certno {old}"
    if sql.count(declared) != 1:
        raise RuntimeError(f"settlements: expected one '{declared}' in {sql!r}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'settlements'",
            (sql.replace(declared, f"certno {new}"),),
        )
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"settlements: integrity check after the change: {problems}")
