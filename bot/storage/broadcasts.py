"""The values of broadcasts and deliveries: who receives a broadcast (:data:`Audience`), what it
delivers (:class:`BroadcastMessage`), its status and each delivery's outcome.

Storage defines them (it may not import services); services and handlers use them. Statuses and
kinds are ``StrEnum``s whose values are the strings stored in the database. An audience is one of
a few frozen dataclasses; the database keeps it as two columns (``audience_kind`` and
``audience_value``), written and read only by :func:`audience_row` and :func:`audience_from_row`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar


class BroadcastStatus(StrEnum):
    PREPARING = "preparing"  # a notice whose recipients are being written (never seen outside storage)
    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """Still to be sent, or being sent: it can be cancelled."""
        return self in (BroadcastStatus.SCHEDULED, BroadcastStatus.RUNNING)

    @property
    def ended(self) -> bool:
        return self in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)


class MessageKind(StrEnum):
    TEXT = "text"  # HTML text (sendMessage), with optional buttons
    COPY = "copy"  # a copy of a message in a chat (copyMessage): photos, videos, documents


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    BLOCKED = "blocked"  # 403, or the chat is gone: the user becomes inactive
    FAILED = "failed"
    CANCELLED = "cancelled"  # not sent: the broadcast was cancelled first
    EXPIRED = "expired"  # not sent: its deadline passed first


class AudienceKind(StrEnum):
    ALL = "all"
    LANGUAGE = "language"
    DISTRICT = "district"
    USER = "user"
    REMINDER = "reminder"
    NOTICE = "notice"


class ReminderScope(StrEnum):
    """Who a campaign reminder reaches, by their reminder setting: ``countdown`` and ``after`` the
    subscribers who want all reminders; ``voting_day`` also those who want only voting-day ones
    (minus those who said "I voted")."""

    COUNTDOWN = "countdown"
    VOTING_DAY = "voting_day"
    AFTER = "after"


@dataclass(frozen=True)
class AllSubscribers:
    kind: ClassVar[AudienceKind] = AudienceKind.ALL


@dataclass(frozen=True)
class LanguageAudience:
    """Subscribers whose language (their explicit choice, else the one they subscribed in) is this."""

    language: str
    kind: ClassVar[AudienceKind] = AudienceKind.LANGUAGE


@dataclass(frozen=True)
class DistrictAudience:
    district: str  # a district id of campaign.yaml
    kind: ClassVar[AudienceKind] = AudienceKind.DISTRICT


@dataclass(frozen=True)
class UserAudience:
    """One subscriber (personal reminders)."""

    user_id: int
    kind: ClassVar[AudienceKind] = AudienceKind.USER


@dataclass(frozen=True)
class ReminderAudience:
    """The subscribers a campaign reminder in one language reaches (see :class:`ReminderScope`)."""

    language: str
    scope: ReminderScope
    voting_day: date
    kind: ClassVar[AudienceKind] = AudienceKind.REMINDER


@dataclass(frozen=True)
class NoticeAudience:
    """A list of recipients fixed when the broadcast was created (event notices); ``label`` names it."""

    label: str
    kind: ClassVar[AudienceKind] = AudienceKind.NOTICE


Audience = AllSubscribers | LanguageAudience | DistrictAudience | UserAudience | ReminderAudience | NoticeAudience
ALL_SUBSCRIBERS = AllSubscribers()


def audience_row(audience: Audience) -> tuple[str, str | None]:
    """The two columns an audience is stored in."""
    match audience:
        case AllSubscribers():
            return AudienceKind.ALL.value, None
        case LanguageAudience(language):
            return AudienceKind.LANGUAGE.value, language
        case DistrictAudience(district):
            return AudienceKind.DISTRICT.value, district
        case UserAudience(user_id):
            return AudienceKind.USER.value, str(user_id)
        case ReminderAudience(language, scope, day):
            return AudienceKind.REMINDER.value, f"{language}:{scope.value}:{day.isoformat()}"
        case NoticeAudience(label):
            return AudienceKind.NOTICE.value, label


def audience_from_row(kind: str, value: str | None) -> Audience:
    """The audience stored as ``(kind, value)``; ValueError when the row is not one."""
    match AudienceKind(kind):
        case AudienceKind.ALL:
            return ALL_SUBSCRIBERS
        case AudienceKind.LANGUAGE:
            return LanguageAudience(_required(kind, value))
        case AudienceKind.DISTRICT:
            return DistrictAudience(_required(kind, value))
        case AudienceKind.USER:
            return UserAudience(int(_required(kind, value)))
        case AudienceKind.REMINDER:
            language, scope, day = _required(kind, value).split(":")
            return ReminderAudience(language, ReminderScope(scope), date.fromisoformat(day))
        case AudienceKind.NOTICE:
            return NoticeAudience(_required(kind, value))


def _required(kind: str, value: str | None) -> str:
    if not value:
        raise ValueError(f"a {kind} audience needs a value")
    return value


@dataclass(frozen=True)
class BroadcastMessage:
    """What a broadcast delivers: HTML text, or a copy of a message in a chat (copyMessage)."""

    kind: MessageKind
    text: str | None = None
    from_chat_id: int | None = None
    message_id: int | None = None
    reply_markup: str | None = None  # an InlineKeyboardMarkup as JSON (buttons under the message)


@dataclass(frozen=True)
class BroadcastRecord:
    id: int
    key: str | None
    status: BroadcastStatus
    message: BroadcastMessage
    audience: Audience
    created_by: int | None
    created_at: datetime
    start_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress_chat_id: int | None
    progress_message_id: int | None
    deadline: datetime | None = None  # what is not sent by then is not sent (counted as expired)

    @property
    def notice(self) -> bool:
        """An event notice (a fixed list of recipients): it goes before any larger broadcast."""
        return self.audience.kind is AudienceKind.NOTICE


@dataclass(frozen=True)
class DeliveryCounts:
    total: int
    pending: int
    sent: int
    blocked: int
    failed: int
    cancelled: int
    expired: int = 0


@dataclass(frozen=True)
class DeliveryResult:
    user_id: int
    status: DeliveryStatus  # sent, blocked (the user becomes inactive) or failed
    error: str | None = None
