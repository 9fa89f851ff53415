"""/countdown, reminder settings (all / voting day only / none, the time I plan to vote) and
"I voted"."""

from __future__ import annotations

from datetime import datetime, time
from urllib.parse import quote

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.link import create_telegram_link
from babel.lists import format_list

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.content.models import Campaign, Reminder
from bot.content.placeholders import fill
from bot.handlers.event_texts import place_text
from bot.handlers.pictures import results_known, send_results, send_voted_card
from bot.handlers.texts import days_left, fact_values, plain_facts, stage_line, status_text
from bot.i18n import I18n, _, fmt_date, fmt_time, ngettext, stored_language
from bot.services.campaign import status_at
from bot.services.events import EventService
from bot.services.pictures import PictureService
from bot.services.reminders import ReminderPlan, plan_for, reminder_plan
from bot.services.subscriptions import NO_VOTE_TIME, SubscriptionService, vote_time_token
from bot.storage import Storage
from bot.storage.base import ReminderPrefs, UserRecord
from bot.telegram.callbacks import ReminderCb
from bot.telegram.filters import private_command
from bot.telegram.keyboards import back_to_menu
from bot.telegram.ui import Screen, send, show
from bot.telegram_text import escape

MODES = ("all", "voting_day", "none")


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


class ReminderRenderer:
    """The reminders' words for :class:`bot.services.reminders.ReminderService` (its ``ReminderTexts``
    port): sent outside an update, so each renders in the subscriber's language itself."""

    def __init__(self, i18n: I18n, default_language: Lang) -> None:
        self.i18n = i18n
        self.default_language = default_language

    def language(self, user: UserRecord | None) -> Lang:
        return stored_language(user, self.default_language)

    def reminder(self, campaign: Campaign, reminder: Reminder, lang: Lang, moment: datetime) -> str:
        tz = campaign.tz
        with self.i18n.use_locale(lang):
            facts = fact_values(campaign, lang)  # the same values as in FAQ answers, events and notes
            values = {
                **facts,
                "{date}": facts["{voting_date}"],
                "{open}": facts["{polls_open}"],
                "{close}": facts["{polls_close}"],
                "{countdown}": "",
            }
            if "{countdown}" in reminder.text.get(lang):
                values["{countdown}"] = days_left((campaign.voting_day - moment.astimezone(tz).date()).days)
            text = fill(reminder.text.get(lang), values)
            if reminder.with_status:
                text += "\n\n" + status_text(campaign, moment, lang)
            return text

    def vote_time(self, campaign: Campaign, vote_time: time, lang: Lang, moment: datetime) -> str:
        with self.i18n.use_locale(lang):
            planned = datetime.combine(campaign.voting_day, vote_time, campaign.tz)
            text = "⏰ " + _("In 30 minutes it is the time you planned to vote ({time}).").format(
                time=fmt_time(planned, lang, campaign.tz)
            )
            return text + "\n\n" + status_text(campaign, moment, lang)

    def voted_markup(self, lang: Lang) -> str | None:
        with self.i18n.use_locale(lang):
            markup = InlineKeyboardMarkup(inline_keyboard=[[voted_button()]])
        return markup.model_dump_json(exclude_none=True)


def voted_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text="✅ " + _("I voted"), callback_data=ReminderCb(action="voted").pack())


def countdown_screen(campaign: Campaign, now: datetime, lang: Lang) -> Screen:
    status = status_at(campaign, now)
    rows = []
    if status.polls_open:
        rows.append([voted_button()])
    if campaign.upcoming(now) and status.period != "archive":
        rows.append(
            [
                InlineKeyboardButton(
                    text="📆 " + _("Add the key dates to my calendar"),
                    callback_data=ReminderCb(action="calendar").pack(),
                )
            ]
        )
    if reminder_plan(campaign, now).anything:
        rows.append(
            [InlineKeyboardButton(text="🔔 " + _("Reminder settings"), callback_data=ReminderCb(action="show").pack())]
        )
    rows.append([back_to_menu()])
    return Screen(status_text(campaign, now, lang), InlineKeyboardMarkup(inline_keyboard=rows))


def _days(days: list[int], lang: Lang) -> str:
    """ "7, 3 and 1 day" in the reader's language (the noun agrees with the last number)."""
    listed = format_list([str(day) for day in days], locale=lang)
    return ngettext("{days} day", "{days} days", days[-1]).format(days=listed)


def plan_text(campaign: Campaign, plan: ReminderPlan, lang: Lang) -> str:
    """What the reminders still to come are, from the campaign's content."""
    parts = []
    if plan.countdown_days:
        parts.append(_("{days} before voting day").format(days=_days(plan.countdown_days, lang)))
    if plan.voting_day:
        parts.append(_("on voting day ({day})").format(day=fmt_date(campaign.voting_day, lang)))
    parts += [escape(title.get(lang)) for title in plan.after]
    return "\n".join([_("Reminders still to come:"), *(f"• {part}" for part in parts)]) if parts else ""


async def settings_screen(storage: Storage, campaign: Campaign, now: datetime, user_id: int, lang: Lang) -> Screen:
    return settings_view(campaign, now, await storage.reminder_prefs(user_id), lang)


