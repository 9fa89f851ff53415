"""Questions and answers: browse by category, free-text search, inline mode, deep links, feedback,
and the admins' /unanswered and /faq_reload.

The routers are here; ``screens.py`` builds the screens (cached per content version), ``residents.py``
holds the residents' handlers, ``admin.py`` the admins' commands."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart, StateFilter

from bot.handlers.faq.admin import on_reload, on_unanswered
from bot.handlers.faq.residents import (
    on_categories,
    on_category,
    on_deep_link,
    on_entry,
    on_forwarded,
    on_free_text,
    on_inline,
    on_none_of_these,
    on_questions,
    on_tell_me,
    on_vote,
)
from bot.handlers.faq.screens import answer_screen, answer_text, no_answer_screen, suggestions_screen
from bot.telegram.callbacks import FaqCategoryCb, FaqEntryCb, FaqNoneCb, FaqVoteCb, FaqWaitCb, MenuCb
from bot.telegram.filters import IsAdmin, Magic

PRIVATE_FREE_TEXT = (F.chat.type == ChatType.PRIVATE) & F.text & ~F.text.startswith("/") & ~F.forward_origin
# A message forwarded from a channel or a person is a rumour check without /rumour: with the desk on,
# its router takes it (the /rumour flow); otherwise the FAQ checks it here.
PRIVATE_FORWARD = (F.chat.type == ChatType.PRIVATE) & F.forward_origin & (F.text | F.caption)


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
    r.message.register(on_forwarded, Magic(PRIVATE_FORWARD))
    r.message.register(on_deep_link, CommandStart(deep_link=True, magic=F.args.startswith("faq-")), private)
    r.message.register(on_questions, Command("questions"), private)
    r.message.register(on_unanswered, Command("unanswered"), IsAdmin())
    r.message.register(on_reload, Command("faq_reload"), IsAdmin())
    r.callback_query.register(on_categories, MenuCb.filter(F.section == "faq"))
    r.callback_query.register(on_category, FaqCategoryCb.filter())
    r.callback_query.register(on_entry, FaqEntryCb.filter())
    r.callback_query.register(on_vote, FaqVoteCb.filter())
    r.callback_query.register(on_none_of_these, FaqNoneCb.filter())
    r.callback_query.register(on_tell_me, FaqWaitCb.filter())
    r.inline_query.register(on_inline)
    return r


__all__ = [
    "answer_screen",
    "answer_text",
    "free_text_router",
    "no_answer_screen",
    "router",
    "suggestions_screen",
]
