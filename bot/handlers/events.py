"""Events for residents: the list (filters, pages), an event's card (map, calendar file, personal
reminder, share) and the deep link ``/start event-<id>``; :class:`TelegramEventNotifier`, the
event service's way to residents."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram.utils.link import create_telegram_link

from bot.clock import Clock
from bot.config import Lang
from bot.content.events import EVENT_KINDS
from bot.content.models import Campaign
from bot.handlers.event_texts import (
    card_text,
    district_label,
    kind_label,
    list_line,
    notice_text,
    offset_label,
    place_text,
    short_date,
)
from bot.handlers.texts import plain_facts
from bot.i18n import I18n, _, fmt_date, fmt_time
from bot.services.deeplinks import make_payload, parse_deep_link
from bot.services.event_notices import EventNotice
from bot.services.event_view import EventView, FilterChoices, Filters, paginate, reminder_options
from bot.services.events import EventService
from bot.storage.base import EventReminder
from bot.telegram.callbacks import EvCb, EvFilterCb, EvListCb, FilterWhat, MenuCb
from bot.telegram.filters import private_command
from bot.telegram.keyboards import back_to_menu, page_row
from bot.telegram.ui import Screen, answer_stale, send, show
from bot.telegram_text import escape, truncate_plain

log = logging.getLogger(__name__)

BUTTON_TEXT = 60
REMIND_ACTIONS = ("r1h", "r1d", "reve", "rday")
CARD_ACTIONS = ("open", "map", "ics", "rx", *REMIND_ACTIONS)


def router() -> Router:
    r = Router(name="events")
    r.message.filter(private_command())
    r.message.register(on_deep_link, CommandStart(deep_link=True, magic=F.args.startswith("event-")))
    r.message.register(on_events, Command("events"))
    r.callback_query.register(on_menu, MenuCb.filter(F.section == "events"))
    r.callback_query.register(on_list, EvListCb.filter())
    r.callback_query.register(on_filter, EvFilterCb.filter())
    r.callback_query.register(on_card_button, EvCb.filter(F.action.in_(CARD_ACTIONS)))
    return r


# --- the port: the service's way to residents ---------------------------------------------------


class TelegramEventNotifier:
    """``EventNotifier`` over aiogram: notices worded in the resident's language."""

    def __init__(self, bot: Bot, i18n: I18n, campaign: Callable[[], Campaign]) -> None:
        self.bot = bot
        self.i18n = i18n
        self.campaign = campaign

    def render(self, notice: EventNotice, lang: Lang) -> str:
        with self.i18n.context(), self.i18n.use_locale(lang):
            return notice_text(notice, lang, self.campaign())

    async def send(self, user_id: int, text: str) -> bool:
        try:
            await self.bot.send_message(user_id, text)
        except TelegramAPIError as error:
            log.warning("event message to %s failed: %s", user_id, error)
            return False
        return True


# --- screens -----------------------------------------------------------------------------------


def _filters_line(filters: Filters, campaign: Campaign, lang: Lang) -> str:
    parts = []
    if filters.kind:
        parts.append(kind_label(filters.kind))
    if filters.district:
        parts.append(district_label(campaign, filters.district, lang))
    if filters.when:
        parts.append(_("today") if filters.when == "today" else _("this week"))
    return "🔎 " + _("Filters: {filters}").format(filters=escape(", ".join(parts))) if parts else ""


