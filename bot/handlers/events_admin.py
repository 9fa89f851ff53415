"""Admin commands for events: ``/event_add`` (a guided dialog, every field validated, a preview),
``/event_edit`` and ``/event_cancel`` (those with a reminder of the event are told).

Only for ``ADMIN_IDS`` in a private chat (``IsAdmin`` on the router): for anyone else nothing here
matches, so the commands get the ordinary "unknown command" answer and forged buttons the "out of
date" notice. Events from ``data/events.yaml`` are edited in the file; they can be cancelled here."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import Lang
from bot.content.events import EVENT_KINDS
from bot.content.models import Campaign
from bot.filters import IsAdmin, Magic
from bot.handlers.texts import local_time
from bot.i18n import _
from bot.services.events import (
    EventService,
    EventView,
    InputError,
    card_text,
    district_label,
    from_record,
    kind_label,
    new_event_id,
    parse_description,
    parse_district,
    parse_end,
    parse_link,
    parse_location,
    parse_organiser,
    parse_start,
    parse_title,
    parse_venue,
    short_date,
)
from bot.storage import Storage
from bot.storage.base import EventRecord
from bot.telegram_text import escape, truncate_plain
from bot.ui import Screen, send, show

log = logging.getLogger(__name__)
FIELDS = ("title", "description", "start", "end", "district", "venue", "location", "organiser", "link")


class EventForm(StatesGroup):
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


class EvAdmCb(CallbackData, prefix="eva"):
    action: str  # kind, district, save, abort, edit, field, cancel, cancel_yes, cancel_no
    value: str = ""


def router() -> Router:
    r = Router(name="events_admin")
    r.message.filter(IsAdmin())
    r.callback_query.filter(IsAdmin())
    r.message.register(on_stop, Command("cancel"), StateFilter(EventForm, EventEdit))
    r.message.register(on_add, Command("event_add"))
    r.message.register(on_edit, Command("event_edit"))
    r.message.register(on_cancel_command, Command("event_cancel"))
    r.message.register(on_kind_text, StateFilter(EventForm.kind), Magic(F.text & ~F.text.startswith("/")))
    r.message.register(on_preview_text, StateFilter(EventForm.preview), Magic(F.text & ~F.text.startswith("/")))
    r.message.register(on_add_input, StateFilter(*_TEXT_STEPS), Magic(F.text & ~F.text.startswith("/")))
    r.message.register(on_edit_input, StateFilter(EventEdit.value), Magic(F.text & ~F.text.startswith("/")))
    r.callback_query.register(on_kind, StateFilter(EventForm.kind), EvAdmCb.filter(F.action == "kind"))
    r.callback_query.register(
        on_district_button, StateFilter(EventForm.district), EvAdmCb.filter(F.action == "district")
    )
    r.callback_query.register(on_save, StateFilter(EventForm.preview), EvAdmCb.filter(F.action == "save"))
    r.callback_query.register(on_abort, EvAdmCb.filter(F.action == "abort"))
    r.callback_query.register(on_edit_pick, EvAdmCb.filter(F.action == "edit"))
    r.callback_query.register(on_edit_field, StateFilter(EventEdit.field), EvAdmCb.filter(F.action == "field"))
    r.callback_query.register(on_edit_district, StateFilter(EventEdit.value), EvAdmCb.filter(F.action == "district"))
    r.callback_query.register(on_cancel_pick, EvAdmCb.filter(F.action == "cancel"))
    r.callback_query.register(on_cancel_yes, EvAdmCb.filter(F.action == "cancel_yes"))
    r.callback_query.register(on_cancel_no, EvAdmCb.filter(F.action == "cancel_no"))
    r.callback_query.register(on_stale, EvAdmCb.filter())
    return r


def _stale() -> str:
    return _("This button is out of date. Open /menu to start again.")


# --- the draft -----------------------------------------------------------------------------------


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def record_from(data: dict[str, Any], *, event_id: str, admin_id: int | None, now: datetime) -> EventRecord:
    kind = str(data["kind"])
    start = _dt(data["start"])
    assert start is not None
    created = _dt(data.get("created_at")) or now
    return EventRecord(
        id=event_id,
        kind=kind,
        title=str(data["title"]),
        description=data.get("description"),
        starts_at=start,
        ends_at=_dt(data.get("end")),
        all_day=bool(data.get("all_day")),
        district=data.get("district"),
        venue_name=data.get("venue_name"),
        venue_address=data.get("venue_address"),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        organiser=str(data["organiser"]),
        organiser_kind="official" if kind == "official-date" else "campaign",
        link=data.get("link"),
        created_by=data.get("created_by", admin_id),
        created_at=created,
        updated_at=now,
    )


def data_from(record: EventRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "title": record.title,
        "description": record.description,
        "start": record.starts_at.isoformat(),
        "all_day": record.all_day,
        "end": record.ends_at.isoformat() if record.ends_at else None,
        "district": record.district,
        "venue_name": record.venue_name,
        "venue_address": record.venue_address,
        "latitude": record.latitude,
        "longitude": record.longitude,
        "organiser": record.organiser,
        "link": record.link,
        "created_by": record.created_by,
        "created_at": record.created_at.isoformat(),
    }


# --- prompts -------------------------------------------------------------------------------------


def _skip_hint() -> str:
    return _("Send - to leave it empty.")


def prompt(step: str, campaign: Campaign, lang: Lang) -> str:
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
    return "✍️ " + texts[step] + "\n\n" + _("/cancel stops without saving.")


def _district_markup(campaign: Campaign, lang: Lang) -> Any:
    builder = InlineKeyboardBuilder()
    for district in campaign.districts:
        builder.button(text=district.name.get(lang), callback_data=EvAdmCb(action="district", value=district.id))
    builder.button(text="— " + _("No district"), callback_data=EvAdmCb(action="district", value="none"))
    builder.adjust(2)
    return builder.as_markup()


def _kind_screen() -> Screen:
    builder = InlineKeyboardBuilder()
    for kind in EVENT_KINDS:
        builder.button(text=kind_label(kind), callback_data=EvAdmCb(action="kind", value=kind))
    builder.button(text="✖️ " + _("Cancel"), callback_data=EvAdmCb(action="abort"))
    builder.adjust(2)
    return Screen(
        "🆕 " + _("New event. What kind of event is it?") + "\n\n" + _("/cancel stops without saving."),
        builder.as_markup(),
    )


async def _ask(message: Message, state: FSMContext, step: str, campaign: Campaign, lang: Lang) -> None:
    await state.set_state(getattr(EventForm, step))
    data = await state.get_data()
    if step == "end" and data.get("all_day"):
        await send(message, Screen(prompt("end_all_day", campaign, lang)))
    elif step == "district":
        await send(message, Screen(prompt("district", campaign, lang), _district_markup(campaign, lang)))
    else:
        await send(message, Screen(prompt(step, campaign, lang)))


def _preview(events: EventService, data: dict[str, Any], lang: Lang, now: datetime) -> Screen:
    record = record_from(data, event_id="preview", admin_id=None, now=now)
    text = card_text(from_record(record, events.campaign), lang, events.tz, now)
    builder = InlineKeyboardBuilder()
    builder.button(text="✅ " + _("Save"), callback_data=EvAdmCb(action="save"))
    builder.button(text="✖️ " + _("Cancel"), callback_data=EvAdmCb(action="abort"))
    return Screen("👀 " + _("Preview. Residents will see:") + "\n\n" + text, builder.as_markup())


# --- /event_add ----------------------------------------------------------------------------------

_TEXT_STEPS = (
    EventForm.title,
    EventForm.description,
    EventForm.start,
    EventForm.end,
    EventForm.district,
    EventForm.venue,
    EventForm.location,
    EventForm.organiser,
    EventForm.link,
)


async def on_add(message: Message, state: FSMContext, db: Storage, clock: Clock) -> None:
    if message.from_user is not None:
        await db.audit(message.from_user.id, "event_add.start", "", clock.now())
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
        await query.answer(_stale(), show_alert=True)
        return
    await state.update_data(kind=callback_data.value)
    await query.answer(kind_label(callback_data.value))
    await _ask(query.message, state, "title", events.campaign, lang)


def apply_input(
    step: str, text: str, data: dict[str, Any], events: EventService, now: datetime, lang: Lang
) -> dict[str, Any]:
    """The data to store for ``step``; raises InputError with what to correct."""
    tz = events.tz
    if step == "title":
        return {"title": parse_title(text)}
    if step == "description":
        return {"description": parse_description(text)}
    if step == "start":
        start, all_day = parse_start(text, tz, now)
        return {"start": start.isoformat(), "all_day": all_day}
    if step == "end":
        begins = _dt(data.get("start"))
        assert begins is not None
        end = parse_end(text, begins, bool(data.get("all_day")), tz)
        return {"end": end.isoformat() if end else None}
    if step == "district":
        return {"district": parse_district(text, events.campaign, lang)}
    if step == "venue":
        venue = parse_venue(text)
        if venue is None:
            return {"venue_name": None, "venue_address": None, "latitude": None, "longitude": None}
        return {"venue_name": venue[0], "venue_address": venue[1]}
    if step == "location":
        location = parse_location(text)
        return {"latitude": location[0] if location else None, "longitude": location[1] if location else None}
    if step == "organiser":
        return {"organiser": parse_organiser(text)}
    if step == "link":
        return {"link": parse_link(text)}
    raise InputError(step)


NEXT_STEP = {
    "title": "description",
    "description": "start",
    "start": "end",
    "end": "district",
    "district": "venue",
    "venue": "location",
    "location": "organiser",
    "organiser": "link",
    "link": "preview",
}


async def _advance(
    message: Message, state: FSMContext, step: str, events: EventService, lang: Lang, now: datetime
) -> None:
    following = NEXT_STEP[step]
    data = await state.get_data()
    if following == "location" and not data.get("venue_name"):
        following = NEXT_STEP[following]  # no place, no map
    if following == "preview":
        await state.set_state(EventForm.preview)
        await send(message, _preview(events, data, lang, now))
        return
    await _ask(message, state, following, events.campaign, lang)


async def on_add_input(message: Message, state: FSMContext, events: EventService, clock: Clock, lang: Lang) -> None:
    current = await state.get_state()
    step = (current or "").rsplit(":", 1)[-1]
    now = clock.now()
    try:
        update = apply_input(step, message.text or "", await state.get_data(), events, now, lang)
    except InputError as error:
        await send(message, Screen("⚠️ " + escape(str(error)) + "\n\n" + _("/cancel stops without saving.")))
        return
    await state.update_data(**update)
    await _advance(message, state, step, events, lang, now)


async def on_district_button(
    query: CallbackQuery, callback_data: EvAdmCb, state: FSMContext, events: EventService, clock: Clock, lang: Lang
) -> None:
    value = callback_data.value
    campaign = events.campaign
    if (value != "none" and not campaign.is_district(value)) or not isinstance(query.message, Message):
        await query.answer(_stale(), show_alert=True)
        return
    await state.update_data(district=None if value == "none" else value)
    await query.answer(district_label(campaign, value, lang) if value != "none" else None)
    await _advance(query.message, state, "district", events, lang, clock.now())


async def on_save(
    query: CallbackQuery, state: FSMContext, events: EventService, clock: Clock, lang: Lang, db: Storage
) -> None:
    data = await state.get_data()
    if "organiser" not in data or "start" not in data:
        await state.clear()
        await query.answer(_stale(), show_alert=True)
        return
    now = clock.now()
    start = _dt(data["start"])
    assert start is not None
    if start <= now and not data.get("all_day"):
        await state.set_state(EventForm.start)
        await query.answer(_("The start time has passed meanwhile. Send a new one."), show_alert=True)
        if isinstance(query.message, Message):
            await send(query.message, Screen(prompt("start", events.campaign, lang)))
        return
    event_id = new_event_id(start, await events.taken_ids(), events.tz)
    admin_id = query.from_user.id
    event = await events.add_event(record_from(data, event_id=event_id, admin_id=admin_id, now=now))
    await db.audit(admin_id, "event_add", f"{event_id}: {event.title(lang)}", now)
    await state.clear()
    await query.answer(_("Saved"))
    await show(
        query,
        Screen(
            "✅ "
            + _("The event is saved and listed: {id}.").format(id=f"<code>{event_id}</code>")
            + "\n\n"
            + card_text(event, lang, events.tz, now)
        ),
    )


async def on_abort(query: CallbackQuery, state: FSMContext, db: Storage, clock: Clock) -> None:
    current = await state.get_state()
    if current is None:
        await query.answer(_stale(), show_alert=True)
        return
    await db.audit(query.from_user.id, "event_dialog.stop", current, clock.now())
    await state.clear()
    await query.answer()
    await show(query, Screen("✖️ " + _("Stopped. Nothing was saved.")))


async def on_stop(message: Message, state: FSMContext, db: Storage, clock: Clock) -> None:
    if message.from_user is not None:
        await db.audit(message.from_user.id, "event_dialog.stop", await state.get_state() or "", clock.now())
    await state.clear()
    await send(message, Screen("✖️ " + _("Stopped. Nothing was saved.")))


async def on_stale(query: CallbackQuery) -> None:
    await query.answer(_stale(), show_alert=True)


# --- /event_edit ---------------------------------------------------------------------------------


def _field_label(name: str) -> str:
    return {
        "title": _("Title"),
        "description": _("Description"),
        "start": _("Start"),
        "end": _("End"),
        "district": _("District"),
        "venue": _("Place"),
        "location": _("Map coordinates"),
        "organiser": _("Organiser"),
        "link": _("Link"),
    }[name]


def _pick_screen(events: list[EventView], action: str, lang: Lang, tz: Any, lead: str) -> Screen:
    builder = InlineKeyboardBuilder()
    for event in events[:30]:
        label = f"{short_date(event, lang, tz)} · {event.title(lang)}"
        builder.row(
            InlineKeyboardButton(
                text=truncate_plain(label, 60), callback_data=EvAdmCb(action=action, value=event.id).pack()
            )
        )
    return Screen(lead, builder.as_markup() if events else None)


async def _field_menu(event: EventView, events: EventService, lang: Lang, now: datetime, lead: str = "") -> Screen:
    builder = InlineKeyboardBuilder()
    for name in FIELDS:
        builder.button(text=_field_label(name), callback_data=EvAdmCb(action="field", value=name))
    builder.button(text="✔️ " + _("Done"), callback_data=EvAdmCb(action="abort"))
    builder.adjust(3)
    head = lead or "✏️ " + _("Which field of {id} do you want to change?").format(id=f"<code>{event.id}</code>")
    return Screen(head + "\n\n" + card_text(event, lang, events.tz, now), builder.as_markup())


async def _open_edit(
    message: Message,
    event_id: str,
    state: FSMContext,
    events: EventService,
    lang: Lang,
    clock: Clock,
    db: Storage,
    admin_id: int,
) -> bool:
    await db.audit(admin_id, "event_edit.open", truncate_plain(event_id, 60), clock.now())
    event = await events.get(event_id)
    if event is None:
        await send(message, Screen("🤷 " + _("There is no event {id}.").format(id=f"<code>{escape(event_id)}</code>")))
        return False
    if event.origin == "file":
        await send(
            message,
            Screen(
                "📄 " + _("This event comes from data/events.yaml: edit it in the file and reload with /faq_reload.")
            ),
        )
        return False
    if event.cancelled:
        await send(message, Screen("❌ " + _("This event is cancelled and cannot be edited.")))
        return False
    await state.clear()
    await state.set_state(EventEdit.field)
    await state.update_data(edit_id=event_id)
    await send(message, await _field_menu(event, events, lang, clock.now()))
    return True


async def on_edit(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    events: EventService,
    lang: Lang,
    clock: Clock,
    db: Storage,
) -> None:
    if command.args and message.from_user is not None:
        await _open_edit(message, command.args.strip(), state, events, lang, clock, db, message.from_user.id)
        return
    editable = [event for event in await events.upcoming(clock.now()) if event.origin == "admin"]
    lead = "✏️ " + (
        _("Which event do you want to edit?") if editable else _("There are no upcoming events added by admins.")
    )
    await send(message, _pick_screen(editable, "edit", lang, events.tz, lead))


async def on_edit_pick(
    query: CallbackQuery,
    callback_data: EvAdmCb,
    state: FSMContext,
    events: EventService,
    lang: Lang,
    clock: Clock,
    db: Storage,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(_stale(), show_alert=True)
        return
    await query.answer()
    await _open_edit(query.message, callback_data.value, state, events, lang, clock, db, query.from_user.id)


async def on_edit_field(
    query: CallbackQuery, callback_data: EvAdmCb, state: FSMContext, db: Storage, events: EventService, lang: Lang
) -> None:
    data = await state.get_data()
    record = await db.get_event(str(data.get("edit_id") or ""))
    if callback_data.value not in FIELDS or record is None or not isinstance(query.message, Message):
        await query.answer(_stale(), show_alert=True)
        return
    await state.set_state(EventEdit.value)
    await state.update_data(field=callback_data.value)
    await query.answer()
    field = callback_data.value
    campaign = events.campaign
    if field == "district":
        await send(query.message, Screen(prompt("district", campaign, lang), _district_markup(campaign, lang)))
    else:
        step = "end_all_day" if field == "end" and record.all_day else field
        await send(query.message, Screen(prompt(step, campaign, lang)))


async def _save_edit(
    message: Message,
    state: FSMContext,
    events: EventService,
    db: Storage,
    lang: Lang,
    clock: Clock,
    update: dict[str, Any],
    admin_id: int,
) -> None:
    data = await state.get_data()
    event_id = str(data.get("edit_id") or "")
    record = await db.get_event(event_id)
    if record is None:
        await state.clear()
        await send(message, Screen("🤷 " + _("There is no event {id}.").format(id=f"<code>{escape(event_id)}</code>")))
        return
    now = clock.now()
    fields = data_from(record)
    if "start" in update and record.ends_at is not None:  # keep the duration
        start = _dt(update["start"])
        assert start is not None
        if bool(update.get("all_day")) == record.all_day:
            fields["end"] = (start + (record.ends_at - record.starts_at)).isoformat()
        else:
            fields["end"] = (start + timedelta(days=1)).isoformat() if update.get("all_day") else None
    fields.update(update)
    updated = record_from(fields, event_id=event_id, admin_id=admin_id, now=now)
    told = await events.update_event(updated, now, admin_id)
    await db.audit(admin_id, "event_edit", f"{event_id}: {','.join(sorted(update))}", now)
    await state.set_state(EventEdit.field)
    lead = "✅ " + _("Saved. A notice of the change goes to the people with a reminder: {n}.").format(n=told)
    await send(message, await _field_menu(from_record(updated, events.campaign), events, lang, now, lead=lead))


async def on_edit_input(
    message: Message, state: FSMContext, events: EventService, db: Storage, lang: Lang, clock: Clock
) -> None:
    data = await state.get_data()
    field = str(data.get("field") or "")
    record = await db.get_event(str(data.get("edit_id") or ""))
    if field not in FIELDS or record is None or message.from_user is None:
        await state.clear()
        await send(message, Screen(_stale()))
        return
    try:
        update = apply_input(field, message.text or "", data_from(record), events, clock.now(), lang)
    except InputError as error:
        await send(message, Screen("⚠️ " + escape(str(error)) + "\n\n" + _("/cancel stops without saving.")))
        return
    await _save_edit(message, state, events, db, lang, clock, update, message.from_user.id)


async def on_edit_district(
    query: CallbackQuery,
    callback_data: EvAdmCb,
    state: FSMContext,
    events: EventService,
    db: Storage,
    lang: Lang,
    clock: Clock,
) -> None:
    value = callback_data.value
    data = await state.get_data()
    if (
        (value != "none" and not events.campaign.is_district(value))
        or data.get("field") != "district"
        or not isinstance(query.message, Message)
    ):
        await query.answer(_stale(), show_alert=True)
        return
    await query.answer()
    update = {"district": None if value == "none" else value}
    await _save_edit(query.message, state, events, db, lang, clock, update, query.from_user.id)


# --- /event_cancel -------------------------------------------------------------------------------


def _confirm_screen(event: EventView, events: EventService, lang: Lang, now: datetime) -> Screen:
    builder = InlineKeyboardBuilder()
    builder.button(text="❌ " + _("Yes, cancel the event"), callback_data=EvAdmCb(action="cancel_yes", value=event.id))
    builder.button(text="↩️ " + _("No, keep it"), callback_data=EvAdmCb(action="cancel_no", value=event.id))
    builder.adjust(1)
    text = (
        "⚠️ "
        + _("Cancel this event? Everyone with a reminder of it will be told.")
        + "\n\n"
        + card_text(event, lang, events.tz, now)
    )
    return Screen(text, builder.as_markup())


async def on_cancel_command(
    message: Message, command: CommandObject, events: EventService, lang: Lang, clock: Clock, db: Storage
) -> None:
    now = clock.now()
    if message.from_user is not None:
        await db.audit(message.from_user.id, "event_cancel.ask", truncate_plain(command.args or "", 60), now)
    if command.args:
        event = await events.get(command.args.strip())
        if event is None:
            await send(
                message, Screen("🤷 " + _("There is no event {id}.").format(id=f"<code>{escape(command.args)}</code>"))
            )
        elif event.cancelled:
            await send(message, Screen("ℹ️ " + _("This event is already cancelled.")))
        else:
            await send(message, _confirm_screen(event, events, lang, now))
        return
    choices = await events.upcoming(now)
    lead = "❌ " + (_("Which event do you want to cancel?") if choices else _("There are no upcoming events."))
    await send(message, _pick_screen(choices, "cancel", lang, events.tz, lead))


async def on_cancel_pick(
    query: CallbackQuery, callback_data: EvAdmCb, events: EventService, lang: Lang, clock: Clock, db: Storage
) -> None:
    await db.audit(query.from_user.id, "event_cancel.ask", callback_data.value, clock.now())
    event = await events.get(callback_data.value)
    if event is None or event.cancelled:
        await query.answer(_stale(), show_alert=True)
        return
    await query.answer()
    await show(query, _confirm_screen(event, events, lang, clock.now()))


async def on_cancel_yes(
    query: CallbackQuery, callback_data: EvAdmCb, events: EventService, lang: Lang, clock: Clock, db: Storage
) -> None:
    event = await events.get(callback_data.value)
    now = clock.now()
    if event is None:
        await query.answer(_stale(), show_alert=True)
        return
    told = await events.cancel_event(event, query.from_user.id, now)
    if told is None:
        await query.answer(_("This event is already cancelled."), show_alert=True)
        return
    await db.audit(query.from_user.id, "event_cancel", event.id, now)
    await query.answer(_("Cancelled"))
    await show(
        query,
        Screen(
            "❌ "
            + _("The event {id} is cancelled. A notice goes to the people with a reminder: {n}.").format(
                id=f"<code>{event.id}</code>", n=told
            )
        ),
    )


async def on_cancel_no(query: CallbackQuery, callback_data: EvAdmCb, db: Storage, clock: Clock) -> None:
    await db.audit(query.from_user.id, "event_cancel.keep", callback_data.value, clock.now())
    await query.answer()
    await show(query, Screen("↩️ " + _("The event stays as it is.")))
