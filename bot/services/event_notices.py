"""What residents with a reminder of an event are told (typed values the handler side words) and
the two ports that tell them: :class:`EventNotifier` (Telegram and texts, implemented next to the
handlers: ``bot.handlers.events.TelegramEventNotifier``) and :class:`Notices` (the delivery engine)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.config import Lang
from bot.services.event_view import EventView
from bot.storage.base import BroadcastMessage, BroadcastRecord


@dataclass(frozen=True)
class EventDue:
    """A personal reminder: the event is near."""

    event: EventView


@dataclass(frozen=True)
class EventCancelled:
    """The event of someone's reminder is cancelled (so is the reminder)."""

    event: EventView


@dataclass(frozen=True)
class EventChanged:
    """The event of someone's reminder has changed; the reminder moved to ``moment`` (None:
    too close now, cancelled)."""

    event: EventView
    moment: datetime | None


EventNotice = EventDue | EventCancelled | EventChanged


class EventNotifier(Protocol):
    """The service's way to residents (Telegram, texts): a notice worded in ``lang`` (HTML), and
    one message sent to one user (False, logged, when Telegram refuses it)."""

    def render(self, notice: EventNotice, lang: Lang) -> str: ...

    async def send(self, user_id: int, text: str) -> bool: ...


class Notices(Protocol):
    """Queues one message for a fixed list of recipients (the delivery engine: persistent,
    paced, resumed after a crash); the same ``key`` never queues twice."""

    async def create_notice(
        self, message: BroadcastMessage, recipients: Sequence[int], *, key: str, label: str, created_by: int | None
    ) -> BroadcastRecord: ...
