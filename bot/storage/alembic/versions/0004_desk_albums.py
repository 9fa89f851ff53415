"""operators' desk: albums kept internal

An operator's album (photos sent together, one ``media_group_id``) with any item whose caption starts
with ``//`` stays in the operators' topic as a whole (issue 22): its group is recorded here, so every
replica handling one of its items knows. Rows older than the retention period are deleted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if "desk_albums" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "desk_albums",
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("media_group_id", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "media_group_id"),
    )


def downgrade() -> None:
    op.drop_table("desk_albums")
