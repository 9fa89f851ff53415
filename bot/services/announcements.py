"""Admin broadcasts (``/announce``, ``/broadcasts``): the rules behind the admin's dialog and every
write it makes, each with its audit-log row.

* The draft: what the admin sent (a text, or any other message to copy) and the audience chosen,
  kept in the conversation state as a plain dict (:meth:`Draft.to_data`, :meth:`Draft.from_data`).
* Audiences an admin may choose: everybody, one language, one district of the campaign. A choice
  travels in button data and in the audit log as a short token (``all``, ``lang-kk``,
  ``dist-almaly``): :func:`audience_token` and :meth:`AnnouncementService.audience`.
* A scheduled start: ``YYYY-MM-DD HH:MM`` in the campaign's zone, in the future
  (:func:`parse_start`); so is an optional deadline, after which what is not sent is not sent.
  When the broadcast is scheduled (or sent), :meth:`AnnouncementService.plan` tells whether it can
  finish by its deadline at the configured rate (the handler words the advice).

No Telegram types and no texts: the handlers (:mod:`bot.handlers.broadcast_admin`) render."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import LANGUAGES
from bot.content import ContentStore
from bot.services.delivery import BroadcastProgress
from bot.services.delivery.planner import PAID_RATE, DeliveryPlan, Queued, finishes, rank
from bot.storage import Storage
from bot.storage.broadcasts import (
    ALL_SUBSCRIBERS,
    Audience,
    BroadcastMessage,
    BroadcastRecord,
    BroadcastStatus,
    DeliveryCounts,
    DistrictAudience,
    LanguageAudience,
    MessageKind,
)

_LANGUAGE_TOKEN = "lang-"
_DISTRICT_TOKEN = "dist-"
_ALL_TOKEN = "all"
_START_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})\s*$")


def audience_token(audience: Audience) -> str:
    """The token of an audience an admin can choose (``all`` for any other)."""
    match audience:
        case LanguageAudience(language):
            return _LANGUAGE_TOKEN + language
        case DistrictAudience(district):
            return _DISTRICT_TOKEN + district
        case _:
            return _ALL_TOKEN


def parse_start(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """The start an admin typed (``YYYY-MM-DD HH:MM`` in ``tz``), or None when it is not a valid
    date and time in the future."""
    match = _START_RE.match(text)
    if match is None:
        return None
    try:
        year, month, day, hour, minute = (int(part) for part in match.groups())
        moment = datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        return None
    return moment if moment > now else None


@dataclass(frozen=True)
class Draft:
    """The announcement an admin is composing: the message and the audience chosen so far."""

    message: BroadcastMessage
    audience: Audience = ALL_SUBSCRIBERS
    deadline: datetime | None = None  # what is not sent by then is not sent

    @classmethod
    def text(cls, html: str) -> Draft:
        return cls(BroadcastMessage(kind=MessageKind.TEXT, text=html))

    @classmethod
    def copy(cls, chat_id: int, message_id: int) -> Draft:
        return cls(BroadcastMessage(kind=MessageKind.COPY, from_chat_id=chat_id, message_id=message_id))

    def to_data(self) -> dict[str, Any]:
        """The draft as conversation data (JSON: it may live in Redis)."""
        message = self.message
        data: dict[str, Any] = {"kind": str(message.kind)}
        if message.kind == MessageKind.TEXT:
            data["text"] = message.text
        else:
            data |= {"from_chat_id": message.from_chat_id, "message_id": message.message_id}
        data["audience"] = audience_token(self.audience)
        if self.deadline is not None:
            data["deadline"] = self.deadline.isoformat()
        return data


class Broadcasts(Protocol):
    """What the service needs of the delivery engine."""

    async def create_broadcast(
        self,
        message: BroadcastMessage,
        audience: Audience,
        *,
        created_by: int | None = None,
        start_at: datetime | None = None,
        key: str | None = None,
        progress: tuple[int, int] | None = None,
        deadline: datetime | None = None,
    ) -> BroadcastRecord: ...

    async def cancel(self, broadcast_id: int) -> bool: ...

    async def progress(self, broadcast_id: int) -> BroadcastProgress | None: ...

    def plan(self, recipients: int, *, wanted: datetime, deadline: datetime | None) -> DeliveryPlan: ...

    @property
    def rate(self) -> float: ...

    @property
    def paid(self) -> bool: ...


class AnnouncementService:
    """Handlers reach it as the ``announcements`` workflow data."""

    def __init__(self, storage: Storage, broadcasts: Broadcasts, clock: Clock, content: ContentStore) -> None:
        self.storage = storage
        self.broadcasts = broadcasts
        self.clock = clock
        self.content = content

    # ---------------------------------------------------------------- audiences and drafts
    def audience(self, token: str) -> Audience | None:
        """The audience a token names, when an admin may choose it under the current campaign."""
        if token == _ALL_TOKEN:
            return ALL_SUBSCRIBERS
        if token.startswith(_LANGUAGE_TOKEN) and token[len(_LANGUAGE_TOKEN) :] in LANGUAGES:
            return LanguageAudience(token[len(_LANGUAGE_TOKEN) :])
        district = token[len(_DISTRICT_TOKEN) :]
        if token.startswith(_DISTRICT_TOKEN) and self.content.current.campaign.is_district(district):
            return DistrictAudience(district)
        return None

    def draft(self, data: dict[str, Any]) -> Draft | None:
        """The draft kept in conversation data (an audience no longer valid: everybody); None when
        the data holds no draft (the conversation's data expired or was lost)."""
        if data.get("kind") not in set(MessageKind):
            return None
        message = BroadcastMessage(
            kind=MessageKind(data["kind"]),
            text=data.get("text"),
            from_chat_id=data.get("from_chat_id"),
            message_id=data.get("message_id"),
        )
        deadline = data.get("deadline")
        return Draft(
            message,
            self.audience(str(data.get("audience", _ALL_TOKEN))) or ALL_SUBSCRIBERS,
            datetime.fromisoformat(deadline) if isinstance(deadline, str) else None,
        )

    async def size(self, audience: Audience) -> int:
        return await self.storage.audience_size(audience)

    async def recent(self, limit: int) -> list[tuple[BroadcastRecord, DeliveryCounts]]:
        return [
            (record, await self.storage.delivery_counts(record.id))
            for record in await self.storage.recent_broadcasts(limit)
        ]

    async def progress(self, broadcast_id: int) -> BroadcastProgress | None:
        return await self.broadcasts.progress(broadcast_id)

    async def plan(self, draft: Draft, start_at: datetime | None = None) -> DeliveryPlan:
        """When the draft's broadcast, started at ``start_at`` (now by default), finishes at the
        configured rate, against its deadline."""
        wanted = start_at if start_at is not None else self.clock.now()
        return self.broadcasts.plan(await self.size(draft.audience), wanted=wanted, deadline=draft.deadline)

    def paid_would_fit(self, delivery_plan: DeliveryPlan) -> bool:
        """Paid broadcasts (not on now) would finish it by its deadline."""
        return not self.broadcasts.paid and delivery_plan.fits_at(PAID_RATE)

    async def estimated_finishes(self, broadcasts: list[tuple[BroadcastRecord, DeliveryCounts]]) -> dict[int, datetime]:
        """When each of these broadcasts not ended will be done, sent one at a time in the engine's
        order at the configured rate (a reminder due sooner takes over from a running announcement)."""
        queue: list[Queued] = []
        for record, counts in broadcasts:
            if record.status.ended:
                continue
            messages = counts.pending
            if record.status == BroadcastStatus.SCHEDULED:  # its delivery rows are written when it starts
                messages = counts.total if record.notice else await self.size(record.audience)
            running = record.status == BroadcastStatus.RUNNING
            order = rank(
                notice=record.notice, deadline=record.deadline, running=running, start=record.start_at, key=record.id
            )
            queue.append(Queued(record.id, order, record.start_at, messages))
        return finishes(queue, self.broadcasts.rate, self.clock.now())

    # ---------------------------------------------------------------- writes (audited)
    async def audit(self, admin: int, action: str, details: str = "") -> None:
        """An admin action without other effect (a dialog opened or dropped, a list viewed)."""
        await self.storage.audit(admin, action, details, self.clock.now())

    async def drafted(self, admin: int, draft: Draft) -> None:
        await self.audit(admin, "announce.draft", str(draft.message.kind))

    async def send(self, admin: int, draft: Draft, progress: tuple[int, int]) -> BroadcastRecord:
        """Start the broadcast now; ``progress`` is the (chat, message) its progress is shown in."""
        record = await self.broadcasts.create_broadcast(
            draft.message, draft.audience, created_by=admin, progress=progress, deadline=draft.deadline
        )
        await self.audit(admin, "broadcast.send", f"#{record.id} {audience_token(draft.audience)}")
        return record

    async def schedule(
        self, admin: int, draft: Draft, start_at: datetime, progress: tuple[int, int]
    ) -> BroadcastRecord:
        record = await self.broadcasts.create_broadcast(
            draft.message,
            draft.audience,
            created_by=admin,
            start_at=start_at,
            progress=progress,
            deadline=draft.deadline,
        )
        until = f" until {draft.deadline.isoformat()}" if draft.deadline else ""
        await self.audit(admin, "broadcast.schedule", f"#{record.id} {start_at.isoformat()}{until}")
        return record

    async def set_deadline(self, admin: int, draft: Draft, deadline: datetime) -> Draft:
        await self.audit(admin, "announce.deadline", deadline.isoformat())
        return Draft(draft.message, draft.audience, deadline)

    async def cancel(self, admin: int, broadcast_id: int) -> bool:
        """Cancel a scheduled or running broadcast; False when it has already ended."""
        cancelled = await self.broadcasts.cancel(broadcast_id)
        if cancelled:
            await self.audit(admin, "broadcast.cancel", f"#{broadcast_id}")
        return cancelled
