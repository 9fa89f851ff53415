"""FAQ feedback and unanswered questions."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import BigInteger, Integer, Text, and_, bindparam, exists, func, select, update

from bot.storage.base import AnswerLoopCounts, FeedbackCounts, UnansweredQuestion, UnansweredRow, WaitingQuestion
from bot.storage.schema import faq_feedback, unanswered
from bot.storage.sql.core import SqlCore
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

UNANSWERED_DAILY_CAP = 20  # unanswered questions stored per person in any 24 hours


def normalize_question(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.casefold())).strip()[:300]


class QuestionQueries(SqlCore):
    """Answers rated helpful or not, and the questions the bot could not answer."""

    def _prepare(self) -> None:
        super()._prepare()
        recent = and_(unanswered.c.user_id == bindparam("p_user"), unanswered.c.at > bindparam("p_day_ago"))
        self._record_unanswered = unanswered.insert().from_select(
            ["user_id", "language", "text", "normalized", "at"],
            select(
                bindparam("p_user", type_=BigInteger),
                bindparam("p_language", type_=Text),
                bindparam("p_text", type_=Text),
                bindparam("p_normalized", type_=Text),
                bindparam("p_at", type_=BigInteger),
            ).where(
                select(func.count()).select_from(unanswered).where(recent).scalar_subquery()
                < bindparam("p_cap", type_=Integer),
                ~exists().where(recent, unanswered.c.normalized == bindparam("p_normalized")),
            ),
        )
        feedback = self._insert(faq_feedback).values(
            user_id=bindparam("p_user"),
            entry_id=bindparam("p_entry"),
            helpful=bindparam("p_helpful"),
            at=bindparam("p_at"),
        )
        self._feedback = feedback.on_conflict_do_update(
            index_elements=[faq_feedback.c.user_id, faq_feedback.c.entry_id],
            set_={"helpful": feedback.excluded.helpful, "at": feedback.excluded.at},
        )

    # questions --------------------------------------------------------------------------
    async def record_feedback(self, user_id: int, entry_id: str, helpful: bool, now: datetime) -> None:
        await self._run(
            self._feedback, {"p_user": user_id, "p_entry": entry_id, "p_helpful": int(helpful), "p_at": _ts(now)}
        )

    async def feedback_counts(self, entry_id: str) -> FeedbackCounts:
        row = await self._one(
            select(func.coalesce(func.sum(faq_feedback.c.helpful), 0), func.count()).where(
                faq_feedback.c.entry_id == entry_id
            )
        )
        helpful, total = (int(row[0]), int(row[1])) if row else (0, 0)
        return FeedbackCounts(helpful=helpful, unhelpful=total - helpful)

    async def record_unanswered(
        self, user_id: int, language: str, text: str, now: datetime, *, daily_cap: int = UNANSWERED_DAILY_CAP
    ) -> bool:
        """Store a question the bot could not answer, unless this person already asked the same
        (normalized) question in the last 24 hours or stored ``daily_cap`` questions in them: one
        person repeating a line, or flooding, stores little. True when stored."""
        params = {
            "p_user": user_id,
            "p_language": language,
            "p_text": text[:1000],
            "p_normalized": normalize_question(text),
            "p_at": _ts(now),
            "p_day_ago": _ts(now) - 86_400,
            "p_cap": daily_cap,
        }
        return await self._count(self._record_unanswered, params) > 0

    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredRow]:
        """The most asked unanswered questions since ``since``, counted in people (distinct users)."""
        people, last = func.count(unanswered.c.user_id.distinct()), func.max(unanswered.c.at)
        rows = await self._all(
            select(func.min(unanswered.c.text), people, last)
            .where(unanswered.c.at >= _ts(since))
            .group_by(unanswered.c.normalized)
            .order_by(people.desc(), last.desc())
            .limit(limit)
        )
        return [UnansweredRow(text=str(text), count=int(n), last_asked=_dt(at)) for text, n, at in rows]

    # "tell me when there is an answer" (issue 26) ---------------------------------------------
    async def want_answer(self, user_id: int, text: str) -> bool:
        """The resident's consent to be told once when ``text`` (one of their unanswered questions,
        kept within the retention) gets an answer. False when no such question is kept."""
        u = unanswered.c
        return (
            await self._count(
                update(unanswered)
                .where(u.user_id == user_id, u.normalized == normalize_question(text), u.answered_at.is_(None))
                .values(wants_answer=1)
            )
            > 0
        )

    async def waiting_questions(self) -> list[WaitingQuestion]:
        """Questions whose askers want to be told, not told yet, oldest first."""
        u = unanswered.c
        rows = await self._all(
            select(u.id, u.user_id, u.language, u.text)
            .where(u.wants_answer == 1, u.answered_at.is_(None))
            .order_by(u.id)
        )
        return [WaitingQuestion(int(i), int(user), str(lang), str(text)) for i, user, lang, text in rows]

    async def mark_answered(self, ids: list[int], entry_id: str, now: datetime) -> int:
        """The questions ``ids`` were answered with ``entry_id`` (queued to their askers): never again."""
        if not ids:
            return 0
        u = unanswered.c
        return await self._count(
            update(unanswered)
            .where(u.id.in_(ids), u.answered_at.is_(None))
            .values(answered_entry=entry_id, answered_at=_ts(now))
        )

    async def unanswered_since(self, since: datetime, limit: int) -> list[UnansweredQuestion]:
        """The newest ``limit`` unanswered questions since ``since`` (for grouping by meaning)."""
        u = unanswered.c
        rows = await self._all(
            select(u.text, u.user_id, u.language).where(u.at >= _ts(since)).order_by(u.id.desc()).limit(limit)
        )
        return [UnansweredQuestion(str(text), int(user), str(lang)) for text, user, lang in rows]

    async def answer_loop_counts(self) -> AnswerLoopCounts:
        """Questions whose askers wait to be told of an answer, those told, and how long they waited
        (median, over the newest 10,000 told) — within the retention, like every unanswered row."""
        u = unanswered.c
        waiting = await self._one(
            select(func.count()).where(u.wants_answer == 1, u.answered_at.is_(None)).select_from(unanswered)
        )
        waits = await self._all(
            select(u.answered_at - u.at).where(u.answered_at.is_not(None)).order_by(u.id.desc()).limit(10_000)
        )
        seconds = sorted(int(row[0]) for row in waits)
        median = seconds[len(seconds) // 2] if seconds else None
        return AnswerLoopCounts(waiting=int(waiting[0]) if waiting else 0, told=len(seconds), median_seconds=median)
