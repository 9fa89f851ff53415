"""The resident side (private chats): ``/operator``, ``/rumour``, ``/done``, ``/help``, the desk's
buttons, the messages of an open conversation and the rating."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.clock import Clock
from bot.config import Lang, Settings
from bot.content import ContentStore
from bot.handlers.desk.relay import ack, open_and_relay, refused, relay_to_topic
from bot.handlers.desk.screens import (
    ask_button,
    ask_screen,
    back_button,
    back_markup,
    closed_screen,
    context_from,
    done_screen,
    duty_line,
    question_of,
    rumour_screen,
)
from bot.handlers.desk.states import DeskOn, DeskStates
from bot.handlers.faq import answer_screen
from bot.handlers.screens import help_screen
from bot.i18n import I18n, _
from bot.services.desk import DeskService
from bot.services.faq import FaqService
from bot.telegram.callbacks import DeskCb, DeskRateCb
from bot.telegram.filters import Magic
from bot.telegram.keyboards import main_menu
from bot.telegram.ui import Screen, answer_stale, send, stale


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
        # the FAQ answered a rumour, but the resident wants a person: the rumour becomes a ticket
        if await refused(message, user_id, desk, lang, content, state):
            return
        with i18n.use_locale(settings.default_language):  # the context is for the operators
            context = _("the rumour was answered from the FAQ, and the resident asked for a person")
        await open_and_relay(
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
        await send(message, Screen(stale(), main_menu()))


async def on_question(
    message: Message, state: FSMContext, desk: DeskService, lang: Lang, content: ContentStore, bot: Bot
) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    context = str(data.get("desk_ctx") or "")
    await open_and_relay(
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
    if await relay_to_topic(message, user_id, message.message_id, ticket, desk, bot, lang, content) == "sent":
        await ack(message, duty_line(desk, lang, content) if desk.closed() else "")


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
    await open_and_relay(
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
        await answer_stale(query)
