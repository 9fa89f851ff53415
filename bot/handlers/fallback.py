"""Every input gets an answer: unknown commands, non-text messages, stale or forged buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.filters import Magic
from bot.handlers.screens import help_screen
from bot.i18n import _
from bot.keyboards import main_menu
from bot.ui import Screen, send


def router() -> Router:
    r = Router(name="fallback")
    r.message.filter(Magic(F.chat.type == ChatType.PRIVATE))
    r.message.register(on_unknown_command, Magic(F.text.startswith("/")))
    r.message.register(on_text, Magic(F.text))
    r.message.register(on_other)
    r.callback_query.register(on_stale_button)
    return r


async def on_unknown_command(message: Message, content: ContentStore, clock: Clock, lang: Lang) -> None:
    screen = help_screen(content.current, clock.now(), lang)
    await send(message, Screen("🤷 " + _("I do not know this command.") + "\n\n" + screen.text, screen.markup))


async def on_text(message: Message) -> None:
    await send(message, Screen(_("Choose a section:"), main_menu()))


async def on_other(message: Message) -> None:
    await send(
        message,
        Screen(
            "💬 " + _("I understand text: type your question in your own words, or choose a section."),
            main_menu(),
        ),
    )


async def on_stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date. Open /menu to start again."), show_alert=True)
