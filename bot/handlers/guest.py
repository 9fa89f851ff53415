"""Guest mode: a resident calls the bot into any chat ("@bot when can I vote?"), the bot not being a
member of it. The update is a ``guest_message`` carrying ``guest_query_id``; the bot answers once, in
that chat, with ``answerGuestQuery``: a short answer for a group (the lead of the FAQ answer for the
moment, its source and "📖 More in a private chat", a deep link to the full answer), one line for
anything off-topic, and a claim (or the message the caller replied to) checked as ``/rumour`` checks
it. Budgets per chat and per caller keep the bot welcome (``bot.services.guest``); nothing of the text
is stored, only counters (``/stats``, ``/metrics``)."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
)
from aiogram.utils.link import create_telegram_link

from bot.clock import Clock
from bot.config import Lang
from bot.content import FaqEntry
from bot.handlers.faq.screens import rumour_text
from bot.handlers.texts import answer_body, contact_line, sources_block
from bot.i18n import _
from bot.services.deeplinks import make_payload
from bot.services.desk import DeskService
from bot.services.faq import FaqService
from bot.services.guest import GuestService, Outcome, looks_like_claim, question_of
from bot.telegram.ui import Screen
from bot.telegram_text import escape, lead_html, strip_html, truncate_plain

log = logging.getLogger(__name__)

RUMOUR_PAYLOAD = "rumour"  # /start rumour: the private chat opens on /rumour (with the desk on)
TITLE_LIMIT = 64


def router() -> Router:
    r = Router(name="guest")
    r.guest_message.register(on_guest_message)
    return r


def _private_button(text: str, username: str, payload: str | None = None) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, url=create_telegram_link(username, start=payload) if payload else create_telegram_link(username)
    )


def _more_button(username: str, entry: FaqEntry) -> InlineKeyboardButton:
    return _private_button("📖 " + _("More in a private chat"), username, make_payload("faq", entry.id))


def short_answer(faq: FaqService, entry: FaqEntry, lang: Lang, clock: Clock, *, rumour: bool) -> str:
    """The answer for a group: the question, the lead of the answer for the moment, its sources."""
    now = clock.now()
    text = entry.text(lang)
    lead = lead_html(answer_body(faq, entry, lang, now))
    sources = sources_block(entry.sources, lang, faq.content.campaign, now)
    head = "🔎 " + _("What official sources say:") + "\n" if rumour else ""
    return f"{head}❓ <b>{escape(text.q)}</b>\n{lead}\n{sources}"


def guest_reply(
    text: str,
    replied: str,
    faq: FaqService,
    lang: Lang,
    clock: Clock,
    username: str,
    desk_on: bool,
) -> tuple[Outcome, Screen]:
    """What the bot says in the chat for the caller's ``text`` (without the @mention) and the text
    of the message they replied to when calling the bot (``replied``, empty if none)."""
    campaign = faq.content.campaign
    rumour = bool(replied) or looks_like_claim(text)
    claim = replied or text
    understood = faq.understand(claim)
    if not claim.strip() or understood.smalltalk is not None:  # "@bot", "@bot hi": how to ask
        example = _("when can I vote?")
        return "empty", Screen(
            "👋 "
            + _("Ask me about the {campaign}: @{bot} {example}").format(
                campaign=escape(campaign.title.get(lang)), bot=escape(username), example=escape(example)
            )
        )
    if understood.rumour is not None:  # a rumour already checked: its verdict card
        return "rumour", Screen(rumour_text(faq, understood.rumour, lang, clock.now()))
    result = understood.result
    entry = faq.entry(result.best.id) if result.decision == "answer" and result.best is not None else None
    if entry is not None:
        markup = InlineKeyboardMarkup(inline_keyboard=[[_more_button(username, entry)]])
        return ("rumour" if rumour else "answer"), Screen(short_answer(faq, entry, lang, clock, rumour=rumour), markup)
    if rumour:  # nothing confirmed: a person checks it, in a private chat
        if desk_on:
            line = "🔎 " + _(
                "I have no confirmed information about this. Send it to me in a private chat "
                "and a person will check it."
            )
            button = _private_button("🔎 " + _("Check it in a private chat"), username, RUMOUR_PAYLOAD)
        else:
            line = (
                "🔎 "
                + _("I have no confirmed information about this.")
                + "\n"
                + contact_line(campaign, clock.now(), lang)
            )
            button = _private_button("💬 " + _("Open a private chat"), username)
        return "rumour_unknown", Screen(line, InlineKeyboardMarkup(inline_keyboard=[[button]]))
    if result.decision == "suggest" and result.best is not None:
        near = faq.entry(result.best.id)
        if near is not None:
            line = "🤔 " + _("Perhaps you mean: «{question}»").format(question=escape(near.text(lang).q))
            markup = InlineKeyboardMarkup(inline_keyboard=[[_more_button(username, near)]])
            return "suggest", Screen(line, markup)
    line = "🙂 " + _("I only answer questions about the {campaign}, from official sources.").format(
        campaign=escape(campaign.title.get(lang))
    )
    return "off_topic", Screen(line)


def guest_stats_lines(guests: GuestService | None) -> list[str]:
    """Guest mode's part of ``/stats``: calls by outcome since the process started."""
    if guests is None:
        return []
    c = guests.counts
    return [
        "",
        _("Guest calls since start: {total}").format(total=c.total),
        _(
            "answered {answer}, closest question {suggest}, rumours answered {rumour}, rumours for a person "
            "{rumour_unknown}, off-topic {off_topic}, how to ask {empty}, budget notices {notice}, unanswered "
            "(over the budget) {silent}"
        ).format(**dict(c.items())),
    ]


