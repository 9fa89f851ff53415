"""/privacy (what is stored, why, for how long), /forget (erase everything, after a confirmation)
and /stop (no more messages from the bot)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BotCommandScopeChat, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import _
from bot.services.desk import DeskService
from bot.services.privacy import PrivacyService
from bot.storage.sql import UNANSWERED_DAILY_CAP
from bot.telegram.callbacks import PrivacyCb
from bot.telegram.filters import private_command
from bot.telegram.ui import Screen, send, show

log = logging.getLogger(__name__)


def router() -> Router:
    r = Router(name="privacy")
    r.message.filter(private_command())
    r.message.register(on_privacy, Command("privacy"))
    r.message.register(on_forget, Command("forget"))
    r.message.register(on_stop, Command("stop"))
    r.callback_query.register(on_forget_yes, PrivacyCb.filter(F.action == "forget_yes"))
    r.callback_query.register(on_forget_no, PrivacyCb.filter(F.action == "forget_no"))
    r.callback_query.register(on_privacy_more, PrivacyCb.filter(F.action == "more"))
    return r


def privacy_text(retention_days: int, desk: bool = False) -> str:
    """Exact to the schema (``bot/storage/schema.py``) and the retention jobs; ``desk``: the
    operators' desk is on (``OPERATORS_CHAT_ID``)."""
    items = [
        _(
            "Your Telegram id, the language you chose and your Telegram app's language, when you first and last "
            "wrote, and whether you blocked the bot: to answer in your language and to count users. Kept until "
            "/forget."
        ),
        _(
            "If you subscribed: the language, the district you chose (optional) and when you subscribed: to send "
            "reminders and announcements. Deleted by /unsubscribe or /stop."
        ),
        _(
            "Your reminder settings (all, only voting day or none; the time you plan to vote) and the day you "
            'pressed "I voted": to send only the reminders you want. Deleted by /unsubscribe or /stop; '
            '"I voted" is forgotten as soon as voting day\'s reminders are over.'
        ),
        _(
            "Event reminders you asked for (which event, when): deleted a week after the reminder's time, "
            "or at once by /stop."
        ),
        _("Your 👍 / 👎 on answers, per answer: to improve the answers. Kept until /forget."),
        _(
            "Questions the bot could not answer: the text, its language, your id and the time, so that the team "
            "can add missing answers; at most {cap} a day per person. If you pressed «🔔 Tell me when there is an "
            "answer» (or sent a rumour to check), also that you want the answer, and which answer you were sent "
            "(once); /stop ends that. Deleted after {days} days."
        ).format(cap=UNANSWERED_DAILY_CAP, days=retention_days),
        _(
            "Which announcements and reminders were sent to you, and whether they arrived: to send each one "
            "once, also after a restart. Kept until /forget."
        ),
    ]
    if desk:
        items.append(
            _(
                "If you asked a person: your tickets (the first words of the question, its language, the times, "
                "your rating) and which of your messages were passed on. The question is blanked {days} days after "
                "the ticket is closed. The conversation itself, with your first name, is in the operators' "
                "Telegram group; /forget deletes the tickets, not the operators' copies."
            ).format(days=retention_days)
        )
        items.append(
            _(
                "A shared contact or location is never passed on to the operators: write in words only what they "
                "need. If an operator saves an answer from your ticket as a draft for the FAQ, your question in "
                "it is blanked by /forget and after {days} days; the operator's answer stays."
            ).format(days=retention_days)
        )
    lines = ["🔒 <b>" + _("What the bot stores about you") + "</b>", ""]
    lines += [f"• {item}" for item in items]
    lines += [
        "",
        _(
            "Nothing else: not your name, phone number or location, and not the questions the bot answered. "
            "Message texts are never written to the bot's logs."
        ),
        "",
        _(
            "When you call the bot into another chat (@bot and a question), it answers there and stores nothing "
            "of it: only how many calls it answered."
        ),
        "",
        "🗑 " + _("/forget erases all of it at once. /stop only stops the messages."),
        _("Your chat with the bot is also kept by Telegram: delete the chat in Telegram to remove it there."),
    ]
    return "\n".join(lines)


