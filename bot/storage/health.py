"""The container health check (``voterbot health``): the database answers with its schema.

Not ``select 1``: a file that is not a database, a damaged or a foreign one, or a database whose
migrations were not applied must turn the check red. Read-only, so the check never creates or
changes anything."""

from __future__ import annotations

import asyncio
import sqlite3

from bot.config import DatabaseConfig
from bot.storage.errors import StorageError, connection_problem, sqlite_problem
from bot.storage.migrate import head_revision

QUERY = "SELECT version_num FROM alembic_version"  # Alembic's record of the schema's revision
TIMEOUT = 5.0


def _sqlite_version(database: DatabaseConfig) -> str:
    if database.path is None:
        raise StorageError("database :memory: has no file to check")
    if not database.path.is_file():
        raise StorageError(f"database {database.path}: no such file")
    try:
        with sqlite3.connect(f"file:{database.path}?mode=ro", uri=True, timeout=TIMEOUT) as db:
            row = db.execute(QUERY).fetchone()
    except sqlite3.Error as error:
        raise sqlite_problem(database.path, error) from None
    return str(row[0]) if row else "none"


async def _postgres_version(database: DatabaseConfig) -> str:
    import asyncpg

    try:
        connection = await asyncio.wait_for(asyncpg.connect(database.url, timeout=TIMEOUT), TIMEOUT * 2)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise connection_problem(database.describe(), error) from None
    try:
        return str(await connection.fetchval(QUERY) or "none")
    except asyncpg.PostgresError as error:
        raise StorageError(f"database {database.describe()}: {error}") from None
    finally:
        await connection.close()


def check_schema(database: DatabaseConfig) -> str:
    """One line saying the schema is current; raises :class:`StorageError` otherwise."""
    name = database.describe()
    version = _sqlite_version(database) if database.scheme == "sqlite" else asyncio.run(_postgres_version(database))
    if version != head_revision():
        raise StorageError(f"database {name}: schema revision {version}, expected {head_revision()}")
    return f"ok: database {name}, schema revision {version}"
