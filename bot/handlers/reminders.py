"""/countdown, reminder settings (all / voting day only / none, the time I plan to vote) and
"I voted"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from urllib.parse import quote

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.filters import private_command
from bot.i18n import _
from bot.keyboards import back_to_menu
from bot.services.events import EventService
from bot.services.reminders import ReminderService
from bot.services.scheduler import ReminderScheduler
from bot.storage import Storage
from bot.texts import status_text
from bot.ui import Screen, send, show

MODES = ("all", "voting_day", "none")
VOTE_HOURS = tuple(range(7, 20))  # polls are open 07:00-20:00


class ReminderCb(CallbackData, prefix="rm"):
    action: str  # show, mode, time, voted, calendar
    value: str = ""


def router() -> Router:
    r = Router(name="reminders")
    r.message.filter(private_command())
    r.message.register(on_countdown, Command("countdown"))
    r.message.register(on_settings_command, Command("reminders"))
    r.callback_query.register(on_show, ReminderCb.filter(F.action == "show"))
    r.callback_query.register(on_mode, ReminderCb.filter((F.action == "mode") & F.value.in_(MODES)))
    r.callback_query.register(on_time, ReminderCb.filter(F.action == "time"))
    r.callback_query.register(on_voted, ReminderCb.filter(F.action == "voted"))
    r.callback_query.register(on_calendar, ReminderCb.filter(F.action == "calendar"))
    return r


def voted_markup_json(i18n: I18n) -> Callable[[Lang], str | None]:
    """The "I voted" button for messages sent outside an update (scheduled reminders)."""

    def build(lang: Lang) -> str | None:
        with i18n.context(), i18n.use_locale(lang):
            markup = InlineKeyboardMarkup(inline_keyboard=[[voted_button()]])
        return markup.model_dump_json(exclude_none=True)

    return build


def voted_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text="✅ " + _("I voted"), callback_data=ReminderCb(action="voted").pack())


def countdown_screen(content: ContentStore, clock: Clock, lang: Lang) -> Screen:
    campaign = content.current.campaign
    now = clock.now()
    rows = [
        [
            InlineKeyboardButton(
                text="📆 " + _("Add the key dates to my calendar"), callback_data=ReminderCb(action="calendar").pack()
            )
        ],
        [InlineKeyboardButton(text="🔔 " + _("Reminder settings"), callback_data=ReminderCb(action="show").pack())],
    ]
    if campaign.phase_at(now) == "voting":
        rows.insert(0, [voted_button()])
    rows.append([back_to_menu()])
    return Screen(status_text(campaign, now, lang), InlineKeyboardMarkup(inline_keyboard=rows))


async def settings_screen(db: Storage, reminders: ReminderService, user_id: int) -> Screen:
    prefs = await db.reminder_prefs(user_id)
    names = {
        "all": _("All reminders"),
        "voting_day": _("Only on voting day"),
        "none": _("No reminders"),
    }
    lines = [
        "🔔 <b>" + _("Reminders") + "</b>",
        _("Reminders go 7, 3 and 1 day before voting day and on voting day; after the vote, the results."),
        "",
        _("Now: {mode}.").format(mode=names[prefs.mode]),
    ]
    if prefs.vote_time is not None:
        lines.append(
            _("You plan to vote at {time}: a reminder comes 30 minutes before.").format(
                time=prefs.vote_time.strftime("%H:%M")
            )
        )
    else:
        lines.append(_("Tell me when you plan to vote, and I will remind you 30 minutes before."))
    builder = InlineKeyboardBuilder()
    for mode in MODES:
        mark = "✅ " if prefs.mode == mode else ""
        builder.button(text=mark + names[mode], callback_data=ReminderCb(action="mode", value=mode))
    builder.adjust(1)
    hours = InlineKeyboardBuilder()
    for hour in VOTE_HOURS:
        label = f"{hour:02d}:00"
        mark = "• " if prefs.vote_time == time(hour) else ""
        hours.button(text=mark + label, callback_data=ReminderCb(action="time", value=f"{hour:02d}"))
    hours.button(text=_("No time"), callback_data=ReminderCb(action="time", value="off"))
    hours.adjust(5)
    builder.attach(hours)
    builder.row(back_to_menu())
    return Screen("\n".join(lines), builder.as_markup())


async def on_countdown(message: Message, content: ContentStore, clock: Clock, lang: Lang) -> None:
    await send(message, countdown_screen(content, clock, lang))


async def on_settings_command(message: Message, db: Storage, reminders: ReminderService) -> None:
    if message.from_user is not None:
        await send(message, await settings_screen(db, reminders, message.from_user.id))


async def on_show(query: CallbackQuery, db: Storage, reminders: ReminderService) -> None:
    await query.answer()
    await show(query, await settings_screen(db, reminders, query.from_user.id))


async def on_mode(query: CallbackQuery, callback_data: ReminderCb, db: Storage, reminders: ReminderService) -> None:
    await db.set_reminder_mode(query.from_user.id, callback_data.value)
    await query.answer(_("Saved"))
    await show(query, await settings_screen(db, reminders, query.from_user.id))


async def on_time(
    query: CallbackQuery,
    callback_data: ReminderCb,
    db: Storage,
    reminders: ReminderService,
    scheduler: ReminderScheduler,
) -> None:
    value = callback_data.value
    if value == "off":
        chosen = None
    elif value.isdigit() and int(value) in VOTE_HOURS:
        chosen = time(int(value))
    else:
        await query.answer(_("This button is out of date. Open /menu to start again."), show_alert=True)
        return
    await db.set_vote_time(query.from_user.id, chosen)
    if chosen is not None:
        scheduler.schedule_personal(query.from_user.id, reminders.vote_time_moment(chosen))
    await query.answer(_("Saved"))
    await show(query, await settings_screen(db, reminders, query.from_user.id))


async def on_calendar(query: CallbackQuery, events: EventService, clock: Clock, lang: Lang, bot: Bot) -> None:
    await query.answer()
    data = await events.key_dates_ics(lang, clock.now())
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename="key-dates.ics"),
        caption="📆 " + _("Voting day and the key dates. Open the file to add them to your calendar."),
    )


async def on_voted(query: CallbackQuery, db: Storage, content: ContentStore, clock: Clock, bot: Bot) -> None:
    campaign = content.current.campaign
    if campaign.phase_at(clock.now()) != "voting":
        await query.answer(_("This button works on voting day."), show_alert=True)
        return
    await db.mark_voted(query.from_user.id, campaign.voting_day)
    await query.answer(_("Thank you! No more reminders today."))
    me = await bot.me()
    link = f"https://t.me/{me.username}"
    share_text = _("I took part in the referendum. Facts and sources about it, in three languages:")
    share = f"https://t.me/share/url?url={quote(link)}&text={quote(share_text)}"
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="📤 " + _("Share"), url=share)]])
    if query.message is not None:
        await bot.send_message(
            query.from_user.id,
            "🗳 " + _("Thank you for taking part! Share the bot with others if you like:"),
            reply_markup=markup,
        )
