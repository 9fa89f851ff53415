"""Broadcasts and deliveries: audiences as SQL, the broadcast's states, the delivery queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Row,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)

from bot.storage.base import Audience, BroadcastMessage, BroadcastRecord, DeliveryCounts, DeliveryResult
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
from bot.storage.schema import broadcasts, deliveries, reminder_prefs, subscriptions, users
from bot.storage.sql.core import _ACTIVE, SqlCore
from bot.storage.timestamps import from_opt_ts as _opt_dt
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

NOTICE_AUDIENCE = AudienceKind.NOTICE.value  # a broadcast to a list of recipients fixed at creation
_BROADCAST_COLUMNS = tuple(broadcasts.c)
# Reminders: countdown/after reach subscribers who want all reminders, voting_day also those who
# want only voting-day ones, minus who said "I voted".
_REMINDER_MODES = {
    ReminderScope.COUNTDOWN: ("all",),
    ReminderScope.AFTER: ("all",),
    ReminderScope.VOTING_DAY: ("all", "voting_day"),
}


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


def _message_columns(message: BroadcastMessage) -> dict[str, Any]:
    """The columns of a broadcast row that hold its message (a broadcast's or a notice's)."""
    return {
        "kind": str(message.kind),
        "text": message.text,
        "from_chat_id": message.from_chat_id,
        "message_id": message.message_id,
        "reply_markup": message.reply_markup,
    }


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
        deadline=_opt_dt(row.deadline),
    )


class BroadcastQueries(SqlCore):
    """Broadcasts (scheduled, personal and notices) and their deliveries."""

    def _prepare(self) -> None:
        super()._prepare()
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

    # audiences ---------------------------------------------------------------------------------
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
        deadline: datetime | None = None,
    ) -> tuple[BroadcastRecord, bool]:
        """A new scheduled broadcast, or (with ``key``) the existing one with that key."""
        _audience(audience)  # validates
        audience_kind, audience_value = audience_row(audience)
        insert = (
            self._insert(broadcasts)
            .values(
                idempotency_key=key,
                status=str(BroadcastStatus.SCHEDULED),
                **_message_columns(message),
                audience_kind=audience_kind,
                audience_value=audience_value,
                created_by=created_by,
                created_at=_ts(now),
                start_at=_ts(start_at),
                deadline=_ts(deadline) if deadline is not None else None,
                progress_chat_id=progress[0] if progress else None,
                progress_message_id=progress[1] if progress else None,
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
        """The broadcast to send now, among the running ones and the scheduled ones whose time has
        come: event notices first (small, never starved by a large broadcast), then the soonest
        deadline (earliest deadline first; none last), then a running one before a scheduled one
        (resumed), then the earliest start."""
        status = broadcasts.c.status
        row = await self._one(
            select(*_BROADCAST_COLUMNS)
            .where(or_(status == "running", and_(status == "scheduled", broadcasts.c.start_at <= _ts(now))))
            .order_by(
                case((broadcasts.c.audience_kind == NOTICE_AUDIENCE, 0), else_=1),
                case((broadcasts.c.deadline.is_(None), 1), else_=0),
                broadcasts.c.deadline,
                case((status == "running", 0), else_=1),
                broadcasts.c.start_at,
                broadcasts.c.id,
            )
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
            expired=counts.get("expired", 0),
        )

    async def expire_broadcast(self, broadcast_id: int, now: datetime) -> int:
        """Its deadline has passed: every pending delivery becomes ``expired`` (not sent, counted)
        and the broadcast is done, in one transaction. Returns the number of expired deliveries."""

        def expire(connection: Connection) -> int:
            expired = connection.execute(
                update(deliveries)
                .where(deliveries.c.broadcast_id == broadcast_id, deliveries.c.status == "pending")
                .values(status="expired", at=_ts(now))
            )
            connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(("scheduled", "running")))
                .values(status="done", finished_at=_ts(now))
            )
            return int(expired.rowcount or 0)

        return await self.run_sync(expire, transaction=True)

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

    async def delivery_summary(self, since: datetime) -> tuple[dict[str, int], int]:
        """For ``/metrics``, in two indexed queries: deliveries recorded since ``since`` by status,
        and deliveries still pending in scheduled and running broadcasts (the queue)."""
        recent_rows = await self._all(
            select(deliveries.c.status, func.count())
            .where(deliveries.c.status.in_(("sent", "blocked", "failed", "expired")), deliveries.c.at >= _ts(since))
            .group_by(deliveries.c.status)
        )
        row = await self._one(
            select(func.count())
            .select_from(deliveries.join(broadcasts, broadcasts.c.id == deliveries.c.broadcast_id))
            .where(broadcasts.c.status.in_(("scheduled", "running")), deliveries.c.status == "pending")
        )
        return {str(status): int(n) for status, n in recent_rows}, int(row[0]) if row else 0
