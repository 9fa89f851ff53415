"""What the admin dialogs of events share: their states, the buttons' data, the prompts of the
steps, the district and event pickers, and the handlers that stop a dialog."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import Lang
from bot.content.models import Campaign
from bot.handlers.event_texts import input_error_text, short_date
from bot.handlers.texts import local_time
from bot.i18n import _
from bot.services.event_input import InputError
from bot.services.event_view import EventView
from bot.services.events import EventService
from bot.telegram.callbacks import EvAdmCb
from bot.telegram.ui import Screen, answer_stale, send, show
from bot.telegram_text import escape, truncate_plain


class EventForm(StatesGroup):
    """``/event_add``: one state per step (named as :class:`~bot.services.event_form.Step`)."""

    kind = State()
    title = State()
    description = State()
    start = State()
    end = State()
    district = State()
    venue = State()
    location = State()
    organiser = State()
    link = State()
    preview = State()


class EventEdit(StatesGroup):
    field = State()  # the field menu of one event is shown
    value = State()  # waiting for the new value of one field


def _skip_hint() -> str:
    return _("Send - to leave it empty.")


def stop_hint() -> str:
    return _("/cancel stops without saving.")


def prompt(step: str, campaign: Campaign, lang: Lang) -> str:
    """The question of ``step`` (a :class:`~bot.services.event_form.Step`, or ``end_all_day``)."""
    local = local_time(campaign, lang)
    texts = {
        "title": _("Send the title (3–100 characters). It is shown in every language as you write it."),
        "description": _("Send a short description (up to 1000 characters).") + " " + _skip_hint(),
        "start": _(
            "When does it start? {local}, e.g. 2026-03-20 18:30; a date alone (2026-03-20) makes an all-day event."
        ).format(local=local),
        "end": _("When does it end? 20:00 (the same day), 2026-03-21 20:00, or - if unknown."),
        "end_all_day": _("Last day of the event, e.g. 2026-03-21, or - if it lasts one day."),
        "district": _("Which district? Press a button or type its name; - for none."),
        "venue": _("The place: name; address (e.g. Palace of Sports; 44 Abay Ave).") + " " + _skip_hint(),
        "location": _("Coordinates for the map: latitude, longitude (e.g. 43.2383, 76.9450).") + " " + _skip_hint(),
        "organiser": _("Who organises it? (up to 100 characters)"),
        "link": _("A web link with details (https://…).") + " " + _skip_hint(),
    }
    return "✍️ " + texts[step] + "\n\n" + stop_hint()


def district_markup(campaign: Campaign, lang: Lang) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for district in campaign.districts:
        builder.button(text=district.name.get(lang), callback_data=EvAdmCb(action="district", value=district.id))
    builder.button(text="— " + _("No district"), callback_data=EvAdmCb(action="district", value="none"))
    builder.adjust(2)
    return builder.as_markup()


def error_screen(error: InputError, campaign: Campaign, lang: Lang) -> Screen:
    return Screen("⚠️ " + escape(input_error_text(error, campaign, lang)) + "\n\n" + stop_hint())


def no_event_screen(event_id: str) -> Screen:
    return Screen("🤷 " + _("There is no event {id}.").format(id=f"<code>{escape(event_id)}</code>"))


def pick_screen(events: list[EventView], action: str, lang: Lang, tz: ZoneInfo, lead: str) -> Screen:
    builder = InlineKeyboardBuilder()
    for event in events[:30]:
        label = f"{short_date(event, lang, tz)} · {event.title(lang)}"
        builder.row(
            InlineKeyboardButton(
                text=truncate_plain(label, 60), callback_data=EvAdmCb(action=action, value=event.id).pack()
            )
        )
    return Screen(lead, builder.as_markup() if events else None)


# --- stopping a dialog ---------------------------------------------------------------------------


async def on_abort(query: CallbackQuery, state: FSMContext, events: EventService, clock: Clock) -> None:
    current = await state.get_state()
    if current is None:
        await answer_stale(query)
        return
    await events.audit(query.from_user.id, "event_dialog.stop", current, clock.now())
    await state.clear()
    await query.answer()
    await show(query, Screen("✖️ " + _("Stopped. Nothing was saved.")))


async def on_stop(message: Message, state: FSMContext, events: EventService, clock: Clock) -> None:
    if message.from_user is not None:
        await events.audit(message.from_user.id, "event_dialog.stop", await state.get_state() or "", clock.now())
    await state.clear()
    await send(message, Screen("✖️ " + _("Stopped. Nothing was saved.")))


async def on_stale(query: CallbackQuery) -> None:
    await answer_stale(query)
