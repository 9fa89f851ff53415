"""Issue 12's storage (SQLite; mixed into SqliteStorage, and through it into PostgresStorage):
erasure of one user (``/forget``, ``/stop``), retention (old unanswered questions, "I voted", old
event reminders), the chats that hold the admin command menu, and broadcasts to an explicit list of
recipients (event notices through the delivery engine).

As in ``sqlite_delivery``: every write is one statement, and multi-step changes are ordered so that
a crash between two steps leaves a state that the next run (or the next ``/forget``) completes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import aiosqlite

from bot.storage.base import BroadcastMessage, BroadcastRecord, Erased, UserRecord
from bot.storage.timestamps import to_ts as _ts

NOTICE_AUDIENCE = "notice"  # Audience.kind of a broadcast to a list of recipients fixed at creation
_CHUNK = 400  # recipients per INSERT (SQLite allows 32766 parameters; PostgreSQL 32767)


# (table, column) pairs that hold a resident's data; /forget deletes the rows, the user row last.
USER_TABLES: tuple[tuple[str, str], ...] = (
    ("deliveries", "user_id"),
    ("event_reminders", "user_id"),
    ("faq_feedback", "user_id"),
    ("unanswered", "user_id"),
    ("reminder_prefs", "user_id"),
    ("subscriptions", "user_id"),
    ("admin_menus", "user_id"),
    ("desk_messages", "user_id"),  # the operators' desk (migration 8): relayed-message keys,
    ("tickets", "user_id"),  # tickets (question, language, rating)
    ("desk_blocks", "user_id"),  # and a block by the operators
    ("users", "id"),
)


class SqlitePrivacyMixin:
    _users: dict[int, tuple[UserRecord, int]]  # provided by SqliteStorage (the user cache)

    @property
    def db(self) -> aiosqlite.Connection:  # provided by SqliteStorage
        raise NotImplementedError

    def _next_id(self, table: str) -> str:  # provided by SqliteStorage (and PostgresStorage)
        raise NotImplementedError

    async def get_broadcast_by_key(self, key: str) -> BroadcastRecord | None:  # provided by the delivery mixin
        raise NotImplementedError

    async def _count(self, sql: str, params: tuple[Any, ...]) -> int:
        async with self.db.execute(sql, params) as cursor:
            return max(0, cursor.rowcount)

    # erasure ----------------------------------------------------------------------------------
    async def forget_user(self, user_id: int) -> Erased:
        """Delete everything stored about ``user_id``: subscription, preferences, feedback,
        unanswered questions, event reminders, deliveries (pending or past), their personal
        broadcasts (vote-time reminders), the admin-menu mark and the user row itself. Rows that
        record what an *admin* did (audit log, broadcasts and events they made) are not the
        resident's data and stay. Idempotent: after a crash half-way, running it again finishes."""
        rows: dict[str, int] = {}
        # personal broadcasts name the user in their audience and key (vote-time reminders)
        rows["broadcasts"] = await self._count(
            "DELETE FROM broadcasts WHERE audience_kind = 'user' AND audience_value = ?", (str(user_id),)
        )
        for table, column in USER_TABLES:
            rows[table] = await self._count(f"DELETE FROM {table} WHERE {column} = ?", (user_id,))
        self._users.pop(user_id, None)
        return Erased(rows)

    async def stop_everything(self, user_id: int) -> int:
        """``/stop``: no more messages. The subscription, the reminder preferences (mode, vote time,
        "I voted") and the pending event reminders are deleted; returns how many rows."""
        total = await self._count(
            "DELETE FROM event_reminders WHERE user_id = ? AND sent_at IS NULL AND cancelled = 0", (user_id,)
        )
        total += await self.drop_reminder_prefs(user_id)
        total += await self._count("DELETE FROM subscriptions WHERE user_id = ?", (user_id,))
        return total

    async def drop_reminder_prefs(self, user_id: int) -> int:
        """Reminder preferences only serve a subscription: deleted with it."""
        return await self._count("DELETE FROM reminder_prefs WHERE user_id = ?", (user_id,))

    # retention --------------------------------------------------------------------------------
    async def delete_unanswered_before(self, before: datetime) -> int:
        return await self._count("DELETE FROM unanswered WHERE at < ?", (_ts(before),))

    async def forget_votes_before(self, day: date) -> int:
        """ "I voted" of every day before ``day`` (ISO dates compare as text)."""
        return await self._count(
            "UPDATE reminder_prefs SET voted_on = NULL WHERE voted_on IS NOT NULL AND voted_on < ?", (day.isoformat(),)
        )

    async def delete_event_reminders_before(self, before: datetime) -> int:
        """Event reminders whose moment is long past (sent, skipped or cancelled by then)."""
        return await self._count("DELETE FROM event_reminders WHERE remind_at < ?", (_ts(before),))

    # admin command menus ----------------------------------------------------------------------
    async def mark_admin_menu(self, user_id: int, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO admin_menus (user_id, set_at) VALUES (?, ?)
               ON CONFLICT (user_id) DO UPDATE SET set_at = excluded.set_at""",
            (user_id, _ts(now)),
        )

    async def admin_menu_holders(self) -> list[int]:
        async with self.db.execute("SELECT user_id FROM admin_menus ORDER BY user_id") as cursor:
            return [int(row[0]) for row in await cursor.fetchall()]

    async def drop_admin_menu(self, user_id: int) -> None:
        await self.db.execute("DELETE FROM admin_menus WHERE user_id = ?", (user_id,))

    async def scheduled_broadcast_creators(self) -> list[tuple[int, int]]:
        """(broadcast id, creator) of every scheduled broadcast an admin made."""
        async with self.db.execute(
            "SELECT id, created_by FROM broadcasts WHERE status = 'scheduled' AND created_by IS NOT NULL ORDER BY id"
        ) as cursor:
            return [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]

    # notices: broadcasts to a fixed list of recipients ----------------------------------------
    async def create_notice_broadcast(
        self,
        message: BroadcastMessage,
        recipients: Sequence[int],
        *,
        key: str,
        label: str,
        created_by: int | None,
        now: datetime,
    ) -> tuple[BroadcastRecord, bool]:
        """A running broadcast to ``recipients`` (audience ``notice``, value ``label``), keyed by
        ``key``: the same key returns the existing one. The row is written first as ``preparing``
        (which the engine ignores), then one pending delivery per recipient, then ``running``: a
        crash in between leaves it ``preparing``, and calling this again with the same key and
        recipients completes it (the deliveries' primary key keeps that idempotent)."""
        async with self.db.execute(
            f"""INSERT INTO broadcasts (id, idempotency_key, status, kind, text, from_chat_id, message_id,
                 audience_kind, audience_value, created_by, created_at, start_at, reply_markup)
               VALUES ({self._next_id("broadcasts")}, ?, 'preparing', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (idempotency_key) DO NOTHING RETURNING id""",
            (
                key,
                message.kind,
                message.text,
                message.from_chat_id,
                message.message_id,
                NOTICE_AUDIENCE,
                label,
                created_by,
                _ts(now),
                _ts(now),
                message.reply_markup,
            ),
        ) as cursor:
            row = await cursor.fetchone()
        created = row is not None
        existing = await self.get_broadcast_by_key(key)
        if existing is None:
            raise RuntimeError(f"broadcast with key {key!r} vanished")
        if existing.status != "preparing":
            return existing, created
        ids = sorted(set(recipients))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            values = ", ".join("(?, ?, 'pending')" for _ in chunk)
            params: list[Any] = []
            for user_id in chunk:
                params += [existing.id, user_id]
            await self.db.execute(
                f"INSERT INTO deliveries (broadcast_id, user_id, status) VALUES {values}"
                " ON CONFLICT (broadcast_id, user_id) DO NOTHING",
                tuple(params),
            )
        await self.db.execute(
            "UPDATE broadcasts SET status = 'running', started_at = ? WHERE id = ? AND status = 'preparing'",
            (_ts(now), existing.id),
        )
        return (await self.get_broadcast_by_key(key)) or existing, created

    async def cancelled_events_with_pending_reminders(self) -> list[str]:
        """Cancelled events whose reminders were not yet stopped: a cancellation interrupted
        between marking the event and queuing its notices (resumed by the scheduler's tick)."""
        async with self.db.execute(
            """SELECT DISTINCT r.event_id FROM event_reminders r
               JOIN event_cancellations c ON c.event_id = r.event_id
               WHERE r.sent_at IS NULL AND r.cancelled = 0 ORDER BY r.event_id"""
        ) as cursor:
            return [str(row[0]) for row in await cursor.fetchall()]
