"""Questions and answers: browse by category, free-text search, inline mode, deep links, feedback,
and the admins' /unanswered and /faq_reload."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
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
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import DeskCb, FaqCategoryCb, FaqEntryCb, FaqVoteCb, MenuCb
from bot.clock import Clock
from bot.config import LANGUAGES, Lang
from bot.content import ContentError, ContentStore, FaqEntry
from bot.filters import IsAdmin, Magic
from bot.handlers.pictures import results_known, send_results
from bot.handlers.texts import commission_link, contact_line, sources_block
from bot.i18n import _, fmt_date
from bot.keyboards import back_to_menu
from bot.services.deeplinks import make_payload, parse_deep_link
from bot.services.desk import DeskService
from bot.services.faq import FaqService
from bot.services.pictures import PictureService
from bot.storage import Storage
from bot.storage.base_desk import FaqDraft
from bot.telegram_text import escape, split_html, strip_html, truncate_plain
from bot.ui import Screen, send, show

log = logging.getLogger(__name__)
PAGE_SIZE = 6
BUTTON_TEXT = 60
UNANSWERED_DAYS = 14
DRAFTS_SHOWN = 10
RENDERED_LIMIT = 10_000  # rendered screens kept per content version
PRIVATE_FREE_TEXT = (F.chat.type == ChatType.PRIVATE) & F.text & ~F.text.startswith("/")


def free_text_router() -> Router:
    """A resident's question typed outside any dialog: most of the traffic. This router comes
    before all others (see ``build_routers``), so such a message passes two filters instead of
    every feature router's; commands, group chats and dialogs are not its business."""
    r = Router(name="faq_text")
    r.message.register(on_free_text, Magic(PRIVATE_FREE_TEXT), StateFilter(None))
    return r


def router() -> Router:
    r = Router(name="faq")
    private = Magic(F.chat.type == ChatType.PRIVATE)
    # free text during a dialog that the dialog's router (ordered before this one) did not take
    r.message.register(on_free_text, Magic(PRIVATE_FREE_TEXT))
    r.message.register(on_deep_link, CommandStart(deep_link=True, magic=F.args.startswith("faq-")), private)
    r.message.register(on_questions, Command("questions"), private)
    r.message.register(on_unanswered, Command("unanswered"), IsAdmin())
    r.message.register(on_reload, Command("faq_reload"), IsAdmin())
    r.callback_query.register(on_categories, MenuCb.filter(F.section == "faq"))
    r.callback_query.register(on_category, FaqCategoryCb.filter())
    r.callback_query.register(on_entry, FaqEntryCb.filter())
    r.callback_query.register(on_vote, FaqVoteCb.filter())
    r.inline_query.register(on_inline)
    return r


# --- screens -----------------------------------------------------------------------------------


def categories_screen(faq: FaqService, lang: Lang) -> Screen:
    builder = InlineKeyboardBuilder()
    for category in faq.categories():
        builder.button(text=category.title.get(lang), callback_data=FaqCategoryCb(category=category.id))
    builder.adjust(1)
    builder.row(back_to_menu())
    return Screen("❓ " + _("Questions by topic. Choose one, or just type your question:"), builder.as_markup())


def category_screen(faq: FaqService, category_id: str, page: int, lang: Lang) -> Screen | None:
    category = faq.category(category_id)
    entries = faq.entries_in(category_id)
    if category is None or not entries:
        return None
    pages = (len(entries) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    builder = InlineKeyboardBuilder()
    for entry in entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        builder.row(
            InlineKeyboardButton(
                text=truncate_plain(entry.text(lang).q, BUTTON_TEXT),
                callback_data=FaqEntryCb(entry=entry.id, back=category_id).pack(),
            )
        )
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(
                InlineKeyboardButton(
                    text=f"◀️ {page}/{pages}", callback_data=FaqCategoryCb(category=category_id, page=page - 1).pack()
                )
            )
        if page < pages - 1:
            nav.append(
                InlineKeyboardButton(
                    text=f"{page + 2}/{pages} ▶️",
                    callback_data=FaqCategoryCb(category=category_id, page=page + 1).pack(),
                )
            )
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(text="⬅️ " + _("Topics"), callback_data=MenuCb(section="faq").pack()), back_to_menu()
    )
    title = f"📂 <b>{escape(category.title.get(lang))}</b>"
    if pages > 1:
        title += " · " + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    return Screen(title, builder.as_markup())


