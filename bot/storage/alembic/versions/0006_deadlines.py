"""deadlines: a broadcast's deadline; deliveries not sent by it are ``expired``

A broadcast may have a deadline (reminders take theirs from the timeline, an admin may set one on an
announcement): what is not sent by then is not sent, and its delivery rows are counted with the
status ``expired``. Rows of earlier versions keep a NULL deadline (no deadline). The index ranks
the broadcasts that are due (soonest deadline first).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("deadline", sa.BigInteger))
    op.create_index("broadcasts_deadline", "broadcasts", ["status", "deadline"])


def downgrade() -> None:
    op.drop_index("broadcasts_deadline", table_name="broadcasts")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("deadline")
