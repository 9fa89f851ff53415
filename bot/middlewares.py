"""Update-level middlewares: the stored user for every update, and a count of updates in flight
so that shutdown can finish them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from bot.clock import Clock
from bot.i18n import normalize_language
from bot.storage import Storage

log = logging.getLogger(__name__)


class UserMiddleware(BaseMiddleware):
    """Upserts the user on every update (first/last seen, Telegram language, reactivation)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        private = chat is None or chat.type == "private"  # group members are not our users
        if user is not None and not user.is_bot and private:
            data["user_record"] = await self.storage.touch_user(
                user.id, normalize_language(user.language_code), self.clock.now()
            )
        return await handler(event, data)


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled; ``drain`` waits until none are left."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._count

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def drain(self, seconds: float) -> bool:
        if self._count:
            log.info("waiting for %d update(s) in flight", self._count)
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            log.warning("%d update(s) still in flight after %.0f s", self._count, seconds)
            return False
        return True
