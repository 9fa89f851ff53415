"""A resident as the bot knows them: seen on every update, the language they chose, and whether
Telegram still lets the bot write to them (blocked, unblocked, or found blocked when a message
bounced). The handlers and the user middleware change these only through here."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Lang
from bot.storage.base import UserRecord, UsersStorage


class ResidentService:
    def __init__(self, storage: UsersStorage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock

    async def seen(self, user_id: int, telegram_language: str | None) -> UserRecord:
        """First/last seen and Telegram's language; a resident who writes again is reachable again."""
        return await self.storage.touch_user(user_id, telegram_language, self.clock.now())

    async def choose_language(self, user_id: int, language: Lang) -> None:
        await self.storage.set_language(user_id, language)

    async def set_reachable(self, user_id: int, reachable: bool) -> None:
        """Blocked the bot (or a message to them was refused as blocked): left out of every sending
        until they unblock it or write again."""
        await self.storage.set_blocked(user_id, not reachable, self.clock.now())
