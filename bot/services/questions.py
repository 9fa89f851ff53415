"""What residents tell the bot about its answers: "helpful / not helpful" on an FAQ answer, and the
questions it could not answer (kept ``UNANSWERED_RETENTION_DAYS``, at most a few a day per person:
see ``Storage.record_unanswered``), read back by the admins' /unanswered with the operators'
answer drafts."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.config import Lang
from bot.storage import Storage
from bot.storage.base import UnansweredRow
from bot.storage.base_desk import FaqDraft


class QuestionLog:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock

    async def feedback(self, user_id: int, entry_id: str, helpful: bool) -> None:
        """One vote per resident and answer: a second press replaces the first."""
        await self.storage.record_feedback(user_id, entry_id, helpful, self.clock.now())

    async def unanswered(self, user_id: int, language: Lang, text: str) -> bool:
        """Keep a question the bot had no answer for; False when it was left out (a repeat, or over
        the person's daily cap)."""
        return await self.storage.record_unanswered(user_id, language, text, self.clock.now())

    async def top_unanswered(self, days: int, limit: int) -> list[UnansweredRow]:
        """The questions asked by the most people in the last ``days`` days."""
        return await self.storage.top_unanswered(self.clock.now() - timedelta(days=days), limit=limit)

    async def drafts(self, limit: int) -> list[FaqDraft]:
        """The operators' latest answer drafts, for the editors (not published)."""
        return await self.storage.faq_drafts(limit)
