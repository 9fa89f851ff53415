"""The admins' FAQ commands: ``/unanswered`` (with the operators' drafts) and ``/faq_reload``."""

from __future__ import annotations

import logging

from aiogram.types import Message

from bot.config import Lang
from bot.content import ContentError, ContentStore
from bot.i18n import _
from bot.services.answer_loop import AnswerLoop
from bot.services.audit import AuditLog
from bot.services.faq import FaqService
from bot.services.questions import QuestionLog
from bot.storage.base_desk import FaqDraft
from bot.telegram_text import escape, split_html, truncate_plain

log = logging.getLogger(__name__)


UNANSWERED_DAYS = 14


DRAFTS_SHOWN = 10


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


async def on_unanswered(message: Message, questions: QuestionLog, audit: AuditLog, lang: Lang, faq: FaqService) -> None:
    if message.from_user is not None:
        await audit.record(message.from_user.id, "unanswered.view")
    rows = await questions.clusters(UNANSWERED_DAYS, faq.index, limit=30)  # grouped by meaning
    drafts = draft_lines(await questions.drafts(DRAFTS_SHOWN))
    if not rows and not drafts:
        await message.answer(_("No unanswered questions in the last {days} days.").format(days=UNANSWERED_DAYS))
        return
    lines = [
        "📭 <b>" + _("Unanswered questions, last {days} days").format(days=UNANSWERED_DAYS) + "</b>",
        "👥 " + _("= how many people asked (each person counts once); questions that mean the same are one line"),
    ]
    for number, row in enumerate(rows, start=1):
        more = " · " + _("{n} wordings").format(n=row.wordings) if row.wordings > 1 else ""
        lines.append(
            f"{number}. {escape(truncate_plain(row.wording, 200))} — 👥 <b>{row.people}</b>"
            f" · {', '.join(row.languages)}{more}"
        )
    lines += drafts
    for chunk in split_html("\n".join(lines)):
        await message.answer(chunk)


async def on_reload(
    message: Message, content: ContentStore, faq: FaqService, audit: AuditLog, answers: AnswerLoop | None = None
) -> None:
    admin = message.from_user.id if message.from_user else 0
    try:
        fresh = await content.reload_in_thread()  # parsing off the event loop
    except ContentError as error:
        await audit.record(admin, "faq_reload", f"refused: {len(error.problems)} problem(s)")
        problems = "\n".join(f"• {escape(p)}" for p in error.problems[:10])
        more = len(error.problems) - 10
        text = "⛔️ " + _("The content was not reloaded; the previous version stays live.") + f"\n\n{problems}"
        if more > 0:
            text += "\n" + _("…and {n} more.").format(n=more)
        for chunk in split_html(text):
            await message.answer(chunk)
        return
    log.info("content reloaded by %s", admin)
    if answers is not None:  # residents waiting for an answer the new content gives: queued now
        await answers.tick()
    await audit.record(admin, "faq_reload", f"ok: {len(fresh.faq.entries)} questions")
    await message.answer(
        "✅ "
        + _("Content reloaded: {n} questions in {c} topics.").format(n=len(fresh.faq.entries), c=len(faq.categories()))
    )
