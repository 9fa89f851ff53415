"""The storage interface: narrow, typed, free of any database's specifics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from bot.storage.base_desk import DeskStorage

# the broadcast values live in bot.storage.broadcasts; re-exported here for the storage interface
from bot.storage.broadcasts import Audience as Audience
from bot.storage.broadcasts import BroadcastMessage as BroadcastMessage
from bot.storage.broadcasts import BroadcastRecord as BroadcastRecord
from bot.storage.broadcasts import BroadcastStatus as BroadcastStatus
from bot.storage.broadcasts import DeliveryCounts as DeliveryCounts
from bot.storage.broadcasts import DeliveryResult as DeliveryResult


@dataclass(frozen=True)
class UserRecord:
    id: int
    language: str | None  # the user's explicit choice, None until they pick one
    telegram_language: str | None
    first_seen: datetime
    last_seen: datetime
    blocked: bool


@dataclass(frozen=True)
class DailyActivity:
    """Per local day: new subscriptions still held, and messages delivered (``/stats``'s chart)."""

    subscribers_before: int  # subscriptions older than the first day, still held
    subscribed: dict[date, int]
    delivered: dict[date, int]


@dataclass(frozen=True)
class UserCounts:
    total: int
    active: int
    blocked: int
    by_language: dict[str, int]


@dataclass(frozen=True)
class UnansweredRow:
    text: str
    count: int  # people who asked it (distinct users)
    last_asked: datetime


@dataclass(frozen=True)
class AnswerLoopCounts:
    waiting: int  # askers who want to be told, not told yet
    told: int  # askers told of an answer later
    median_seconds: int | None  # from the question to the answer queued


@dataclass(frozen=True)
class UnansweredQuestion:
    text: str
    user_id: int
    language: str


@dataclass(frozen=True)
class WaitingQuestion:
    """An unanswered question whose asker wants to be told when there is an answer."""

    id: int
    user_id: int
    language: str
    text: str


@dataclass(frozen=True)
class FeedbackCounts:
    helpful: int
    unhelpful: int


@dataclass(frozen=True)
class ReminderPrefs:
    user_id: int
    mode: str = "all"  # all, voting_day, none
    vote_time: time | None = None  # when the user plans to vote on voting day (campaign time)
    voted_on: date | None = None  # the day they pressed "I voted"


class RemindersStorage(Protocol):
    async def reminder_prefs(self, user_id: int) -> ReminderPrefs: ...

    async def set_reminder_mode(self, user_id: int, mode: str) -> None: ...

    async def set_vote_time(self, user_id: int, vote_time: time | None) -> None: ...

    async def mark_voted(self, user_id: int, day: date) -> None: ...

    async def vote_time_subscribers(self) -> list[ReminderPrefs]: ...


# events (admin-made events, cancellations, personal event reminders) ----------------------------


@dataclass(frozen=True)
class EventRecord:
    """An event added by an admin (``/event_add``); the file's events live in ``data/events.yaml``."""

    id: str
    kind: str
    title: str  # one text, shown in every language
    description: str | None
    starts_at: datetime  # UTC; for an all-day event, midnight of its first day in the campaign's zone
    ends_at: datetime | None  # UTC; for an all-day event, midnight after its last day
    all_day: bool
    district: str | None
    venue_name: str | None
    venue_address: str | None
    latitude: float | None
    longitude: float | None
    organiser: str
    organiser_kind: str  # official, campaign, other
    link: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EventReminder:
    """A personal reminder of one event for one user."""

    user_id: int
    event_id: str
    offset: str  # "1h", "1d" (timed events) or "day", "eve" (all-day events)
    remind_at: datetime  # UTC
    created_at: datetime
    sent_at: datetime | None
    cancelled: bool
    outcome: str | None  # sent, late (skipped), gone (event cancelled or removed), failed
    language: str | None = None  # the user's language when joined with users (due reminders)


class EventsStorage(Protocol):
    async def save_event(self, event: EventRecord) -> None: ...

    async def get_event(self, event_id: str) -> EventRecord | None: ...

    async def list_events(self) -> list[EventRecord]: ...

    async def cancel_event(self, event_id: str, admin_id: int | None, now: datetime) -> bool: ...

    async def cancelled_event_ids(self) -> set[str]: ...

    async def set_event_reminder(
        self, user_id: int, event_id: str, offset: str, remind_at: datetime, now: datetime
    ) -> EventReminder: ...

    async def get_event_reminder(self, user_id: int, event_id: str) -> EventReminder | None: ...

    async def cancel_event_reminder(self, user_id: int, event_id: str) -> bool: ...

    async def pending_event_reminders(self, event_id: str) -> list[EventReminder]: ...

    async def cancel_event_reminders(self, event_id: str) -> list[EventReminder]: ...

    async def move_event_reminder(self, user_id: int, event_id: str, remind_at: datetime) -> None: ...

    async def due_event_reminders(self, now: datetime, limit: int) -> list[EventReminder]: ...

    async def claim_event_reminder(
        self, user_id: int, event_id: str, remind_at: datetime, outcome: str, now: datetime
    ) -> bool: ...

    async def set_event_reminder_outcome(self, user_id: int, event_id: str, outcome: str) -> None: ...


@dataclass(frozen=True)
class Erased:
    """Rows deleted for one user (``/forget``), by table."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class PrivacyStorage(Protocol):
    """Erasure, retention, admin menus and notices (``bot/storage/sql/privacy.py``, ``sql/notices.py``)."""

    async def forget_user(self, user_id: int) -> Erased: ...

    async def stop_everything(self, user_id: int) -> int: ...

    async def drop_reminder_prefs(self, user_id: int) -> int: ...

    async def delete_unanswered_before(self, before: datetime) -> int: ...

    async def forget_votes_before(self, day: date) -> int: ...

    async def delete_event_reminders_before(self, before: datetime) -> int: ...

    async def mark_admin_menu(self, user_id: int, now: datetime) -> None: ...

    async def admin_menu_holders(self) -> list[int]: ...

    async def drop_admin_menu(self, user_id: int) -> None: ...

    async def scheduled_broadcast_creators(self) -> list[tuple[int, int]]: ...

    async def create_notice_broadcast(
        self,
        message: BroadcastMessage,
        recipients: Sequence[int],
        *,
        key: str,
        label: str,
        created_by: int | None,
        now: datetime,
    ) -> tuple[BroadcastRecord, bool]: ...

    async def cancelled_events_with_pending_reminders(self) -> list[str]: ...


class UsersStorage(Protocol):
    """Users: who wrote to the bot, their language, whether they blocked it."""

    async def touch_user(self, user_id: int, telegram_language: str | None, now: datetime) -> UserRecord: ...

    async def get_user(self, user_id: int) -> UserRecord | None: ...

    async def set_language(self, user_id: int, language: str) -> None: ...

    async def set_blocked(self, user_id: int, blocked: bool, now: datetime) -> None: ...

    async def user_counts(self) -> UserCounts: ...


class QuestionsStorage(Protocol):
    """FAQ feedback, unanswered questions and the askers waiting for an answer."""

    async def record_feedback(self, user_id: int, entry_id: str, helpful: bool, now: datetime) -> None: ...

    async def feedback_counts(self, entry_id: str) -> FeedbackCounts: ...

    async def record_unanswered(
        self, user_id: int, language: str, text: str, now: datetime, *, daily_cap: int = ...
    ) -> bool: ...

    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredRow]: ...

    async def want_answer(self, user_id: int, text: str) -> bool: ...

    async def unanswered_since(self, since: datetime, limit: int) -> list[UnansweredQuestion]: ...

    async def answer_loop_counts(self) -> AnswerLoopCounts: ...

    async def waiting_questions(self) -> list[WaitingQuestion]: ...

    async def mark_answered(self, ids: list[int], entry_id: str, now: datetime) -> int: ...


class SubscriptionsStorage(Protocol):
    """Subscriptions and the audiences they make."""

    async def subscribe(self, user_id: int, language: str, now: datetime) -> Subscription: ...

    async def unsubscribe(self, user_id: int) -> bool: ...

    async def get_subscription(self, user_id: int) -> Subscription | None: ...

    async def set_district(self, user_id: int, district: str | None) -> None: ...

    async def subscriber_counts(self) -> SubscriberCounts: ...

    async def audience_size(self, audience: Audience) -> int: ...


class BroadcastsStorage(Protocol):
    """Broadcasts and their deliveries (the delivery engine), and what was delivered."""

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
    ) -> tuple[BroadcastRecord, bool]: ...

    async def start_broadcast(self, broadcast_id: int, now: datetime) -> int: ...

    async def get_broadcast(self, broadcast_id: int) -> BroadcastRecord | None: ...

    async def get_broadcast_by_key(self, key: str) -> BroadcastRecord | None: ...

    async def recent_broadcasts(self, limit: int) -> list[BroadcastRecord]: ...

    async def next_due_broadcast(self, now: datetime) -> BroadcastRecord | None: ...

    async def next_scheduled_start(self) -> datetime | None: ...

    async def pending_deliveries(self, broadcast_id: int, after_user_id: int, limit: int) -> list[int]: ...

    async def record_deliveries(self, broadcast_id: int, results: list[DeliveryResult], now: datetime) -> None: ...

    async def delivery_counts(self, broadcast_id: int) -> DeliveryCounts: ...

    async def finish_broadcast(self, broadcast_id: int, status: BroadcastStatus, now: datetime) -> None: ...

    async def cancel_broadcast(self, broadcast_id: int, now: datetime) -> bool: ...

    async def expire_broadcast(self, broadcast_id: int, now: datetime) -> int: ...

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None: ...

    async def delivered_since(self, since: datetime) -> int: ...

    async def delivery_summary(self, since: datetime) -> tuple[dict[str, int], int]: ...

    async def daily_activity(self, since: datetime, utc_offset: int) -> DailyActivity: ...


class AuditStorage(Protocol):
    """The admins' audit log."""

    async def audit(self, admin_id: int, action: str, details: str, now: datetime) -> None: ...

    async def audit_entries(self, limit: int) -> list[AuditEntry]: ...


class Storage(
    UsersStorage,
    QuestionsStorage,
    SubscriptionsStorage,
    BroadcastsStorage,
    AuditStorage,
    RemindersStorage,
    EventsStorage,
    PrivacyStorage,
    DeskStorage,
    Protocol,
):
    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def schema_revision(self) -> str | None: ...  # Alembic's, None before the first upgrade

    async def ping(self) -> bool: ...


# subscriptions, broadcasts, deliveries, audit log ------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    user_id: int
    language: str  # the language at subscription time; the user's explicit choice wins when set
    district: str | None  # a district id of campaign.yaml
    subscribed_at: datetime


@dataclass(frozen=True)
class SubscriberCounts:
    total: int  # active (not blocked) subscribers
    by_language: dict[str, int]
    by_district: dict[str, int]  # "" for subscribers without a district


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    admin_id: int
    action: str
    details: str
