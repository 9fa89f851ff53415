"""Counts per day for the admins' chart (the SQLite backend's part; PostgreSQL runs the same SQL).
The only SQL of ``/stats``'s chart: two small GROUP BY queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import aiosqlite

from bot.storage.base import DailyActivity
from bot.storage.timestamps import to_ts

EPOCH = date(1970, 1, 1)
DAY = 86_400


class SqliteStatsMixin:
    @property
    def db(self) -> aiosqlite.Connection:  # provided by SqliteStorage
        raise NotImplementedError

    async def daily_activity(self, since: datetime, utc_offset: int) -> DailyActivity:
        """New subscriptions (still held) and messages delivered per local day from ``since`` on;
        ``utc_offset``: seconds east of UTC of the campaign's zone (days are local days)."""
        start = to_ts(since)
        async with self.db.execute("SELECT COUNT(*) FROM subscriptions WHERE subscribed_at < ?", (start,)) as cursor:
            row = await cursor.fetchone()
        before = int(row[0]) if row else 0
        per_day: list[dict[date, int]] = []
        for sql in (
            "SELECT (subscribed_at + ?) / 86400, COUNT(*) FROM subscriptions WHERE subscribed_at >= ? GROUP BY 1",
            "SELECT (at + ?) / 86400, COUNT(*) FROM deliveries WHERE status = 'sent' AND at >= ? GROUP BY 1",
        ):
            async with self.db.execute(sql, (utc_offset, start)) as cursor:
                rows = await cursor.fetchall()
            per_day.append({EPOCH + timedelta(days=int(day)): int(count) for day, count in rows})
        return DailyActivity(subscribers_before=before, subscribed=per_day[0], delivered=per_day[1])
