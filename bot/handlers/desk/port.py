"""``DeskPort`` over aiogram: the desk service's way to Telegram (forum topics, the ticket's intro)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

from bot.config import Lang
from bot.i18n import LANGUAGE_NAMES, I18n, _, fmt_date, fmt_time
from bot.services.desk import DeskUnavailable, ForumInfo, TicketIntro
from bot.storage.base_desk import Ticket
from bot.telegram_text import escape, split_html, truncate_plain

log = logging.getLogger(__name__)


CONTEXT_LIMIT = 600  # characters of the bot's last answer quoted to the operators


class TelegramDeskPort:
    """``DeskPort`` over aiogram; operators' texts in the bot's default language."""

    def __init__(self, bot: Bot, chat_id: int, i18n: I18n, language: Lang, tz: Callable[[], ZoneInfo]) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.i18n = i18n
        self.language = language
        self.tz = tz

    async def forum_info(self) -> ForumInfo:
        try:
            chat = await self.bot.get_chat(self.chat_id)
            member = await self.bot.get_chat_member(self.chat_id, self.bot.id)
        except TelegramAPIError as error:
            log.debug("getChat/getChatMember of the operators' chat: %s", error)
            return ForumInfo(found=False)
        can_manage = isinstance(member, ChatMemberOwner) or (
            isinstance(member, ChatMemberAdministrator) and bool(member.can_manage_topics)
        )
        return ForumInfo(True, bool(chat.is_forum), str(member.status), can_manage)

    async def create_topic(self, name: str) -> int:
        try:
            topic = await self.bot.create_forum_topic(self.chat_id, name)
        except TelegramAPIError as error:
            raise DeskUnavailable(str(error)) from error
        return topic.message_thread_id

    async def post_intro(self, ticket: Ticket, intro: TicketIntro) -> None:
        with self.i18n.context(), self.i18n.use_locale(self.language):
            text = intro_text(ticket, intro, self.language, self.tz())
        await self.post(ticket, text)

    async def post(self, ticket: Ticket, text: str) -> None:
        if ticket.thread_id is None:
            return
        try:
            for chunk in split_html(text):
                await self.bot.send_message(self.chat_id, chunk, message_thread_id=ticket.thread_id)
        except TelegramAPIError as error:
            log.warning("could not post in the topic of ticket #%s: %s", ticket.id, error)

    async def close_topic(self, thread_id: int) -> None:
        try:
            await self.bot.close_forum_topic(self.chat_id, thread_id)
        except TelegramAPIError as error:
            raise DeskUnavailable(str(error)) from error


def intro_text(ticket: Ticket, intro: TicketIntro, lang: Lang, tz: ZoneInfo) -> str:
    kind = "🔎 " + _("rumour to check") if ticket.kind == "rumour" else "💬 " + _("question")
    opened = f"{fmt_date(ticket.opened_at, lang, tz)}, {fmt_time(ticket.opened_at, lang, tz)}"
    lines = [
        "🆕 <b>" + _("Ticket #{n}").format(n=ticket.id) + f"</b> · {kind}",
        _("Language: {language}").format(language=LANGUAGE_NAMES.get(ticket.language, ticket.language)),
        _("Resident: {name}").format(name=escape(truncate_plain(intro.first_name, 64)) or "—"),
        _("Opened: {time}").format(time=opened),
        _("The bot's last answer: {context}").format(
            context=escape(truncate_plain(intro.context, CONTEXT_LIMIT)) if intro.context else "—"
        ),
        "",
        _(
            "Your messages in this topic go to the resident; a message starting with // stays here, and so does "
            "a whole album if any of its captions starts with //. A shared contact or location from the resident "
            "is never passed on here. "
            "/close closes the ticket (the resident may rate it), /block blocks the resident, "
            "/faq saves your answer as a draft for the editors. Answers stay neutral."
        ),
    ]
    return "\n".join(lines)
