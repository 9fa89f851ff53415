"""The operator side (the operators' forum supergroup): a message in a ticket's topic goes to the
resident (``//`` stays internal); ``/close``, ``/block``, ``/faq``; service messages are ignored."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import InlineKeyboardMarkup, Message

from bot.config import Lang
from bot.content import ContentStore
from bot.handlers.desk.screens import back_button, back_markup, blocked_screen
from bot.handlers.desk.states import DeskStates, InOperatorsChat
from bot.i18n import I18n, _
from bot.languages import is_known
from bot.services.desk import DeskService, is_internal_note
from bot.services.residents import ResidentService
from bot.storage.base_desk import Ticket, TicketStatus
from bot.telegram.callbacks import DeskRateCb
from bot.telegram.filters import Magic
from bot.telegram.keyboards import rating_row
from bot.telegram_text import escape

log = logging.getLogger(__name__)


SERVICE_MESSAGE = (
    F.forum_topic_created
    | F.forum_topic_closed
    | F.forum_topic_reopened
    | F.forum_topic_edited
    | F.general_forum_topic_hidden
    | F.general_forum_topic_unhidden
    | F.new_chat_members
    | F.left_chat_member
    | F.pinned_message
    | F.new_chat_title
)


def operators_router() -> Router:
    r = Router(name="desk_operators")
    r.message.filter(InOperatorsChat())
    r.message.register(on_topic_closed, Magic(F.forum_topic_closed & F.message_thread_id))
    r.message.register(ignore, Magic(SERVICE_MESSAGE))
    # other bots in the group; an anonymous administrator (GroupAnonymousBot, with sender_chat) is an operator
    r.message.register(ignore, Magic(F.from_user.is_bot & ~F.sender_chat))
    in_topic = Magic(F.is_topic_message & F.message_thread_id)
    r.message.register(on_close, Command("close"), in_topic)
    r.message.register(on_block, Command("block"), in_topic)
    r.message.register(on_faq, Command("faq"), in_topic)
    r.message.register(on_general, Command("close", "block", "faq"))
    r.message.register(on_album_item, in_topic, Magic(F.media_group_id))  # an album is judged as a whole
    r.message.register(ignore, InternalNote())  # internal notes: "//", " //", "／／"…
    r.message.register(on_operator_message, in_topic)
    r.message.register(on_general, Magic(F.reply_to_message.from_user.is_bot))  # a reply in General
    r.message.register(ignore)  # the operators' own talk in General
    return r


class InternalNote(Filter):
    """A message that stays in the operators' chat (see :func:`bot.services.desk.is_internal_note`)."""

    async def __call__(self, message: Message) -> bool:
        return is_internal_note(message.text or message.caption)


def _resident_state(fsm_storage: BaseStorage, bot: Bot, user_id: int) -> FSMContext:
    return FSMContext(storage=fsm_storage, key=StorageKey(bot_id=bot.id, chat_id=user_id, user_id=user_id))


async def ignore(message: Message) -> None:
    return None


async def on_general(message: Message) -> None:
    await message.reply("ℹ️ " + _("Write in a ticket's topic: messages in General reach no resident."))


async def _ticket_here(message: Message, desk: DeskService, *, command: bool = True) -> Ticket | None:
    """The ticket of this topic, open; otherwise the operator gets a one-line hint (in a topic the
    operators made themselves, only for a command: their own talk there is theirs)."""
    ticket = await desk.ticket_of_thread(message.message_thread_id or 0)
    if ticket is None:
        if command:
            await message.reply("ℹ️ " + _("This topic is not a ticket: messages here reach no resident."))
        return None
    if ticket.status is not TicketStatus.OPEN:
        await message.reply(
            "ℹ️ "
            + _(
                "Ticket #{n} is closed: the resident does not see this. If they write again, a new ticket opens."
            ).format(n=ticket.id)
        )
        return None
    return ticket


async def on_album_item(
    message: Message,
    desk: DeskService,
    bot: Bot,
    i18n: I18n,
    residents: ResidentService,
    fsm_storage: BaseStorage,
) -> None:
    """An album reaches the resident only if none of its items is an internal note: a note item
    marks the album, every other item waits a moment for its siblings before it is relayed."""
    assert message.media_group_id is not None

    async def relay() -> None:
        await on_operator_message(message, desk, bot, i18n, residents, fsm_storage)

    note = is_internal_note(message.caption)
    await desk.album_item(message.chat.id, message.media_group_id, message.message_id, note, relay)


