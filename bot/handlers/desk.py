"""The operators' desk in Telegram (issue 15): residents talk to people, operators answer in topics.

Two directions, kept apart as in MasterGroosha's telegram-feedback-bot-topics:

- :func:`residents_router` — private chats: ``/operator`` and "💬 Ask a person", ``/rumour`` and
  "🔎 Check a rumour", ``/done`` and "↩️ Back to the bot", the messages of an open conversation
  (FSM state ``DeskStates.talking``: the FAQ search never sees them), the 👍/👎 rating.
- :func:`operators_router` — the operators' forum supergroup: whatever an operator writes in a
  ticket's topic is copied to the resident (``//`` stays internal), ``/close``, ``/block``, ``/faq``.

Rules live in :mod:`bot.services.desk`; :class:`TelegramDeskPort` is its way to Telegram. Both routers
exist only while the desk is on (``DeskOn``): without ``OPERATORS_CHAT_ID``, or with a chat that
failed the start-up check, nothing here answers and nothing mentions the desk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import (
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)

from bot.callbacks import DeskCb, DeskRateCb
from bot.clock import Clock
from bot.config import Lang, Settings
from bot.content import ContentStore
from bot.filters import Magic
from bot.handlers.faq import answer_screen
from bot.handlers.screens import help_screen
from bot.handlers.texts import LANGUAGE_NAMES, contact_line, local_time
from bot.i18n import I18n, _, fmt_date, fmt_time
from bot.keyboards import main_menu
from bot.services.desk import DeskService, DeskUnavailable, ForumInfo, Kind, TicketIntro
from bot.services.faq import FaqService
from bot.storage import Storage
from bot.storage.base_desk import Ticket
from bot.telegram_text import escape, split_html, truncate_plain
from bot.ui import Screen, send

log = logging.getLogger(__name__)
CONTEXT_LIMIT = 600  # characters of the bot's last answer quoted to the operators


class DeskStates(StatesGroup):
    asking = State()  # the bot asked for the question
    talking = State()  # a conversation with the operators is open: messages go to them
    rumour = State()  # the bot asked for the rumour to check


# --- filters -------------------------------------------------------------------------------------


class DeskOn(Filter):
    """The desk passed its start-up check (and ``OPERATORS_CHAT_ID`` is set)."""

    async def __call__(self, event: TelegramObject, desk: DeskService | None = None) -> bool:
        return desk is not None and desk.enabled


class InOperatorsChat(Filter):
    async def __call__(self, message: Message, desk: DeskService | None = None) -> bool:
        return desk is not None and desk.enabled and message.chat.id == desk.chat_id


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


def residents_router() -> Router:
    r = Router(name="desk_residents")
    private = Magic(F.chat.type == ChatType.PRIVATE)
    r.message.filter(private, DeskOn())
    r.callback_query.filter(DeskOn())
    r.message.register(on_operator, Command("operator"))
    r.message.register(on_rumour, Command("rumour"))
    r.message.register(on_done, Command("done"))
    r.message.register(on_help, Command("help"))
    not_command = Magic(~F.text.startswith("/"))
    r.message.register(on_question, StateFilter(DeskStates.asking), not_command)
    r.message.register(on_talking, StateFilter(DeskStates.talking), not_command)
    r.message.register(on_rumour_message, StateFilter(DeskStates.rumour), not_command)
    r.callback_query.register(on_desk_button, DeskCb.filter())
    r.callback_query.register(on_rate, DeskRateCb.filter())
    return r


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
    r.message.register(ignore, Magic(F.text.startswith("//") | F.caption.startswith("//")))  # internal notes
    r.message.register(on_operator_message, in_topic)
    r.message.register(on_general, Magic(F.reply_to_message.from_user.is_bot))  # a reply in General
    r.message.register(ignore)  # the operators' own talk in General
    return r


# --- the port: the service's way to Telegram -----------------------------------------------------


class TelegramDeskPort:
    """``DeskPort`` over aiogram; operators' texts in the bot's default language."""

    def __init__(self, bot: Bot, chat_id: int, i18n: I18n, language: Lang, tz: Callable[[], ZoneInfo]) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.i18n = i18n
        self.language = language
        self.tz = tz

    async def forum_info(self) -> ForumInfo:
        try:
            chat = await self.bot.get_chat(self.chat_id)
            member = await self.bot.get_chat_member(self.chat_id, self.bot.id)
        except TelegramAPIError as error:
            log.debug("getChat/getChatMember of the operators' chat: %s", error)
            return ForumInfo(found=False)
        can_manage = isinstance(member, ChatMemberOwner) or (
            isinstance(member, ChatMemberAdministrator) and bool(member.can_manage_topics)
        )
        return ForumInfo(True, bool(chat.is_forum), str(member.status), can_manage)

    async def create_topic(self, name: str) -> int:
        try:
            topic = await self.bot.create_forum_topic(self.chat_id, name)
        except TelegramAPIError as error:
            raise DeskUnavailable(str(error)) from error
        return topic.message_thread_id

    async def post_intro(self, ticket: Ticket, intro: TicketIntro) -> None:
        with self.i18n.context(), self.i18n.use_locale(self.language):
            text = intro_text(ticket, intro, self.language, self.tz())
        await self.post(ticket, text)

    async def post(self, ticket: Ticket, text: str) -> None:
        if ticket.thread_id is None:
            return
        try:
            for chunk in split_html(text):
                await self.bot.send_message(self.chat_id, chunk, message_thread_id=ticket.thread_id)
        except TelegramAPIError as error:
            log.warning("could not post in the topic of ticket #%s: %s", ticket.id, error)

    async def close_topic(self, thread_id: int) -> None:
        try:
            await self.bot.close_forum_topic(self.chat_id, thread_id)
        except TelegramAPIError as error:
            raise DeskUnavailable(str(error)) from error


def intro_text(ticket: Ticket, intro: TicketIntro, lang: Lang, tz: ZoneInfo) -> str:
    kind = "🔎 " + _("rumour to check") if ticket.kind == "rumour" else "💬 " + _("question")
    opened = f"{fmt_date(ticket.opened_at, lang, tz)}, {fmt_time(ticket.opened_at, lang, tz)}"
    lines = [
        "🆕 <b>" + _("Ticket #{n}").format(n=ticket.id) + f"</b> · {kind}",
        _("Language: {language}").format(language=LANGUAGE_NAMES.get(ticket.language, ticket.language)),
        _("Resident: {name}").format(name=escape(truncate_plain(intro.first_name, 64)) or "—"),
        _("Opened: {time}").format(time=opened),
        _("The bot's last answer: {context}").format(
            context=escape(truncate_plain(intro.context, CONTEXT_LIMIT)) if intro.context else "—"
        ),
        "",
        _(
            "Your messages in this topic go to the resident; a message starting with // stays here. "
            "/close closes the ticket (the resident may rate it), /block blocks the resident, "
            "/faq saves your answer as a draft for the editors. Answers stay neutral."
        ),
    ]
    return "\n".join(lines)


# --- resident side: texts and buttons -------------------------------------------------------------


def back_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text="↩️ " + _("Back to the bot"), callback_data=DeskCb(action="done").pack())


def back_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[back_button()]])


def ask_button(ctx: str = "") -> InlineKeyboardButton:
    """ "💬 Ask a person" for other screens (the no-answer screen, suggestions)."""
    return InlineKeyboardButton(text="💬 " + _("Ask a person"), callback_data=DeskCb(action="ask", ctx=ctx).pack())


def duty_line(desk: DeskService, lang: Lang, content: ContentStore) -> str:
    duty = desk.duty()
    if duty.on:
        return "🟢 " + _("Operators are on duty now.")
    if duty.next_start is None:
        return "🌙 " + _("Operators are off duty now; they will answer as soon as they can.")
    campaign = content.current.campaign
    tz = campaign.tz
    at = f"{fmt_time(duty.next_start, lang, tz)} ({local_time(campaign, lang)})"  # "08:00 (Almaty time)"
    return "🌙 " + _("Operators are off duty now; they will answer from {time}, {date}.").format(
        time=at, date=fmt_date(duty.next_start, lang, tz)
    )


def ask_screen(desk: DeskService, lang: Lang, content: ContentStore) -> Screen:
    text = (
        "💬 <b>"
        + _("Ask a person")
        + "</b>\n\n"
        + _(
            "Your question goes to the operators' desk of the call centre. They see your first name and your "
            "language, never your username or phone number."
        )
        + "\n"
        + duty_line(desk, lang, content)
        + "\n\n"
        + _("Write your question in one message; you can add a photo or a document.")
    )
    return Screen(text, back_markup())


def context_from(message: Message | None, ctx: str) -> str:
    """What the bot last showed the resident, for the operators: suggestions or "no answer"."""
    if ctx == "s" and message is not None and message.reply_markup is not None:
        titles = [
            button.text
            for row in message.reply_markup.inline_keyboard
            for button in row
            if button.callback_data and button.callback_data.startswith("fe:")
        ]
        return _("suggested: {list}").format(list="; ".join(titles)) if titles else ""
    if ctx == "n":
        return _("no confirmed answer (the call centre was suggested)")
    return ""


def question_of(message: Message) -> str:
    text = message.text or message.caption
    if text:
        return text
    kind = message.content_type
    return f"[{getattr(kind, 'value', kind)}]"


def _resident_state(fsm_storage: BaseStorage, bot: Bot, user_id: int) -> FSMContext:
    return FSMContext(storage=fsm_storage, key=StorageKey(bot_id=bot.id, chat_id=user_id, user_id=user_id))


# --- resident side: handlers ----------------------------------------------------------------------


async def on_help(message: Message, content: ContentStore, lang: Lang, clock: Clock) -> None:
    screen = help_screen(content.current, clock.now(), lang)
    lines = [
        "/operator — " + _("ask a person (the operators' desk)"),
        "/rumour — " + _("check a rumour you were sent"),
        "/done — " + _("back to the bot from a conversation with the operators"),
    ]
    head, sep, tail = screen.text.rpartition("\n\n")
    text = f"{head}\n" + "\n".join(lines) + f"{sep}{tail}" if sep else screen.text + "\n" + "\n".join(lines)
    desk_row = [
        ask_button(),
        InlineKeyboardButton(text="🔎 " + _("Check a rumour"), callback_data=DeskCb(action="rumour").pack()),
    ]
    rows = [*(screen.markup.inline_keyboard if screen.markup else []), desk_row]
    await send(message, Screen(text, InlineKeyboardMarkup(inline_keyboard=rows)))


async def _start_asking(
    target: Message, user_id: int, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore, ctx: str
) -> None:
    if await _refused(target, user_id, desk, lang, content, state):
        return
    ticket = await desk.open_ticket_of(user_id)
    if ticket is not None:
        await state.set_state(DeskStates.talking)
        await send(
            target,
            Screen(
                "💬 "
                + _(
                    "Your conversation with the operators (ticket #{n}) is still open: write here and they will see it."
                ).format(n=ticket.id)
                + "\n"
                + duty_line(desk, lang, content),
                back_markup(),
            ),
        )
        return
    await state.set_state(DeskStates.asking)
    await state.update_data(desk_ctx=ctx)
    await send(target, ask_screen(desk, lang, content))


async def _refused(
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


def blocked_screen(content: ContentStore, lang: Lang, now: datetime) -> Screen:
    return Screen(
        _(
            "The operators' desk cannot take your messages any more. "
            "I still answer your questions; for an official answer:"
        )
        + "\n"
        + contact_line(content.current.campaign, now, lang),
        main_menu(),
    )


async def on_operator(
    message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore
) -> None:
    assert message.from_user is not None
    await _start_asking(message, message.from_user.id, state, desk, lang, content, "")


async def on_rumour(message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore) -> None:
    assert message.from_user is not None
    if await _refused(message, message.from_user.id, desk, lang, content, state):
        return
    await state.set_state(DeskStates.rumour)
    await send(message, rumour_screen())


def rumour_screen() -> Screen:
    return Screen(
        "🔎 <b>"
        + _("Check a rumour")
        + "</b>\n\n"
        + _(
            "Forward me the message you were sent, or send its text, a link or a photo. I will look for a "
            "confirmed answer with its sources first; if I have none, the operators will check it."
        ),
        back_markup(),
    )


async def on_done(message: Message, state: FSMContext, desk: DeskService) -> None:
    await state.clear()
    await send(message, done_screen())


def done_screen() -> Screen:
    return Screen(
        "↩️ "
        + _(
            "You are back with the bot: type a question or choose a section. "
            "A reply from the operators will still come here."
        ),
        main_menu(),
    )


async def on_desk_button(
    query: CallbackQuery,
    callback_data: DeskCb,
    state: FSMContext,
    desk: DeskService,
    lang: Lang,
    content: ContentStore,
    bot: Bot,
    settings: Settings,
    i18n: I18n,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    if message is None or message.chat.type != ChatType.PRIVATE:
        await query.answer(_("This button is out of date. Open /menu to start again."), show_alert=True)
        return
    await query.answer()
    user_id = query.from_user.id
    if callback_data.action == "done":
        await state.clear()
        await send(message, done_screen())
    elif callback_data.action == "ask":
        with i18n.use_locale(settings.default_language):  # the context is for the operators
            context = context_from(message, callback_data.ctx)
        await _start_asking(message, user_id, state, desk, lang, content, context)
    elif callback_data.action == "rumour":
        if not await _refused(message, user_id, desk, lang, content, state):
            await state.set_state(DeskStates.rumour)
            await send(message, rumour_screen())
    elif callback_data.action == "person" and callback_data.ctx.isdigit():
        # the FAQ answered a rumour, but the resident wants a person: the rumour becomes a ticket
        if await _refused(message, user_id, desk, lang, content, state):
            return
        with i18n.use_locale(settings.default_language):  # the context is for the operators
            context = _("the rumour was answered from the FAQ, and the resident asked for a person")
        await _open_and_relay(
            message,
            user_id,
            int(callback_data.ctx),
            context,
            "rumour",
            query.from_user.first_name,
            state,
            desk,
            lang,
            content,
            bot,
        )
    else:
        await send(message, Screen(_("This button is out of date. Open /menu to start again."), main_menu()))


async def on_question(
    message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore, bot: Bot
) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    context = str(data.get("desk_ctx") or "")
    await _open_and_relay(
        message,
        message.from_user.id,
        message.message_id,
        context,
        "question",
        message.from_user.first_name,
        state,
        desk,
        lang,
        content,
        bot,
        question=question_of(message),
    )


async def _open_and_relay(
    target: Message,
    user_id: int,
    message_id: int,
    context: str,
    kind: Kind,
    first_name: str,
    state: FSMContext,
    desk: DeskService,
    lang: Lang,
    content: ContentStore,
    bot: Bot,
    *,
    question: str | None = None,
) -> None:
    """Open a ticket (or find the open one) and pass the resident's message ``message_id`` on."""
    if await _refused(target, user_id, desk, lang, content, state):
        return
    try:
        ticket, created = await desk.open_ticket(
            user_id, kind, lang, question or _("(see the message below)"), TicketIntro(first_name, context)
        )
    except DeskUnavailable as error:
        log.warning("could not open a ticket: %s", error)
        await state.clear()
        await send(target, unreachable_screen(content, lang, desk.clock.now()))
        return
    await state.set_state(DeskStates.talking)
    await state.update_data(desk_ctx=None)
    relayed = await _relay_to_topic(target, user_id, message_id, ticket, desk, bot, lang, content)
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
        await _ack(target)