async def list_screen(events: EventService, now_filters: Filters, page: int, lang: Lang, clock: Clock) -> Screen:
    now = clock.now()
    tz = events.tz
    found = await events.upcoming(now, now_filters)
    builder = InlineKeyboardBuilder()
    lines = ["📅 <b>" + _("Upcoming events") + "</b>"]
    filters_line = _filters_line(now_filters, events.campaign, lang)
    if filters_line:
        lines.append(filters_line)
    if not found:
        if now_filters.active:
            lines.append("")
            lines.append(_("No upcoming events match these filters."))
        else:
            lines.append("")
            lines.append(_("There are no upcoming events right now."))
            dates = await events.key_dates()
            if dates:
                lines.append("")
                lines.append("🗓 <b>" + _("Key dates of the campaign") + "</b>")
                for event in dates:
                    lines.append(list_line(event, lang, tz))
    else:
        current = paginate(found, page)
        if current.pages > 1:
            lines[0] += " · " + _("page {page} of {pages}").format(page=current.page + 1, pages=current.pages)
        organisers = {event.organiser_kind for event in current.items}
        legend = [
            mark + " " + title
            for kind, mark, title in (("official", "🏛", _("official date")), ("campaign", "📣", _("campaign event")))
            if kind in organisers
        ]
        if legend:
            lines.append(" · ".join(legend))
        lines.append("")
        lines.extend(list_line(event, lang, tz) for event in current.items)
        for event in current.items:
            label = f"{short_date(event, lang, tz)} · {event.title(lang)}"
            builder.row(
                InlineKeyboardButton(
                    text=truncate_plain(label, BUTTON_TEXT), callback_data=EvCb(action="open", id=event.id).pack()
                )
            )
        if current.pages > 1:
            builder.row(*page_row(current.page, current.pages, lambda n: _list_cb(now_filters, n)))
    f = now_filters
    choices = await events.filter_choices(now, f)
    filter_row = []
    if choices.offers("kind", f):
        filter_row.append(
            InlineKeyboardButton(
                text="🏷 " + _("Kind"),
                callback_data=EvFilterCb(what=FilterWhat.KIND, district=f.district, when=f.when).pack(),
            )
        )
    if choices.offers("district", f):
        filter_row.append(
            InlineKeyboardButton(
                text="📍 " + _("District"),
                callback_data=EvFilterCb(what=FilterWhat.DISTRICT, kind=f.kind, when=f.when).pack(),
            )
        )
    if filter_row:
        builder.row(*filter_row)
    when_row = []
    for when, title in (("today", _("Today")), ("week", _("This week"))):
        if not choices.offers(when, f):
            continue
        mark = "✅ " if f.when == when else ""
        target = "" if f.when == when else when
        when_row.append(
            InlineKeyboardButton(
                text=mark + title, callback_data=EvListCb(kind=f.kind, district=f.district, when=target).pack()
            )
        )
    if when_row:
        builder.row(*when_row)
    if f.active:
        builder.row(InlineKeyboardButton(text="✖️ " + _("All events"), callback_data=EvListCb().pack()))
    builder.row(back_to_menu())
    return Screen("\n".join(lines), builder.as_markup())


def _list_cb(filters: Filters, page: int = 0) -> EvListCb:
    return EvListCb(kind=filters.kind, district=filters.district, when=filters.when, page=page)


def filter_screen(what: FilterWhat, filters: Filters, choices: FilterChoices, campaign: Campaign, lang: Lang) -> Screen:
    """Only the kinds and districts that have listed events (and the one chosen, to keep it)."""
    builder = InlineKeyboardBuilder()
    if what == FilterWhat.KIND:
        for kind in EVENT_KINDS:
            if kind not in choices.kinds and kind != filters.kind:
                continue
            mark = "✅ " if kind == filters.kind else ""
            builder.button(
                text=mark + kind_label(kind),
                callback_data=EvListCb(kind=kind, district=filters.district, when=filters.when),
            )
        builder.button(
            text=("✅ " if not filters.kind else "") + _("Any kind"),
            callback_data=EvListCb(district=filters.district, when=filters.when),
        )
        text = "🏷 " + _("Which kind of events?")
    else:
        for district in campaign.districts:
            if district.id not in choices.districts and district.id != filters.district:
                continue
            mark = "✅ " if district.id == filters.district else ""
            builder.button(
                text=mark + district.name.get(lang),
                callback_data=EvListCb(kind=filters.kind, district=district.id, when=filters.when),
            )
        builder.button(
            text=("✅ " if not filters.district else "") + _("Any district"),
            callback_data=EvListCb(kind=filters.kind, when=filters.when),
        )
        text = "📍 " + _("Events in which district?")
    builder.adjust(2)
    return Screen(text, builder.as_markup())


def card_screen(
    event: EventView, lang: Lang, events: EventService, clock: Clock, reminder: EventReminder | None, bot_username: str
) -> Screen:
    now = clock.now()
    tz = events.tz
    builder = InlineKeyboardBuilder()
    if event.has_map and not event.cancelled:
        builder.row(
            InlineKeyboardButton(text="🗺 " + _("Show on map"), callback_data=EvCb(action="map", id=event.id).pack())
        )
    builder.row(
        InlineKeyboardButton(text="📆 " + _("Add to calendar"), callback_data=EvCb(action="ics", id=event.id).pack())
    )
    if reminder is not None and not event.cancelled:
        builder.row(
            InlineKeyboardButton(
                text="🔕 " + _("Cancel the reminder"), callback_data=EvCb(action="rx", id=event.id).pack()
            )
        )
    else:
        options = reminder_options(event, now, tz)
        if options:
            builder.row(
                *[
                    InlineKeyboardButton(
                        text="🔔 " + offset_label(offset), callback_data=EvCb(action="r" + offset, id=event.id).pack()
                    )
                    for offset, _moment in options
                ]
            )
    if bot_username:
        link = create_telegram_link(bot_username, start=make_payload("event", event.id))
        builder.row(InlineKeyboardButton(text="📤 " + _("Share"), url=link))
    builder.row(InlineKeyboardButton(text="⬅️ " + _("Events"), callback_data=EvListCb().pack()), back_to_menu())
    return Screen(card_text(event, lang, events.campaign, now, reminder), builder.as_markup())


