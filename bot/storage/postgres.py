"""The PostgreSQL backend (asyncpg): the SQLite backend's SQL, run through a small adapter.

The SQLite mixins talk to ``self.db`` only through ``execute(sql, params)``, awaited or used as an
async context manager yielding a cursor (``fetchone``, ``fetchall``, ``rowcount``). :class:`PgConnection`
offers exactly that over an asyncpg pool (each statement on its own, autocommitted, like the SQLite
connection in autocommit mode) or over one connection (the migration runner's transactions):

- ``?`` placeholders become ``$1..$n`` (never inside string literals, quoted names or comments);
  integer and float parameters get an explicit ``::bigint`` / ``::float8`` cast, because asyncpg
  is strict about types and PostgreSQL cannot infer one for a parameter in a select list
  (``INSERT … SELECT ?, …``); booleans are sent as integers (the schema stores them as INTEGER);
- ``BEGIN IMMEDIATE`` becomes ``BEGIN``; ``PRAGMA`` statements are skipped;
- in ``CREATE TABLE`` / ``ALTER TABLE``, ``REAL`` becomes ``DOUBLE PRECISION``: SQLite's REAL is an
  8-byte float, PostgreSQL's a 4-byte one, so this keeps the migrations' meaning.

New ids come from a sequence per table (``nextval('<table>_id_seq')``, migration 6), so replicas
inserting into the same table at once never collide; SQLite, with one writer at a time, keeps
``MAX(id) + 1``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Generator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, cast

import aiosqlite
import asyncpg

from bot.config import DatabaseConfig
from bot.storage.base import UserRecord
from bot.storage.errors import connection_problem
from bot.storage.sqlite import SqliteStorage

MIGRATION_LOCK = 0x766F746572626F74  # "voterbot": one process migrates at a time
POOL_SIZE = 10
CONNECT_TIMEOUT = 10  # seconds, per connection attempt: an unreachable server is a clear exit

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?")
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*")
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_REAL = re.compile(r"\bREAL\b", re.IGNORECASE)
_DDL = re.compile(r"^\s*(CREATE|ALTER)\s+TABLE\b", re.IGNORECASE)
_ROW_STATEMENTS = ("SELECT", "WITH", "VALUES", "SHOW")
_TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE")


def _cast(value: Any) -> str:
    if isinstance(value, int):
        return "::bigint"
    if isinstance(value, float):
        return "::float8"
    return ""


def translate(sql: str, params: Sequence[Any] = ()) -> tuple[str, list[Any]]:
    """SQLite-style SQL and parameters → PostgreSQL SQL with ``$n`` placeholders and asyncpg arguments."""
    args = [int(p) if isinstance(p, bool) else p for p in params]
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if token != "?":
            return token
        count += 1
        if count > len(args):
            raise ValueError(f"more placeholders than the {len(args)} parameter(s) given: {sql!r}")
        return f"${count}{_cast(args[count - 1])}"

    translated = _TOKENS.sub(replace, sql)
    if count != len(args):
        raise ValueError(f"{count} placeholder(s) but {len(args)} parameter(s): {sql!r}")
    if _DDL.match(translated):
        translated = _outside_literals(translated, lambda part: _REAL.sub("DOUBLE PRECISION", part))
    return translated, args


def _outside_literals(sql: str, change: Any) -> str:
    out: list[str] = []
    position = 0
    for match in _LITERALS.finditer(sql):
        out.append(change(sql[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(change(sql[position:]))
    return "".join(out)


def _rowcount(status: str) -> int:
    """``UPDATE 3`` / ``INSERT 0 1`` / ``DELETE 0`` → the number of rows; -1 when the status has none."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgCursor:
    """The rows of one statement, read like an aiosqlite cursor."""

    def __init__(self, rows: Sequence[Any], rowcount: int) -> None:
        self._rows = list(rows)
        self._next = 0
        self.rowcount = rowcount

    async def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Any]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    async def close(self) -> None:
        return None


class _Call:
    """``execute``'s result: awaitable (→ cursor) and an async context manager (→ cursor)."""

    def __init__(self, connection: PgConnection, sql: str, params: Sequence[Any]) -> None:
        self._connection = connection
        self._sql = sql
        self._params = params

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._connection._run(self._sql, self._params).__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._connection._run(self._sql, self._params)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class PgConnection:
    """The part of ``aiosqlite.Connection`` the storage uses, over an asyncpg pool or one connection."""

    def __init__(self, executor: Any, *, dedicated: bool = False) -> None:
        self._executor = executor  # asyncpg.Pool (each call takes a connection) or asyncpg.Connection
        self._dedicated = dedicated

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Call:
        return _Call(self, sql, params)

    async def _run(self, sql: str, params: Sequence[Any]) -> PgCursor:
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head == "PRAGMA":
            return PgCursor([], -1)
        if head in _TRANSACTION:
            if not self._dedicated:
                raise RuntimeError("transactions need a dedicated connection, not the pool")
            sql = "BEGIN" if head == "BEGIN" else sql
        query, args = translate(sql, params)
        if head in _ROW_STATEMENTS or _RETURNING.search(_strip(query)):
            rows = await self._executor.fetch(query, *args)
            return PgCursor(rows, len(rows))
        status = await self._executor.execute(query, *args)
        return PgCursor([], _rowcount(str(status)))


def _strip(sql: str) -> str:
    """The SQL without its string literals, quoted names and comments."""
    return _LITERALS.sub(" ", sql)


class PostgresStorage(SqliteStorage):
    """The SQLite backend's queries and migrations on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        super().__init__(None)
        self._url = url
        self._pool_size = pool_size
        self._pool: Any = None  # asyncpg.Pool
        self._conn: PgConnection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("storage is not connected")
        return cast(aiosqlite.Connection, self._conn)  # the subset of it the storage uses (see PgConnection)

    async def connect(self) -> None:
        try:
            self._pool = await asyncio.wait_for(
                asyncpg.create_pool(self._url, min_size=1, max_size=self._pool_size, timeout=CONNECT_TIMEOUT),
                CONNECT_TIMEOUT * 2,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise connection_problem(DatabaseConfig("postgresql", self._url).describe(), error) from None
        try:
            async with self._pool.acquire() as connection:
                # One dedicated connection, in real transactions, under an advisory lock: replicas
                # starting together migrate once.
                self._conn = PgConnection(connection, dedicated=True)
                await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                try:
                    await self._migrate()
                finally:
                    await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
            self._conn = PgConnection(self._pool)
        except BaseException:
            self._conn = None
            await self._pool.close()
            self._pool = None
            raise

    async def close(self) -> None:
        self._conn = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _next_id(self, table: str) -> str:
        return f"nextval('{table}_id_seq')"

    async def touch_user(self, user_id: int, telegram_language: str | None, now: datetime) -> UserRecord:
        # Other replicas may change the user (language, blocked) at any time: no process-local cache.
        self._users.pop(user_id, None)
        record = await super().touch_user(user_id, telegram_language, now)
        self._users.pop(user_id, None)
        return record