def unreachable_screen(content: ContentStore, lang: Lang, now: datetime) -> Screen:
    return Screen(
        "😕 "
        + _("The operators cannot be reached right now. For an official answer:")
        + "\n"
        # the call centre while the content says it operates, else the commission's site
        + contact_line(content.current.campaign, now, lang),
        main_menu(),
    )


async def _ack(target: Message) -> None:
    await target.answer("✓ " + _("Passed on to the operators."), reply_markup=back_markup(), disable_notification=True)


Relayed = Literal["sent", "elsewhere", "told"]


async def _relay_to_topic(
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
            await desk.close(ticket, user_id, action="desk.topic_gone")
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


async def on_talking(
    message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore, bot: Bot
) -> None:
    assert message.from_user is not None
    user_id = message.from_user.id
    if await _refused(message, user_id, desk, lang, content, state):
        return
    ticket = await desk.open_ticket_of(user_id)
    if ticket is None:  # closed by the operators meanwhile: a message after /close opens a new ticket
        await _open_and_relay(
            message,
            user_id,
            message.message_id,
            "",
            "question",
            message.from_user.first_name,
            state,
            desk,
            lang,
            content,
            bot,
            question=question_of(message),
        )
        return
    if await _relay_to_topic(message, user_id, message.message_id, ticket, desk, bot, lang, content) == "sent":
        await _ack(message)


async def on_rumour_message(
    message: Message,
    state: FSMContext,
    desk: DeskService,
    faq: FaqService,
    lang: Lang,
    content: ContentStore,
    clock: Clock,
    bot: Bot,
    settings: Settings,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    text = message.text or message.caption or ""
    if text.strip():
        result = faq.search(text)
        entry = faq.entry(result.best.id) if result.decision == "answer" and result.best is not None else None
        if entry is not None:
            await state.clear()
            await send(message, answer_screen(faq, entry, lang, clock.now()))
            person = InlineKeyboardButton(
                text="💬 " + _("Ask a person about it"),
                callback_data=DeskCb(action="person", ctx=str(message.message_id)).pack(),
            )
            await send(
                message,
                Screen(
                    "🔎 "
                    + _("This is what the official sources say. If the rumour is about something else, ask a person."),
                    InlineKeyboardMarkup(inline_keyboard=[[person], [back_button()]]),
                ),
            )
            return
    with i18n.use_locale(settings.default_language):  # the context is for the operators
        context = _("no confirmed answer in the FAQ")
    await _open_and_relay(
        message,
        message.from_user.id,
        message.message_id,
        context,
        "rumour",
        message.from_user.first_name,
        state,
        desk,
        lang,
        content,
        bot,
        question=question_of(message),
    )


async def on_rate(query: CallbackQuery, callback_data: DeskRateCb, desk: DeskService) -> None:
    if await desk.rate(callback_data.ticket, query.from_user.id, callback_data.good):
        await query.answer(_("Thank you! Your feedback helps us improve the answers."))
    else:
        await query.answer(_("This button is out of date. Open /menu to start again."), show_alert=True)


# --- operator side ---------------------------------------------------------------------------------


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
    if ticket.status != "open":
        await message.reply(
            "ℹ️ "
            + _(
                "Ticket #{n} is closed: the resident does not see this. If they write again, a new ticket opens."
            ).format(n=ticket.id)
        )
        return None
    return ticket


async def on_operator_message(
    message: Message, desk: DeskService, bot: Bot, i18n: I18n, db: Storage, clock: Clock, fsm_storage: BaseStorage
) -> None:
    ticket = await _ticket_here(message, desk, command=False)
    if ticket is None or message.from_user is None:
        return
    if not await desk.claim_operator_message(ticket, message.chat.id, message.message_id):
        return  # already relayed (a repeated update)
    lang: Lang = ticket.language if ticket.language in LANGUAGE_NAMES else "ru"  # type: ignore[assignment]
    try:
        with i18n.use_locale(lang):
            if ticket.first_reply_at is None:
                header = "💬 " + _("Reply from the operators (ticket #{n}):").format(n=ticket.id)
                await bot.send_message(ticket.user_id, header)
            markup = back_markup()
        await bot.copy_message(ticket.user_id, message.chat.id, message.message_id, reply_markup=markup)
    except TelegramForbiddenError:
        await db.set_blocked(ticket.user_id, True, clock.now())
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
    lang = ticket.language if ticket.language in LANGUAGE_NAMES else "ru"
    with i18n.use_locale(lang):
        text = "✅ " + _(
            "The operators have closed this conversation (ticket #{n}). Was the answer helpful? "
            "If you write again, a new conversation opens."
        ).format(n=ticket.id)
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text="👍 " + _("Helpful"), callback_data=DeskRateCb(ticket=ticket.id, good=True).pack()
                    ),
                    InlineKeyboardButton(
                        text="👎 " + _("Not helpful"), callback_data=DeskRateCb(ticket=ticket.id, good=False).pack()
                    ),
                ],
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
    if ticket is None or ticket.status != "open" or message.from_user is None:
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
    if await desk.storage.mark_block_told(ticket.user_id):  # told once, politely
        lang: Lang = ticket.language if ticket.language in LANGUAGE_NAMES else "ru"  # type: ignore[assignment]
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


# --- reports ---------------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{n} min").format(n=minutes)
    return _("{h} h {m} min").format(h=minutes // 60, m=minutes % 60)


async def stats_lines(desk: DeskService | None) -> list[str]:
    """The desk's part of ``/stats`` (nothing when the desk is off)."""
    if desk is None or not desk.enabled:
        return []
    stats = await desk.stats()
    median = _duration(stats.median_first_reply) if stats.median_first_reply is not None else "—"
    return [
        "",
        _("Operators' desk: {open} open tickets, {closed} closed; median time to the first reply {median}").format(
            open=stats.open, closed=stats.closed, median=median
        ),
    ]
