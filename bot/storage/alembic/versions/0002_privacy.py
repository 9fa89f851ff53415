"""privacy: per-person unanswered questions, erasure by user, admin command menus

The old migration runner's version 7 (issue 12). A database it already brought there keeps its
``admin_menus`` rows (on SQLite the table is rebuilt as declared: its primary key allowed NULL);
whatever is missing is created.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

INDEXES = [
    # /unanswered counts people and caps each person's rows a day; /forget deletes by user
    ("unanswered_user", "unanswered", ["user_id", "at"]),
    ("deliveries_user", "deliveries", ["user_id"]),
]


def _admin_menus(name: str) -> None:
    # chats whose command menu includes the admin commands: reset when an id leaves ADMIN_IDS
    op.create_table(
        name,
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("set_at", sa.BigInteger, nullable=False),
    )


def upgrade() -> None:
    bind = op.get_bind()
    if "admin_menus" not in sa.inspect(bind).get_table_names():
        _admin_menus("admin_menus")
    elif bind.dialect.name == "sqlite":
        _admin_menus("_new_admin_menus")
        op.execute("INSERT INTO _new_admin_menus (user_id, set_at) SELECT user_id, set_at FROM admin_menus")
        op.drop_table("admin_menus")
        op.rename_table("_new_admin_menus", "admin_menus")
    inspector = sa.inspect(bind)
    for index, table, columns in INDEXES:
        if index not in {existing["name"] for existing in inspector.get_indexes(table)}:
            op.create_index(index, table, columns)


def downgrade() -> None:
    for index, table, _columns in INDEXES:
        op.drop_index(index, table_name=table)
    op.drop_table("admin_menus")
