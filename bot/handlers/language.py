"""/language: switch, saved, effective at once (including the command menu)."""

from __future__ import annotations

from typing import cast

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.config import LANGUAGES, Lang, Settings
from bot.content import ContentStore
from bot.handlers.screens import home_screen, language_screen
from bot.i18n import LANGUAGE_NAMES, I18n, _
from bot.services.desk import DeskService
from bot.services.residents import ResidentService
from bot.telegram.callbacks import LangCb
from bot.telegram.commands import set_chat_commands
from bot.telegram.filters import private_command
from bot.telegram.ui import send, show


def router() -> Router:
    r = Router(name="language")
    r.message.filter(private_command())
    r.message.register(on_language, Command("language"))
    r.callback_query.register(on_choose, LangCb.filter(F.code.in_(LANGUAGES)))
    return r


async def on_language(message: Message, lang: Lang) -> None:
    await send(message, language_screen(lang))


async def on_choose(
    query: CallbackQuery,
    callback_data: LangCb,
    residents: ResidentService,
    i18n: I18n,
    content: ContentStore,
    clock: Clock,
    bot: Bot,
    settings: Settings,
    desk: DeskService | None = None,
) -> None:
    code = cast(Lang, callback_data.code)
    await residents.choose_language(query.from_user.id, code)
    with i18n.use_locale(code):
        await query.answer(_("Language: {name}").format(name=LANGUAGE_NAMES[code]))
        await show(query, home_screen(content.current, clock.now(), code, name=query.from_user.first_name))
    await set_chat_commands(
        bot,
        query.from_user.id,
        code,
        i18n,
        admin=settings.is_admin(query.from_user.id),
        desk=bool(desk and desk.enabled),
    )
