"""Group chats the bot is a member of: it answers only commands addressed to it, and leaves plain
chatter alone. ``/countdown`` and ``/events`` get their answer in the group (without the private
buttons), every other command the invitation to a private chat. Addressed to it: ``/cmd@this_bot``
for any command, and a bare ``/cmd`` for the residents' commands of its menu (a bare unknown command
may be another bot's)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, Filter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.handlers.events import list_screen
from bot.handlers.texts import status_text
from bot.i18n import _
from bot.services.event_view import Filters
from bot.services.events import EventService
from bot.telegram.commands import DESK_COMMANDS, USER_COMMANDS
from bot.telegram.filters import Magic
from bot.telegram_text import escape, split_html

KNOWN_COMMANDS = frozenset(name for name, _description in USER_COMMANDS + DESK_COMMANDS)


class AddressedToMe(Filter):
    """A command for this bot: ``/cmd@this_bot``, or a bare ``/cmd`` the bot's menu offers."""

    async def __call__(self, message: Message, bot: Bot) -> bool:
        text = message.text or message.caption or ""
        if not text.startswith("/"):
            return False
        command, at, target = text.split(maxsplit=1)[0][1:].partition("@")
        if not at:
            return command.lower() in KNOWN_COMMANDS
        me = await bot.me()
        return target.lower() == (me.username or "").lower()


def router() -> Router:
    r = Router(name="groups")
    r.message.filter(Magic(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP})))
    # Command() accepts "/countdown" and "/countdown@this_bot" but not "/countdown@other_bot".
    r.message.register(on_group_countdown, Command("countdown"))
    r.message.register(on_group_events, Command("events"))
    r.message.register(on_group_command, AddressedToMe())
    r.message.register(ignore)  # everything else in a group stays unanswered, by design
    return r


async def _private_chat(bot: Bot) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text="💬 " + _("Open a private chat"), url=await create_start_link(bot, "group"))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def on_group_command(message: Message, bot: Bot, content: ContentStore, lang: Lang) -> None:
    title = content.current.campaign.title.get(lang)
    await message.reply(
        _("I answer questions about the {campaign} in a private chat, so the group is not flooded.").format(
            campaign=escape(title)
        ),
        reply_markup=await _private_chat(bot),
    )


async def on_group_countdown(message: Message, bot: Bot, content: ContentStore, clock: Clock, lang: Lang) -> None:
    """Where the campaign stands, as in a private chat; the reminders and "I voted" are personal:
    the button opens the private chat."""
    text = status_text(content.current.campaign, clock.now(), lang)
    await message.reply(split_html(text)[0], reply_markup=await _private_chat(bot))


async def on_group_events(message: Message, bot: Bot, events: EventService, clock: Clock, lang: Lang) -> None:
    """The upcoming events (the first page); the cards, filters and reminders are in a private chat."""
    screen = await list_screen(events, Filters(), 0, lang, clock)
    await message.reply(split_html(screen.text)[0], reply_markup=await _private_chat(bot))


async def ignore(message: Message) -> None:
    return None