def answer_text(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime) -> str:
    text = entry.text(lang)
    sources = sources_block(entry.sources, lang, faq.content.campaign.passed_ids(now))
    return (
        f"❓ <b>{escape(text.q)}</b>\n\n{faq.answer(entry, lang, now)}\n\n{sources}\n"
        + "🗓 "
        + _("Checked on {date}").format(date=fmt_date(entry.reviewed, lang))
    )


def _cached(faq: FaqService, key: tuple[object, ...], build: Callable[[], Screen]) -> Screen:
    """Screens depend only on the content, the language (and the phase): residents ask the same
    questions again and again, so each one is built once per content version (``faq.rendered`` is
    cleared on reload). ``key`` must name everything ``build`` depends on."""
    cached = faq.rendered.get(key)
    if isinstance(cached, Screen):
        return cached
    screen = build()
    if len(faq.rendered) < RENDERED_LIMIT:
        faq.rendered[key] = screen
    return screen


def answer_screen(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, back: str = "") -> Screen:
    stage = faq.content.campaign.stage_at(now)  # the answer follows the timeline: one screen per stage
    key = ("answer", entry.id, lang, stage.id if stage else "", back)
    return _cached(faq, key, lambda: _answer_screen(faq, entry, lang, now, back))


def _answer_screen(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, back: str) -> Screen:
    back_data = FaqCategoryCb(category=back) if back else MenuCb(section="faq")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="👍 " + _("Helpful"), callback_data=FaqVoteCb(entry=entry.id, helpful=True).pack()
                ),
                InlineKeyboardButton(
                    text="👎 " + _("Not helpful"), callback_data=FaqVoteCb(entry=entry.id, helpful=False).pack()
                ),
            ],
            [InlineKeyboardButton(text="⬅️ " + _("Back"), callback_data=back_data.pack()), back_to_menu()],
        ]
    )
    return Screen(answer_text(faq, entry, lang, now), markup)


def _ask_person(ctx: str) -> InlineKeyboardButton:
    """The operators' desk's "💬 Ask a person" (only when the desk is on)."""
    return InlineKeyboardButton(text="💬 " + _("Ask a person"), callback_data=DeskCb(action="ask", ctx=ctx).pack())


def _desk_on(desk: DeskService | None) -> bool:
    return desk is not None and desk.enabled


def suggestions_screen(faq: FaqService, ids: list[str], lang: Lang, desk: bool = False) -> Screen:
    return _cached(faq, ("suggest", tuple(ids), lang, desk), lambda: _suggestions_screen(faq, ids, lang, desk))


def _suggestions_screen(faq: FaqService, ids: list[str], lang: Lang, desk: bool) -> Screen:
    builder = InlineKeyboardBuilder()
    for entry_id in ids:
        entry = faq.entry(entry_id)
        if entry is not None:
            builder.row(
                InlineKeyboardButton(
                    text=truncate_plain(entry.text(lang).q, BUTTON_TEXT),
                    callback_data=FaqEntryCb(entry=entry.id).pack(),
                )
            )
    builder.row(InlineKeyboardButton(text="📂 " + _("All topics"), callback_data=MenuCb(section="faq").pack()))
    if desk:  # "none of these"
        builder.row(_ask_person("s"))
    return Screen("🤔 " + _("Did you mean one of these?"), builder.as_markup())


def no_answer_screen(faq: FaqService, lang: Lang, now: datetime, desk: bool = False) -> Screen:
    operates = faq.content.campaign.call_centre_operates(now)
    return _cached(faq, ("no-answer", lang, operates, desk), lambda: _no_answer_screen(faq, lang, now, desk))


def _no_answer_screen(faq: FaqService, lang: Lang, now: datetime, desk: bool) -> Screen:
    campaign = faq.content.campaign
    contact = contact_line(campaign, now, lang)
    if campaign.call_centre_operates(now):  # the call centre first, then the commission's site
        contact += "\n🌐 " + _("Official information: {commission}.").format(commission=commission_link(campaign, lang))
    text = (
        "🙇 "
        + _("I do not have a confirmed answer to that question, so I will not guess.")
        + "\n\n"
        + contact
        + "\n\n"
        + _("You can also browse the questions I can answer:")
    )
    rows = [[InlineKeyboardButton(text="📂 " + _("All topics"), callback_data=MenuCb(section="faq").pack())]]
    if desk:
        rows.append([_ask_person("n")])
    return Screen(text, InlineKeyboardMarkup(inline_keyboard=rows))


