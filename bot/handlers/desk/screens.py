"""The resident side's texts and buttons (screens), shared by its handlers and the operator side."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.config import Lang
from bot.content import ContentStore
from bot.handlers.texts import contact_line, local_time, stage_line
from bot.i18n import _, fmt_date, fmt_time
from bot.services.desk import DeskService
from bot.telegram.callbacks import DeskCb
from bot.telegram.keyboards import main_menu
from bot.telegram.ui import Screen
from bot.telegram_text import escape


def back_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text="↩️ " + _("Back to the bot"), callback_data=DeskCb(action="done").pack())


def back_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[back_button()]])


def ask_button(ctx: str = "") -> InlineKeyboardButton:
    """ "💬 Ask a person" for other screens (the no-answer screen, suggestions)."""
    return InlineKeyboardButton(text="💬 " + _("Ask a person"), callback_data=DeskCb(action="ask", ctx=ctx).pack())


def duty_line(desk: DeskService, lang: Lang, content: ContentStore) -> str:
    duty = desk.duty()
    staff = desk.operators.staff if desk.operators is not None else None
    if duty.on and staff is not None:  # who answers, from the content
        return "🟢 " + _("Operators are on duty now: {staff}.").format(staff=escape(staff.get(lang)))
    if duty.on:
        return "🟢 " + _("Operators are on duty now.")
    if desk.closed():  # the timeline closed the desk: no promise that anyone answers
        return "🌙 " + _("The operators' desk has closed: nobody answers messages here any more.")
    if duty.next_start is None:
        return "🌙 " + _("Operators are off duty now; they will answer as soon as they can.")
    campaign = content.current.campaign
    tz = campaign.tz
    at = f"{fmt_time(duty.next_start, lang, tz)} ({local_time(campaign, lang)})"  # "08:00 (Almaty time)"
    return "🌙 " + _("Operators are off duty now; they will answer from {time}, {date}.").format(
        time=at, date=fmt_date(duty.next_start, lang, tz)
    )


def closed_screen(content: ContentStore, lang: Lang, now: datetime) -> Screen:
    """The desk past its ``until`` milestone: nobody answers here any more; where to turn instead."""
    campaign = content.current.campaign
    return Screen(
        "💬 "
        + _("The operators' desk has closed: nobody answers messages here any more.")
        + "\n"
        + stage_line(campaign, now, lang)
        + "\n\n"
        + _("I still answer your questions; for an official answer:")
        + "\n"
        + contact_line(campaign, now, lang),
        main_menu(),
    )


def ask_screen(desk: DeskService, lang: Lang, content: ContentStore) -> Screen:
    text = (
        "💬 <b>"
        + _("Ask a person")
        + "</b>\n\n"
        + _(
            "Your question goes to the operators' desk of the call centre. They see your first name and your "
            "language, never your username or phone number."
        )
        + "\n"
        + duty_line(desk, lang, content)
        + "\n"
        + stage_line(content.current.campaign, desk.clock.now(), lang)
        + "\n\n"
        + _("Write your question in one message; you can add a photo or a document.")
    )
    return Screen(text, back_markup())


def context_from(message: Message | None, ctx: str) -> str:
    """What the bot last showed the resident, for the operators: suggestions or "no answer"."""
    if ctx == "s" and message is not None and message.reply_markup is not None:
        titles = [
            button.text
            for row in message.reply_markup.inline_keyboard
            for button in row
            if button.callback_data and button.callback_data.startswith("fe:")
        ]
        return _("suggested: {list}").format(list="; ".join(titles)) if titles else ""
    if ctx == "n":
        return _("no confirmed answer (the call centre was suggested)")
    return ""


def question_of(message: Message) -> str:
    text = message.text or message.caption
    if text:
        return text
    kind = message.content_type
    return f"[{getattr(kind, 'value', kind)}]"


def blocked_screen(content: ContentStore, lang: Lang, now: datetime) -> Screen:
    return Screen(
        _(
            "The operators' desk cannot take your messages any more. "
            "I still answer your questions; for an official answer:"
        )
        + "\n"
        + contact_line(content.current.campaign, now, lang),
        main_menu(),
    )


def rumour_screen() -> Screen:
    return Screen(
        "🔎 <b>"
        + _("Check a rumour")
        + "</b>\n\n"
        + _(
            "Forward me the message you were sent, or send its text, a link or a photo. I will look for a "
            "confirmed answer with its sources first; if I have none, the operators will check it."
        ),
        back_markup(),
    )


def done_screen() -> Screen:
    return Screen(
        "↩️ "
        + _(
            "You are back with the bot: type a question or choose a section. "
            "A reply from the operators will still come here."
        ),
        main_menu(),
    )


def unreachable_screen(content: ContentStore, lang: Lang, now: datetime) -> Screen:
    return Screen(
        "😕 "
        + _("The operators cannot be reached right now. For an official answer:")
        + "\n"
        # the call centre while the content says it operates, else the commission's site
        + contact_line(content.current.campaign, now, lang),
        main_menu(),
    )


def private_data_screen() -> Screen:
    return Screen(
        "🔒 "
        + _(
            "I do not pass a shared contact or location on to the operators: they never see your phone number "
            "or where you are. If they need an address or a number to help you, write only what is needed, "
            "in words (for example, the street of your polling station)."
        ),
        back_markup(),
    )
