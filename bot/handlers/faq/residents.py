"""The residents' side of the FAQ: browsing, answers with their pictures, the 👍/👎 vote, deep
links, free-text questions and inline mode."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultUnion,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
)
from aiogram.utils.link import create_telegram_link

from bot.clock import Clock
from bot.config import Lang
from bot.content import FaqEntry
from bot.handlers.faq.screens import (
    answer_screen,
    answer_text,
    ask_person_button,
    categories_screen,
    category_screen,
    no_answer_screen,
    none_of_these_screen,
    not_helpful_screen,
    rumour_screen,
    smalltalk_screen,
    suggestions_screen,
)
from bot.handlers.pictures import results_known, send_results
from bot.handlers.texts import answer_body
from bot.i18n import _
from bot.services.answer_loop import AnswerLoop
from bot.services.deeplinks import make_payload, parse_deep_link
from bot.services.desk import DeskService
from bot.services.faq import FaqService
from bot.services.pictures import PictureService
from bot.services.questions import QuestionLog
from bot.storage.base import UserRecord
from bot.telegram.callbacks import FaqCategoryCb, FaqEntryCb, FaqVoteCb
from bot.telegram.ui import answer_stale, from_before_first_seen, replied_id, replied_text, send, show
from bot.telegram_text import split_html, strip_html, truncate_plain


def _desk_on(desk: DeskService | None) -> bool:
    return desk is not None and desk.open_to_residents


async def send_answer_pictures(
    bot: Bot | None, chat_id: int, faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, pictures: PictureService
) -> None:
    """The results picture with the answers campaign.yaml names (``results.faq``), once known."""
    campaign = faq.content.campaign
    if bot is not None and campaign.results and entry.id in campaign.results.faq and results_known(campaign, now):
        await send_results(bot, chat_id, campaign, lang, pictures, now, figures_sent=True)


async def on_questions(message: Message, faq: FaqService, lang: Lang) -> None:
    await send(message, categories_screen(faq, lang))


async def on_categories(query: CallbackQuery, faq: FaqService, lang: Lang) -> None:
    await query.answer()
    await show(query, categories_screen(faq, lang))


async def on_category(query: CallbackQuery, callback_data: FaqCategoryCb, faq: FaqService, lang: Lang) -> None:
    screen = category_screen(faq, callback_data.category, callback_data.page, lang)
    if screen is None:
        await answer_stale(query)
        return
    await query.answer()
    await show(query, screen)


async def on_entry(
    query: CallbackQuery,
    callback_data: FaqEntryCb,
    faq: FaqService,
    lang: Lang,
    clock: Clock,
    pictures: PictureService,
) -> None:
    entry = faq.entry(callback_data.entry)
    if entry is None or (callback_data.back and faq.category(callback_data.back) is None):
        await answer_stale(query)
        return
    await query.answer()
    screen = answer_screen(faq, entry, lang, clock.now(), back=callback_data.back)
    if callback_data.back:
        await show(query, screen)  # browsing: the list turns into the answer
    elif isinstance(query.message, Message):
        await send(query.message, screen)  # a suggestion: the answer comes as a new message
    else:
        await show(query, screen)
    await send_answer_pictures(query.bot, query.from_user.id, faq, entry, lang, clock.now(), pictures)


async def on_vote(
    query: CallbackQuery,
    callback_data: FaqVoteCb,
    faq: FaqService,
    questions: QuestionLog,
    clock: Clock,
    lang: Lang,
    desk: DeskService | None = None,
    user_record: UserRecord | None = None,
) -> None:
    # an unknown entry, or a 👍 from before the resident's /forget: nothing is stored
    if faq.entry(callback_data.entry) is None or from_before_first_seen(
        query, user_record.first_seen if user_record else None
    ):
        await answer_stale(query)
        return
    await questions.feedback(query.from_user.id, callback_data.entry, callback_data.helpful)
    await query.answer(_("Thank you! Your feedback helps us improve the answers."))
    entry = faq.entry(callback_data.entry)
    if not callback_data.helpful and entry is not None and isinstance(query.message, Message):
        question = replied_text(query.message)  # the resident's own words, quoted by the answer
        screen = not_helpful_screen(faq, entry, lang, clock.now(), _desk_on(desk), question)
        await send(query.message, screen, quote_id=replied_id(query.message))


async def on_none_of_these(
    query: CallbackQuery,
    faq: FaqService,
    lang: Lang,
    clock: Clock,
    questions: QuestionLog,
    desk: DeskService | None = None,
) -> None:
    """ "None of these" under the suggestions: the question joins the unanswered ones, and the resident
    gets the ways on (rephrase, a person, the official line)."""
    await query.answer()
    question = replied_text(query.message)
    if question.strip():
        await questions.unanswered(query.from_user.id, lang, question)
    if isinstance(query.message, Message):
        screen = none_of_these_screen(faq, lang, clock.now(), _desk_on(desk))
        await send(query.message, screen, quote_id=replied_id(query.message))  # "tell me" reads the question


async def on_deep_link(
    message: Message,
    command: CommandObject,
    faq: FaqService,
    lang: Lang,
    clock: Clock,
    pictures: PictureService,
    desk: DeskService | None = None,
) -> None:
    link = parse_deep_link(command.args)
    entry = faq.entry(link.value) if link.kind == "faq" else None
    if entry is None:
        await send(message, no_answer_screen(faq, lang, clock.now(), _desk_on(desk)))
        return
    await send(message, answer_screen(faq, entry, lang, clock.now()))
    await send_answer_pictures(message.bot, message.chat.id, faq, entry, lang, clock.now(), pictures)


async def on_free_text(
    message: Message,
    faq: FaqService,
    lang: Lang,
    clock: Clock,
    questions: QuestionLog,
    pictures: PictureService,
    desk: DeskService | None = None,
    state: FSMContext | None = None,
) -> None:
    text = message.text or ""
    understood = faq.understand(text)
    questions.count(understood.decision)
    if understood.smalltalk is not None:  # never an FAQ answer, never an unanswered question
        await send(message, smalltalk_screen(faq, understood.smalltalk, lang))
        return
    if understood.rumour is not None:  # a rumour already checked: its verdict
        person = None
        if _desk_on(desk) and state is not None:
            await state.update_data(desk_person=message.message_id)  # the one message "Ask a person" may pass on
            person = ask_person_button(str(message.message_id))
        await send(message, rumour_screen(faq, understood.rumour, lang, clock.now(), person), reply=True)
        return
    result = understood.result
    if result.decision == "answer" and result.best is not None:
        entry = faq.entry(result.best.id)
        if entry is not None:
            await send(message, answer_screen(faq, entry, lang, clock.now()), reply=True)
            await send_answer_pictures(message.bot, message.chat.id, faq, entry, lang, clock.now(), pictures)
            return
    if result.decision == "suggest":
        ids = [m.id for m in result.matches[:3]]
        await send(message, suggestions_screen(faq, ids, lang, _desk_on(desk)), reply=True)
        return
    if message.from_user is not None:
        await questions.unanswered(message.from_user.id, lang, text)
    wait = not result.off_topic_like  # about the campaign: the resident may ask to be told of an answer
    await send(message, no_answer_screen(faq, lang, clock.now(), _desk_on(desk), wait), reply=True)


async def on_tell_me(query: CallbackQuery, answers: AnswerLoop, lang: Lang) -> None:
    """ "🔔 Tell me when there is an answer": the quoted question is kept with the resident's consent."""
    question = replied_text(query.message)
    if not question.strip():
        await answer_stale(query)
        return
    if await answers.want_answer(query.from_user.id, lang, question):
        await query.answer(
            "🔔 " + _("I will tell you once, when there is an answer. /forget erases your question."), show_alert=True
        )
    else:
        await query.answer(_("I keep at most 20 of your questions a day. Please try again tomorrow."), show_alert=True)


