"""Filters shared by routers."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from magic_filter import MagicFilter

from bot.config import Settings


class IsAdmin(Filter):
    """True for ADMIN_IDS in a private chat; checked on every message and every button press."""

    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        user = event.from_user
        if user is None or not settings.is_admin(user.id):
            return False
        chat = event.chat if isinstance(event, Message) else (event.message.chat if event.message else None)
        return chat is not None and chat.type == "private"


class Magic(Filter):
    """A magic filter resolved inline. aiogram runs plain (synchronous) filters, magic filters
    included, through ``asyncio.to_thread``: a thread hop per check on the path of every update.
    Magic filters are trivial attribute checks, so they are resolved here directly."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


def private_command() -> Magic:
    """Router-level filter for routers that only take commands in private chats: any other
    message skips the whole router with one check instead of one per command handler."""
    return Magic((F.chat.type == ChatType.PRIVATE) & F.text.startswith("/"))
