"""The feature routers, in the order they see an update. Handlers do Telegram I/O only; they call
services.

Routers are created per application (factories), so that a process can build the bot twice
(tests restart it on the same database)."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    broadcast_admin,
    desk,
    errors,
    events,
    events_admin,
    fallback,
    faq,
    groups,
    guest,
    language,
    membership,
    menu,
    privacy,
    reminders,
    start,
    subscriptions,
)


def build_routers() -> list[Router]:
    # Order matters. A resident's question outside any dialog first: it is most of the traffic and
    # nothing else takes it (private chat, text, not a command, no FSM state). Then group chats
    # (they only get commands); admin dialogs (FSM states) before anything that would take their
    # messages; the FAQ (deep links, and free text in a dialog that did not take it) before the
    # greeting and the catch-alls; the catch-alls last.
    return [
        faq.free_text_router(),
        errors.router(),
        guest.router(),  # guest calls: updates of their own (guest_message), no other router sees them
        desk.operators_router(),  # the operators' forum: before groups, which ignore group messages
        desk.residents_router(),  # an open conversation: before anything that would take its messages
        groups.router(),
        membership.router(),
        broadcast_admin.router(),
        events_admin.router(),
        events.router(),
        reminders.router(),
        faq.router(),
        start.router(),
        language.router(),
        subscriptions.router(),
        privacy.router(),
        menu.router(),
        fallback.router(),
    ]