def settings_view(campaign: Campaign, now: datetime, prefs: ReminderPrefs, lang: Lang) -> Screen:
    plan = plan_for(campaign, now, prefs.voted_on)
    lines = ["🔔 <b>" + _("Reminders") + "</b>"]
    if prefs.voted_on is not None and prefs.voted_on == campaign.voting_day and campaign.passed("polls-open", now):
        lines.append("✅ " + _("You said you have voted: nothing more about voting day."))
    builder = InlineKeyboardBuilder()
    if not plan.anything:
        lines += [stage_line(campaign, now, lang), _("No reminders are planned.")]
        lines.append(_("If you are subscribed, you stay subscribed: announcements still reach you (/subscribe)."))
        builder.row(back_to_menu())
        return Screen("\n".join(lines), builder.as_markup())
    names = {
        "all": _("All reminders"),
        "voting_day": _("Only on voting day"),
        "none": _("No reminders"),
    }
    lines.append(plan_text(campaign, plan, lang))
    lines += ["", _("Now: {mode}.").format(mode=names[prefs.mode])]
    if plan.vote_times:
        if prefs.vote_time is not None:
            lines.append(
                _("You plan to vote at {time}: a reminder comes 30 minutes before.").format(
                    time=_clock_time(campaign, prefs.vote_time, lang)
                )
            )
        else:
            lines.append(_("Tell me when you plan to vote, and I will remind you 30 minutes before."))
    for mode in MODES:
        if mode == "voting_day" and not plan.voting_day and prefs.mode != "voting_day":
            continue
        mark = "✅ " if prefs.mode == mode else ""
        builder.button(text=mark + names[mode], callback_data=ReminderCb(action="mode", value=mode))
    builder.adjust(1)
    if plan.vote_times:
        hours = InlineKeyboardBuilder()
        for choice in plan.vote_times:
            mark = "• " if prefs.vote_time == choice else ""
            hours.button(
                text=mark + _clock_time(campaign, choice, lang),
                callback_data=ReminderCb(action="time", value=vote_time_token(choice)),
            )
        hours.button(text=_("No time"), callback_data=ReminderCb(action="time", value=NO_VOTE_TIME))
        hours.adjust(5)
        builder.attach(hours)
    builder.row(back_to_menu())
    return Screen("\n".join(lines), builder.as_markup())


def _clock_time(campaign: Campaign, moment: time, lang: Lang) -> str:
    return fmt_time(datetime.combine(campaign.voting_day, moment, campaign.tz), lang, campaign.tz)


async def on_countdown(
    message: Message, content: ContentStore, clock: Clock, lang: Lang, bot: Bot, pictures: PictureService
) -> None:
    campaign = content.current.campaign
    await send(message, countdown_screen(campaign, clock.now(), lang))
    if results_known(campaign, clock.now()):
        await send_results(bot, message.chat.id, campaign, lang, pictures, clock.now(), figures_sent=True)


async def on_settings_command(
    message: Message, storage: Storage, content: ContentStore, clock: Clock, lang: Lang
) -> None:
    if message.from_user is not None:
        await send(
            message, await settings_screen(storage, content.current.campaign, clock.now(), message.from_user.id, lang)
        )


async def on_show(query: CallbackQuery, storage: Storage, content: ContentStore, clock: Clock, lang: Lang) -> None:
    await query.answer()
    await show(query, await settings_screen(storage, content.current.campaign, clock.now(), query.from_user.id, lang))


async def on_mode(
    query: CallbackQuery,
    callback_data: ReminderCb,
    storage: Storage,
    subscriptions: SubscriptionService,
    content: ContentStore,
    clock: Clock,
    lang: Lang,
) -> None:
    saved = await subscriptions.set_reminder_mode(query.from_user.id, callback_data.value)
    await _saved_or_refused(query, saved, storage, content.current.campaign, clock.now(), lang)


async def on_time(
    query: CallbackQuery,
    callback_data: ReminderCb,
    storage: Storage,
    subscriptions: SubscriptionService,
    content: ContentStore,
    clock: Clock,
    lang: Lang,
) -> None:
    saved = await subscriptions.set_vote_time(query.from_user.id, callback_data.value)
    await _saved_or_refused(query, saved, storage, content.current.campaign, clock.now(), lang)


async def _saved_or_refused(
    query: CallbackQuery, saved: bool, storage: Storage, campaign: Campaign, now: datetime, lang: Lang
) -> None:
    """Answers "Saved", or why not (the choice is no longer on offer); then the settings as they are."""
    if saved:
        await query.answer(_("Saved"))
    else:
        await query.answer(_("This choice is no longer available."), show_alert=True)
    await show(query, await settings_screen(storage, campaign, now, query.from_user.id, lang))


async def on_calendar(query: CallbackQuery, events: EventService, clock: Clock, lang: Lang, bot: Bot) -> None:
    await query.answer()
    data = await events.key_dates_ics(lang, clock.now(), place_text, plain_facts(events.campaign))
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename="key-dates.ics"),
        caption="📆 " + _("Voting day and the key dates. Open the file to add them to your calendar."),
    )


async def on_voted(
    query: CallbackQuery,
    subscriptions: SubscriptionService,
    content: ContentStore,
    bot: Bot,
    lang: Lang,
    pictures: PictureService,
) -> None:
    campaign = content.current.campaign
    if not await subscriptions.mark_voted(query.from_user.id):
        await query.answer(_("This button works while the polling stations are open."), show_alert=True)
        return
    await query.answer(_("Thank you! No more reminders today."))
    me = await bot.me()
    link = create_telegram_link(me.username or "")
    share_text = _("I took part: {campaign}. Facts and sources about it, in three languages:").format(
        campaign=campaign.title.get(lang)
    )
    share = f"https://t.me/share/url?url={quote(link)}&text={quote(share_text)}"
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="📤 " + _("Share"), url=share)]])
    if query.message is not None:
        await bot.send_message(
            query.from_user.id,
            "🗳 " + _("Thank you for taking part! Share the bot with others if you like:"),
            reply_markup=markup,
        )
        await send_voted_card(bot, query.from_user.id, campaign, lang, pictures)
