"""Alembic's environment: migrations run on the connection ``bot.storage.migrate`` hands over (start-up,
``voterbot db upgrade``), or, from the ``alembic`` command line (``alembic revision --autogenerate``,
``alembic upgrade head``), on the database of ``DATABASE_URL`` under the same lock."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, func, select

from bot.storage.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite means copy and move
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _from_settings() -> None:
    from bot.config import load_settings
    from bot.storage.migrate import MIGRATION_LOCK, open_database

    def locked(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        run_migrations(connection)

    async def main() -> None:
        database = open_database(load_settings().database)
        try:
            await database.run(locked, transaction=True)
        finally:
            await database.dispose()

    asyncio.run(main())


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them on a database")
given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    _from_settings()
