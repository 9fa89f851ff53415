"""The resident side (private chats): ``/operator``, ``/rumour``, ``/done``, ``/help``, the desk's
buttons, the messages of an open conversation and the rating."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.clock import Clock
from bot.config import Lang, Settings
from bot.content import ContentStore
from bot.handlers.desk.relay import DeskContext, RelayRequest, ack, open_and_relay, refused, relay_to_topic
from bot.handlers.desk.screens import (
    ask_button,
    ask_screen,
    back_button,
    back_markup,
    closed_screen,
    context_from,
    done_screen,
    duty_line,
    private_data_screen,
    question_of,
    rumour_screen,
)
from bot.handlers.desk.states import DeskOn, DeskStates
from bot.handlers.faq import answer_screen
from bot.handlers.faq.screens import ask_person_button
from bot.handlers.faq.screens import rumour_screen as faq_rumour_screen
from bot.handlers.screens import help_screen
from bot.i18n import I18n, _
from bot.services.answer_loop import AnswerLoop
from bot.services.desk import DeskService
from bot.services.faq import FaqService
from bot.storage.base_desk import TicketStatus
from bot.telegram.callbacks import DeskCb, DeskRateCb
from bot.telegram.filters import Magic
from bot.telegram.keyboards import main_menu
from bot.telegram.ui import Screen, answer_stale, send, stale
from bot.telegram_text import escape, truncate_plain

log = logging.getLogger(__name__)
EDIT_LIMIT = 3500  # characters of an edited message passed on (the post stays within Telegram's 4096)


def residents_router() -> Router:
    r = Router(name="desk_residents")
    private = Magic(F.chat.type == ChatType.PRIVATE)
    r.message.filter(private, DeskOn())
    r.callback_query.filter(DeskOn())
    r.message.register(on_operator, Command("operator"))
    r.message.register(on_rumour, Command("rumour"))
    # "🔎 Check it in a private chat" under a guest answer (t.me/<bot>?start=rumour)
    r.message.register(on_rumour, CommandStart(deep_link=True, magic=F.args == "rumour"))
    r.message.register(on_done, Command("done"))
    r.message.register(on_help, Command("help"))
    not_command = Magic(~F.text.startswith("/"))
    in_desk = StateFilter(DeskStates.asking, DeskStates.talking, DeskStates.rumour)
    r.message.register(on_private_data, in_desk, Magic(F.contact | F.location | F.venue))
    r.message.register(on_question, StateFilter(DeskStates.asking), not_command)
    r.message.register(on_talking, StateFilter(DeskStates.talking), not_command)
    r.message.register(on_rumour_message, StateFilter(DeskStates.rumour), not_command)
    # a message forwarded from a channel or a person, outside a conversation: a rumour check
    r.message.register(on_rumour_message, StateFilter(None), Magic(F.forward_origin & (F.text | F.caption)))
    r.callback_query.register(on_desk_button, DeskCb.filter())
    r.callback_query.register(on_rate, DeskRateCb.filter())
    r.edited_message.filter(private, DeskOn())
    r.edited_message.register(on_edited, Magic(F.text | F.caption))
    return r


async def on_private_data(message: Message) -> None:
    """A shared contact or location is never passed on: the resident is told how to give what is needed."""
    await send(message, private_data_screen())


async def on_edited(message: Message, desk: DeskService, bot: Bot, settings: Settings, i18n: I18n) -> None:
    """The resident edited a message already passed on to an open ticket: the operators see the new words."""
    if message.from_user is None or desk.chat_id is None:
        return
    ticket = await desk.relayed_ticket_of(message.from_user.id, message.message_id)
    if ticket is None or ticket.status is not TicketStatus.OPEN or ticket.thread_id is None:
        return
    # an edit counts in the hourly budget and is passed on once (a repeated update, another replica):
    # its key is the edit's moment and the message, negative so it never meets a message id
    edited_at = message.edit_date or 0  # seconds (an int in the Bot API)
    key = -(edited_at * 100_000 + message.message_id % 100_000)
    if await desk.claim_resident_message(ticket, message.from_user.id, key) != "relay":
        return
    with i18n.use_locale(settings.default_language):  # for the operators
        words = escape(truncate_plain(message.text or message.caption or "", EDIT_LIMIT))
        text = "✏️ " + _("edited: {text}").format(text=words)
    try:
        await bot.send_message(desk.chat_id, text, message_thread_id=ticket.thread_id)
    except TelegramAPIError as error:
        log.info("could not pass an edit of ticket #%s on: %s", ticket.id, error)


async def on_help(message: Message, content: ContentStore, lang: Lang, clock: Clock, desk: DeskService) -> None:
    screen = help_screen(content.current, clock.now(), lang, desk=desk.open_to_residents)
    if not desk.open_to_residents:
        await send(message, screen)
        return
    desk_row = [
        ask_button(),
        InlineKeyboardButton(text="🔎 " + _("Check a rumour"), callback_data=DeskCb(action="rumour").pack()),
    ]
    rows = [*(screen.markup.inline_keyboard if screen.markup else []), desk_row]
    await send(message, Screen(screen.text, InlineKeyboardMarkup(inline_keyboard=rows)))


async def _start_asking(
    target: Message, user_id: int, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore, ctx: str
) -> None:
    if await refused(target, user_id, desk, lang, content, state):
        return
    ticket = await desk.open_ticket_of(user_id)
    if ticket is None and desk.closed():  # the timeline closed the desk: no new conversations
        await state.clear()
        await send(target, closed_screen(content, lang, desk.clock.now()))
        return
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


async def on_operator(
    message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore
) -> None:
    assert message.from_user is not None
    await _start_asking(message, message.from_user.id, state, desk, lang, content, "")


async def on_rumour(message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore) -> None:
    assert message.from_user is not None
    if await refused(message, message.from_user.id, desk, lang, content, state):
        return
    if desk.closed():
        await state.clear()
        await send(message, closed_screen(content, lang, desk.clock.now()))
        return
    await state.set_state(DeskStates.rumour)
    await send(message, rumour_screen())


async def on_done(message: Message, state: FSMContext, desk: DeskService) -> None:
    await state.clear()
    await send(message, done_screen())


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
        await answer_stale(query)
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
        if not await refused(message, user_id, desk, lang, content, state):
            await state.set_state(DeskStates.rumour)
            await send(message, rumour_screen())
    elif callback_data.action == "person" and callback_data.ctx.isdigit():
        # the FAQ answered a rumour, but the resident wants a person: the rumour becomes a ticket;
        # only the message the bot offered to pass on (a forged button names another: stale)
        if (await state.get_data()).get("desk_person") != int(callback_data.ctx):
            await send(message, Screen(stale(), main_menu()))
            return
        await state.update_data(desk_person=None)
        if await refused(message, user_id, desk, lang, content, state):
            return
        with i18n.use_locale(settings.default_language):  # the context is for the operators
            context = _("the rumour was answered from the FAQ, and the resident asked for a person")
        await open_and_relay(
            RelayRequest(
                message, user_id, int(callback_data.ctx), query.from_user.first_name, "rumour", context=context
            ),
            DeskContext(desk, state, lang, content, bot),
        )
    else:
        await send(message, Screen(stale(), main_menu()))


async def on_question(
    message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore, bot: Bot
) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    context = str(data.get("desk_ctx") or "")
    await open_and_relay(
        RelayRequest(
            message,
            message.from_user.id,
            message.message_id,
            message.from_user.first_name,
            "question",
            context=context,
            question=question_of(message),
        ),
        DeskContext(desk, state, lang, content, bot),
    )


async def on_talking(
    message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore, bot: Bot
) -> None:
    assert message.from_user is not None
    user_id = message.from_user.id
    if await refused(message, user_id, desk, lang, content, state):
        return
    ticket = await desk.open_ticket_of(user_id)
    if ticket is None and desk.closed():  # the timeline closed the desk: no new ticket
        await state.clear()
        await send(message, closed_screen(content, lang, desk.clock.now()))
        return
    if ticket is None:  # closed by the operators meanwhile: a message after /close opens a new ticket
        await open_and_relay(
            RelayRequest(
                message,
                user_id,
                message.message_id,
                message.from_user.first_name,
                "question",
                question=question_of(message),
            ),
            DeskContext(desk, state, lang, content, bot),
        )
        return
    if await relay_to_topic(message, user_id, message.message_id, ticket, desk, bot, lang, content) == "sent":
        await ack(message, duty_line(desk, lang, content) if desk.closed() else "")


async def on_rumour_message(
    message: Message,
    answers: AnswerLoop,
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
        understood = faq.understand(text)
        if understood.rumour is not None:  # checked already: the verdict, and a person if wanted
            await state.clear()
            await state.update_data(desk_person=message.message_id)  # the one message "Ask a person" may pass on
            person = ask_person_button(str(message.message_id))
            await send(message, faq_rumour_screen(faq, understood.rumour, lang, clock.now(), person), reply=True)
            return
        result = understood.result
        entry = faq.entry(result.best.id) if result.decision == "answer" and result.best is not None else None
        if entry is not None:
            await state.clear()
            await state.update_data(desk_person=message.message_id)  # the one message "Ask a person" may pass on
            await send(message, answer_screen(faq, entry, lang, clock.now()))
            person = ask_person_button(str(message.message_id))
            await send(
                message,
                Screen(
                    "🔎 "
                    + _("This is what the official sources say. If the rumour is about something else, ask a person."),
                    InlineKeyboardMarkup(inline_keyboard=[[person], [back_button()]]),
                ),
            )
            return
    if text.strip():  # the verdict, once the editors publish it, is sent back (the answer loop)
        await answers.want_answer(message.from_user.id, lang, text)
    with i18n.use_locale(settings.default_language):  # the context is for the operators
        context = _("no confirmed answer in the FAQ")
    await open_and_relay(
        RelayRequest(
            message,
            message.from_user.id,
            message.message_id,
            message.from_user.first_name,
            "rumour",
            context=context,
            question=question_of(message),
        ),
        DeskContext(desk, state, lang, content, bot),
    )


async def on_rate(query: CallbackQuery, callback_data: DeskRateCb, desk: DeskService) -> None:
    if await desk.rate(callback_data.ticket, query.from_user.id, callback_data.good):
        await query.answer(_("Thank you! Your feedback helps us improve the answers."))
    else:
        await answer_stale(query)
