"""The storage on SQLAlchemy Core (async): one implementation for SQLite and PostgreSQL.

Queries are built with the expression language over the tables of ``schema.py``; upserts use the
dialect's ``insert … on conflict``. Each method is a function of a SQLAlchemy ``Connection`` run by
``bot/storage/migrate.py``'s :class:`~bot.storage.migrate.Database` (SQLite in its own thread,
PostgreSQL through asyncpg); a method that writes more than one statement runs them in one
transaction (``run_sync(…, transaction=True)``: ``BEGIN IMMEDIATE`` on SQLite).

The user cache of :meth:`touch_user` is kept on SQLite only, where one process owns the database;
with PostgreSQL other replicas may change a user at any moment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Executable,
    Integer,
    Row,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.config import DatabaseConfig
from bot.storage import migrate
from bot.storage.base import (
    Audience,
    AuditEntry,
    BroadcastMessage,
    BroadcastRecord,
    DailyActivity,
    DeliveryCounts,
    DeliveryResult,
    Erased,
    EventRecord,
    EventReminder,
    FeedbackCounts,
    ReminderPrefs,
    SubscriberCounts,
    Subscription,
    UnansweredRow,
    UserCounts,
    UserRecord,
)
from bot.storage.base_desk import DeskCounts, FaqDraft, Ticket
from bot.storage.broadcasts import (
    AllSubscribers,
    AudienceKind,
    BroadcastStatus,
    DeliveryStatus,
    DistrictAudience,
    LanguageAudience,
    MessageKind,
    NoticeAudience,
    ReminderAudience,
    ReminderScope,
    UserAudience,
    audience_from_row,
    audience_row,
)
from bot.storage.errors import sqlite_problem
from bot.storage.schema import (
    admin_menus,
    audit_log,
    broadcasts,
    deliveries,
    desk_blocks,
    desk_messages,
    event_cancellations,
    event_reminders,
    events,
    faq_drafts,
    faq_feedback,
    reminder_prefs,
    subscriptions,
    tickets,
    unanswered,
    users,
)
from bot.storage.timestamps import from_opt_ts as _opt_dt
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86_400
T = TypeVar("T")
TOUCH_INTERVAL = 60  # seconds
QUESTION_LIMIT = 1000  # characters of a ticket's question kept
REPLY_LIMIT = 4096
UNANSWERED_DAILY_CAP = 20  # unanswered questions stored per person in any 24 hours
USER_CACHE = 100_000


def normalize_question(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.casefold())).strip()[:300]


_USER_COLUMNS = (users.c.id, users.c.language, users.c.telegram_language, users.c.first_seen, users.c.last_seen)
_BROADCAST_COLUMNS = tuple(broadcasts.c)
_EVENT_COLUMNS = tuple(events.c)
_REMINDER_COLUMNS = tuple(event_reminders.c)
_REMINDER_LANGUAGE = func.coalesce(users.c.language, users.c.telegram_language)
_ACTIVE = and_(subscriptions.c.user_id == users.c.id, users.c.blocked == 0)
# (table, column) pairs that hold a resident's data; /forget deletes the rows, the user row last.
_USER_TABLES = (
    (deliveries, deliveries.c.user_id),
    (event_reminders, event_reminders.c.user_id),
    (faq_feedback, faq_feedback.c.user_id),
    (unanswered, unanswered.c.user_id),
    (reminder_prefs, reminder_prefs.c.user_id),
    (subscriptions, subscriptions.c.user_id),
    (admin_menus, admin_menus.c.user_id),
    (desk_messages, desk_messages.c.user_id),  # the operators' desk: relayed-message keys,
    (tickets, tickets.c.user_id),  # tickets (question, language, rating)
    (desk_blocks, desk_blocks.c.user_id),  # and a block by the operators
    (users, users.c.id),
)
# Reminders: countdown/after reach subscribers who want all reminders, voting_day also those who
# want only voting-day ones, minus who said "I voted".
_REMINDER_MODES = {
    ReminderScope.COUNTDOWN: ("all",),
    ReminderScope.AFTER: ("all",),
    ReminderScope.VOTING_DAY: ("all", "voting_day"),
}


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        id=int(row.id),
        language=row.language,
        telegram_language=row.telegram_language,
        first_seen=_dt(row.first_seen),
        last_seen=_dt(row.last_seen),
        blocked=bool(row.blocked),
    )


def _audience(audience: Audience) -> ColumnElement[bool]:
    """The filter, over subscriptions joined with users, of a broadcast's recipients."""
    language = func.coalesce(users.c.language, subscriptions.c.language)
    match audience:
        case AllSubscribers():
            return _ACTIVE
        case LanguageAudience(code):
            return and_(_ACTIVE, language == code)
        case DistrictAudience(district):
            return and_(_ACTIVE, subscriptions.c.district == district)
        case UserAudience(user_id):  # one subscriber: personal reminders
            return and_(_ACTIVE, subscriptions.c.user_id == user_id)
        case ReminderAudience(code, scope, day):
            voted_on = day.isoformat() if scope is ReminderScope.VOTING_DAY else ""
            mode = (
                select(reminder_prefs.c.mode)
                .where(reminder_prefs.c.user_id == subscriptions.c.user_id)
                .scalar_subquery()
            )
            voted = exists().where(
                reminder_prefs.c.user_id == subscriptions.c.user_id, reminder_prefs.c.voted_on == voted_on
            )
            return and_(_ACTIVE, language == code, func.coalesce(mode, "all").in_(_REMINDER_MODES[scope]), ~voted)
        case NoticeAudience():
            raise ValueError("a notice's recipients are fixed when it is created (create_notice_broadcast)")