NEIGHBOURS = 2


def neighbours(faq: FaqService, entry: FaqEntry, lang: Lang) -> list[FaqEntry]:
    """The questions nearest to ``entry``: what the search finds for its question (in ``lang``,
    then the other languages), the entry itself left out."""
    found: list[FaqEntry] = []
    for other_lang in (lang, *(code for code in LANGUAGES if code != lang)):
        for match in faq.search(entry.text(other_lang).q).matches:
            near = faq.entry(match.id)
            if near is not None and near.id != entry.id and near not in found:
                found.append(near)
        if len(found) >= NEIGHBOURS:
            break
    return found[:NEIGHBOURS]


def not_helpful_screen(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, desk: bool = False) -> Screen:
    operates = faq.content.campaign.call_centre_operates(now)
    key = ("not-helpful", entry.id, lang, operates, desk)
    return _cached(faq, key, lambda: _not_helpful_screen(faq, entry, lang, now, desk))


def _not_helpful_screen(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, desk: bool) -> Screen:
    """After 👎: rephrase, the nearest questions, and where an official answer is given."""
    near = neighbours(faq, entry, lang)
    lines = [
        "🙏 " + _("Sorry this did not help. You can:"),
        "✍️ " + _("rephrase the question in your own words and send it;"),
    ]
    if near:
        lines.append("📌 " + _("look at a nearby question (buttons below);"))
    if desk:
        lines.append("💬 " + _("ask a person (button below);"))
    lines.append(contact_line(faq.content.campaign, now, lang))
    builder = InlineKeyboardBuilder()
    for other in near:
        builder.row(
            InlineKeyboardButton(
                text=truncate_plain(other.text(lang).q, BUTTON_TEXT), callback_data=FaqEntryCb(entry=other.id).pack()
            )
        )
    builder.row(InlineKeyboardButton(text="📂 " + _("All topics"), callback_data=MenuCb(section="faq").pack()))
    if desk:  # the operators see the nearby questions as what was suggested
        builder.row(_ask_person("s"))
    return Screen("\n".join(lines), builder.as_markup())


async def send_answer_pictures(
    bot: Bot | None, chat_id: int, faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, pictures: PictureService
) -> None:
    """The results picture with the answers campaign.yaml names (``results.faq``), once known."""
    campaign = faq.content.campaign
    if bot is not None and campaign.results and entry.id in campaign.results.faq and results_known(campaign, now):
        await send_results(bot, chat_id, campaign, lang, pictures)


# --- handlers ----------------------------------------------------------------------------------


async def on_questions(message: Message, faq: FaqService, lang: Lang) -> None:
    await send(message, categories_screen(faq, lang))


async def on_categories(query: CallbackQuery, faq: FaqService, lang: Lang) -> None:
    await query.answer()
    await show(query, categories_screen(faq, lang))