def budget_notice() -> Screen:
    return Screen(
        "⏳ " + _("I have answered a lot here for now; I will be quiet for a while. Ask me in a private chat.")
    )


async def on_guest_message(
    message: Message,
    bot: Bot,
    faq: FaqService,
    clock: Clock,
    lang: Lang,
    guests: GuestService,
    desk: DeskService | None = None,
) -> None:
    if message.guest_query_id is None:
        return
    caller = message.from_user.id if message.from_user is not None else message.chat.id
    admission = guests.budget.admit(message.chat.id, caller, asyncio.get_running_loop().time())
    if admission == "silent":
        guests.counts.add("silent")
        return
    me = await bot.me()
    username = me.username or ""
    if admission == "notice":
        guests.counts.add("notice")
        await answer_guest(message, budget_notice(), username)
        return
    replied = message.reply_to_message
    heard = replied is not None and not (replied.from_user is not None and replied.from_user.is_bot)
    replied_text = (replied.text or replied.caption or "") if replied is not None and heard else ""
    own = question_of(message.text or message.caption or "", username)
    outcome, screen = guest_reply(
        own, replied_text.strip(), faq, lang, clock, username, desk is not None and desk.enabled
    )
    guests.counts.add(outcome)
    await answer_guest(message, screen, username)


async def answer_guest(message: Message, screen: Screen, username: str) -> None:
    """Answer the guest query with ``screen`` (an article result: the only answer it can get)."""
    assert message.guest_query_id is not None
    title = truncate_plain(strip_html(screen.text).split("\n", 1)[0], TITLE_LIMIT) or username
    result = InlineQueryResultArticle(
        id="guest",
        title=title,
        input_message_content=InputTextMessageContent(
            message_text=screen.text, parse_mode="HTML", link_preview_options=LinkPreviewOptions(is_disabled=True)
        ),
        reply_markup=screen.markup,
    )
    try:
        await message.answer_guest_query(result)
    except TelegramAPIError as error:  # the query expired or was answered: there is no other way into the chat
        log.info("could not answer guest query in chat %s: %s", message.chat.id, error)
