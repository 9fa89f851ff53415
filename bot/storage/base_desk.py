"""The operators' desk in the storage interface: tickets, their topics, relayed messages, blocks and
FAQ drafts (migration 8). Kept apart from ``base.py`` so the SQLAlchemy port can take it whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class TicketStatus(StrEnum):
    OPEN = "open"  # at most one per resident
    CLOSED = "closed"  # by an operator (/close, /block) or by the resident; can be rated


@dataclass(frozen=True)
class Ticket:
    """One resident's conversation with the operators: a topic in the operators' forum."""

    id: int  # the short ticket number shown to both sides
    user_id: int
    kind: str  # question or rumour
    status: TicketStatus
    language: str
    question: str  # the first words of the resident's question (for the topic and FAQ drafts)
    thread_id: int | None  # the topic, once created
    opened_at: datetime
    first_reply_at: datetime | None
    closed_at: datetime | None
    closed_by: int | None
    rating: int | None  # 1 helpful, 0 not helpful, None not rated
    last_reply: str | None  # the operators' last text reply (the answer of a /faq draft)


@dataclass(frozen=True)
class FaqDraft:
    id: int
    ticket_id: int
    language: str
    question: str
    answer: str
    created_by: int
    created_at: datetime


@dataclass(frozen=True)
class DeskCounts:
    open: int
    closed: int
    first_reply_seconds: list[int]  # of tickets opened in the window asked for, for the median


class DeskStorage(Protocol):
    async def open_ticket(
        self, user_id: int, kind: str, language: str, question: str, now: datetime
    ) -> tuple[Ticket, bool]: ...

    async def open_ticket_of(self, user_id: int) -> Ticket | None: ...

    async def ticket(self, ticket_id: int) -> Ticket | None: ...

    async def ticket_by_thread(self, thread_id: int) -> Ticket | None: ...

    async def set_ticket_thread(self, ticket_id: int, thread_id: int) -> bool: ...

    async def close_ticket(self, ticket_id: int, closed_by: int | None, now: datetime) -> bool: ...

    async def rate_ticket(self, ticket_id: int, user_id: int, helpful: bool) -> bool: ...

    async def record_reply(self, ticket_id: int, text: str | None, now: datetime) -> None: ...

    async def claim_relay(
        self, chat_id: int, message_id: int, ticket_id: int, user_id: int, direction: str, now: datetime
    ) -> bool: ...

    async def claim_relay_within(
        self, chat_id: int, message_id: int, ticket_id: int, user_id: int, budget: int, since: datetime, now: datetime
    ) -> str: ...

    async def relayed_ticket(self, chat_id: int, message_id: int) -> int | None: ...

    async def mark_album_internal(self, chat_id: int, media_group_id: str, now: datetime) -> None: ...

    async def album_internal(self, chat_id: int, media_group_id: str) -> bool: ...

    async def relayed_since(self, user_id: int, direction: str, since: datetime) -> int: ...

    async def block_resident(self, user_id: int, blocked_by: int, now: datetime) -> None: ...

    async def resident_block(self, user_id: int) -> bool | None: ...

    async def mark_block_told(self, user_id: int) -> bool: ...

    async def add_faq_draft(
        self, ticket_id: int, language: str, question: str, answer: str, created_by: int, now: datetime
    ) -> FaqDraft: ...

    async def faq_drafts(self, limit: int) -> list[FaqDraft]: ...

    async def desk_counts(self, since: datetime) -> DeskCounts: ...

    # retention (the privacy service's tick); /forget deletes by user_id (USER_TABLES)
    async def purge_desk_before(self, before: datetime) -> int: ...
