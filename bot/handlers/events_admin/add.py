"""``/event_add``: the kind (buttons), then one step after another (every answer validated,
:mod:`bot.services.event_form`), a preview, and Save."""

from __future__ import annotations

from datetime import datetime

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import Lang
from bot.content.events import EVENT_KINDS
from bot.handlers.event_texts import card_text, district_label, kind_label
from bot.handlers.events_admin.common import (
    EventForm,
    district_markup,
    error_screen,
    prompt,
    stop_hint,
)
from bot.i18n import _
from bot.services.event_form import EventDraft, Step, apply_input, next_step
from bot.services.event_input import InputError
from bot.services.event_view import from_record
from bot.services.events import EventService
from bot.telegram.callbacks import EvAdmCb
from bot.telegram.ui import Screen, answer_stale, send, show, stale

TEXT_STEPS = tuple(getattr(EventForm, step.value) for step in Step)  # the states that wait for a text


def _kind_screen() -> Screen:
    builder = InlineKeyboardBuilder()
    for kind in EVENT_KINDS:
        builder.button(text=kind_label(kind), callback_data=EvAdmCb(action="kind", value=kind))
    builder.button(text="✖️ " + _("Cancel"), callback_data=EvAdmCb(action="abort"))
    builder.adjust(2)
    return Screen("🆕 " + _("New event. What kind of event is it?") + "\n\n" + stop_hint(), builder.as_markup())


async def _ask(message: Message, state: FSMContext, step: Step, events: EventService, lang: Lang) -> None:
    await state.set_state(getattr(EventForm, step.value))
    draft = EventDraft.from_data(await state.get_data())
    campaign = events.campaign
    if step is Step.END and draft.all_day:
        await send(message, Screen(prompt("end_all_day", campaign, lang)))
    elif step is Step.DISTRICT:
        await send(message, Screen(prompt(step, campaign, lang), district_markup(campaign, lang)))
    else:
        await send(message, Screen(prompt(step, campaign, lang)))


def _preview(events: EventService, draft: EventDraft, lang: Lang, now: datetime) -> Screen:
    event = from_record(draft.record("preview", admin_id=None, now=now), events.campaign)
    text = card_text(event, lang, events.campaign, now)
    builder = InlineKeyboardBuilder()
    builder.button(text="✅ " + _("Save"), callback_data=EvAdmCb(action="save"))
    builder.button(text="✖️ " + _("Cancel"), callback_data=EvAdmCb(action="abort"))
    return Screen("👀 " + _("Preview. Residents will see:") + "\n\n" + text, builder.as_markup())


async def _advance(
    message: Message, state: FSMContext, step: Step, events: EventService, lang: Lang, now: datetime
) -> None:
    draft = EventDraft.from_data(await state.get_data())
    following = next_step(step, draft)
    if following is None:
        await state.set_state(EventForm.preview)
        await send(message, _preview(events, draft, lang, now))
        return
    await _ask(message, state, following, events, lang)


# --- handlers ------------------------------------------------------------------------------------


async def on_add(message: Message, state: FSMContext, events: EventService, clock: Clock) -> None:
    if message.from_user is not None:
        await events.audit(message.from_user.id, "event_add.start", "", clock.now())
    await state.clear()
    await state.set_state(EventForm.kind)
    await send(message, _kind_screen())


async def on_kind_text(message: Message) -> None:
    await send(message, Screen("☝️ " + _("Choose the kind with the buttons above, or /cancel.")))


async def on_preview_text(message: Message) -> None:
    await send(message, Screen("☝️ " + _("Press Save or Cancel under the preview, or /cancel.")))


async def on_kind(
    query: CallbackQuery, callback_data: EvAdmCb, state: FSMContext, events: EventService, lang: Lang
) -> None:
    if callback_data.value not in EVENT_KINDS or not isinstance(query.message, Message):
        await answer_stale(query)
        return
    await state.update_data(kind=callback_data.value)
    await query.answer(kind_label(callback_data.value))
    await _ask(query.message, state, Step.TITLE, events, lang)


async def on_add_input(message: Message, state: FSMContext, events: EventService, clock: Clock, lang: Lang) -> None:
    step = Step.from_state(await state.get_state())
    if step is None:  # not one of TEXT_STEPS: the router does not send it here
        await send(message, Screen(stale()))
        return
    now = clock.now()
    try:
        draft = apply_input(
            step, message.text or "", EventDraft.from_data(await state.get_data()), events.campaign, now
        )
    except InputError as error:
        await send(message, error_screen(error, events.campaign, lang))
        return
    await state.update_data(**draft.to_data())
    await _advance(message, state, step, events, lang, now)


async def on_district_button(
    query: CallbackQuery, callback_data: EvAdmCb, state: FSMContext, events: EventService, clock: Clock, lang: Lang
) -> None:
    value = callback_data.value
    campaign = events.campaign
    if (value != "none" and not campaign.is_district(value)) or not isinstance(query.message, Message):
        await answer_stale(query)
        return
    await state.update_data(district=None if value == "none" else value)
    await query.answer(district_label(campaign, value, lang) if value != "none" else None)
    await _advance(query.message, state, Step.DISTRICT, events, lang, clock.now())


async def on_save(query: CallbackQuery, state: FSMContext, events: EventService, clock: Clock, lang: Lang) -> None:
    draft = EventDraft.from_data(await state.get_data())
    if not draft.complete or draft.start is None:
        await state.clear()
        await answer_stale(query)
        return
    now = clock.now()
    if draft.start <= now and not draft.all_day:
        await state.set_state(EventForm.start)
        await query.answer(_("The start time has passed meanwhile. Send a new one."), show_alert=True)
        if isinstance(query.message, Message):
            await send(query.message, Screen(prompt(Step.START, events.campaign, lang)))
        return
    event = await events.create_event(draft, query.from_user.id, now)
    await state.clear()
    await query.answer(_("Saved"))
    await show(
        query,
        Screen(
            "✅ "
            + _("The event is saved and listed: {id}.").format(id=f"<code>{event.id}</code>")
            + "\n\n"
            + card_text(event, lang, events.campaign, now)
        ),
    )