async def on_category(query: CallbackQuery, callback_data: FaqCategoryCb, faq: FaqService, lang: Lang) -> None:
    screen = category_screen(faq, callback_data.category, callback_data.page, lang)
    if screen is None:
        await query.answer(_("This button is out of date. Open /menu to start again."), show_alert=True)
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
        await query.answer(_("This button is out of date. Open /menu to start again."), show_alert=True)
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
    db: Storage,
    clock: Clock,
    lang: Lang,
    desk: DeskService | None = None,
) -> None:
    if faq.entry(callback_data.entry) is None:
        await query.answer(_("This button is out of date. Open /menu to start again."), show_alert=True)
        return
    await db.record_feedback(query.from_user.id, callback_data.entry, callback_data.helpful, clock.now())
    await query.answer(_("Thank you! Your feedback helps us improve the answers."))
    entry = faq.entry(callback_data.entry)
    if not callback_data.helpful and entry is not None and isinstance(query.message, Message):
        await send(query.message, not_helpful_screen(faq, entry, lang, clock.now(), _desk_on(desk)))


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
    db: Storage,
    pictures: PictureService,
    desk: DeskService | None = None,
) -> None:
    text = message.text or ""
    result = faq.search(text)
    if result.decision == "answer" and result.best is not None:
        entry = faq.entry(result.best.id)
        if entry is not None:
            await send(message, answer_screen(faq, entry, lang, clock.now()))
            await send_answer_pictures(message.bot, message.chat.id, faq, entry, lang, clock.now(), pictures)
            return
    if result.decision == "suggest":
        await send(message, suggestions_screen(faq, [m.id for m in result.matches[:3]], lang, _desk_on(desk)))
        return
    if message.from_user is not None:
        await db.record_unanswered(message.from_user.id, lang, text, clock.now())
    await send(message, no_answer_screen(faq, lang, clock.now(), _desk_on(desk)))


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
        link = f"https://t.me/{me.username}?start={make_payload('faq', entry.id)}"
        body = answer_text(faq, entry, lang, now) + "\n\n🤖 " + _("Ask the bot: {link}").format(link=link)
        body = split_html(body)[0]
        button = InlineKeyboardButton(text="🤖 " + _("Open in the bot"), url=link)
        results.append(
            InlineQueryResultArticle(
                id=entry.id,
                title=truncate_plain(entry.text(lang).q, 100),
                description=truncate_plain(strip_html(faq.answer(entry, lang, now)).replace("\n", " "), 120),
                input_message_content=InputTextMessageContent(
                    message_text=body, parse_mode="HTML", link_preview_options=LinkPreviewOptions(is_disabled=True)
                ),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
            )
        )
    await query.answer(results, cache_time=60, is_personal=True)


def draft_lines(drafts: list[FaqDraft]) -> list[str]:
    """FAQ drafts saved by the operators (``/faq`` in a ticket): editors publish them, never the bot."""
    if not drafts:
        return []
    lines = ["", "📝 <b>" + _("Answer drafts from the operators (not published)") + "</b>"]
    for draft in drafts:
        lines.append(
            f"{draft.id}. [{draft.language}] {escape(truncate_plain(draft.question, 150))} — "
            f"<i>{escape(truncate_plain(draft.answer, 300))}</i>"
        )
    return lines


async def on_unanswered(message: Message, db: Storage, clock: Clock, lang: Lang) -> None:
    now = clock.now()
    if message.from_user is not None:
        await db.audit(message.from_user.id, "unanswered.view", "", now)
    since = now - timedelta(days=UNANSWERED_DAYS)
    rows = await db.top_unanswered(since, limit=30)
    drafts = draft_lines(await db.faq_drafts(DRAFTS_SHOWN))
    if not rows and not drafts:
        await message.answer(_("No unanswered questions in the last {days} days.").format(days=UNANSWERED_DAYS))
        return
    lines = [
        "📭 <b>" + _("Unanswered questions, last {days} days").format(days=UNANSWERED_DAYS) + "</b>",
        "👥 " + _("= how many people asked (each person counts once)"),
    ]
    for number, row in enumerate(rows, start=1):
        lines.append(f"{number}. {escape(truncate_plain(row.text, 200))} — 👥 <b>{row.count}</b>")
    lines += drafts
    for chunk in split_html("\n".join(lines)):
        await message.answer(chunk)


async def on_reload(message: Message, content: ContentStore, faq: FaqService, db: Storage, clock: Clock) -> None:
    admin = message.from_user.id if message.from_user else 0
    try:
        fresh = await content.reload_in_thread()  # parsing off the event loop
    except ContentError as error:
        await db.audit(admin, "faq_reload", f"refused: {len(error.problems)} problem(s)", clock.now())
        problems = "\n".join(f"• {escape(p)}" for p in error.problems[:10])
        more = len(error.problems) - 10
        text = "⛔️ " + _("The content was not reloaded; the previous version stays live.") + f"\n\n{problems}"
        if more > 0:
            text += "\n" + _("…and {n} more.").format(n=more)
        for chunk in split_html(text):
            await message.answer(chunk)
        return
    log.info("content reloaded by %s", admin)
    await db.audit(admin, "faq_reload", f"ok: {len(fresh.faq.entries)} questions", clock.now())
    await message.answer(
        "✅ "
        + _("Content reloaded: {n} questions in {c} topics.").format(n=len(fresh.faq.entries), c=len(faq.categories()))
    )
