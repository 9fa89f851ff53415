"""The FAQ's screens: topics, a topic's questions, an answer, suggestions, "no answer" and the
screen after 👎; each built once per content version (``faq.rendered``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import LANGUAGES, Lang
from bot.content import FaqEntry
from bot.content.models import Rumour, Verdict
from bot.handlers.texts import answer_body, commission_link, contact_line, sources_block, with_facts
from bot.i18n import I18n, _, fmt_date
from bot.services.faq import FaqService
from bot.services.smalltalk import SmallTalk
from bot.telegram.callbacks import DeskCb, FaqCategoryCb, FaqEntryCb, FaqNoneCb, FaqVoteCb, FaqWaitCb, MenuCb
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
    return f"❓ <b>{escape(text.q)}</b>\n\n{answer_body(faq, entry, lang, now)}\n\n{sources}{checked}"


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


def ask_person_button(message_id: str) -> InlineKeyboardButton:
    """ "💬 Ask a person about it" under a rumour's verdict: the message becomes a rumour ticket."""
    return InlineKeyboardButton(
        text="💬 " + _("Ask a person about it"), callback_data=DeskCb(action="person", ctx=message_id).pack()
    )


def tell_me_button() -> InlineKeyboardButton:
    """ "🔔 Tell me when there is an answer" (the question is the one the screen quotes)."""
    return InlineKeyboardButton(text="🔔 " + _("Tell me when there is an answer"), callback_data=FaqWaitCb().pack())


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
    builder.row(
        InlineKeyboardButton(text="🙅 " + _("None of these"), callback_data=FaqNoneCb().pack()),
        InlineKeyboardButton(text="📂 " + _("All topics"), callback_data=MenuCb(section="faq").pack()),
    )
    if desk:
        builder.row(_ask_person("s"))
    return Screen("🤔 " + _("I am not sure I understood. Did you mean one of these?"), builder.as_markup())


def none_of_these_screen(faq: FaqService, lang: Lang, now: datetime, desk: bool = False) -> Screen:
    operates = faq.content.campaign.call_centre_operates(now)
    return _cached(faq, ("none-of-these", lang, operates, desk), lambda: _none_of_these_screen(faq, lang, now, desk))


def _none_of_these_screen(faq: FaqService, lang: Lang, now: datetime, desk: bool) -> Screen:
    """After "None of these": rephrase, a person, or the official line; never a guess."""
    lines = [
        "✍️ "
        + _(
            "Try asking in other words: short questions work best, for example «where do I vote» or "
            "«what documents do I need»."
        ),
        contact_line(faq.content.campaign, now, lang),
    ]
    rows = [
        [InlineKeyboardButton(text="📂 " + _("All topics"), callback_data=MenuCb(section="faq").pack())],
        [tell_me_button()],
    ]
    if desk:
        lines.insert(1, "💬 " + _("Or ask a person (button below)."))
        rows.append([_ask_person("n")])
    return Screen("\n\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


def smalltalk_screen(faq: FaqService, kind: SmallTalk, lang: Lang) -> Screen:
    return _cached(faq, ("smalltalk", kind, lang), lambda: _smalltalk_screen(faq, kind, lang))


def _smalltalk_screen(faq: FaqService, kind: SmallTalk, lang: Lang) -> Screen:
    """A short, warm reply to a greeting, thanks, "ok", "bye" or "how are you", with the way on."""
    title = escape(faq.content.campaign.title.get(lang))
    about = _("I answer questions about this vote: «{title}».").format(title=title)
    ask = _("Type your question in your own words, or choose a topic:")
    texts = {
        SmallTalk.GREETING: "👋 " + _("Hello!") + " " + about + "\n\n" + ask,
        SmallTalk.HOW_ARE_YOU: "🙂 " + _("All is well, thank you! I am a bot.") + " " + about + "\n\n" + ask,
        SmallTalk.THANKS: "😊 " + _("You are welcome! If you have another question, just type it."),
        SmallTalk.OK: "👍 " + _("If you have another question, just type it."),
        SmallTalk.BYE: "👋 " + _("Goodbye! Come back with any question about the vote."),
    }
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="📂 " + _("All topics"), callback_data=MenuCb(section="faq").pack()),
                back_to_menu(),
            ]
        ]
    )
    return Screen(texts[kind], markup)


def no_answer_screen(faq: FaqService, lang: Lang, now: datetime, desk: bool = False, wait: bool = False) -> Screen:
    """``wait``: the screen quotes a question about the campaign, and offers "🔔 Tell me when there is
    an answer"."""
    operates = faq.content.campaign.call_centre_operates(now)
    key = ("no-answer", lang, operates, desk, wait)
    return _cached(faq, key, lambda: _no_answer_screen(faq, lang, now, desk, wait))


