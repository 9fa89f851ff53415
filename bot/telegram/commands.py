"""The command menu Telegram shows, registered per language at start-up (``setMyCommands``)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.config import LANGUAGES, Lang
from bot.i18n import N_, I18n, _, stored_language
from bot.storage import Storage

log = logging.getLogger(__name__)

# (command, description) — descriptions are translated. The residents' menu; the desk's and the
# admins' commands are the lists below, added to a chat's menu when they apply.
USER_COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Start and main menu")),
    ("menu", N_("Main menu")),
    ("questions", N_("Questions and answers")),
    ("events", N_("Upcoming events and key dates")),
    ("countdown", N_("Days left, or today's voting hours, or the results")),
    ("reminders", N_("Reminder settings")),
    ("language", N_("Change the language")),
    ("help", N_("What the bot can do")),
    ("subscribe", N_("Reminders and announcements")),
    ("unsubscribe", N_("Stop reminders and announcements")),
    ("stop", N_("Stop every message from the bot")),
    ("privacy", N_("What the bot stores about you")),
    ("forget", N_("Erase everything the bot stores about you")),
]
DESK_COMMANDS: list[tuple[str, str]] = [  # only while the operators' desk is on
    ("operator", N_("Ask a person")),
    ("rumour", N_("Check a rumour")),
]
ADMIN_COMMANDS: list[tuple[str, str]] = [
    ("event_add", N_("Admin: add an event")),
    ("event_edit", N_("Admin: edit an event")),
    ("event_cancel", N_("Admin: cancel an event")),
    ("unanswered", N_("Admin: most frequent unanswered questions")),
    ("faq_reload", N_("Admin: reload the content from disk")),
    ("announce", N_("Admin: send an announcement")),
    ("broadcasts", N_("Admin: recent and scheduled broadcasts")),
    ("stats", N_("Admin: statistics")),
]


def _commands(i18n: I18n, lang: Lang, admin: bool, desk: bool = False) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(lang):
        items = USER_COMMANDS + (DESK_COMMANDS if desk else []) + (ADMIN_COMMANDS if admin else [])
        return [BotCommand(command=name, description=_(description)) for name, description in items]


async def register_commands(
    bot: Bot, i18n: I18n, default: Lang, admin_ids: frozenset[int], *, desk: bool = False
) -> None:
    """Commands per Telegram client language, a default, groups, and each admin's own list."""
    try:
        for lang in LANGUAGES:
            await bot.set_my_commands(
                _commands(i18n, lang, False, desk), scope=BotCommandScopeDefault(), language_code=lang
            )
        await bot.set_my_commands(_commands(i18n, default, False, desk), scope=BotCommandScopeDefault())
        with i18n.context(), i18n.use_locale(default):
            help_only = [BotCommand(command="help", description=_("What the bot can do"))]
        await bot.set_my_commands(help_only, scope=BotCommandScopeAllGroupChats())
        for admin in admin_ids:
            await set_chat_commands(bot, admin, default, i18n, admin=True, desk=desk)
    except TelegramAPIError as error:  # the bot works without a command menu; say so and go on
        log.warning("could not register the command menu: %s", error)


async def set_chat_commands(bot: Bot, chat_id: int, lang: Lang, i18n: I18n, *, admin: bool, desk: bool = False) -> None:
    """The command menu of one private chat, in the language its user chose."""
    try:
        await bot.set_my_commands(_commands(i18n, lang, admin, desk), scope=BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError as error:
        log.warning("could not set the commands of chat %s: %s", chat_id, error)


class CommandMenus:
    """Resets a chat's menu to the residents' one, in its user's language (a former admin's)."""

    def __init__(self, bot: Bot, i18n: I18n, default: Lang, storage: Storage) -> None:
        self.bot = bot
        self.i18n = i18n
        self.default = default
        self.storage = storage

    async def reset_admin_menu(self, chat_id: int) -> None:
        lang = stored_language(await self.storage.get_user(chat_id), self.default)
        await set_chat_commands(self.bot, chat_id, lang, self.i18n, admin=False)