async def on_operator_message(
    message: Message,
    desk: DeskService,
    bot: Bot,
    i18n: I18n,
    residents: ResidentService,
    fsm_storage: BaseStorage,
) -> None:
    ticket = await _ticket_here(message, desk, command=False)
    if ticket is None or message.from_user is None:
        return
    if not await desk.claim_operator_message(ticket, message.chat.id, message.message_id):
        return  # already relayed (a repeated update)
    lang: Lang = ticket.language if is_known(ticket.language) else i18n.default_locale  # type: ignore[assignment]
    try:
        with i18n.use_locale(lang):
            if ticket.first_reply_at is None:
                header = "💬 " + _("Reply from the operators (ticket #{n}):").format(n=ticket.id)
                await bot.send_message(ticket.user_id, header)
            markup = back_markup()
        await bot.copy_message(ticket.user_id, message.chat.id, message.message_id, reply_markup=markup)
    except TelegramForbiddenError:
        await residents.set_reachable(ticket.user_id, False)
        await message.reply("⚠️ " + _("Not delivered: the resident has blocked the bot."))
        return
    except TelegramBadRequest as error:
        await message.reply("⚠️ " + _("Not delivered: {error}").format(error=escape(error.message)))
        return
    await desk.replied(ticket, message.text or message.caption)
    await desk.audit(message.from_user.id, "desk.reply", ticket)
    # the conversation is open again on the resident's side (also after a restart lost the state)
    await _resident_state(fsm_storage, bot, ticket.user_id).set_state(DeskStates.talking)


async def _tell_resident_closed(ticket: Ticket, bot: Bot, i18n: I18n) -> None:
    """The resident is told, and may rate the answer. Their conversation state stays: writing again
    opens a new ticket; "↩️ Back to the bot" returns to the FAQ."""
    lang = ticket.language if is_known(ticket.language) else i18n.default_locale  # the bot's default, not "ru"
    with i18n.use_locale(lang):
        text = "✅ " + _(
            "The operators have closed this conversation (ticket #{n}). Was the answer helpful? "
            "If you write again, a new conversation opens."
        ).format(n=ticket.id)
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                rating_row(DeskRateCb(ticket=ticket.id, good=True), DeskRateCb(ticket=ticket.id, good=False)),
                [back_button()],
            ]
        )
    try:
        await bot.send_message(ticket.user_id, text, reply_markup=markup)
    except TelegramAPIError as error:
        log.info("could not tell the resident of ticket #%s it was closed: %s", ticket.id, error)


async def on_close(message: Message, desk: DeskService, bot: Bot, i18n: I18n, fsm_storage: BaseStorage) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None or message.from_user is None:
        return
    await message.answer("✅ " + _("Ticket #{n} closed.").format(n=ticket.id))
    if await desk.close(ticket, message.from_user.id):
        await _tell_resident_closed(ticket, bot, i18n)


async def on_topic_closed(message: Message, desk: DeskService, bot: Bot, i18n: I18n) -> None:
    """An operator closed the topic in Telegram itself: the same as /close."""
    ticket = await desk.ticket_of_thread(message.message_thread_id or 0)
    if ticket is None or ticket.status is not TicketStatus.OPEN or message.from_user is None:
        return
    if await desk.close(ticket, message.from_user.id, action="desk.close_topic", close_topic=False):
        await _tell_resident_closed(ticket, bot, i18n)


async def on_block(
    message: Message, desk: DeskService, bot: Bot, i18n: I18n, fsm_storage: BaseStorage, content: ContentStore
) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None or message.from_user is None:
        return
    await message.answer("⛔️ " + _("The resident is blocked and ticket #{n} is closed.").format(n=ticket.id))
    await desk.block(ticket, message.from_user.id)
    await _resident_state(fsm_storage, bot, ticket.user_id).clear()
    if await desk.tell_block_once(ticket.user_id):  # told once, politely
        lang: Lang = ticket.language if is_known(ticket.language) else i18n.default_locale  # type: ignore[assignment]
        with i18n.use_locale(lang):
            screen = blocked_screen(content, lang, desk.clock.now())
        try:
            await bot.send_message(ticket.user_id, screen.text, reply_markup=screen.markup)
        except TelegramAPIError as error:
            log.info("could not tell the resident of ticket #%s about the block: %s", ticket.id, error)


async def on_faq(message: Message, command: CommandObject, desk: DeskService) -> None:
    ticket = await desk.ticket_of_thread(message.message_thread_id or 0)
    if ticket is None or message.from_user is None:
        await message.reply("ℹ️ " + _("This topic is not a ticket: messages here reach no resident."))
        return
    answer = (command.args or "").strip()
    replied = message.reply_to_message
    if not answer and replied is not None and replied.forum_topic_created is None:
        answer = (replied.text or replied.caption or "").strip()
    if not answer:
        answer = (ticket.last_reply or "").strip()
    if not answer:
        await message.reply("ℹ️ " + _("Reply /faq to your answer, or write /faq followed by the answer."))
        return
    draft = await desk.draft(ticket, answer, message.from_user.id)
    await message.reply(
        "📝 "
        + _("Draft {id} saved for the editors. It is not published until an editor adds it to the FAQ.").format(
            id=draft.id
        )
    )
