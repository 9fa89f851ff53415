"""``/event_cancel``: pick an event (or name it), confirm; everyone with a reminder of it is told."""

from __future__ import annotations

from datetime import datetime

from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import Lang
from bot.handlers.event_texts import card_text
from bot.handlers.events_admin.common import no_event_screen, pick_screen
from bot.i18n import _
from bot.services.event_view import EventView
from bot.services.events import EventService
from bot.telegram.callbacks import EvAdmCb
from bot.telegram.ui import Screen, answer_stale, send, show
from bot.telegram_text import truncate_plain


def _confirm_screen(event: EventView, events: EventService, lang: Lang, now: datetime) -> Screen:
    builder = InlineKeyboardBuilder()
    builder.button(text="❌ " + _("Yes, cancel the event"), callback_data=EvAdmCb(action="cancel_yes", value=event.id))
    builder.button(text="↩️ " + _("No, keep it"), callback_data=EvAdmCb(action="cancel_no", value=event.id))
    builder.adjust(1)
    text = (
        "⚠️ "
        + _("Cancel this event? Everyone with a reminder of it will be told.")
        + "\n\n"
        + card_text(event, lang, events.campaign, now)
    )
    return Screen(text, builder.as_markup())


async def on_cancel_command(
    message: Message, command: CommandObject, events: EventService, lang: Lang, clock: Clock
) -> None:
    now = clock.now()
    if message.from_user is not None:
        await events.audit(message.from_user.id, "event_cancel.ask", truncate_plain(command.args or "", 60), now)
    if command.args:
        event = await events.get(command.args.strip())
        if event is None:
            await send(message, no_event_screen(command.args))
        elif event.cancelled:
            await send(message, Screen("ℹ️ " + _("This event is already cancelled.")))
        else:
            await send(message, _confirm_screen(event, events, lang, now))
        return
    choices = await events.upcoming(now)
    lead = "❌ " + (_("Which event do you want to cancel?") if choices else _("There are no upcoming events."))
    await send(message, pick_screen(choices, "cancel", lang, events.tz, lead))


async def on_cancel_pick(
    query: CallbackQuery, callback_data: EvAdmCb, events: EventService, lang: Lang, clock: Clock
) -> None:
    await events.audit(query.from_user.id, "event_cancel.ask", callback_data.value, clock.now())
    event = await events.get(callback_data.value)
    if event is None or event.cancelled:
        await answer_stale(query)
        return
    await query.answer()
    await show(query, _confirm_screen(event, events, lang, clock.now()))


async def on_cancel_yes(
    query: CallbackQuery, callback_data: EvAdmCb, events: EventService, lang: Lang, clock: Clock
) -> None:
    event = await events.get(callback_data.value)
    now = clock.now()
    if event is None:
        await answer_stale(query)
        return
    told = await events.cancel_event(event, query.from_user.id, now)
    if told is None:
        await query.answer(_("This event is already cancelled."), show_alert=True)
        return
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


async def on_cancel_no(query: CallbackQuery, callback_data: EvAdmCb, events: EventService, clock: Clock) -> None:
    await events.audit(query.from_user.id, "event_cancel.keep", callback_data.value, clock.now())
    await query.answer()
    await show(query, Screen("↩️ " + _("The event stays as it is.")))
