"""Filters shared by routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.config import Settings


class IsAdmin(Filter):
    """True for ADMIN_IDS in a private chat; checked on every message and every button press."""

    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        user = event.from_user
        if user is None or not settings.is_admin(user.id):
            return False
        chat = event.chat if isinstance(event, Message) else (event.message.chat if event.message else None)
        return chat is None or chat.type == "private"
