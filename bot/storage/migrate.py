"""The database engine from ``DATABASE_URL`` and the schema's migrations (Alembic).

``upgrade(engine)`` runs at start-up (``SqlStorage.connect``) and by hand (``voterbot db upgrade``):
on PostgreSQL under a session-level advisory lock, so replicas starting together migrate once; on
SQLite inside ``BEGIN IMMEDIATE``. Both run every pending revision in one transaction (DDL is
transactional on both), so a failed upgrade leaves the database as it was.

A database made before Alembic (the old runner's ``schema_version`` table, versions 6 to
``LEGACY_LATEST``) is taken over by the first revision with every row kept. A database at a revision
this code does not know (made by a newer voterbot) is refused with :class:`SchemaError`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.config import ConfigError, DatabaseConfig

MIGRATION_LOCK = 0x766F746572626F74  # "voterbot": one process migrates at a time
POOL_SIZE = 10  # PostgreSQL connections per process
SCRIPTS = Path(__file__).with_name("alembic")
LEGACY_OLDEST = 6  # the last schema of the old migration runner that every deployment reached
LEGACY_LATEST = 6  # the newest schema_version the first revision takes over


class SchemaError(ConfigError):
    """The database's schema is one this code cannot use or upgrade (one line, exit 2)."""

    def __init__(self, problem: str) -> None:
        super().__init__("DATABASE_URL", problem)


def create_engine(database: DatabaseConfig) -> AsyncEngine:
    """``sqlite+aiosqlite`` (WAL) or ``postgresql+asyncpg`` from the DATABASE_URL settings."""
    if database.scheme == "sqlite":
        return _sqlite_engine(database.path)
    import asyncpg

    dsn = database.url
    # asyncpg parses the URL itself (as before: libpq-style options such as sslmode keep working).
    return create_async_engine(
        "postgresql+asyncpg://",
        async_creator=lambda: asyncpg.connect(dsn),
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_pre_ping=False,
    )


def _sqlite_engine(path: Path | None) -> AsyncEngine:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # One connection, as one writer at a time is SQLite's way: a transaction holds it until it ends,
    # so statements of other coroutines never land inside it. An in-memory database lives as long
    # as that one connection.
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}" if path is not None else "sqlite+aiosqlite://",
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        pool_recycle=-1,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN off: a single statement commits on its own, and a
        # transaction is an explicit BEGIN IMMEDIATE (see SqlStorage.transaction).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


def is_sqlite(connection: AsyncConnection | Connection | AsyncEngine) -> bool:
    return connection.dialect.name == "sqlite"


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction on one connection, committed at the end, rolled back on any error."""
    async with engine.connect() as connection:
        if is_sqlite(connection):
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            await connection.rollback()
            raise
        await connection.commit()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # Alembic's revision, None before the first upgrade
    legacy_version: int | None  # the old runner's schema_version, when it made the database
    head: str

    @property
    def current(self) -> bool:
        return self.revision == self.head

    def describe(self) -> str:
        if self.revision is not None:
            return f"{self.revision}{' (head)' if self.current else f' (head is {self.head})'}"
        if self.legacy_version is not None:
            return f"schema version {self.legacy_version} of the old migration runner (upgrade to {self.head} pending)"
        return f"empty (upgrade to {self.head} pending)"


def _state(connection: Connection) -> SchemaState:
    head = head_revision()
    tables = set(inspect(connection).get_table_names())
    revision = legacy = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision is None and "schema_version" in tables:
        legacy = int(connection.execute(text("SELECT COALESCE(MAX(version), 0) FROM schema_version")).scalar() or 0)
    return SchemaState(revision, legacy, head)


def _check(state: SchemaState) -> None:
    if state.revision is not None:
        scripts = ScriptDirectory.from_config(alembic_config())
        if state.revision not in {script.revision for script in scripts.walk_revisions()}:
            raise SchemaError(
                f"the database's schema (revision {state.revision}) is newer than this voterbot knows "
                f"(head {state.head}): run the newer voterbot, or restore a backup"
            )
    elif state.legacy_version is not None and not LEGACY_OLDEST <= state.legacy_version <= LEGACY_LATEST:
        if state.legacy_version > LEGACY_LATEST:
            raise SchemaError(
                f"the database's schema (version {state.legacy_version}) is newer than this voterbot knows: "
                "run the newer voterbot, or restore a backup"
            )
        raise SchemaError(
            f"the database's schema (version {state.legacy_version}) predates version {LEGACY_OLDEST}: "
            f"start a voterbot release with schema version {LEGACY_OLDEST} on it once, then this one"
        )


@asynccontextmanager
async def migrating(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction, alone: under the advisory lock on PostgreSQL."""
    async with engine.connect() as connection:
        postgres = not is_sqlite(connection)
        if postgres:
            await connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK)))
            await connection.commit()
        try:
            if not postgres:
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                await connection.rollback()
                raise
            await connection.commit()
        finally:
            if postgres:
                await connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK)))
                await connection.commit()


def _upgrade(connection: Connection, target: str) -> SchemaState:
    before = _state(connection)
    _check(before)
    if before.revision != before.head:
        command.upgrade(alembic_config(connection), target)
    return before


async def upgrade(engine: AsyncEngine, target: str = "head") -> tuple[SchemaState, SchemaState]:
    """Bring the database to ``target`` (all revisions by default); the state before and after."""
    async with migrating(engine) as connection:
        before = await connection.run_sync(_upgrade, target)
        after = await connection.run_sync(_state)
    return before, after


async def current(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as connection:
        return await connection.run_sync(_state)
