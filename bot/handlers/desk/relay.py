"""Passing a resident's message on to the ticket's topic: the block gate, opening a ticket, copying
the message (once, whichever replica records it first) and the answers when that fails."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.config import Lang
from bot.content import ContentStore
from bot.handlers.desk.screens import back_markup, blocked_screen, closed_screen, duty_line, unreachable_screen
from bot.handlers.desk.states import DeskStates
from bot.i18n import _
from bot.services.desk import DeskService, DeskUnavailable, Kind, TicketIntro
from bot.storage.base_desk import Ticket
from bot.telegram.keyboards import main_menu
from bot.telegram.ui import Screen, send

log = logging.getLogger(__name__)


async def refused(
    target: Message, user_id: int, desk: DeskService, lang: Lang, content: ContentStore, state: FSMContext
) -> bool:
    """A resident blocked by the operators: told once, politely; afterwards the desk ignores them."""
    status = await desk.block_status(user_id)
    if status == "ok":
        return False
    await state.clear()
    if status == "tell":
        await send(target, blocked_screen(content, lang, desk.clock.now()))
    else:
        await send(target, Screen(_("Choose a section:"), main_menu()))
    return True


@dataclass(frozen=True)
class DeskContext:
    """What every step of the desk needs of the update it handles."""

    desk: DeskService
    state: FSMContext
    lang: Lang
    content: ContentStore
    bot: Bot


@dataclass(frozen=True)
class RelayRequest:
    """A resident's message to pass on to the operators: ``target`` is where the resident is
    answered, ``message_id`` the message copied into the ticket's topic (a later one, or an earlier
    one the bot offered to pass on)."""

    target: Message
    user_id: int
    message_id: int
    first_name: str
    kind: Kind
    context: str = ""  # what the operators are told of how it came (in the bot's default language)
    question: str | None = None  # the first words shown in the ticket (None: "see the message below")


async def open_and_relay(request: RelayRequest, ctx: DeskContext) -> None:
    """Open a ticket (or find the open one) and pass the resident's message on."""
    target, user_id, message_id, kind = request.target, request.user_id, request.message_id, request.kind
    desk, state, lang, content, bot = ctx.desk, ctx.state, ctx.lang, ctx.content, ctx.bot
    if await refused(target, user_id, desk, lang, content, state):
        return
    if desk.closed() and await desk.open_ticket_of(user_id) is None:  # closed by the timeline meanwhile
        await state.clear()
        await send(target, closed_screen(content, lang, desk.clock.now()))
        return
    try:
        ticket, created = await desk.open_ticket(
            user_id,
            kind,
            lang,
            request.question or _("(see the message below)"),
            TicketIntro(request.first_name, request.context),
        )
    except DeskUnavailable as error:
        log.warning("could not open a ticket: %s", error)
        await state.clear()
        await send(target, unreachable_screen(content, lang, desk.clock.now()))
        return
    await state.set_state(DeskStates.talking)
    await state.update_data(desk_ctx=None)
    relayed = await relay_to_topic(target, user_id, message_id, ticket, desk, bot, lang, content)
    if relayed == "told":
        return
    if created:  # the resident's message is in the topic (copied here, or by another replica)
        label = (
            _(
                "I have no confirmed answer about this, so the operators will check it (ticket #{n}). "
                "Their verdict will come here."
            )
            if kind == "rumour"
            else _("Your question is with the operators (ticket #{n}). Their reply will come here; you can add more.")
        )
        text = ("🔎 " if kind == "rumour" else "✅ ") + label.format(n=ticket.id)
        if not desk.duty().on:
            text += "\n" + duty_line(desk, lang, content)
        await send(target, Screen(text, back_markup()))
    elif relayed == "sent":
        await ack(target, duty_line(desk, lang, content) if desk.closed() else "")


async def ack(target: Message, note: str = "") -> None:
    """The quiet "passed on"; ``note``: a line to add (the desk has closed since the ticket opened)."""
    text = "✓ " + _("Passed on to the operators.") + (f"\n{note}" if note else "")
    await target.answer(text, reply_markup=back_markup(), disable_notification=bool(not note))


Relayed = Literal["sent", "elsewhere", "told"]


async def relay_to_topic(
    target: Message,
    user_id: int,
    message_id: int,
    ticket: Ticket,
    desk: DeskService,
    bot: Bot,
    lang: Lang,
    content: ContentStore,
) -> Relayed:
    """Copy the resident's message into the ticket's topic: "sent" here, "elsewhere" (another replica,
    or an earlier delivery of this update, passes it on), or "told" (the resident was told why not)."""
    if ticket.thread_id is None or desk.chat_id is None:
        # another replica is creating this ticket's topic for this very update: it relays the message
        log.info("ticket #%s has no topic yet: message %s is left to the replica creating it", ticket.id, message_id)
        return "elsewhere"
    outcome = await desk.claim_resident_message(ticket, user_id, message_id)
    if outcome == "duplicate":
        return "elsewhere"
    if outcome == "over_budget":
        await send(
            target,
            Screen(
                "⏳ " + _("You have sent many messages in the last hour. Please wait for the operators' reply."),
                back_markup(),
            ),
        )
        return "told"
    try:
        await bot.copy_message(desk.chat_id, user_id, message_id, message_thread_id=ticket.thread_id)
    except TelegramForbiddenError as error:  # the bot was removed from the operators' chat
        log.warning("could not pass message %s of ticket #%s on: %s", message_id, ticket.id, error.message)
        await send(target, unreachable_screen(content, lang, desk.clock.now()))
        return "told"
    except TelegramBadRequest as error:
        if "thread not found" in error.message or "TOPIC_ID_INVALID" in error.message:
            # the topic was deleted in the group: this ticket is over, the message opens a new one
            await desk.close(ticket, None, action="desk.topic_gone")
            return "sent" if await _reopen(target, user_id, message_id, ticket, desk, bot, lang) else "told"
        log.info("could not copy message %s of ticket #%s: %s", message_id, ticket.id, error.message)
        await send(
            target,
            Screen(
                _(
                    "This kind of message cannot be passed on. "
                    "Please send text, a photo, a document or a voice message."
                ),
                back_markup(),
            ),
        )
        return "told"
    return "sent"


async def _reopen(
    target: Message, user_id: int, message_id: int, old: Ticket, desk: DeskService, bot: Bot, lang: Lang
) -> bool:
    try:
        ticket, _created = await desk.open_ticket(
            user_id,
            "rumour" if old.kind == "rumour" else "question",
            lang,
            old.question,
            TicketIntro(target.chat.first_name or "", ""),
        )
    except DeskUnavailable:
        return False
    if ticket.thread_id is None or desk.chat_id is None:
        return True
    try:  # the message is already recorded as relayed (under the old ticket): copy it without a new claim
        await bot.copy_message(desk.chat_id, user_id, message_id, message_thread_id=ticket.thread_id)
    except TelegramBadRequest:
        return False
    return True