def _broadcast(row: Row[Any]) -> BroadcastRecord:
    return BroadcastRecord(
        id=int(row.id),
        key=row.idempotency_key,
        status=BroadcastStatus(row.status),
        message=BroadcastMessage(
            kind=MessageKind(row.kind),
            text=row.text,
            from_chat_id=row.from_chat_id,
            message_id=row.message_id,
            reply_markup=row.reply_markup,
        ),
        audience=audience_from_row(row.audience_kind, row.audience_value),
        created_by=row.created_by,
        created_at=_dt(row.created_at),
        start_at=_dt(row.start_at),
        started_at=_opt_dt(row.started_at),
        finished_at=_opt_dt(row.finished_at),
        progress_chat_id=row.progress_chat_id,
        progress_message_id=row.progress_message_id,
    )


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


class SqlStorage:
    """The :class:`~bot.storage.base.Storage` on SQLite or PostgreSQL, chosen by ``DATABASE_URL``."""

    def __init__(self, database: DatabaseConfig) -> None:
        self.database = database
        self._db: migrate.Database | None = None
        self._sqlite = database.scheme == "sqlite"
        self._users: dict[int, tuple[UserRecord, int]] = {}  # user -> (record, when last written); SQLite only
        self._prepare()

    async def connect(self) -> None:
        """Open the database, check it and bring its schema to the newest revision. Raises
        SchemaError for a schema this code cannot use, and StorageError, naming the database, for one
        it cannot open, read or write (not a database, damaged, read-only, a folder it cannot create,
        a server that does not answer)."""
        try:
            db = migrate.open_database(self.database)
        except OSError as error:
            raise sqlite_problem(self.database.path, error) from None
        try:
            await migrate.check(db)
            await migrate.upgrade(db)
            await migrate.check_writable(db)
        except BaseException as error:
            await db.dispose()
            problem = migrate.storage_problem(self.database, error)
            if problem is not None:
                raise problem from None
            raise
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.dispose()

    def _insert(self, table: Any) -> Any:
        """``INSERT`` with the dialect's ``ON CONFLICT`` clauses."""
        return sqlite_insert(table) if self._sqlite else pg_insert(table)

    async def run_sync(self, fn: Callable[[Connection], T], *, transaction: bool = False) -> T:
        """``fn(connection)`` on the database: each statement on its own, or (``transaction``) all of
        them committed together or not at all. The storage's methods are built on it (tools and
        tests may use it too)."""
        if self._db is None:
            raise RuntimeError("storage is not connected")
        return await self._db.run(fn, transaction=transaction)

    # A statement run often is built once, with bound parameters (``bindparam``), and executed with
    # their values: building it for each call costs several times the database's own work.
    async def _run(self, statement: Executable, params: dict[str, Any] | None = None) -> None:
        await self.run_sync(lambda connection: connection.execute(statement, params))

    async def _one(self, statement: Executable, params: dict[str, Any] | None = None) -> Row[Any] | None:
        return await self.run_sync(lambda connection: connection.execute(statement, params).first())

    async def _all(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        return await self.run_sync(lambda connection: connection.execute(statement, params).all())

    async def _count(self, statement: Executable, params: dict[str, Any] | None = None) -> int:
        """The number of rows an INSERT/UPDATE/DELETE changed."""
        return await self.run_sync(lambda connection: int(connection.execute(statement, params).rowcount))

    def _prepare(self) -> None:
        """The statements of the hot paths (an update's user, unanswered questions, deliveries)."""
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
        recent = and_(unanswered.c.user_id == bindparam("p_user"), unanswered.c.at > bindparam("p_day_ago"))
        self._record_unanswered = unanswered.insert().from_select(
            ["user_id", "language", "text", "normalized", "at"],
            select(
                bindparam("p_user", type_=BigInteger),
                bindparam("p_language", type_=Text),
                bindparam("p_text", type_=Text),
                bindparam("p_normalized", type_=Text),
                bindparam("p_at", type_=BigInteger),
            ).where(
                select(func.count()).select_from(unanswered).where(recent).scalar_subquery()
                < bindparam("p_cap", type_=Integer),
                ~exists().where(recent, unanswered.c.normalized == bindparam("p_normalized")),
            ),
        )
        self._get_user = select(*_USER_COLUMNS, users.c.blocked).where(users.c.id == bindparam("p_id"))
        feedback = self._insert(faq_feedback).values(
            user_id=bindparam("p_user"),
            entry_id=bindparam("p_entry"),
            helpful=bindparam("p_helpful"),
            at=bindparam("p_at"),
        )
        self._feedback = feedback.on_conflict_do_update(
            index_elements=[faq_feedback.c.user_id, faq_feedback.c.entry_id],
            set_={"helpful": feedback.excluded.helpful, "at": feedback.excluded.at},
        )
        self._pending = (
            select(deliveries.c.user_id)
            .where(
                deliveries.c.broadcast_id == bindparam("p_broadcast"),
                deliveries.c.status == "pending",
                deliveries.c.user_id > bindparam("p_after"),
            )
            .order_by(deliveries.c.user_id)
            .limit(bindparam("p_limit"))
        )
        self._mark_sent = (
            update(deliveries)
            .where(
                deliveries.c.broadcast_id == bindparam("p_broadcast"),
                deliveries.c.status.in_(("pending", "cancelled")),
                deliveries.c.user_id.in_(bindparam("p_users", expanding=True)),
            )
            .values(status="sent", at=bindparam("p_at"))
        )
        self._mark_other = (
            update(deliveries)
            .where(
                deliveries.c.broadcast_id == bindparam("p_broadcast"),
                deliveries.c.user_id == bindparam("p_user"),
                deliveries.c.status == "pending",
            )
            .values(status=bindparam("p_status"), error=bindparam("p_error"), at=bindparam("p_at"))
        )
        self._delivery_counts = (
            select(deliveries.c.status, func.count())
            .where(deliveries.c.broadcast_id == bindparam("p_broadcast"))
            .group_by(deliveries.c.status)
        )

    async def schema_revision(self) -> str | None:
        if self._db is None:
            raise RuntimeError("storage is not connected")
        return (await migrate.current(self._db)).revision

    async def ping(self) -> bool:
        return await self._one(select(literal(1))) is not None

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

    @staticmethod
    def _block(user_id: int, blocked: bool, now: datetime) -> Executable:
        return (
            update(users)
            .where(users.c.id == user_id)
            .values(blocked=int(blocked), blocked_at=_ts(now) if blocked else None)
        )

    async def user_counts(self) -> UserCounts:
        row = await self._one(
            select(func.count(), func.coalesce(func.sum(case((users.c.blocked == 0, 1), else_=0)), 0))
        )
        total, active = (int(row[0]), int(row[1])) if row else (0, 0)
        language = func.coalesce(users.c.language, users.c.telegram_language, "?")
        rows = await self._all(select(language, func.count()).group_by(language))
        by_language = {str(lang): int(count) for lang, count in rows}
        return UserCounts(total=total, active=active, blocked=total - active, by_language=by_language)

    # questions --------------------------------------------------------------------------
    async def record_feedback(self, user_id: int, entry_id: str, helpful: bool, now: datetime) -> None:
        await self._run(
            self._feedback, {"p_user": user_id, "p_entry": entry_id, "p_helpful": int(helpful), "p_at": _ts(now)}
        )

    async def feedback_counts(self, entry_id: str) -> FeedbackCounts:
        row = await self._one(
            select(func.coalesce(func.sum(faq_feedback.c.helpful), 0), func.count()).where(
                faq_feedback.c.entry_id == entry_id
            )
        )
        helpful, total = (int(row[0]), int(row[1])) if row else (0, 0)
        return FeedbackCounts(helpful=helpful, unhelpful=total - helpful)

    async def record_unanswered(
        self, user_id: int, language: str, text: str, now: datetime, *, daily_cap: int = UNANSWERED_DAILY_CAP
    ) -> bool:
        """Store a question the bot could not answer, unless this person already asked the same
        (normalized) question in the last 24 hours or stored ``daily_cap`` questions in them: one
        person repeating a line, or flooding, stores little. True when stored."""
        params = {
            "p_user": user_id,
            "p_language": language,
            "p_text": text[:1000],
            "p_normalized": normalize_question(text),
            "p_at": _ts(now),
            "p_day_ago": _ts(now) - 86_400,
            "p_cap": daily_cap,
        }
        return await self._count(self._record_unanswered, params) > 0

    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredRow]:
        """The most asked unanswered questions since ``since``, counted in people (distinct users)."""
        people, last = func.count(unanswered.c.user_id.distinct()), func.max(unanswered.c.at)
        rows = await self._all(
            select(func.min(unanswered.c.text), people, last)
            .where(unanswered.c.at >= _ts(since))
            .group_by(unanswered.c.normalized)
            .order_by(people.desc(), last.desc())
            .limit(limit)
        )
        return [UnansweredRow(text=str(text), count=int(n), last_asked=_dt(at)) for text, n, at in rows]

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

    async def audience_size(self, audience: Audience) -> int:
        row = await self._one(select(func.count()).select_from(subscriptions, users).where(_audience(audience)))
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
        _audience(audience)  # validates
        audience_kind, audience_value = audience_row(audience)
        insert = (
            self._insert(broadcasts)
            .values(
                idempotency_key=key,
                status=BroadcastStatus.SCHEDULED.value,
                kind=str(message.kind),
                text=message.text,
                from_chat_id=message.from_chat_id,
                message_id=message.message_id,
                audience_kind=audience_kind,
                audience_value=audience_value,
                created_by=created_by,
                created_at=_ts(now),
                start_at=_ts(start_at),
                progress_chat_id=progress[0] if progress else None,
                progress_message_id=progress[1] if progress else None,
                reply_markup=message.reply_markup,
            )
            .on_conflict_do_nothing(index_elements=[broadcasts.c.idempotency_key])
            .returning(*_BROADCAST_COLUMNS)
        )
        row = await self._one(insert)
        if row is not None:
            return _broadcast(row), True
        assert key is not None  # only a key can conflict
        existing = await self.get_broadcast_by_key(key)
        if existing is None:
            raise RuntimeError(f"broadcast with key {key!r} vanished")
        return existing, False

    async def start_broadcast(self, broadcast_id: int, now: datetime) -> int:
        """Scheduled → running with one pending delivery row per recipient, in one transaction.
        Returns the number of recipients (0 when the broadcast was not scheduled)."""

        def start(connection: Connection) -> int:
            # The status first: on PostgreSQL this locks the row, so a replica starting the same
            # broadcast at once waits, then finds it running.
            started = connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "scheduled")
                .values(status="running", started_at=_ts(now))
                .returning(broadcasts.c.audience_kind, broadcasts.c.audience_value)
            ).first()
            if started is None:
                return 0
            recipients = (
                select(literal(broadcast_id), subscriptions.c.user_id, literal("pending"))
                .select_from(subscriptions, users)
                .where(_audience(audience_from_row(started.audience_kind, started.audience_value)))
            )
            connection.execute(
                self._insert(deliveries)
                .from_select(["broadcast_id", "user_id", "status"], recipients)
                .on_conflict_do_nothing(index_elements=[deliveries.c.broadcast_id, deliveries.c.user_id])
            )
            total = connection.scalar(
                select(func.count()).select_from(deliveries).where(deliveries.c.broadcast_id == broadcast_id)
            )
            return int(total or 0)

        return await self.run_sync(start, transaction=True)

    async def get_broadcast(self, broadcast_id: int) -> BroadcastRecord | None:
        row = await self._one(select(*_BROADCAST_COLUMNS).where(broadcasts.c.id == broadcast_id))
        return _broadcast(row) if row else None

    async def get_broadcast_by_key(self, key: str) -> BroadcastRecord | None:
        row = await self._one(select(*_BROADCAST_COLUMNS).where(broadcasts.c.idempotency_key == key))
        return _broadcast(row) if row else None

    async def recent_broadcasts(self, limit: int) -> list[BroadcastRecord]:
        rows = await self._all(select(*_BROADCAST_COLUMNS).order_by(broadcasts.c.id.desc()).limit(limit))
        return [_broadcast(row) for row in rows]

    async def next_due_broadcast(self, now: datetime) -> BroadcastRecord | None:
        """A running broadcast (resumed first), else the earliest scheduled one whose time has come."""
        status = broadcasts.c.status
        row = await self._one(
            select(*_BROADCAST_COLUMNS)
            .where(or_(status == "running", and_(status == "scheduled", broadcasts.c.start_at <= _ts(now))))
            .order_by(case((status == "running", 0), else_=1), broadcasts.c.start_at, broadcasts.c.id)
            .limit(1)
        )
        return _broadcast(row) if row else None

    async def next_scheduled_start(self) -> datetime | None:
        row = await self._one(select(func.min(broadcasts.c.start_at)).where(broadcasts.c.status == "scheduled"))
        return _dt(row[0]) if row and row[0] is not None else None

    async def pending_deliveries(self, broadcast_id: int, after_user_id: int, limit: int) -> list[int]:
        rows = await self._all(self._pending, {"p_broadcast": broadcast_id, "p_after": after_user_id, "p_limit": limit})
        return [int(row[0]) for row in rows]

    async def record_deliveries(self, broadcast_id: int, results: list[DeliveryResult], now: datetime) -> None:
        """A batch of outcomes, in one transaction; a blocked recipient becomes an inactive user."""
        if not results:
            return
        at = _ts(now)
        sent = [r.user_id for r in results if r.status == DeliveryStatus.SENT]
        others = [r for r in results if r.status != DeliveryStatus.SENT]

        def record(connection: Connection) -> None:
            if sent:  # one statement for the common case; a message Telegram accepted counts as sent
                # even if the broadcast was cancelled (by another replica) while it was in flight
                connection.execute(self._mark_sent, {"p_broadcast": broadcast_id, "p_users": sent, "p_at": at})
            for result in others:
                connection.execute(
                    self._mark_other,
                    {
                        "p_broadcast": broadcast_id,
                        "p_user": result.user_id,
                        "p_status": str(result.status),
                        "p_error": result.error,
                        "p_at": at,
                    },
                )
                if result.status == DeliveryStatus.BLOCKED:
                    connection.execute(self._block(result.user_id, True, now))

        for result in others:
            self._users.pop(result.user_id, None)
        await self.run_sync(record, transaction=True)

    async def delivery_counts(self, broadcast_id: int) -> DeliveryCounts:
        rows = await self._all(self._delivery_counts, {"p_broadcast": broadcast_id})
        counts = {str(status): int(n) for status, n in rows}
        return DeliveryCounts(
            total=sum(counts.values()),
            pending=counts.get("pending", 0),
            sent=counts.get("sent", 0),
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0),
            cancelled=counts.get("cancelled", 0),
        )

    @staticmethod
    def _cancel_pending(broadcast_id: int, now: datetime) -> Executable:
        return (
            update(deliveries)
            .where(deliveries.c.broadcast_id == broadcast_id, deliveries.c.status == "pending")
            .values(status="cancelled", at=_ts(now))
        )

    async def finish_broadcast(self, broadcast_id: int, status: BroadcastStatus, now: datetime) -> None:

        def finish(connection: Connection) -> None:
            connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(("scheduled", "running")))
                .values(status=str(status), finished_at=_ts(now))
            )
            if status == BroadcastStatus.CANCELLED:
                connection.execute(self._cancel_pending(broadcast_id, now))

        await self.run_sync(finish, transaction=True)

    async def cancel_broadcast(self, broadcast_id: int, now: datetime) -> bool:
        """Cancel a scheduled or running broadcast; False when it has already ended (one statement
        decides, so a broadcast the leader finishes at that moment is never reported cancelled)."""

        def cancel(connection: Connection) -> bool:
            cancelled = connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(("scheduled", "running")))
                .values(status="cancelled", finished_at=_ts(now))
            )
            if cancelled.rowcount == 0:
                return False
            connection.execute(self._cancel_pending(broadcast_id, now))
            return True

        return await self.run_sync(cancel, transaction=True)

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        await self._run(
            update(broadcasts)
            .where(broadcasts.c.id == broadcast_id)
            .values(progress_chat_id=chat_id, progress_message_id=message_id)
        )

    async def delivered_since(self, since: datetime) -> int:
        row = await self._one(select(func.count()).where(deliveries.c.status == "sent", deliveries.c.at >= _ts(since)))
        return int(row[0]) if row else 0

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

    async def delivery_summary(self, since: datetime) -> tuple[dict[str, int], int]:
        """For ``/metrics``, in two indexed queries: deliveries recorded since ``since`` by status,
        and deliveries still pending in scheduled and running broadcasts (the queue)."""
        recent_rows = await self._all(
            select(deliveries.c.status, func.count())
            .where(deliveries.c.status.in_(("sent", "blocked", "failed")), deliveries.c.at >= _ts(since))
            .group_by(deliveries.c.status)
        )
        row = await self._one(
            select(func.count())
            .select_from(deliveries.join(broadcasts, broadcasts.c.id == deliveries.c.broadcast_id))
            .where(broadcasts.c.status.in_(("scheduled", "running")), deliveries.c.status == "pending")
        )
        return {str(status): int(n) for status, n in recent_rows}, int(row[0]) if row else 0

    # audit log -------------------------------------------------------------------------------
    async def audit(self, admin_id: int, action: str, details: str, now: datetime) -> None:
        await self._run(
            audit_log.insert().values(at=_ts(now), admin_id=admin_id, action=action, details=details[:2000])
        )

    async def audit_entries(self, limit: int) -> list[AuditEntry]:
        rows = await self._all(select(*audit_log.c).order_by(audit_log.c.id.desc()).limit(limit))
        return [AuditEntry(int(r.id), _dt(r.at), int(r.admin_id), str(r.action), str(r.details)) for r in rows]

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

    # privacy: erasure, retention, admin menus, notices (issue 12) ---------------------------------
    async def forget_user(self, user_id: int) -> Erased:
        """Delete everything stored about ``user_id``, in one transaction: subscription,
        preferences, feedback, unanswered questions, event reminders, deliveries (pending or past),
        their personal broadcasts (vote-time reminders), the admin-menu mark and the user row itself.
        Rows that record what an *admin* did (audit log, broadcasts and events they made) are not the
        resident's data and stay."""

        def forget(connection: Connection) -> Erased:
            rows: dict[str, int] = {}
            # personal broadcasts name the user in their audience and key (vote-time reminders)
            rows["broadcasts"] = connection.execute(
                delete(broadcasts).where(
                    broadcasts.c.audience_kind == AudienceKind.USER.value, broadcasts.c.audience_value == str(user_id)
                )
            ).rowcount
            for table, column in _USER_TABLES:
                rows[table.name] = connection.execute(delete(table).where(column == user_id)).rowcount
            return Erased(rows)

        erased = await self.run_sync(forget, transaction=True)
        self._users.pop(user_id, None)
        return erased

    async def stop_everything(self, user_id: int) -> int:
        """``/stop``: no more messages. The subscription, the reminder preferences (mode, vote time,
        "I voted") and the pending event reminders are deleted, together; returns how many rows."""

        def stop(connection: Connection) -> int:
            r = event_reminders.c
            statements = (
                delete(event_reminders).where(r.user_id == user_id, r.sent_at.is_(None), r.cancelled == 0),
                delete(reminder_prefs).where(reminder_prefs.c.user_id == user_id),
                delete(subscriptions).where(subscriptions.c.user_id == user_id),
            )
            return sum(connection.execute(statement).rowcount for statement in statements)

        return await self.run_sync(stop, transaction=True)

    async def drop_reminder_prefs(self, user_id: int) -> int:
        """Reminder preferences only serve a subscription: deleted with it."""
        return await self._count(delete(reminder_prefs).where(reminder_prefs.c.user_id == user_id))

    async def delete_unanswered_before(self, before: datetime) -> int:
        return await self._count(delete(unanswered).where(unanswered.c.at < _ts(before)))

    async def forget_votes_before(self, day: date) -> int:
        """ "I voted" of every day before ``day`` (ISO dates compare as text)."""
        voted_on = reminder_prefs.c.voted_on
        return await self._count(
            update(reminder_prefs).where(voted_on.is_not(None), voted_on < day.isoformat()).values(voted_on=None)
        )

    async def delete_event_reminders_before(self, before: datetime) -> int:
        """Event reminders whose moment is long past (sent, skipped or cancelled by then)."""
        return await self._count(delete(event_reminders).where(event_reminders.c.remind_at < _ts(before)))

    async def mark_admin_menu(self, user_id: int, now: datetime) -> None:
        insert = self._insert(admin_menus).values(user_id=user_id, set_at=_ts(now))
        await self._run(
            insert.on_conflict_do_update(
                index_elements=[admin_menus.c.user_id], set_={"set_at": insert.excluded.set_at}
            )
        )

    async def admin_menu_holders(self) -> list[int]:
        return [int(row[0]) for row in await self._all(select(admin_menus.c.user_id).order_by(admin_menus.c.user_id))]

    async def drop_admin_menu(self, user_id: int) -> None:
        await self._run(delete(admin_menus).where(admin_menus.c.user_id == user_id))

    async def scheduled_broadcast_creators(self) -> list[tuple[int, int]]:
        """(broadcast id, creator) of every scheduled broadcast an admin made."""
        rows = await self._all(
            select(broadcasts.c.id, broadcasts.c.created_by)
            .where(broadcasts.c.status == "scheduled", broadcasts.c.created_by.is_not(None))
            .order_by(broadcasts.c.id)
        )
        return [(int(row[0]), int(row[1])) for row in rows]

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
        ``key``: the same key returns the existing one. The row, one pending delivery per recipient
        and the status ``running`` are written in one transaction; a row left ``preparing`` (by a
        crash of an older version, which wrote them one by one) is completed by the same call."""
        ids = sorted(set(recipients))

        def create(connection: Connection) -> tuple[BroadcastRecord, bool]:
            inserted = connection.execute(
                self._insert(broadcasts)
                .values(
                    idempotency_key=key,
                    status=BroadcastStatus.PREPARING.value,
                    kind=str(message.kind),
                    text=message.text,
                    from_chat_id=message.from_chat_id,
                    message_id=message.message_id,
                    audience_kind=AudienceKind.NOTICE.value,
                    audience_value=label,
                    created_by=created_by,
                    created_at=_ts(now),
                    start_at=_ts(now),
                    reply_markup=message.reply_markup,
                )
                .on_conflict_do_nothing(index_elements=[broadcasts.c.idempotency_key])
                .returning(broadcasts.c.id)
            ).first()
            by_key = select(*_BROADCAST_COLUMNS).where(broadcasts.c.idempotency_key == key)
            existing = connection.execute(by_key).first()
            if existing is None:
                raise RuntimeError(f"broadcast with key {key!r} vanished")
            if existing.status != "preparing":
                return _broadcast(existing), inserted is not None
            if ids:
                connection.execute(
                    self._insert(deliveries).on_conflict_do_nothing(
                        index_elements=[deliveries.c.broadcast_id, deliveries.c.user_id]
                    ),
                    [{"broadcast_id": existing.id, "user_id": user_id, "status": "pending"} for user_id in ids],
                )
            connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == existing.id, broadcasts.c.status == "preparing")
                .values(status="running", started_at=_ts(now))
            )
            row = connection.execute(by_key).first()
            assert row is not None
            return _broadcast(row), inserted is not None

        return await self.run_sync(create, transaction=True)

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

    # the operators' desk (issue 15) ---------------------------------------------------------------
    # A resident's open ticket is created by an insert that does nothing when one is already open (a
    # unique index on open tickets), and a message is relayed by whoever first records it (its chat
    # and message id are the key of ``desk_messages``): replicas writing at once stay consistent.
    @staticmethod
    def _ticket(row: Row[Any]) -> Ticket:
        return Ticket(
            id=int(row.id),
            user_id=int(row.user_id),
            kind=str(row.kind),
            status=str(row.status),
            language=str(row.language),
            question=str(row.question),
            thread_id=None if row.thread_id is None else int(row.thread_id),
            opened_at=_dt(row.opened_at),
            first_reply_at=_opt_dt(row.first_reply_at),
            closed_at=_opt_dt(row.closed_at),
            closed_by=None if row.closed_by is None else int(row.closed_by),
            rating=None if row.rating is None else int(row.rating),
            last_reply=row.last_reply,
        )

    async def _one_ticket(self, *where: ColumnElement[bool]) -> Ticket | None:
        row = await self._one(select(*tickets.c).where(*where))
        return self._ticket(row) if row else None

    async def open_ticket(
        self, user_id: int, kind: str, language: str, question: str, now: datetime
    ) -> tuple[Ticket, bool]:
        """The resident's open ticket: created now (True) or the one already open (False)."""
        statement = (
            self._insert(tickets)
            .values(
                user_id=user_id,
                kind=kind,
                status="open",
                language=language,
                question=question[:QUESTION_LIMIT],
                opened_at=_ts(now),
            )
            .on_conflict_do_nothing(index_elements=[tickets.c.user_id], index_where=tickets.c.status == "open")
            .returning(*tickets.c)
        )
        row = await self._one(statement)
        if row is not None:
            return self._ticket(row), True
        existing = await self.open_ticket_of(user_id)
        if existing is None:  # closed between the two statements: try once more
            return await self.open_ticket(user_id, kind, language, question, now)
        return existing, False

    async def open_ticket_of(self, user_id: int) -> Ticket | None:
        return await self._one_ticket(tickets.c.user_id == user_id, tickets.c.status == "open")

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self._one_ticket(tickets.c.id == ticket_id)

    async def ticket_by_thread(self, thread_id: int) -> Ticket | None:
        return await self._one_ticket(tickets.c.thread_id == thread_id)

    async def set_ticket_thread(self, ticket_id: int, thread_id: int) -> bool:
        """Link the ticket to its topic; False when another replica linked one first."""
        statement = (
            update(tickets).where(tickets.c.id == ticket_id, tickets.c.thread_id.is_(None)).values(thread_id=thread_id)
        )
        return await self._count(statement) == 1

    async def close_ticket(self, ticket_id: int, closed_by: int | None, now: datetime) -> bool:
        statement = (
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.status == "open")
            .values(status="closed", closed_at=_ts(now), closed_by=closed_by)
        )
        return await self._count(statement) == 1

    async def rate_ticket(self, ticket_id: int, user_id: int, helpful: bool) -> bool:
        statement = (
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.user_id == user_id, tickets.c.status == "closed")
            .values(rating=int(helpful))
        )
        return await self._count(statement) == 1

    async def record_reply(self, ticket_id: int, text: str | None, now: datetime) -> None:
        values: dict[str, Any] = {"first_reply_at": func.coalesce(tickets.c.first_reply_at, _ts(now))}
        if text is not None:
            values["last_reply"] = text[:REPLY_LIMIT]
        await self._run(update(tickets).where(tickets.c.id == ticket_id).values(values))

    async def claim_relay(
        self, chat_id: int, message_id: int, ticket_id: int, user_id: int, direction: str, now: datetime
    ) -> bool:
        """Record that this message is being relayed; False when it already was (a repeated update)."""
        statement = (
            self._insert(desk_messages)
            .values(
                chat_id=chat_id,
                message_id=message_id,
                ticket_id=ticket_id,
                user_id=user_id,
                direction=direction,
                at=_ts(now),
            )
            .on_conflict_do_nothing(index_elements=[desk_messages.c.chat_id, desk_messages.c.message_id])
        )
        return await self._count(statement) == 1

    async def relayed_since(self, user_id: int, direction: str, since: datetime) -> int:
        m = desk_messages.c
        row = await self._one(
            select(func.count()).where(m.user_id == user_id, m.direction == direction, m.at >= _ts(since))
        )
        return int(row[0]) if row else 0

    async def block_resident(self, user_id: int, blocked_by: int, now: datetime) -> None:
        await self._run(
            self._insert(desk_blocks)
            .values(user_id=user_id, blocked_by=blocked_by, at=_ts(now), told=0)
            .on_conflict_do_nothing(index_elements=[desk_blocks.c.user_id])
        )

    async def resident_block(self, user_id: int) -> bool | None:
        """None when the resident is not blocked; else whether they were already told."""
        row = await self._one(select(desk_blocks.c.told).where(desk_blocks.c.user_id == user_id))
        return None if row is None else bool(row[0])

    async def mark_block_told(self, user_id: int) -> bool:
        """True for exactly one caller: the one that tells the resident."""
        statement = update(desk_blocks).where(desk_blocks.c.user_id == user_id, desk_blocks.c.told == 0).values(told=1)
        return await self._count(statement) == 1

    async def add_faq_draft(
        self, ticket_id: int, language: str, question: str, answer: str, created_by: int, now: datetime
    ) -> FaqDraft:
        row = await self._one(
            faq_drafts.insert()
            .values(
                ticket_id=ticket_id,
                language=language,
                question=question[:QUESTION_LIMIT],
                answer=answer[:REPLY_LIMIT],
                created_by=created_by,
                created_at=_ts(now),
            )
            .returning(faq_drafts.c.id)
        )
        assert row is not None
        return FaqDraft(int(row[0]), ticket_id, language, question, answer, created_by, now)

    async def faq_drafts(self, limit: int) -> list[FaqDraft]:
        rows = await self._all(select(*faq_drafts.c).order_by(faq_drafts.c.id.desc()).limit(limit))
        return [
            FaqDraft(
                int(r.id),
                int(r.ticket_id),
                str(r.language),
                str(r.question),
                str(r.answer),
                int(r.created_by),
                _dt(r.created_at),
            )
            for r in rows
        ]

    async def desk_counts(self, since: datetime) -> DeskCounts:
        def counts(connection: Connection) -> DeskCounts:
            status = tickets.c.status
            row = connection.execute(
                select(
                    func.coalesce(func.sum(case((status == "open", 1), else_=0)), 0),
                    func.coalesce(func.sum(case((status == "closed", 1), else_=0)), 0),
                )
            ).first()
            wait = tickets.c.first_reply_at - tickets.c.opened_at
            waits = connection.execute(
                select(wait)
                .where(tickets.c.opened_at >= _ts(since), tickets.c.first_reply_at.is_not(None))
                .order_by(wait)
            )
            open_, closed = (int(row[0]), int(row[1])) if row else (0, 0)
            return DeskCounts(open=open_, closed=closed, first_reply_seconds=[int(w[0]) for w in waits])

        return await self.run_sync(counts)

    async def purge_desk_before(self, before: datetime) -> int:
        """Retention: the question of tickets closed before ``before`` is blanked (the row stays for the
        figures), and relayed-message keys older than that are deleted (they only stop repeats)."""

        def purge(connection: Connection) -> int:
            blanked = connection.execute(
                update(tickets)
                .where(
                    tickets.c.status == "closed",
                    tickets.c.closed_at < _ts(before),
                    or_(tickets.c.question != "", tickets.c.last_reply.is_not(None)),
                )
                .values(question="", last_reply=None)
            ).rowcount
            deleted = connection.execute(delete(desk_messages).where(desk_messages.c.at < _ts(before))).rowcount
            return max(blanked, 0) + max(deleted, 0)

        return await self.run_sync(purge, transaction=True)


__all__ = ["UNANSWERED_DAILY_CAP", "SqlStorage", "normalize_question"]
