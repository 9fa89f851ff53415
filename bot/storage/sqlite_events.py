"""SQL of admin-made events, event cancellations and personal event reminders (SQLite; mixed into
SqliteStorage).

The connection is shared with other coroutines, so every write is one statement, atomic on its own.
A reminder is claimed (``sent_at`` set) by a single conditional UPDATE before its message goes out:
whoever claims it sends it, nobody else ever does, and a restart finds it already claimed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.base import EventRecord, EventReminder
from bot.storage.timestamps import from_opt_ts as _opt_dt
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

_EVENT_COLUMNS = """id, kind, title, description, starts_at, ends_at, all_day, district, venue_name,
    venue_address, latitude, longitude, organiser, organiser_kind, link, created_by, created_at, updated_at"""
_REMINDER_COLUMNS = (
    "r.user_id, r.event_id, r.reminder_offset, r.remind_at, r.created_at, r.sent_at, r.cancelled, r.outcome"
)


def _event(row: Any) -> EventRecord:
    return EventRecord(
        id=str(row[0]),
        kind=str(row[1]),
        title=str(row[2]),
        description=row[3],
        starts_at=_dt(row[4]),
        ends_at=_opt_dt(row[5]),
        all_day=bool(row[6]),
        district=row[7],
        venue_name=row[8],
        venue_address=row[9],
        latitude=row[10],
        longitude=row[11],
        organiser=str(row[12]),
        organiser_kind=str(row[13]),
        link=row[14],
        created_by=row[15],
        created_at=_dt(row[16]),
        updated_at=_dt(row[17]),
    )


def _reminder(row: Any) -> EventReminder:
    return EventReminder(
        user_id=int(row[0]),
        event_id=str(row[1]),
        offset=str(row[2]),
        remind_at=_dt(row[3]),
        created_at=_dt(row[4]),
        sent_at=_opt_dt(row[5]),
        cancelled=bool(row[6]),
        outcome=row[7],
        language=row[8] if len(row) > 8 else None,
    )


class SqliteEventsMixin:
    @property
    def db(self) -> aiosqlite.Connection:  # provided by SqliteStorage
        raise NotImplementedError

    # events ------------------------------------------------------------------------------
    async def save_event(self, event: EventRecord) -> None:
        await self.db.execute(
            f"""INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                  kind = excluded.kind, title = excluded.title, description = excluded.description,
                  starts_at = excluded.starts_at, ends_at = excluded.ends_at, all_day = excluded.all_day,
                  district = excluded.district, venue_name = excluded.venue_name,
                  venue_address = excluded.venue_address, latitude = excluded.latitude,
                  longitude = excluded.longitude, organiser = excluded.organiser,
                  organiser_kind = excluded.organiser_kind, link = excluded.link,
                  updated_at = excluded.updated_at""",
            (
                event.id,
                event.kind,
                event.title,
                event.description,
                _ts(event.starts_at),
                None if event.ends_at is None else _ts(event.ends_at),
                int(event.all_day),
                event.district,
                event.venue_name,
                event.venue_address,
                event.latitude,
                event.longitude,
                event.organiser,
                event.organiser_kind,
                event.link,
                event.created_by,
                _ts(event.created_at),
                _ts(event.updated_at),
            ),
        )

    async def get_event(self, event_id: str) -> EventRecord | None:
        async with self.db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)) as cursor:
            row = await cursor.fetchone()
        return _event(row) if row else None

    async def list_events(self) -> list[EventRecord]:
        async with self.db.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY starts_at, id") as cursor:
            rows = await cursor.fetchall()
        return [_event(row) for row in rows]

    async def cancel_event(self, event_id: str, admin_id: int | None, now: datetime) -> bool:
        cursor = await self.db.execute(
            """INSERT INTO event_cancellations (event_id, cancelled_by, cancelled_at) VALUES (?, ?, ?)
               ON CONFLICT (event_id) DO NOTHING""",
            (event_id, admin_id, _ts(now)),
        )
        return cursor.rowcount > 0

    async def cancelled_event_ids(self) -> set[str]:
        async with self.db.execute("SELECT event_id FROM event_cancellations") as cursor:
            return {str(row[0]) for row in await cursor.fetchall()}

    # personal reminders -----------------------------------------------------------------------
    async def set_event_reminder(
        self, user_id: int, event_id: str, offset: str, remind_at: datetime, now: datetime
    ) -> EventReminder:
        async with self.db.execute(
            """INSERT INTO event_reminders (user_id, event_id, reminder_offset, remind_at, created_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (user_id, event_id) DO UPDATE SET
                 reminder_offset = excluded.reminder_offset, remind_at = excluded.remind_at,
                 created_at = excluded.created_at, sent_at = NULL, cancelled = 0, outcome = NULL
               RETURNING user_id, event_id, reminder_offset, remind_at, created_at, sent_at, cancelled, outcome""",
            (user_id, event_id, offset, _ts(remind_at), _ts(now)),
        ) as cursor:
            row = await cursor.fetchone()
        return _reminder(row)

    async def get_event_reminder(self, user_id: int, event_id: str) -> EventReminder | None:
        async with self.db.execute(
            f"SELECT {_REMINDER_COLUMNS} FROM event_reminders r WHERE r.user_id = ? AND r.event_id = ?",
            (user_id, event_id),
        ) as cursor:
            row = await cursor.fetchone()
        return _reminder(row) if row else None

    async def cancel_event_reminder(self, user_id: int, event_id: str) -> bool:
        cursor = await self.db.execute(
            """UPDATE event_reminders SET cancelled = 1
               WHERE user_id = ? AND event_id = ? AND sent_at IS NULL AND cancelled = 0""",
            (user_id, event_id),
        )
        return cursor.rowcount > 0

    async def pending_event_reminders(self, event_id: str) -> list[EventReminder]:
        async with self.db.execute(
            f"""SELECT {_REMINDER_COLUMNS}, COALESCE(u.language, u.telegram_language)
                FROM event_reminders r LEFT JOIN users u ON u.id = r.user_id
                WHERE r.event_id = ? AND r.sent_at IS NULL AND r.cancelled = 0 ORDER BY r.user_id""",
            (event_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_reminder(row) for row in rows]

    async def cancel_event_reminders(self, event_id: str) -> list[EventReminder]:
        async with self.db.execute(
            """UPDATE event_reminders SET cancelled = 1, outcome = 'gone'
               WHERE event_id = ? AND sent_at IS NULL AND cancelled = 0
               RETURNING user_id, event_id, reminder_offset, remind_at, created_at, sent_at, cancelled, outcome,
                 (SELECT COALESCE(u.language, u.telegram_language) FROM users u WHERE u.id = user_id)""",
            (event_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return sorted((_reminder(row) for row in rows), key=lambda r: r.user_id)

    async def move_event_reminder(self, user_id: int, event_id: str, remind_at: datetime) -> None:
        await self.db.execute(
            """UPDATE event_reminders SET remind_at = ?
               WHERE user_id = ? AND event_id = ? AND sent_at IS NULL AND cancelled = 0""",
            (_ts(remind_at), user_id, event_id),
        )

    async def due_event_reminders(self, now: datetime, limit: int) -> list[EventReminder]:
        async with self.db.execute(
            f"""SELECT {_REMINDER_COLUMNS}, COALESCE(u.language, u.telegram_language)
                FROM event_reminders r LEFT JOIN users u ON u.id = r.user_id
                WHERE r.sent_at IS NULL AND r.cancelled = 0 AND r.remind_at <= ?
                ORDER BY r.remind_at, r.user_id LIMIT ?""",
            (_ts(now), limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_reminder(row) for row in rows]

    async def claim_event_reminder(
        self, user_id: int, event_id: str, remind_at: datetime, outcome: str, now: datetime
    ) -> bool:
        cursor = await self.db.execute(
            """UPDATE event_reminders SET sent_at = ?, outcome = ?
               WHERE user_id = ? AND event_id = ? AND remind_at = ? AND sent_at IS NULL AND cancelled = 0""",
            (_ts(now), outcome, user_id, event_id, _ts(remind_at)),
        )
        return cursor.rowcount > 0

    async def set_event_reminder_outcome(self, user_id: int, event_id: str, outcome: str) -> None:
        await self.db.execute(
            "UPDATE event_reminders SET outcome = ? WHERE user_id = ? AND event_id = ?", (outcome, user_id, event_id)
        )
