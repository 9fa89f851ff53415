"""The embedded SQLite backend (aiosqlite, WAL)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.base import FeedbackCounts, UnansweredRow, UserCounts, UserRecord
from bot.storage.migrations import MIGRATIONS, Only
from bot.storage.sqlite_delivery import SqliteDeliveryMixin
from bot.storage.sqlite_desk import SqliteDeskMixin
from bot.storage.sqlite_events import SqliteEventsMixin
from bot.storage.sqlite_privacy import SqlitePrivacyMixin
from bot.storage.sqlite_reminders import SqliteRemindersMixin
from bot.storage.sqlite_stats import SqliteStatsMixin
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

TOUCH_INTERVAL = 60  # seconds
UNANSWERED_DAILY_CAP = 20  # unanswered questions stored per person in any 24 hours
USER_CACHE = 100_000


def normalize_question(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.casefold())).strip()[:300]


class SqliteStorage(
    SqliteDeliveryMixin,
    SqliteRemindersMixin,
    SqliteEventsMixin,
    SqlitePrivacyMixin,
    SqliteDeskMixin,
    SqliteStatsMixin,
):
    dialect = "sqlite"

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None
        self._users: dict[int, tuple[UserRecord, int]] = {}  # user -> (record, when last written)

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("storage is not connected")
        return self._db

    async def connect(self) -> None:
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(str(self._path) if self._path else ":memory:", isolation_level=None)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA busy_timeout=5000")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await self._migrate()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _migrate(self) -> None:
        db = self.db
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, name TEXT NOT NULL)")
        # every migration not applied yet, in order (not only those above the highest applied: branches
        # that add migrations at once, e.g. 7 and 8, may be merged in either order)
        async with db.execute("SELECT version FROM schema_version") as cursor:
            applied = {int(row[0]) for row in await cursor.fetchall()}
        for version, name, statements in MIGRATIONS:
            if version in applied:
                continue
            await db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    if isinstance(statement, Only):
                        if statement.dialect != self.dialect:
                            continue
                        statement = statement.sql
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", (version, name))
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise

    def _next_id(self, table: str) -> str:
        """SQL for a new ``id`` of ``table``: one writer at a time on SQLite, so MAX + 1 is safe."""
        return f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table})"

    async def schema_version(self) -> int:
        async with self.db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def ping(self) -> bool:
        async with self.db.execute("SELECT 1") as cursor:
            return await cursor.fetchone() is not None

    # users ------------------------------------------------------------------------------
    @staticmethod
    def _user(row: Any) -> UserRecord:
        return UserRecord(
            id=int(row[0]),
            language=row[1],
            telegram_language=row[2],
            first_seen=_dt(row[3]),
            last_seen=_dt(row[4]),
            blocked=bool(row[5]),
        )

    async def touch_user(self, user_id: int, telegram_language: str | None, now: datetime) -> UserRecord:
        # Every update touches its user; a user active a moment ago needs no new write (last_seen is
        # kept to within TOUCH_INTERVAL seconds). set_language/set_blocked keep the cache coherent.
        cached = self._users.get(user_id)
        if (
            cached is not None
            and not cached[0].blocked
            and telegram_language in (None, cached[0].telegram_language)
            and 0 <= _ts(now) - cached[1] < TOUCH_INTERVAL
        ):
            return replace(cached[0], last_seen=now)
        async with self.db.execute(
            """INSERT INTO users (id, telegram_language, first_seen, last_seen, blocked)
               VALUES (?, ?, ?, ?, 0)
               ON CONFLICT (id) DO UPDATE SET
                 telegram_language = COALESCE(excluded.telegram_language, users.telegram_language),
                 last_seen = excluded.last_seen, blocked = 0, blocked_at = NULL
               RETURNING id, language, telegram_language, first_seen, last_seen, blocked""",
            (user_id, telegram_language, _ts(now), _ts(now)),
        ) as cursor:
            row = await cursor.fetchone()
        record = self._user(row)
        if len(self._users) >= USER_CACHE:
            self._users.clear()
        self._users[user_id] = (record, _ts(now))
        return record

    async def get_user(self, user_id: int) -> UserRecord | None:
        async with self.db.execute(
            "SELECT id, language, telegram_language, first_seen, last_seen, blocked FROM users WHERE id = ?",
            (user_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return self._user(row) if row else None

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))
        cached = self._users.get(user_id)
        if cached is not None:
            self._users[user_id] = (replace(cached[0], language=language), cached[1])

    async def set_blocked(self, user_id: int, blocked: bool, now: datetime) -> None:
        self._users.pop(user_id, None)
        await self.db.execute(
            "UPDATE users SET blocked = ?, blocked_at = ? WHERE id = ?",
            (int(blocked), _ts(now) if blocked else None, user_id),
        )

    async def user_counts(self) -> UserCounts:
        async with self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN blocked = 0 THEN 1 ELSE 0 END), 0) FROM users"
        ) as cursor:
            row = await cursor.fetchone()
        total, active = (int(row[0]), int(row[1])) if row else (0, 0)
        async with self.db.execute(
            "SELECT COALESCE(language, telegram_language, '?'), COUNT(*) FROM users GROUP BY 1"
        ) as cursor:
            by_language = {str(lang): int(count) for lang, count in await cursor.fetchall()}
        return UserCounts(total=total, active=active, blocked=total - active, by_language=by_language)

    # questions --------------------------------------------------------------------------
    async def record_feedback(self, user_id: int, entry_id: str, helpful: bool, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO faq_feedback (user_id, entry_id, helpful, at) VALUES (?, ?, ?, ?)
               ON CONFLICT (user_id, entry_id) DO UPDATE SET helpful = excluded.helpful, at = excluded.at""",
            (user_id, entry_id, int(helpful), _ts(now)),
        )

    async def feedback_counts(self, entry_id: str) -> FeedbackCounts:
        async with self.db.execute(
            "SELECT COALESCE(SUM(helpful), 0), COUNT(*) FROM faq_feedback WHERE entry_id = ?", (entry_id,)
        ) as cursor:
            row = await cursor.fetchone()
        helpful, total = (int(row[0]), int(row[1])) if row else (0, 0)
        return FeedbackCounts(helpful=helpful, unhelpful=total - helpful)

    async def record_unanswered(
        self, user_id: int, language: str, text: str, now: datetime, *, daily_cap: int = UNANSWERED_DAILY_CAP
    ) -> bool:
        """Store a question the bot could not answer, unless this person already asked the same
        (normalized) question in the last 24 hours or stored ``daily_cap`` questions in them: one
        person repeating a line, or flooding, stores little. True when stored."""
        normalized = normalize_question(text)
        day_ago = _ts(now) - 86_400
        async with self.db.execute(
            f"""INSERT INTO unanswered (id, user_id, language, text, normalized, at)
               SELECT {self._next_id("unanswered")}, ?, ?, ?, ?, ?
               WHERE (SELECT COUNT(*) FROM unanswered WHERE user_id = ? AND at > ?) < ?
                 AND NOT EXISTS (SELECT 1 FROM unanswered WHERE user_id = ? AND at > ? AND normalized = ?)""",
            (
                user_id,
                language,
                text[:1000],
                normalized,
                _ts(now),
                user_id,
                day_ago,
                daily_cap,
                user_id,
                day_ago,
                normalized,
            ),
        ) as cursor:
            return cursor.rowcount > 0

    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredRow]:
        """The most asked unanswered questions since ``since``, counted in people (distinct users)."""
        async with self.db.execute(
            """SELECT MIN(text), COUNT(DISTINCT user_id), MAX(at) FROM unanswered WHERE at >= ?
               GROUP BY normalized ORDER BY COUNT(DISTINCT user_id) DESC, MAX(at) DESC LIMIT ?""",
            (_ts(since), limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [UnansweredRow(text=str(text), count=int(count), last_asked=_dt(at)) for text, count, at in rows]
