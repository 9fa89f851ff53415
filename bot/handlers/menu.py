"""Main-menu navigation."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.handlers.screens import home_screen, language_screen
from bot.handlers.subscriptions import reminders_section
from bot.storage import Storage
from bot.telegram.callbacks import MenuCb
from bot.telegram.ui import show

SECTIONS = ("home", "language", "reminders")  # faq and events: their own routers


def router() -> Router:
    r = Router(name="menu")
    r.callback_query.register(on_section, MenuCb.filter(F.section.in_(SECTIONS)))
    return r


async def on_section(
    query: CallbackQuery, callback_data: MenuCb, content: ContentStore, clock: Clock, lang: Lang, storage: Storage
) -> None:
    await query.answer()
    if callback_data.section == "home":
        await show(query, home_screen(content.current, clock.now(), lang))
    elif callback_data.section == "language":
        await show(query, language_screen(lang))
    else:
        await show(
            query, await reminders_section(storage, content.current.campaign, clock.now(), query.from_user.id, lang)
        )
