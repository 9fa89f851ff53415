"""CallbackData factories: the only way buttons carry data (packed within Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="m"):
    section: str  # home, faq, events, reminders, language


class LangCb(CallbackData, prefix="lang"):
    code: str


class FaqCategoryCb(CallbackData, prefix="fc"):
    category: str
    page: int = 0


class FaqEntryCb(CallbackData, prefix="fe"):
    entry: str
    back: str = ""  # category to return to, "" for search results


class FaqVoteCb(CallbackData, prefix="fv"):
    entry: str
    helpful: bool


class FaqNoneCb(CallbackData, prefix="fn"):
    """ "None of these" under the suggestions for a question."""


class FaqWaitCb(CallbackData, prefix="fw"):
    """ "🔔 Tell me when there is an answer": the question is the one the screen quotes."""


class DeskCb(CallbackData, prefix="dk"):
    """The operators' desk, resident side (bot.handlers.desk)."""

    action: str  # ask, rumour, done, person (ask about a rumour the FAQ answered)
    ctx: str = ""  # ask: "n" (after no answer), "s" (after suggestions); person: the rumour's message id


class DeskRateCb(CallbackData, prefix="dr"):
    ticket: int
    good: bool
