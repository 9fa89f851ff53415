"""``/event_edit``: an admin's event, a menu of its fields, one field changed at a time (those with
a reminder of it are told); the file's events are edited in ``data/events.yaml``."""

from __future__ import annotations

from datetime import datetime

from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import Lang
from bot.handlers.event_texts import card_text
from bot.handlers.events_admin.common import (
    EventEdit,
    district_markup,
    error_screen,
    no_event_screen,
    pick_screen,
    prompt,
)
from bot.i18n import _
from bot.services.event_form import STEPS, EventDraft, Step, apply_input
from bot.services.event_input import InputError
from bot.services.event_view import EventView
from bot.services.events import EventService
from bot.telegram.callbacks import EvAdmCb
from bot.telegram.ui import Screen, answer_stale, send, stale
from bot.telegram_text import truncate_plain


def _field_label(step: Step) -> str:
    return {
        Step.TITLE: _("Title"),
        Step.DESCRIPTION: _("Description"),
        Step.START: _("Start"),
        Step.END: _("End"),
        Step.DISTRICT: _("District"),
        Step.VENUE: _("Place"),
        Step.LOCATION: _("Map coordinates"),
        Step.ORGANISER: _("Organiser"),
        Step.LINK: _("Link"),
    }[step]


def _field_menu(event: EventView, events: EventService, lang: Lang, now: datetime, lead: str = "") -> Screen:
    builder = InlineKeyboardBuilder()
    for step in STEPS:
        builder.button(text=_field_label(step), callback_data=EvAdmCb(action="field", value=step.value))
    builder.button(text="✔️ " + _("Done"), callback_data=EvAdmCb(action="abort"))
    builder.adjust(3)
    head = lead or "✏️ " + _("Which field of {id} do you want to change?").format(id=f"<code>{event.id}</code>")
    return Screen(head + "\n\n" + card_text(event, lang, events.campaign, now), builder.as_markup())


async def _open_edit(
    message: Message, event_id: str, state: FSMContext, events: EventService, lang: Lang, clock: Clock, admin_id: int
) -> None:
    await events.audit(admin_id, "event_edit.open", truncate_plain(event_id, 60), clock.now())
    event = await events.get(event_id)
    if event is None:
        await send(message, no_event_screen(event_id))
        return
    if event.origin == "file":
        await send(
            message,
            Screen(
                "📄 " + _("This event comes from data/events.yaml: edit it in the file and reload with /faq_reload.")
            ),
        )
        return
    if event.cancelled:
        await send(message, Screen("❌ " + _("This event is cancelled and cannot be edited.")))
        return
    await state.clear()
    await state.set_state(EventEdit.field)
    await state.update_data(edit_id=event_id)
    await send(message, _field_menu(event, events, lang, clock.now()))


async def _save_edit(
    message: Message,
    state: FSMContext,
    events: EventService,
    lang: Lang,
    clock: Clock,
    step: Step,
    answer: EventDraft,
    admin_id: int,
) -> None:
    """Save the field of ``step`` as ``answer`` has it, and show the field menu again."""
    event_id = str((await state.get_data()).get("edit_id") or "")
    record = await events.admin_event(event_id)
    if record is None:
        await state.clear()
        await send(message, no_event_screen(event_id))
        return
    now = clock.now()
    event, told = await events.edit_event(record, step, answer, admin_id, now)
    await state.set_state(EventEdit.field)
    lead = "✅ " + _("Saved. A notice of the change goes to the people with a reminder: {n}.").format(n=told)
    await send(message, _field_menu(event, events, lang, now, lead=lead))


# --- handlers ------------------------------------------------------------------------------------


async def on_edit(
    message: Message, command: CommandObject, state: FSMContext, events: EventService, lang: Lang, clock: Clock
) -> None:
    if command.args and message.from_user is not None:
        await _open_edit(message, command.args.strip(), state, events, lang, clock, message.from_user.id)
        return
    editable = [event for event in await events.upcoming(clock.now()) if event.origin == "admin"]
    lead = "✏️ " + (
        _("Which event do you want to edit?") if editable else _("There are no upcoming events added by admins.")
    )
    await send(message, pick_screen(editable, "edit", lang, events.tz, lead))


async def on_edit_pick(
    query: CallbackQuery, callback_data: EvAdmCb, state: FSMContext, events: EventService, lang: Lang, clock: Clock
) -> None:
    if not isinstance(query.message, Message):
        await answer_stale(query)
        return
    await query.answer()
    await _open_edit(query.message, callback_data.value, state, events, lang, clock, query.from_user.id)


async def on_edit_field(
    query: CallbackQuery, callback_data: EvAdmCb, state: FSMContext, events: EventService, lang: Lang
) -> None:
    step = Step.named(callback_data.value)
    record = await events.admin_event(str((await state.get_data()).get("edit_id") or ""))
    if step is None or record is None or not isinstance(query.message, Message):
        await answer_stale(query)
        return
    await state.set_state(EventEdit.value)
    await state.update_data(field=step.value)
    await query.answer()
    campaign = events.campaign
    if step is Step.DISTRICT:
        await send(query.message, Screen(prompt(step, campaign, lang), district_markup(campaign, lang)))
    else:
        question = "end_all_day" if step is Step.END and record.all_day else step.value
        await send(query.message, Screen(prompt(question, campaign, lang)))


async def on_edit_input(message: Message, state: FSMContext, events: EventService, lang: Lang, clock: Clock) -> None:
    data = await state.get_data()
    step = Step.named(str(data.get("field") or ""))
    record = await events.admin_event(str(data.get("edit_id") or ""))
    if step is None or record is None or message.from_user is None:
        await state.clear()
        await send(message, Screen(stale()))
        return
    try:
        answer = apply_input(step, message.text or "", EventDraft.from_record(record), events.campaign, clock.now())
    except InputError as error:
        await send(message, error_screen(error, events.campaign, lang))
        return
    await _save_edit(message, state, events, lang, clock, step, answer, message.from_user.id)


async def on_edit_district(
    query: CallbackQuery, callback_data: EvAdmCb, state: FSMContext, events: EventService, lang: Lang, clock: Clock
) -> None:
    value = callback_data.value
    data = await state.get_data()
    if (
        (value != "none" and not events.campaign.is_district(value))
        or data.get("field") != Step.DISTRICT
        or not isinstance(query.message, Message)
    ):
        await answer_stale(query)
        return
    await query.answer()
    answer = EventDraft(district=None if value == "none" else value)
    await _save_edit(query.message, state, events, lang, clock, Step.DISTRICT, answer, query.from_user.id)
