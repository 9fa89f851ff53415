"""The FAQ's screens: topics, a topic's questions, an answer, suggestions, "no answer" and the
screen after 👎; each built once per content version (``faq.rendered``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import LANGUAGES, Lang
from bot.content import FaqEntry
from bot.handlers.texts import commission_link, contact_line, sources_block
from bot.i18n import _, fmt_date
from bot.services.faq import FaqService
from bot.telegram.callbacks import DeskCb, FaqCategoryCb, FaqEntryCb, FaqVoteCb, MenuCb
from bot.telegram.keyboards import back_to_menu, page_row, rating_row
from bot.telegram.ui import Screen
from bot.telegram_text import escape, truncate_plain

PAGE_SIZE = 6


BUTTON_TEXT = 60


RENDERED_LIMIT = 10_000  # rendered screens kept per content version


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
        builder.row(*page_row(page, pages, lambda n: FaqCategoryCb(category=category_id, page=n)))
    builder.row(
        InlineKeyboardButton(text="⬅️ " + _("Topics"), callback_data=MenuCb(section="faq").pack()), back_to_menu()
    )
    title = f"📂 <b>{escape(category.title.get(lang))}</b>"
    if pages > 1:
        title += " · " + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    return Screen(title, builder.as_markup())


def answer_text(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime) -> str:
    text = entry.text(lang)
    sources = sources_block(entry.sources, lang, faq.content.campaign, now)
    checked = ""
    if _reviewed_by(entry, faq, now):  # never a date after the moment the bot stands at
        checked = "\n🗓 " + _("Checked on {date}").format(date=fmt_date(entry.reviewed, lang))
    return f"❓ <b>{escape(text.q)}</b>\n\n{faq.answer(entry, lang, now)}\n\n{sources}{checked}"


def _reviewed_by(entry: FaqEntry, faq: FaqService, now: datetime) -> bool:
    return entry.reviewed <= now.astimezone(faq.content.campaign.tz).date()


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
    campaign = faq.content.campaign
    stage = campaign.stage_at(now)  # the answer follows the timeline: one screen per stage
    shown = tuple(campaign.shows(source, now) for source in entry.sources)  # and per sources out
    key = ("answer", entry.id, lang, stage.id if stage else "", shown, _reviewed_by(entry, faq, now), back)
    return _cached(faq, key, lambda: _answer_screen(faq, entry, lang, now, back))


def _answer_screen(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, back: str) -> Screen:
    back_data = FaqCategoryCb(category=back) if back else MenuCb(section="faq")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            rating_row(FaqVoteCb(entry=entry.id, helpful=True), FaqVoteCb(entry=entry.id, helpful=False)),
            [InlineKeyboardButton(text="⬅️ " + _("Back"), callback_data=back_data.pack()), back_to_menu()],
        ]
    )
    return Screen(answer_text(faq, entry, lang, now), markup)


def _ask_person(ctx: str) -> InlineKeyboardButton:
    """The operators' desk's "💬 Ask a person" (only when the desk is on)."""
    return InlineKeyboardButton(text="💬 " + _("Ask a person"), callback_data=DeskCb(action="ask", ctx=ctx).pack())


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
