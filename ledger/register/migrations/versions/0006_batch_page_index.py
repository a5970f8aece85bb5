"""the batch-key index carries setl_id and file_id: a batch's page read from the index alone

Revision ID: 0006
Revises: 0005

The batch page (reports.drilldown) lists a batch's members, the rows of its key with file_id
up to its watermark, ordered by setl_id. With (setl_period, fixmedins_code, clr_type) alone
every member row was read and sorted for each page (about 40 ms for a batch of 15,000); with
setl_id and file_id in the index the page's rows are found in the index, in order (about 5 ms).
The new index serves every lookup the old one served: it starts with the same columns.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("ix_settlements_period_batch_key", ["setl_period", "fixmedins_code", "clr_type"])
NEW = ("ix_settlements_batch_page", [*OLD[1], "setl_id", "file_id"])


def upgrade() -> None:
    # created first: lookups by batch key keep an index throughout
    op.create_index(NEW[0], "settlements", NEW[1])
    op.drop_index(OLD[0], table_name="settlements")


def downgrade() -> None:
    op.create_index(OLD[0], "settlements", OLD[1])
    op.drop_index(NEW[0], table_name="settlements")
