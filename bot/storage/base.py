"""The storage interface: narrow, typed, free of any database's specifics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class UserRecord:
    id: int
    language: str | None  # the user's explicit choice, None until they pick one
    telegram_language: str | None
    first_seen: datetime
    last_seen: datetime
    blocked: bool


@dataclass(frozen=True)
class UserCounts:
    total: int
    active: int
    blocked: int
    by_language: dict[str, int]


@dataclass(frozen=True)
class UnansweredRow:
    text: str
    count: int
    last_asked: datetime


@dataclass(frozen=True)
class FeedbackCounts:
    helpful: int
    unhelpful: int


class Storage(Protocol):
    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def schema_version(self) -> int: ...

    async def ping(self) -> bool: ...

    # users
    async def touch_user(self, user_id: int, telegram_language: str | None, now: datetime) -> UserRecord: ...

    async def get_user(self, user_id: int) -> UserRecord | None: ...

    async def set_language(self, user_id: int, language: str) -> None: ...

    async def set_blocked(self, user_id: int, blocked: bool, now: datetime) -> None: ...

    async def user_counts(self) -> UserCounts: ...

    # questions
    async def record_feedback(self, user_id: int, entry_id: str, helpful: bool, now: datetime) -> None: ...

    async def feedback_counts(self, entry_id: str) -> FeedbackCounts: ...

    async def record_unanswered(self, user_id: int, language: str, text: str, now: datetime) -> None: ...

    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredRow]: ...
