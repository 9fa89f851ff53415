"""Any handler exception: logged with the update id; the user gets a polite answer, never silence."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, InlineQueryResultArticle, InputTextMessageContent

from bot.i18n import _

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="errors")
    r.errors.register(on_error)
    return r


async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    update = event.update
    log.error("update %s failed: %r", update.update_id, event.exception, exc_info=event.exception)
    try:
        text = "😕 " + _("Something went wrong on our side. Please try again in a moment, or open /menu.")
    except LookupError:  # no language context (the failure happened before it was set)
        text = "😕 Something went wrong on our side. Please try again in a moment, or open /menu."
    try:
        if update.callback_query is not None:
            query = update.callback_query
            try:
                await query.answer(text, show_alert=True)
            except TelegramAPIError:  # already answered: say it in the chat instead
                await bot.send_message(query.from_user.id, text)
        elif update.message is not None and update.message.chat.type == "private":
            await bot.send_message(update.message.chat.id, text)
        elif update.inline_query is not None:
            await update.inline_query.answer([], cache_time=1, is_personal=True)
        elif update.guest_message is not None and update.guest_message.guest_query_id is not None:
            try:  # in a chat the bot was called into: no /menu there
                sorry = "😕 " + _("Something went wrong on our side. Please try again in a moment.")
            except LookupError:
                sorry = "😕 Something went wrong on our side. Please try again in a moment."
            await update.guest_message.answer_guest_query(
                InlineQueryResultArticle(
                    id="error", title="😕", input_message_content=InputTextMessageContent(message_text=sorry)
                )
            )
    except TelegramAPIError as error:
        log.warning("could not tell the user about update %s: %s", update.update_id, error)
    return True
