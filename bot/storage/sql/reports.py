"""What admins read: the audit log and the daily activity figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from bot.storage.base import AuditEntry, DailyActivity
from bot.storage.schema import audit_log, deliveries, subscriptions
from bot.storage.sql.core import SqlCore
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86_400


class ReportQueries(SqlCore):
    """The audit log and the daily activity figures."""

    # audit log -------------------------------------------------------------------------------
    async def audit(self, admin_id: int, action: str, details: str, now: datetime) -> None:
        await self._run(
            audit_log.insert().values(at=_ts(now), admin_id=admin_id, action=action, details=details[:2000])
        )

    async def audit_entries(self, limit: int) -> list[AuditEntry]:
        rows = await self._all(select(*audit_log.c).order_by(audit_log.c.id.desc()).limit(limit))
        return [AuditEntry(int(r.id), _dt(r.at), int(r.admin_id), str(r.action), str(r.details)) for r in rows]

    async def daily_activity(self, since: datetime, utc_offset: int) -> DailyActivity:
        """New subscriptions (still held) and messages delivered per local day from ``since`` on;
        ``utc_offset``: seconds east of UTC of the campaign's zone (days are local days)."""
        start = _ts(since)
        row = await self._one(select(func.count()).where(subscriptions.c.subscribed_at < start))
        per_day: list[dict[date, int]] = []
        for column, condition in (
            (subscriptions.c.subscribed_at, subscriptions.c.subscribed_at >= start),
            (deliveries.c.at, (deliveries.c.status == "sent") & (deliveries.c.at >= start)),
        ):
            day = ((column + utc_offset) // DAY_SECONDS).label("day")  # floor division: the local day
            rows = await self._all(select(day, func.count()).where(condition).group_by(day))
            per_day.append({EPOCH + timedelta(days=int(n)): int(count) for n, count in rows})
        before = int(row[0]) if row else 0
        return DailyActivity(subscribers_before=before, subscribed=per_day[0], delivered=per_day[1])
