"""SQL of subscriptions, broadcasts, deliveries and the audit log (SQLite; mixed into SqliteStorage).

The storage shares one connection between the handlers and the delivery engine, so an explicit
transaction could swallow (or be broken by) another coroutine's statements. Every write here is
therefore a single statement, atomic on its own, and multi-step changes are ordered so that a
crash between two steps leaves a state the engine resumes from correctly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.base import (
    Audience,
    AuditEntry,
    BroadcastMessage,
    BroadcastRecord,
    DeliveryCounts,
    DeliveryResult,
    SubscriberCounts,
    Subscription,
)
from bot.storage.timestamps import from_opt_ts as _opt_dt
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

_BROADCAST_COLUMNS = """id, idempotency_key, status, kind, text, from_chat_id, message_id, audience_kind,
    audience_value, created_by, created_at, start_at, started_at, finished_at, progress_chat_id,
    progress_message_id, reply_markup"""

# The audience of a broadcast: active (not blocked) subscribers, filtered by language or district.
_AUDIENCE_FROM = "FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE u.blocked = 0"
_AUDIENCE_FILTER = {
    "all": "",
    "language": " AND COALESCE(u.language, s.language) = ?",
    "district": " AND s.district = ?",
}


# Reminders: value "<lang>:<scope>:<voting day>"; scope countdown/after reach subscribers who want
# all reminders, voting_day also those who want only voting-day ones, minus who said "I voted".
_REMINDER_FILTER = (
    " AND COALESCE(u.language, s.language) = ?"
    " AND COALESCE((SELECT p.mode FROM reminder_prefs p WHERE p.user_id = s.user_id), 'all') IN ({modes})"
    " AND NOT EXISTS (SELECT 1 FROM reminder_prefs p WHERE p.user_id = s.user_id AND p.voted_on = ?)"
)
_REMINDER_MODES = {"countdown": "'all'", "after": "'all'", "voting_day": "'all', 'voting_day'"}


def _audience_sql(audience: Audience) -> tuple[str, tuple[Any, ...]]:
    if audience.kind == "user":  # one subscriber: personal reminders
        return _AUDIENCE_FROM + " AND s.user_id = ?", (int(audience.value or 0),)
    if audience.kind == "reminder":
        lang, scope, day = (audience.value or "::").split(":")
        if scope not in _REMINDER_MODES:
            raise ValueError(f"unknown reminder scope {scope!r}")
        voted_on = day if scope == "voting_day" else ""
        return _AUDIENCE_FROM + _REMINDER_FILTER.format(modes=_REMINDER_MODES[scope]), (lang, voted_on)
    if audience.kind not in _AUDIENCE_FILTER:
        raise ValueError(f"unknown audience {audience.kind!r}")
    params: tuple[Any, ...] = () if audience.kind == "all" else (audience.value,)
    return _AUDIENCE_FROM + _AUDIENCE_FILTER[audience.kind], params


def _broadcast(row: Any) -> BroadcastRecord:
    return BroadcastRecord(
        id=int(row[0]),
        key=row[1],
        status=str(row[2]),
        message=BroadcastMessage(
            kind=str(row[3]), text=row[4], from_chat_id=row[5], message_id=row[6], reply_markup=row[16]
        ),
        audience=Audience(kind=str(row[7]), value=row[8]),
        created_by=row[9],
        created_at=_dt(row[10]),
        start_at=_dt(row[11]),
        started_at=_opt_dt(row[12]),
        finished_at=_opt_dt(row[13]),
        progress_chat_id=row[14],
        progress_message_id=row[15],
    )


class SqliteDeliveryMixin:
    @property
    def db(self) -> aiosqlite.Connection:  # provided by SqliteStorage
        raise NotImplementedError

    async def set_blocked(self, user_id: int, blocked: bool, now: datetime) -> None:  # provided by SqliteStorage
        raise NotImplementedError

    def _next_id(self, table: str) -> str:  # provided by SqliteStorage (and PostgresStorage)
        raise NotImplementedError

    async def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        async with self.db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    # subscriptions ----------------------------------------------------------------------------
    @staticmethod
    def _subscription(row: Any) -> Subscription:
        return Subscription(user_id=int(row[0]), language=str(row[1]), district=row[2], subscribed_at=_dt(row[3]))

    async def subscribe(self, user_id: int, language: str, now: datetime) -> Subscription:
        async with self.db.execute(
            """INSERT INTO subscriptions (user_id, language, subscribed_at) VALUES (?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET language = excluded.language
               RETURNING user_id, language, district, subscribed_at""",
            (user_id, language, _ts(now)),
        ) as cursor:
            row = await cursor.fetchone()
        return self._subscription(row)

    async def unsubscribe(self, user_id: int) -> bool:
        async with self.db.execute("DELETE FROM subscriptions WHERE user_id = ?", (user_id,)) as cursor:
            return cursor.rowcount > 0

    async def get_subscription(self, user_id: int) -> Subscription | None:
        row = await self._one(
            "SELECT user_id, language, district, subscribed_at FROM subscriptions WHERE user_id = ?", (user_id,)
        )
        return self._subscription(row) if row else None

    async def set_district(self, user_id: int, district: str | None) -> None:
        await self.db.execute("UPDATE subscriptions SET district = ? WHERE user_id = ?", (district, user_id))

    async def subscriber_counts(self) -> SubscriberCounts:
        async with self.db.execute(
            "SELECT COALESCE(u.language, s.language), COUNT(*) " + _AUDIENCE_FROM + " GROUP BY 1"
        ) as cursor:
            by_language = {str(lang): int(n) for lang, n in await cursor.fetchall()}
        async with self.db.execute("SELECT COALESCE(s.district, ''), COUNT(*) " + _AUDIENCE_FROM + " GROUP BY 1") as c:
            by_district = {str(district): int(n) for district, n in await c.fetchall()}
        return SubscriberCounts(total=sum(by_language.values()), by_language=by_language, by_district=by_district)

    async def audience_size(self, audience: Audience) -> int:
        sql, params = _audience_sql(audience)
        row = await self._one("SELECT COUNT(*) " + sql, params)
        return int(row[0]) if row else 0

    # broadcasts ------------------------------------------------------------------------------
    async def create_broadcast(
        self,
        message: BroadcastMessage,
        audience: Audience,
        *,
        created_by: int | None,
        now: datetime,
        start_at: datetime,
        key: str | None = None,
        progress: tuple[int, int] | None = None,
    ) -> tuple[BroadcastRecord, bool]:
        """A new scheduled broadcast, or (with ``key``) the existing one with that key."""
        _audience_sql(audience)  # validates
        async with self.db.execute(
            f"""INSERT INTO broadcasts (id, idempotency_key, status, kind, text, from_chat_id, message_id,
                 audience_kind, audience_value, created_by, created_at, start_at, progress_chat_id,
                 progress_message_id, reply_markup)
               VALUES ({self._next_id("broadcasts")}, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?,
                 ?, ?, ?, ?, ?)
               ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING {_BROADCAST_COLUMNS}""",
            (
                key,
                message.kind,
                message.text,
                message.from_chat_id,
                message.message_id,
                audience.kind,
                audience.value,
                created_by,
                _ts(now),
                _ts(start_at),
                progress[0] if progress else None,
                progress[1] if progress else None,
                message.reply_markup,
            ),
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return _broadcast(row), True
        assert key is not None  # only a key can conflict
        existing = await self.get_broadcast_by_key(key)
        if existing is None:
            raise RuntimeError(f"broadcast with key {key!r} vanished")
        return existing, False

    async def start_broadcast(self, broadcast_id: int, now: datetime) -> int:
        """Scheduled → running: one pending delivery row per recipient, in the same transaction.
        Returns the number of recipients (0 when the broadcast was not scheduled)."""
        record = await self.get_broadcast(broadcast_id)
        if record is None or record.status != "scheduled":
            return 0
        sql, params = _audience_sql(record.audience)
        # Rows first, then the status: if the process dies in between, the broadcast is still
        # scheduled and due, and this runs again (ON CONFLICT keeps it idempotent).
        async with self.db.execute(
            "INSERT INTO deliveries (broadcast_id, user_id, status) SELECT ?, s.user_id, 'pending' "
            + sql
            + " ON CONFLICT (broadcast_id, user_id) DO NOTHING",
            (broadcast_id, *params),
        ):
            pass
        await self.db.execute(
            "UPDATE broadcasts SET status = 'running', started_at = ? WHERE id = ? AND status = 'scheduled'",
            (_ts(now), broadcast_id),
        )
        return (await self.delivery_counts(broadcast_id)).total

    async def get_broadcast(self, broadcast_id: int) -> BroadcastRecord | None:
        row = await self._one(f"SELECT {_BROADCAST_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,))
        return _broadcast(row) if row else None

    async def get_broadcast_by_key(self, key: str) -> BroadcastRecord | None:
        row = await self._one(f"SELECT {_BROADCAST_COLUMNS} FROM broadcasts WHERE idempotency_key = ?", (key,))
        return _broadcast(row) if row else None

    async def recent_broadcasts(self, limit: int) -> list[BroadcastRecord]:
        async with self.db.execute(
            f"SELECT {_BROADCAST_COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
        ) as cursor:
            return [_broadcast(row) for row in await cursor.fetchall()]

    async def next_due_broadcast(self, now: datetime) -> BroadcastRecord | None:
        """A running broadcast (resumed first), else the earliest scheduled one whose time has come."""
        row = await self._one(
            f"""SELECT {_BROADCAST_COLUMNS} FROM broadcasts
                WHERE status = 'running' OR (status = 'scheduled' AND start_at <= ?)
                ORDER BY CASE status WHEN 'running' THEN 0 ELSE 1 END, start_at, id LIMIT 1""",
            (_ts(now),),
        )
        return _broadcast(row) if row else None

    async def next_scheduled_start(self) -> datetime | None:
        row = await self._one("SELECT MIN(start_at) FROM broadcasts WHERE status = 'scheduled'")
        return _dt(row[0]) if row and row[0] is not None else None

    async def pending_deliveries(self, broadcast_id: int, after_user_id: int, limit: int) -> list[int]:
        async with self.db.execute(
            """SELECT user_id FROM deliveries WHERE broadcast_id = ? AND status = 'pending' AND user_id > ?
               ORDER BY user_id LIMIT ?""",
            (broadcast_id, after_user_id, limit),
        ) as cursor:
            return [int(row[0]) for row in await cursor.fetchall()]

    async def record_deliveries(self, broadcast_id: int, results: list[DeliveryResult], now: datetime) -> None:
        if not results:
            return
        at = _ts(now)
        sent = [r.user_id for r in results if r.status == "sent"]
        if sent:  # one statement for the common case; a message Telegram accepted counts as sent even
            # if the broadcast was cancelled (by another replica) while it was in flight
            marks = ",".join("?" * len(sent))
            await self.db.execute(
                f"""UPDATE deliveries SET status = 'sent', at = ?
                    WHERE broadcast_id = ? AND status IN ('pending', 'cancelled') AND user_id IN ({marks})""",
                (at, broadcast_id, *sent),
            )
        for result in results:
            if result.status == "sent":
                continue
            await self.db.execute(
                """UPDATE deliveries SET status = ?, error = ?, at = ?
                   WHERE broadcast_id = ? AND user_id = ? AND status = 'pending'""",
                (result.status, result.error, at, broadcast_id, result.user_id),
            )
            if result.status == "blocked":  # through set_blocked, which keeps the user cache coherent
                await self.set_blocked(result.user_id, True, now)

    async def delivery_counts(self, broadcast_id: int) -> DeliveryCounts:
        async with self.db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE broadcast_id = ? GROUP BY status", (broadcast_id,)
        ) as cursor:
            counts = {str(status): int(n) for status, n in await cursor.fetchall()}
        return DeliveryCounts(
            total=sum(counts.values()),
            pending=counts.get("pending", 0),
            sent=counts.get("sent", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
            cancelled=counts.get("cancelled", 0),
        )

    async def finish_broadcast(self, broadcast_id: int, status: str, now: datetime) -> None:
        await self.db.execute(
            "UPDATE broadcasts SET status = ?, finished_at = ? WHERE id = ? AND status IN ('scheduled', 'running')",
            (status, _ts(now), broadcast_id),
        )
        if status == "cancelled":
            await self.db.execute(
                "UPDATE deliveries SET status = 'cancelled', at = ? WHERE broadcast_id = ? AND status = 'pending'",
                (_ts(now), broadcast_id),
            )

    async def cancel_broadcast(self, broadcast_id: int, now: datetime) -> bool:
        """Cancel a scheduled or running broadcast; False when it has already ended (one statement
        decides, so a broadcast the leader finishes at that moment is never reported cancelled)."""
        row = await self._one(
            """UPDATE broadcasts SET status = 'cancelled', finished_at = ?
               WHERE id = ? AND status IN ('scheduled', 'running') RETURNING id""",
            (_ts(now), broadcast_id),
        )
        if row is None:
            return False
        await self.db.execute(
            "UPDATE deliveries SET status = 'cancelled', at = ? WHERE broadcast_id = ? AND status = 'pending'",
            (_ts(now), broadcast_id),
        )
        return True

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
            (chat_id, message_id, broadcast_id),
        )

    async def delivered_since(self, since: datetime) -> int:
        row = await self._one("SELECT COUNT(*) FROM deliveries WHERE status = 'sent' AND at >= ?", (_ts(since),))
        return int(row[0]) if row else 0

    async def delivery_summary(self, since: datetime) -> tuple[dict[str, int], int]:
        """For ``/metrics``, in two indexed queries: deliveries recorded since ``since`` by status,
        and deliveries still pending in scheduled and running broadcasts (the queue)."""
        async with self.db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE status IN ('sent', 'blocked', 'failed') AND at >= ? "
            "GROUP BY status",
            (_ts(since),),
        ) as cursor:
            recent = {str(status): int(n) for status, n in await cursor.fetchall()}
        row = await self._one(
            """SELECT COUNT(*) FROM deliveries d JOIN broadcasts b ON b.id = d.broadcast_id
               WHERE b.status IN ('scheduled', 'running') AND d.status = 'pending'"""
        )
        return recent, int(row[0]) if row else 0

    # audit log -------------------------------------------------------------------------------
    async def audit(self, admin_id: int, action: str, details: str, now: datetime) -> None:
        await self.db.execute(
            f"""INSERT INTO audit_log (id, at, admin_id, action, details)
               VALUES ({self._next_id("audit_log")}, ?, ?, ?, ?)""",
            (_ts(now), admin_id, action, details[:2000]),
        )

    async def audit_entries(self, limit: int) -> list[AuditEntry]:
        async with self.db.execute(
            "SELECT id, at, admin_id, action, details FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            AuditEntry(int(i), _dt(at), int(admin), str(action), str(details)) for i, at, admin, action, details in rows
        ]
