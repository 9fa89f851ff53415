"""The database of ``DATABASE_URL`` (SQLAlchemy engines) and the schema's migrations (Alembic).

:class:`Database` runs a function of a SQLAlchemy ``Connection`` — Core statements — on the
database, alone or in one transaction:

- SQLite (the embedded default, WAL): SQLAlchemy's ``sqlite`` dialect in one dedicated thread, which
  serializes every operation (SQLite has one writer at a time) and runs a whole operation in one hop
  from the event loop. (``sqlite+aiosqlite`` was measured first: it hops to aiosqlite's thread 4–6
  times per statement, which on the shared 2-core machine halved ``feed_update``'s updates/s; see
  bench/RESULTS.md.) The driver is in autocommit mode: a statement alone commits on its own, a
  transaction is ``BEGIN IMMEDIATE`` … ``COMMIT``.
- PostgreSQL: ``postgresql+asyncpg`` (a pool of 10 connections per process); the function runs on
  an async connection through ``run_sync``; a statement alone in autocommit mode.

``upgrade(database)`` runs at start-up (``SqlStorage.connect``) and by hand (``voterbot db upgrade``),
every pending revision in one transaction (DDL is transactional on both): on PostgreSQL that
transaction first takes an advisory lock (``pg_advisory_xact_lock``, released by its end), so
replicas starting together migrate once; on SQLite ``BEGIN IMMEDIATE`` does the same.

A database made before Alembic (the old runner's ``schema_version`` table, versions 6 to
``LEGACY_LATEST``) is taken over by the first revision with every row kept. A database at a revision
this code does not know (made by a newer voterbot) is refused with :class:`SchemaError`.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool

from bot.config import ConfigError, DatabaseConfig
from bot.storage.errors import StorageError, connection_problem, sqlite_problem

MIGRATION_LOCK = 0x766F746572626F74  # "voterbot": one process migrates at a time
POOL_SIZE = 10  # PostgreSQL connections per process
CONNECT_TIMEOUT = 10  # seconds per PostgreSQL connection attempt: an unreachable server is a clear exit
SCRIPTS = Path(__file__).with_name("alembic")
LEGACY_OLDEST = 6  # the last schema of the old migration runner that every deployment reached
LEGACY_LATEST = 8  # the newest schema_version the revisions take over (7: privacy, 8: desk)

T = TypeVar("T")


class SchemaError(ConfigError):
    """The database's schema is one this code cannot use or upgrade (one line, exit 2)."""

    def __init__(self, problem: str) -> None:
        super().__init__("DATABASE_URL", problem)


class Database(Protocol):
    dialect: str  # "sqlite" or "postgresql"

    async def run(self, fn: Callable[[Connection], T], *, transaction: bool = False) -> T:
        """``fn(connection)``: its statements each on their own, or all in one transaction."""
        ...

    async def dispose(self) -> None: ...


def open_database(database: DatabaseConfig) -> Database:
    if database.scheme == "sqlite":
        return SqliteDatabase(database.path)
    return PostgresDatabase(database.url)


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, used only by the one thread (an in-memory database lives as long as it).
        self.engine = sa.create_engine(
            f"sqlite:///{path}" if path is not None else "sqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            isolation_level="AUTOCOMMIT",
            skip_autocommit_rollback=True,
        )
        event.listen(self.engine, "connect", self._on_connect)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._connection: Connection | None = None  # used in that thread only

    @staticmethod
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    def _call(self, fn: Callable[[Connection], T], transaction: bool) -> T:
        # In the thread: its one Connection, opened once and kept (autocommit: nothing to reset
        # between two operations).
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        connection = self._connection
        try:
            if not transaction:
                return fn(connection)
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                result = fn(connection)
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
            return result
        except BaseException:
            connection.rollback()  # SQLAlchemy's state only (the driver is in autocommit mode)
            raise

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()

    async def run(self, fn: Callable[[Connection], T], *, transaction: bool = False) -> T:
        # Once started, an operation runs to its end in the thread even if its caller is cancelled.
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._call, fn, transaction)

    async def dispose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import asyncpg

        # asyncpg parses the URL itself, as before: libpq-style options such as sslmode keep working.
        self.engine = create_async_engine(
            "postgresql+asyncpg://",
            async_creator=lambda: asyncpg.connect(url, timeout=CONNECT_TIMEOUT),
            pool_size=POOL_SIZE,
            max_overflow=0,
        )
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def run(self, fn: Callable[[Connection], T], *, transaction: bool = False) -> T:
        if transaction:
            async with self.engine.begin() as connection:
                return await connection.run_sync(fn)
        async with self._autocommit.connect() as connection:
            return await connection.run_sync(fn)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def check(database: Database) -> None:
    """Fail at start-up, not at the first resident's message: the server answers (PostgreSQL); the
    file is an undamaged database (SQLite: ``quick_check`` reads every page once, about 0.2 s for
    65 MB)."""

    def quick_check(connection: Connection) -> None:
        result = str(connection.exec_driver_sql("PRAGMA quick_check(1)").scalar() or "no answer")
        if result != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {result.splitlines()[-1][:200]}")

    if database.dialect == "sqlite":
        await database.run(quick_check)
    else:
        await asyncio.wait_for(
            database.run(lambda connection: connection.exec_driver_sql("SELECT 1")), 2 * CONNECT_TIMEOUT
        )


async def check_writable(database: Database) -> None:
    """A read-only SQLite file opens and reads fine: try a write, and roll it back."""

    def probe(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            connection.exec_driver_sql("CREATE TABLE voterbot_write_probe (x INTEGER)")
        finally:
            connection.exec_driver_sql("ROLLBACK")

    if database.dialect == "sqlite":
        await database.run(probe)


def storage_problem(database: DatabaseConfig, error: BaseException) -> StorageError | None:
    """The one line for a database that cannot be used, or None for anything else (a SchemaError
    says its own line; a bug keeps its traceback)."""
    if isinstance(error, SchemaError):
        return None
    cause: BaseException = error.orig if isinstance(error, sa.exc.DBAPIError) and error.orig else error
    if database.scheme == "sqlite":
        if isinstance(cause, sqlite3.Error | OSError):
            return sqlite_problem(database.path, cause)
        return None
    import asyncpg

    if isinstance(cause, OSError | TimeoutError | asyncpg.PostgresError | asyncpg.InterfaceError):
        return connection_problem(database.describe(), cause)
    return None


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


def _upgrade(connection: Connection, target: str) -> tuple[SchemaState, SchemaState]:
    """In the migration's transaction: checks, then every pending revision (alone: under the lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    before = _state(connection)
    _check(before)
    if before.revision != before.head:
        command.upgrade(alembic_config(connection), target)
    return before, _state(connection)


async def upgrade(database: Database, target: str = "head") -> tuple[SchemaState, SchemaState]:
    """Bring the database to ``target`` (all revisions by default); the state before and after."""
    return await database.run(functools.partial(_upgrade, target=target), transaction=True)


async def current(database: Database) -> SchemaState:
    return await database.run(_state)
