"""The base of the SQL storage: the database, the statement runners and the shared helpers.

Each method of the storage is a function of a SQLAlchemy ``Connection`` run by
``bot/storage/migrate.py``'s :class:`~bot.storage.migrate.Database` (SQLite in its own thread,
PostgreSQL through asyncpg); a method that writes more than one statement runs them in one
transaction (``run_sync(…, transaction=True)``: ``BEGIN IMMEDIATE`` on SQLite). Upserts use the
dialect's ``insert … on conflict`` (``_insert``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Executable, Row, and_, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.config import DatabaseConfig
from bot.storage import migrate
from bot.storage.base import UserRecord
from bot.storage.errors import sqlite_problem
from bot.storage.schema import subscriptions, users
from bot.storage.timestamps import to_ts as _ts

T = TypeVar("T")
_ACTIVE = and_(subscriptions.c.user_id == users.c.id, users.c.blocked == 0)


class SqlCore:
    """What every part of :class:`~bot.storage.sql.SqlStorage` builds on: the database, the
    dialect's insert, the statement runners and the user cache (SQLite only). Each part adds its
    prepared statements in ``_prepare`` (calling ``super()._prepare()`` first)."""

    def __init__(self, database: DatabaseConfig) -> None:
        self.database = database
        self._db: migrate.Database | None = None
        self._sqlite = database.scheme == "sqlite"
        self._users: dict[int, tuple[UserRecord, int]] = {}  # user -> (record, when last written); SQLite only
        self._prepare()

    async def connect(self) -> None:
        """Open the database, check it and bring its schema to the newest revision. Raises
        SchemaError for a schema this code cannot use, and StorageError, naming the database, for one
        it cannot open, read or write (not a database, damaged, read-only, a folder it cannot create,
        a server that does not answer)."""
        try:
            db = migrate.open_database(self.database)
        except OSError as error:
            raise sqlite_problem(self.database.path, error) from None
        try:
            await migrate.check(db)
            await migrate.upgrade(db)
            await migrate.check_writable(db)
        except BaseException as error:
            await db.dispose()
            problem = migrate.storage_problem(self.database, error)
            if problem is not None:
                raise problem from None
            raise
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.dispose()

    def _insert(self, table: Any) -> Any:
        """``INSERT`` with the dialect's ``ON CONFLICT`` clauses."""
        return sqlite_insert(table) if self._sqlite else pg_insert(table)

    async def run_sync(self, fn: Callable[[Connection], T], *, transaction: bool = False) -> T:
        """``fn(connection)`` on the database: each statement on its own, or (``transaction``) all of
        them committed together or not at all. The storage's methods are built on it (tools and
        tests may use it too)."""
        if self._db is None:
            raise RuntimeError("storage is not connected")
        return await self._db.run(fn, transaction=transaction)

    # A statement run often is built once, with bound parameters (``bindparam``), and executed with
    # their values: building it for each call costs several times the database's own work.
    async def _run(self, statement: Executable, params: dict[str, Any] | None = None) -> None:
        await self.run_sync(lambda connection: connection.execute(statement, params))

    async def _one(self, statement: Executable, params: dict[str, Any] | None = None) -> Row[Any] | None:
        return await self.run_sync(lambda connection: connection.execute(statement, params).first())

    async def _all(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        return await self.run_sync(lambda connection: connection.execute(statement, params).all())

    async def _count(self, statement: Executable, params: dict[str, Any] | None = None) -> int:
        """The number of rows an INSERT/UPDATE/DELETE changed."""
        return await self.run_sync(lambda connection: int(connection.execute(statement, params).rowcount))

    def _prepare(self) -> None:
        """The statements of the hot paths, built once (each part adds its own)."""

    async def schema_revision(self) -> str | None:
        if self._db is None:
            raise RuntimeError("storage is not connected")
        return (await migrate.current(self._db)).revision

    async def ping(self) -> bool:
        return await self._one(select(literal(1))) is not None

    # A statement shared by the parts: users (set_blocked) and deliveries (a blocked recipient).
    @staticmethod
    def _block(user_id: int, blocked: bool, now: datetime) -> Executable:
        return (
            update(users)
            .where(users.c.id == user_id)
            .values(blocked=int(blocked), blocked_at=_ts(now) if blocked else None)
        )