async def on_inline(query: InlineQuery, faq: FaqService, lang: Lang, clock: Clock, bot: Bot) -> None:
    me = await bot.me()
    text = query.query.strip()
    if text:
        ids = [m.id for m in faq.search(text).matches if m.score >= 0.2][:5]
    else:
        ids = [entry.id for entry in faq.content.faq.entries[:8]]
    now = clock.now()
    results: list[InlineQueryResultUnion] = []
    for entry_id in ids:
        entry = faq.entry(entry_id)
        if entry is None:
            continue
        link = create_telegram_link(me.username or "", start=make_payload("faq", entry.id))
        body = answer_text(faq, entry, lang, now) + "\n\n🤖 " + _("Ask the bot: {link}").format(link=link)
        body = split_html(body)[0]
        button = InlineKeyboardButton(text="🤖 " + _("Open in the bot"), url=link)
        results.append(
            InlineQueryResultArticle(
                id=entry.id,
                title=truncate_plain(entry.text(lang).q, 100),
                description=truncate_plain(strip_html(answer_body(faq, entry, lang, now)).replace("\n", " "), 120),
                input_message_content=InputTextMessageContent(
                    message_text=body, parse_mode="HTML", link_preview_options=LinkPreviewOptions(is_disabled=True)
                ),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
            )
        )
    await query.answer(results, cache_time=60, is_personal=True)


async def on_forwarded(message: Message, faq: FaqService, lang: Lang, clock: Clock) -> None:
    """A forwarded message (the desk off): what official sources say of it, a checked rumour's
    verdict, or honestly nothing; never a guess."""
    understood = faq.understand(message.text or message.caption or "")
    if understood.rumour is not None:
        await send(message, rumour_screen(faq, understood.rumour, lang, clock.now(), None), reply=True)
        return
    result = understood.result
    entry = faq.entry(result.best.id) if result.decision == "answer" and result.best is not None else None
    if entry is not None:
        await send(message, answer_screen(faq, entry, lang, clock.now()), reply=True)
        return
    await send(message, no_answer_screen(faq, lang, clock.now()), reply=True)
