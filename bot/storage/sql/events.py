"""Events and personal event reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, select, update

from bot.storage.base import EventRecord, EventReminder
from bot.storage.schema import event_cancellations, event_reminders, events, users
from bot.storage.sql.core import SqlCore
from bot.storage.timestamps import from_opt_ts as _opt_dt
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

_EVENT_COLUMNS = tuple(events.c)
_REMINDER_COLUMNS = tuple(event_reminders.c)
_REMINDER_LANGUAGE = func.coalesce(users.c.language, users.c.telegram_language)


def _event(row: Row[Any]) -> EventRecord:
    return EventRecord(
        id=str(row.id),
        kind=str(row.kind),
        title=str(row.title),
        description=row.description,
        starts_at=_dt(row.starts_at),
        ends_at=_opt_dt(row.ends_at),
        all_day=bool(row.all_day),
        district=row.district,
        venue_name=row.venue_name,
        venue_address=row.venue_address,
        latitude=row.latitude,
        longitude=row.longitude,
        organiser=str(row.organiser),
        organiser_kind=str(row.organiser_kind),
        link=row.link,
        created_by=row.created_by,
        created_at=_dt(row.created_at),
        updated_at=_dt(row.updated_at),
    )


def _reminder(row: Row[Any]) -> EventReminder:
    return EventReminder(
        user_id=int(row.user_id),
        event_id=str(row.event_id),
        offset=str(row.reminder_offset),
        remind_at=_dt(row.remind_at),
        created_at=_dt(row.created_at),
        sent_at=_opt_dt(row.sent_at),
        cancelled=bool(row.cancelled),
        outcome=row.outcome,
        language=getattr(row, "language", None),
    )


class EventQueries(SqlCore):
    """Events, their cancellations and the residents' personal event reminders."""

    # events ------------------------------------------------------------------------------
    async def save_event(self, event: EventRecord) -> None:
        values = {
            "id": event.id,
            "kind": event.kind,
            "title": event.title,
            "description": event.description,
            "starts_at": _ts(event.starts_at),
            "ends_at": None if event.ends_at is None else _ts(event.ends_at),
            "all_day": int(event.all_day),
            "district": event.district,
            "venue_name": event.venue_name,
            "venue_address": event.venue_address,
            "latitude": event.latitude,
            "longitude": event.longitude,
            "organiser": event.organiser,
            "organiser_kind": event.organiser_kind,
            "link": event.link,
            "created_by": event.created_by,
            "created_at": _ts(event.created_at),
            "updated_at": _ts(event.updated_at),
        }
        insert = self._insert(events).values(values)
        kept = ("id", "created_by", "created_at")  # an edit keeps who made the event and when
        await self._run(
            insert.on_conflict_do_update(
                index_elements=[events.c.id], set_={name: insert.excluded[name] for name in values if name not in kept}
            )
        )

    async def get_event(self, event_id: str) -> EventRecord | None:
        row = await self._one(select(*_EVENT_COLUMNS).where(events.c.id == event_id))
        return _event(row) if row else None

    async def list_events(self) -> list[EventRecord]:
        return [
            _event(row) for row in await self._all(select(*_EVENT_COLUMNS).order_by(events.c.starts_at, events.c.id))
        ]

    async def cancel_event(self, event_id: str, admin_id: int | None, now: datetime) -> bool:
        statement = (
            self._insert(event_cancellations)
            .values(event_id=event_id, cancelled_by=admin_id, cancelled_at=_ts(now))
            .on_conflict_do_nothing(index_elements=[event_cancellations.c.event_id])
        )
        return await self._count(statement) > 0

    async def cancelled_event_ids(self) -> set[str]:
        return {str(row[0]) for row in await self._all(select(event_cancellations.c.event_id))}

    # personal event reminders -----------------------------------------------------------------
    # A reminder is claimed (``sent_at`` set) by a single conditional UPDATE before its message goes
    # out: whoever claims it sends it, nobody else ever does, and a restart finds it already claimed.
    def _open_reminder(self, user_id: int, event_id: str) -> ColumnElement[bool]:
        r = event_reminders.c
        return and_(r.user_id == user_id, r.event_id == event_id, r.sent_at.is_(None), r.cancelled == 0)

    async def set_event_reminder(
        self, user_id: int, event_id: str, offset: str, remind_at: datetime, now: datetime
    ) -> EventReminder:
        insert = self._insert(event_reminders).values(
            user_id=user_id, event_id=event_id, reminder_offset=offset, remind_at=_ts(remind_at), created_at=_ts(now)
        )
        row = await self._one(
            insert.on_conflict_do_update(
                index_elements=[event_reminders.c.user_id, event_reminders.c.event_id],
                set_={
                    "reminder_offset": insert.excluded.reminder_offset,
                    "remind_at": insert.excluded.remind_at,
                    "created_at": insert.excluded.created_at,
                    "sent_at": None,
                    "cancelled": 0,
                    "outcome": None,
                },
            ).returning(*_REMINDER_COLUMNS)
        )
        assert row is not None
        return _reminder(row)

    async def get_event_reminder(self, user_id: int, event_id: str) -> EventReminder | None:
        r = event_reminders.c
        row = await self._one(select(*_REMINDER_COLUMNS).where(r.user_id == user_id, r.event_id == event_id))
        return _reminder(row) if row else None

    async def cancel_event_reminder(self, user_id: int, event_id: str) -> bool:
        return (
            await self._count(update(event_reminders).where(self._open_reminder(user_id, event_id)).values(cancelled=1))
            > 0
        )

    def _with_language(self) -> Any:
        return select(*_REMINDER_COLUMNS, _REMINDER_LANGUAGE.label("language")).select_from(
            event_reminders.outerjoin(users, users.c.id == event_reminders.c.user_id)
        )

    async def pending_event_reminders(self, event_id: str) -> list[EventReminder]:
        r = event_reminders.c
        rows = await self._all(
            self._with_language()
            .where(r.event_id == event_id, r.sent_at.is_(None), r.cancelled == 0)
            .order_by(r.user_id)
        )
        return [_reminder(row) for row in rows]

    async def cancel_event_reminders(self, event_id: str) -> list[EventReminder]:
        r = event_reminders.c
        language = (
            select(_REMINDER_LANGUAGE)
            .where(users.c.id == event_reminders.c.user_id)
            .correlate(event_reminders)
            .scalar_subquery()
            .label("language")
        )
        rows = await self._all(
            update(event_reminders)
            .where(r.event_id == event_id, r.sent_at.is_(None), r.cancelled == 0)
            .values(cancelled=1, outcome="gone")
            .returning(*_REMINDER_COLUMNS, language)
        )
        return sorted((_reminder(row) for row in rows), key=lambda reminder: reminder.user_id)

    async def move_event_reminder(self, user_id: int, event_id: str, remind_at: datetime) -> None:
        await self._run(
            update(event_reminders).where(self._open_reminder(user_id, event_id)).values(remind_at=_ts(remind_at))
        )

    async def due_event_reminders(self, now: datetime, limit: int) -> list[EventReminder]:
        r = event_reminders.c
        rows = await self._all(
            self._with_language()
            .where(r.sent_at.is_(None), r.cancelled == 0, r.remind_at <= _ts(now))
            .order_by(r.remind_at, r.user_id)
            .limit(limit)
        )
        return [_reminder(row) for row in rows]

    async def claim_event_reminder(
        self, user_id: int, event_id: str, remind_at: datetime, outcome: str, now: datetime
    ) -> bool:
        statement = (
            update(event_reminders)
            .where(self._open_reminder(user_id, event_id), event_reminders.c.remind_at == _ts(remind_at))
            .values(sent_at=_ts(now), outcome=outcome)
        )
        return await self._count(statement) > 0

    async def set_event_reminder_outcome(self, user_id: int, event_id: str, outcome: str) -> None:
        r = event_reminders.c
        await self._run(
            update(event_reminders).where(r.user_id == user_id, r.event_id == event_id).values(outcome=outcome)
        )

    async def cancelled_events_with_pending_reminders(self) -> list[str]:
        """Cancelled events whose reminders were not yet stopped: a cancellation interrupted
        between marking the event and queuing its notices (resumed by the scheduler's tick)."""
        r = event_reminders.c
        rows = await self._all(
            select(r.event_id)
            .distinct()
            .join(event_cancellations, event_cancellations.c.event_id == r.event_id)
            .where(r.sent_at.is_(None), r.cancelled == 0)
            .order_by(r.event_id)
        )
        return [str(row[0]) for row in rows]
