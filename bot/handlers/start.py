"""/start (the greeting; deep links are the FAQ and events routers'), /menu and /help."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.handlers.screens import help_screen, home_screen, language_screen
from bot.storage import UserRecord
from bot.telegram.filters import private_command
from bot.telegram.ui import send


def router() -> Router:
    r = Router(name="start")
    r.message.filter(private_command())
    r.message.register(on_start, CommandStart())
    r.message.register(on_menu, Command("menu"))
    r.message.register(on_help, Command("help"))
    return r


async def on_start(
    message: Message,
    content: ContentStore,
    clock: Clock,
    lang: Lang,
    user_record: UserRecord | None = None,
) -> None:
    # Deep links (faq-<id>, event-<id>) are taken by the FAQ and events routers' filters first;
    # /start with any other payload, or none, is the greeting.
    if user_record is None or user_record.language is None:
        # first contact: the language first; choosing it turns the picker into the one greeting
        await send(message, language_screen(lang, first_time=True))
        return
    name = message.from_user.first_name if message.from_user else ""
    await send(message, home_screen(content.current, clock.now(), lang, name=name))


async def on_menu(message: Message, content: ContentStore, clock: Clock, lang: Lang) -> None:
    await send(message, home_screen(content.current, clock.now(), lang))


async def on_help(message: Message, content: ContentStore, clock: Clock, lang: Lang) -> None:
    await send(message, help_screen(content.current, clock.now(), lang))