def privacy_summary(retention_days: int, desk: bool = False) -> Screen:
    """/privacy in short, with a button for the full list (:func:`privacy_text`)."""
    items = [
        _("your Telegram id and language, to answer you in it;"),
        _("if you subscribed: your district and reminder choices;"),
        _("your 👍 / 👎 on answers, and the questions I could not answer (deleted after {days} days);").format(
            days=retention_days
        ),
    ]
    if desk:
        items.append(_("if you asked a person: your tickets;"))
    lines = ["🔒 <b>" + _("What the bot stores about you") + "</b>", "", _("In short:")]
    lines += [f"• {item}" for item in items]
    lines += [
        _("not your name, phone number or location."),
        "",
        "🗑 " + _("/forget erases all of it at once. /stop only stops the messages."),
    ]
    builder = InlineKeyboardBuilder()
    builder.button(text="📄 " + _("More: what exactly, why and for how long"), callback_data=PrivacyCb(action="more"))
    return Screen("\n".join(lines), builder.as_markup())


def _desk_on(desk: DeskService | None) -> bool:
    return desk is not None and desk.enabled


async def on_privacy(message: Message, privacy: PrivacyService, desk: DeskService | None = None) -> None:
    await send(message, privacy_summary(privacy.retention_days, desk=_desk_on(desk)))


async def on_privacy_more(query: CallbackQuery, privacy: PrivacyService, desk: DeskService | None = None) -> None:
    await query.answer()
    await show(query, Screen(privacy_text(privacy.retention_days, desk=_desk_on(desk))))


def forget_screen() -> Screen:
    builder = InlineKeyboardBuilder()
    builder.button(text="🗑 " + _("Yes, erase everything"), callback_data=PrivacyCb(action="forget_yes"))
    builder.button(text="↩️ " + _("No, keep it"), callback_data=PrivacyCb(action="forget_no"))
    builder.adjust(1)
    text = "\n\n".join(
        [
            "🗑 <b>" + _("Erase everything the bot stores about you?") + "</b>",
            _(
                'Your subscription, reminder settings, event reminders, "I voted", your feedback on answers, '
                "your unanswered questions, the record of messages sent to you and your user record will be "
                "deleted. This cannot be undone."
            ),
        ]
    )
    return Screen(text, builder.as_markup())


async def on_forget(message: Message) -> None:
    await send(message, forget_screen())


async def on_forget_yes(
    query: CallbackQuery, state: FSMContext, privacy: PrivacyService, bot: Bot, settings: Settings
) -> None:
    user_id = query.from_user.id
    await state.clear()  # a dialog's draft, if any
    await privacy.forget(user_id)
    if not settings.is_admin(user_id):  # the menu in the language they chose: back to Telegram's default
        try:
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=user_id))
        except TelegramAPIError as error:
            log.warning("could not reset a chat's command menu: %s", error)
    await query.answer(_("Erased"))
    text = "\n\n".join(
        [
            "✅ " + _("Done: the bot no longer stores anything about you."),
            _("If you write again, the bot starts afresh, as on your first visit."),
        ]
    )
    await show(query, Screen(text))


async def on_forget_no(query: CallbackQuery) -> None:
    await query.answer()
    await show(query, Screen("↩️ " + _("Nothing was erased.")))


async def on_stop(message: Message, privacy: PrivacyService) -> None:
    if message.from_user is None:
        return
    await privacy.stop(message.from_user.id)
    text = "\n\n".join(
        [
            "🔕 "
            + _(
                "Stopped: no reminders, announcements or event reminders will come, and your reminder "
                "settings are deleted."
            ),
            _("/subscribe starts again. To erase everything the bot stores about you, send /forget."),
        ]
    )
    await send(message, Screen(text))
