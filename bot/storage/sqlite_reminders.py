"""Reminder preferences (the SQLite backend's part for reminders)."""

from __future__ import annotations

from datetime import date, time

import aiosqlite

from bot.storage.base import ReminderPrefs


class SqliteRemindersMixin:
    @property
    def db(self) -> aiosqlite.Connection:  # provided by SqliteStorage
        raise NotImplementedError

    async def reminder_prefs(self, user_id: int) -> ReminderPrefs:
        async with self.db.execute(
            "SELECT mode, vote_time, voted_on FROM reminder_prefs WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return ReminderPrefs(user_id=user_id)
        return ReminderPrefs(
            user_id=user_id,
            mode=str(row[0]),
            vote_time=time.fromisoformat(row[1]) if row[1] else None,
            voted_on=date.fromisoformat(row[2]) if row[2] else None,
        )

    async def _upsert_pref(self, user_id: int, column: str, value: str | None) -> None:
        assert column in ("mode", "vote_time", "voted_on")
        await self.db.execute(
            f"""INSERT INTO reminder_prefs (user_id, {column}) VALUES (?, ?)
                ON CONFLICT (user_id) DO UPDATE SET {column} = excluded.{column}""",
            (user_id, value),
        )

    async def set_reminder_mode(self, user_id: int, mode: str) -> None:
        await self._upsert_pref(user_id, "mode", mode)

    async def set_vote_time(self, user_id: int, vote_time: time | None) -> None:
        await self._upsert_pref(user_id, "vote_time", vote_time.strftime("%H:%M") if vote_time else None)

    async def mark_voted(self, user_id: int, day: date) -> None:
        await self._upsert_pref(user_id, "voted_on", day.isoformat())

    async def vote_time_subscribers(self) -> list[ReminderPrefs]:
        """Subscribers (not blocked, reminders not off) who set the time they plan to vote."""
        async with self.db.execute(
            """SELECT p.user_id, p.mode, p.vote_time, p.voted_on FROM reminder_prefs p
               JOIN subscriptions s ON s.user_id = p.user_id JOIN users u ON u.id = p.user_id
               WHERE p.vote_time IS NOT NULL AND p.mode <> 'none' AND u.blocked = 0"""
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            ReminderPrefs(
                user_id=int(r[0]),
                mode=str(r[1]),
                vote_time=time.fromisoformat(r[2]),
                voted_on=date.fromisoformat(r[3]) if r[3] else None,
            )
            for r in rows
        ]
