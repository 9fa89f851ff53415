"""residents who asked to be told when their question has an answer (issue 26)

``unanswered`` gains ``wants_answer`` (the resident pressed "🔔 Tell me when there is an answer"),
and ``answered_entry`` / ``answered_at`` (the entry they were sent, once). The rows keep the same
retention and erasure as before: deleted after ``UNANSWERED_RETENTION_DAYS`` and by /forget.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("unanswered", sa.Column("wants_answer", sa.Integer, nullable=False, server_default="0"))
    op.add_column("unanswered", sa.Column("answered_entry", sa.Text))
    op.add_column("unanswered", sa.Column("answered_at", sa.BigInteger))
    op.create_index("unanswered_waiting", "unanswered", ["wants_answer", "answered_at"])


def downgrade() -> None:
    op.drop_index("unanswered_waiting", "unanswered")
    with op.batch_alter_table("unanswered") as batch:
        batch.drop_column("answered_at")
        batch.drop_column("answered_entry")
        batch.drop_column("wants_answer")