def _no_answer_screen(faq: FaqService, lang: Lang, now: datetime, desk: bool, wait: bool) -> Screen:
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
    if wait:
        rows.append([tell_me_button()])
    if desk:
        rows.append([_ask_person("n")])
    return Screen(text, InlineKeyboardMarkup(inline_keyboard=rows))


NEIGHBOURS = 3


def neighbours(faq: FaqService, entry: FaqEntry, lang: Lang, question: str = "") -> list[FaqEntry]:
    """What to offer after 👎: first what the search finds for the resident's own words (``question``),
    then the questions nearest to ``entry`` (its question in ``lang``, then in the other languages);
    the entry itself left out."""
    found: list[FaqEntry] = []
    queries = [question] if question.strip() else []
    queries += [entry.text(code).q for code in (lang, *(code for code in LANGUAGES if code != lang))]
    for query in queries:
        for match in faq.understand(query).result.matches:
            near = faq.entry(match.id)
            if near is not None and near.id != entry.id and near not in found:
                found.append(near)
        if len(found) >= NEIGHBOURS:
            break
    return found[:NEIGHBOURS]


def not_helpful_screen(
    faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime, desk: bool = False, question: str = ""
) -> Screen:
    near = neighbours(faq, entry, lang, question)
    operates = faq.content.campaign.call_centre_operates(now)
    quoted = bool(question.strip())
    key = ("not-helpful", entry.id, tuple(other.id for other in near), lang, operates, desk, quoted)
    return _cached(faq, key, lambda: _not_helpful_screen(faq, near, lang, now, desk, quoted))


def _not_helpful_screen(
    faq: FaqService, near: list[FaqEntry], lang: Lang, now: datetime, desk: bool, quoted: bool
) -> Screen:
    """After 👎: rephrase, the nearest questions, and where an official answer is given."""
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
    if quoted:  # the screen quotes the resident's question: they may ask to be told of a better answer
        builder.row(tell_me_button())
    if desk:  # the operators see the nearby questions as what was suggested
        builder.row(_ask_person("s"))
    return Screen("\n".join(lines), builder.as_markup())


def verdict_label(verdict: Verdict) -> str:
    return {
        Verdict.FALSE: "❌ " + _("False"),
        Verdict.MISLEADING: "⚠️ " + _("Misleading"),
        Verdict.TRUE: "✅ " + _("True"),
        Verdict.UNVERIFIABLE: "❔ " + _("Cannot be verified"),
    }[verdict]


def rumour_text(faq: FaqService, rumour: Rumour, lang: Lang, now: datetime) -> str:
    """The verdict card: the claim, the verdict, the explanation for the moment and the sources."""
    text = rumour.text(lang)
    passed = faq.content.campaign.passed_ids(now)
    return (
        f"🔎 <b>{escape(text.claim)}</b>\n"
        + _("Verdict: {verdict}").format(verdict=verdict_label(rumour.verdict))
        + f"\n\n{with_facts(text.explanation_at(passed), faq.content.campaign, lang)}\n\n"
        + f"{sources_block(rumour.sources, lang, faq.content.campaign, now)}\n"
        + "🗓 "
        + _("Checked on {date}").format(date=fmt_date(rumour.reviewed, lang))
    )


def rumour_screen(
    faq: FaqService, rumour: Rumour, lang: Lang, now: datetime, person: InlineKeyboardButton | None
) -> Screen:
    rows = [[InlineKeyboardButton(text="📂 " + _("All topics"), callback_data=MenuCb(section="faq").pack())]]
    if person is not None:
        rows.insert(0, [person])
    return Screen(rumour_text(faq, rumour, lang, now), InlineKeyboardMarkup(inline_keyboard=rows))


class TelegramAnswerTexts:
    """The words of "there is now an answer to your question" (``AnswerLoop``'s ``AnswerTexts`` port),
    rendered outside an update in the resident's language."""

    def __init__(self, faq: FaqService, i18n: I18n) -> None:
        self.faq = faq
        self.i18n = i18n

    def answer_found(self, entry: FaqEntry, lang: Lang, now: datetime) -> str:
        with self.i18n.use_locale(lang):
            head = "🔔 " + _("You asked me a question I could not answer then. There is an answer now:")
            return head + "\n\n" + answer_text(self.faq, entry, lang, now)

    def rumour_checked(self, rumour: Rumour, lang: Lang, now: datetime) -> str:
        with self.i18n.use_locale(lang):
            head = "🔔 " + _("You sent me a rumour to check. It has been checked:")
            return head + "\n\n" + rumour_text(self.faq, rumour, lang, now)
