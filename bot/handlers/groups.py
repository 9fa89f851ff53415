"""Group chats: the bot answers only commands addressed to it, and invites to a private chat."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link

from bot.config import Lang
from bot.content import ContentStore
from bot.i18n import _
from bot.telegram.filters import Magic
from bot.telegram_text import escape


def router() -> Router:
    r = Router(name="groups")
    r.message.filter(Magic(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP})))
    # Command() accepts "/help" and "/help@this_bot" but not "/help@other_bot".
    r.message.register(on_group_command, Command("start", "help", "menu", "language"))
    r.message.register(ignore)  # everything else in a group stays unanswered, by design
    return r


async def on_group_command(message: Message, bot: Bot, content: ContentStore, lang: Lang) -> None:
    button = InlineKeyboardButton(text=_("Open a private chat"), url=await create_start_link(bot, "group"))
    title = content.current.campaign.title.get(lang)
    await message.reply(
        _("I answer questions about the {campaign} in a private chat, so the group is not flooded.").format(
            campaign=escape(title)
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
    )


async def ignore(message: Message) -> None:
    return None
