"""Sending and editing that always leaves the user with an answer: long texts are split, an edit
that would change nothing is skipped (no "message is not modified"), and an edit that Telegram
refuses falls back to a new message; the one answer to a button that is out of date."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters

from bot.i18n import _
from bot.telegram_text import split_html, strip_html

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Screen:
    """What the bot shows: HTML text and optional inline buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None


def stale() -> str:
    """The answer to a button (or a dialog step) that no longer applies."""
    return _("This button is out of date. Open /menu to start again.")


async def answer_stale(query: CallbackQuery) -> None:
    """Answer a button that no longer applies with an alert (:func:`stale`)."""
    await query.answer(stale(), show_alert=True)


CLOCK_SKEW = timedelta(seconds=30)  # between Telegram's clock (message dates) and this host's


def from_before_first_seen(query: CallbackQuery, first_seen: datetime | None) -> bool:
    """The pressed message is older than the user's record: a button from before /forget (the record
    is made anew on their next update), which must not store anything about them again."""
    message = query.message
    if first_seen is None or not isinstance(message, Message):
        return False
    return message.date < first_seen - CLOCK_SKEW


async def send(message: Message, screen: Screen, *, reply: bool = False, quote_id: int | None = None) -> Message:
    """Send ``screen`` as new message(s); buttons go on the last chunk. ``reply``: the last chunk
    quotes ``message`` (an answer to a resident's question: its buttons can then read the question
    back from the chat, and the bot keeps no copy of it); ``quote_id``: it quotes that message of the
    chat instead (the question a screen after a button press is about)."""
    chunks = split_html(screen.text)
    sent = message
    reply = reply or quote_id is not None
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        quote = ReplyParameters(message_id=quote_id or message.message_id, allow_sending_without_reply=True)
        sent = await message.answer(
            chunk, reply_markup=screen.markup if last else None, reply_parameters=quote if last and reply else None
        )
    return sent


def replied_id(message: object) -> int | None:
    """The id of the message a bot message quotes, if any."""
    if not isinstance(message, Message) or message.reply_to_message is None:
        return None
    return message.reply_to_message.message_id


def replied_text(message: object) -> str:
    """The text of the message a bot message quotes (see ``send(..., reply=True)``), or ""."""
    if not isinstance(message, Message) or message.reply_to_message is None:
        return ""
    return message.reply_to_message.text or message.reply_to_message.caption or ""


def _same(message: Message, screen: Screen) -> bool:
    current_text = message.text or message.caption or ""
    if current_text.strip() != strip_html(screen.text).strip():
        return False
    current_markup = message.reply_markup
    if current_markup is None or not current_markup.inline_keyboard:
        return screen.markup is None or not screen.markup.inline_keyboard
    if screen.markup is None:
        return False
    return current_markup.model_dump(exclude_none=True) == screen.markup.model_dump(exclude_none=True)


async def show(event: Message | CallbackQuery, screen: Screen) -> None:
    """Show ``screen``: edit the message a button belongs to, or reply to a message."""
    if isinstance(event, Message):
        await send(event, screen)
        return
    message = event.message
    if not isinstance(message, Message):  # inaccessible or inline message: answer in the chat
        if event.from_user and event.bot:
            for chunk in split_html(screen.text):
                await event.bot.send_message(event.from_user.id, chunk, reply_markup=screen.markup)
        return
    if _same(message, screen):
        return
    chunks = split_html(screen.text)
    if len(chunks) == 1 and message.text is not None:
        try:
            await message.edit_text(screen.text, reply_markup=screen.markup)
            return
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return
            log.info("edit refused (%s); sending a new message", error.message)
    await send(message, screen)