async def _username(bot: Bot) -> str:
    me = await bot.me()
    return me.username or ""


# --- handlers ----------------------------------------------------------------------------------


async def on_events(message: Message, events: EventService, lang: Lang, clock: Clock) -> None:
    await send(message, await list_screen(events, Filters(), 0, lang, clock))


async def on_menu(query: CallbackQuery, events: EventService, lang: Lang, clock: Clock) -> None:
    await query.answer()
    await show(query, await list_screen(events, Filters(), 0, lang, clock))


async def on_list(
    query: CallbackQuery, callback_data: EvListCb, events: EventService, lang: Lang, clock: Clock
) -> None:
    filters = Filters(callback_data.kind, callback_data.district, callback_data.when)
    if not filters.valid(events.campaign) or callback_data.page < 0:
        await answer_stale(query)
        return
    await query.answer()
    await show(query, await list_screen(events, filters, callback_data.page, lang, clock))


async def on_filter(
    query: CallbackQuery, callback_data: EvFilterCb, events: EventService, lang: Lang, clock: Clock
) -> None:
    filters = Filters(callback_data.kind, callback_data.district, callback_data.when)
    if not filters.valid(events.campaign):
        await answer_stale(query)
        return
    await query.answer()
    choices = await events.filter_choices(clock.now(), filters)
    await show(query, filter_screen(callback_data.what, filters, choices, events.campaign, lang))


async def on_card_button(
    query: CallbackQuery, callback_data: EvCb, events: EventService, lang: Lang, clock: Clock, bot: Bot
) -> None:
    event = await events.get(callback_data.id)
    if event is None:
        await answer_stale(query)
        return
    user_id = query.from_user.id
    action = callback_data.action
    now = clock.now()
    if action == "map":
        if not event.has_map or event.latitude is None or event.longitude is None:
            await query.answer(_("There is no map for this place."), show_alert=True)
            return
        await query.answer()
        await bot.send_venue(
            user_id,
            latitude=event.latitude,
            longitude=event.longitude,
            title=truncate_plain(event.venue_name(lang) or event.title(lang), 100),
            address=truncate_plain(event.venue_address(lang) or event.venue_name(lang) or event.title(lang), 100),
        )
        return
    if action == "ics":
        await query.answer()
        ics = events.ics(event, lang, now, place_text, plain_facts(events.campaign))
        document = BufferedInputFile(ics, filename=f"{event.id}.ics")
        await bot.send_document(
            user_id, document, caption="📆 " + _("Open the file to add the event to your calendar.")
        )
        return
    if action == "rx":
        cancelled = await events.cancel_reminder(user_id, event.id)
        await query.answer(_("Reminder cancelled.") if cancelled else None)
    elif action in REMIND_ACTIONS:
        reminder = await events.set_reminder(user_id, event, action[1:], now)
        if reminder is None:
            await query.answer(_("It is too late for this reminder."), show_alert=True)
        else:
            tz = events.tz
            moment = f"{fmt_date(reminder.remind_at, lang, tz)}, {fmt_time(reminder.remind_at, lang, tz)}"
            await query.answer(_("I will remind you on {moment}.").format(moment=moment))
    else:
        await query.answer()
    reminder = await events.reminder_of(user_id, event.id)
    await show(query, card_screen(event, lang, events, clock, reminder, await _username(bot)))


async def on_deep_link(
    message: Message, command: CommandObject, events: EventService, lang: Lang, clock: Clock, bot: Bot
) -> None:
    link = parse_deep_link(command.args)
    event = await events.get(link.value) if link.kind == "event" else None
    if event is None or message.from_user is None:
        screen = await list_screen(events, Filters(), 0, lang, clock)
        await send(message, Screen("🤷 " + _("I do not know this event.") + "\n\n" + screen.text, screen.markup))
        return
    reminder = await events.reminder_of(message.from_user.id, event.id)
    await send(message, card_screen(event, lang, events, clock, reminder, await _username(bot)))
