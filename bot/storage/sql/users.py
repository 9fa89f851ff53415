"""Users, their reminder preferences and their subscriptions.

The user cache of :meth:`~UserQueries.touch_user` is kept on SQLite only, where one process owns the
database; with PostgreSQL other replicas may change a user at any moment.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Connection, Row, bindparam, case, func, select, update

from bot.storage.base import ReminderPrefs, SubscriberCounts, Subscription, UserCounts, UserRecord
from bot.storage.schema import reminder_prefs, subscriptions, users
from bot.storage.sql.core import _ACTIVE, SqlCore
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

TOUCH_INTERVAL = 60  # seconds
USER_CACHE = 100_000
_USER_COLUMNS = (users.c.id, users.c.language, users.c.telegram_language, users.c.first_seen, users.c.last_seen)


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        id=int(row.id),
        language=row.language,
        telegram_language=row.telegram_language,
        first_seen=_dt(row.first_seen),
        last_seen=_dt(row.last_seen),
        blocked=bool(row.blocked),
    )


class UserQueries(SqlCore):
    """Users (with the SQLite user cache), reminder preferences and subscriptions."""

    def _prepare(self) -> None:
        super()._prepare()
        insert = self._insert(users).values(
            id=bindparam("p_id"),
            telegram_language=bindparam("p_language"),
            first_seen=bindparam("p_now"),
            last_seen=bindparam("p_now"),
            blocked=0,
        )
        self._touch = insert.on_conflict_do_update(
            index_elements=[users.c.id],
            set_={
                "telegram_language": func.coalesce(insert.excluded.telegram_language, users.c.telegram_language),
                "last_seen": insert.excluded.last_seen,
                "blocked": 0,
                "blocked_at": None,
            },
        ).returning(*_USER_COLUMNS, users.c.blocked)
        self._get_user = select(*_USER_COLUMNS, users.c.blocked).where(users.c.id == bindparam("p_id"))

    # users ------------------------------------------------------------------------------
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
        row = await self._one(self._touch, {"p_id": user_id, "p_language": telegram_language, "p_now": _ts(now)})
        assert row is not None
        record = _user(row)
        if self._sqlite:
            if len(self._users) >= USER_CACHE:
                self._users.clear()
            self._users[user_id] = (record, _ts(now))
        return record

    async def get_user(self, user_id: int) -> UserRecord | None:
        row = await self._one(self._get_user, {"p_id": user_id})
        return _user(row) if row else None

    async def set_language(self, user_id: int, language: str) -> None:
        await self._run(update(users).where(users.c.id == user_id).values(language=language))
        cached = self._users.get(user_id)
        if cached is not None:
            self._users[user_id] = (replace(cached[0], language=language), cached[1])

    async def set_blocked(self, user_id: int, blocked: bool, now: datetime) -> None:
        self._users.pop(user_id, None)
        await self._run(self._block(user_id, blocked, now))

    async def user_counts(self) -> UserCounts:
        row = await self._one(
            select(func.count(), func.coalesce(func.sum(case((users.c.blocked == 0, 1), else_=0)), 0))
        )
        total, active = (int(row[0]), int(row[1])) if row else (0, 0)
        language = func.coalesce(users.c.language, users.c.telegram_language, "?")
        rows = await self._all(select(language, func.count()).group_by(language))
        by_language = {str(lang): int(count) for lang, count in rows}
        return UserCounts(total=total, active=active, blocked=total - active, by_language=by_language)

    # reminder preferences ---------------------------------------------------------------
    async def reminder_prefs(self, user_id: int) -> ReminderPrefs:
        row = await self._one(
            select(reminder_prefs.c.mode, reminder_prefs.c.vote_time, reminder_prefs.c.voted_on).where(
                reminder_prefs.c.user_id == user_id
            )
        )
        if row is None:
            return ReminderPrefs(user_id=user_id)
        return ReminderPrefs(
            user_id=user_id,
            mode=str(row.mode),
            vote_time=time.fromisoformat(row.vote_time) if row.vote_time else None,
            voted_on=date.fromisoformat(row.voted_on) if row.voted_on else None,
        )

    async def _upsert_pref(self, user_id: int, column: str, value: str | None) -> None:
        insert = self._insert(reminder_prefs).values({"user_id": user_id, column: value})
        await self._run(
            insert.on_conflict_do_update(
                index_elements=[reminder_prefs.c.user_id], set_={column: insert.excluded[column]}
            )
        )

    async def set_reminder_mode(self, user_id: int, mode: str) -> None:
        await self._upsert_pref(user_id, "mode", mode)

    async def set_vote_time(self, user_id: int, vote_time: time | None) -> None:
        await self._upsert_pref(user_id, "vote_time", vote_time.strftime("%H:%M") if vote_time else None)

    async def mark_voted(self, user_id: int, day: date) -> None:
        await self._upsert_pref(user_id, "voted_on", day.isoformat())

    async def vote_time_subscribers(self) -> list[ReminderPrefs]:
        """Subscribers (not blocked, reminders not off) who set the time they plan to vote."""
        p = reminder_prefs
        rows = await self._all(
            select(p.c.user_id, p.c.mode, p.c.vote_time, p.c.voted_on)
            .join(subscriptions, subscriptions.c.user_id == p.c.user_id)
            .join(users, users.c.id == p.c.user_id)
            .where(p.c.vote_time.is_not(None), p.c.mode != "none", users.c.blocked == 0)
        )
        return [
            ReminderPrefs(
                user_id=int(r.user_id),
                mode=str(r.mode),
                vote_time=time.fromisoformat(r.vote_time),
                voted_on=date.fromisoformat(r.voted_on) if r.voted_on else None,
            )
            for r in rows
        ]

    # subscriptions ----------------------------------------------------------------------------
    @staticmethod
    def _subscription(row: Row[Any]) -> Subscription:
        return Subscription(
            user_id=int(row.user_id),
            language=str(row.language),
            district=row.district,
            subscribed_at=_dt(row.subscribed_at),
        )

    async def subscribe(self, user_id: int, language: str, now: datetime) -> Subscription:
        insert = self._insert(subscriptions).values(user_id=user_id, language=language, subscribed_at=_ts(now))
        row = await self._one(
            insert.on_conflict_do_update(
                index_elements=[subscriptions.c.user_id], set_={"language": insert.excluded.language}
            ).returning(*subscriptions.c)
        )
        assert row is not None
        return self._subscription(row)

    async def unsubscribe(self, user_id: int) -> bool:
        return await self._count(subscriptions.delete().where(subscriptions.c.user_id == user_id)) > 0

    async def get_subscription(self, user_id: int) -> Subscription | None:
        row = await self._one(select(*subscriptions.c).where(subscriptions.c.user_id == user_id))
        return self._subscription(row) if row else None

    async def set_district(self, user_id: int, district: str | None) -> None:
        await self._run(update(subscriptions).where(subscriptions.c.user_id == user_id).values(district=district))

    async def subscriber_counts(self) -> SubscriberCounts:
        language = func.coalesce(users.c.language, subscriptions.c.language)
        district = func.coalesce(subscriptions.c.district, "")

        def counts(connection: Connection) -> tuple[dict[str, int], dict[str, int]]:
            active = select(func.count()).select_from(subscriptions, users).where(_ACTIVE)
            rows = connection.execute(active.add_columns(language).group_by(language))
            by_language = {str(lang): int(n) for n, lang in rows}
            rows = connection.execute(active.add_columns(district).group_by(district))
            return by_language, {str(name): int(n) for n, name in rows}

        by_language, by_district = await self.run_sync(counts)
        return SubscriberCounts(total=sum(by_language.values()), by_language=by_language, by_district=by_district)
