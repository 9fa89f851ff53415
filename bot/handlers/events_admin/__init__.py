"""Admin commands for events: ``/event_add`` (a guided dialog, every field validated, a preview:
:mod:`.add`), ``/event_edit`` (:mod:`.edit`) and ``/event_cancel`` (:mod:`.cancel`; those with a
reminder of the event are told). The rules (the draft, the steps, validation) are services':
:mod:`bot.services.event_form`, :mod:`bot.services.event_input`.

Only for ``ADMIN_IDS`` in a private chat (``IsAdmin`` on the router): for anyone else nothing here
matches, so the commands get the ordinary "unknown command" answer and forged buttons the "out of
date" notice. Events from ``data/events.yaml`` are edited in the file; they can be cancelled here."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.handlers.events_admin.add import (
    TEXT_STEPS,
    on_add,
    on_add_input,
    on_district_button,
    on_kind,
    on_kind_text,
    on_preview_text,
    on_save,
)
from bot.handlers.events_admin.cancel import on_cancel_command, on_cancel_no, on_cancel_pick, on_cancel_yes
from bot.handlers.events_admin.common import EventEdit, EventForm, on_abort, on_stale, on_stop
from bot.handlers.events_admin.edit import on_edit, on_edit_district, on_edit_field, on_edit_input, on_edit_pick
from bot.telegram.callbacks import EvAdmCb
from bot.telegram.filters import IsAdmin, Magic


def router() -> Router:
    r = Router(name="events_admin")
    r.message.filter(IsAdmin())
    r.callback_query.filter(IsAdmin())
    text = Magic(F.text & ~F.text.startswith("/"))
    r.message.register(on_stop, Command("cancel"), StateFilter(EventForm, EventEdit))
    r.message.register(on_add, Command("event_add"))
    r.message.register(on_edit, Command("event_edit"))
    r.message.register(on_cancel_command, Command("event_cancel"))
    r.message.register(on_kind_text, StateFilter(EventForm.kind), text)
    r.message.register(on_preview_text, StateFilter(EventForm.preview), text)
    r.message.register(on_add_input, StateFilter(*TEXT_STEPS), text)
    r.message.register(on_edit_input, StateFilter(EventEdit.value), text)
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
