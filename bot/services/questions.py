"""What residents tell the bot about its answers: "helpful / not helpful" on an FAQ answer, and the
questions it could not answer (kept ``UNANSWERED_RETENTION_DAYS``, at most a few a day per person:
see ``QuestionsStorage.record_unanswered``), read back by the admins' /unanswered with the operators'
answer drafts."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.config import Lang
from bot.services.faq_search import FaqIndex, features
from bot.storage.base import AnswerLoopCounts, QuestionsStorage, UnansweredQuestion, UnansweredRow
from bot.storage.base_desk import FaqDraft
from bot.storage.sql import normalize_question

OUTCOMES = ("answer", "suggest", "fallback", "smalltalk", "rumour")
CLUSTERED = 500  # the newest unanswered questions grouped by meaning (pairwise: kept small)
SAME_MEANING = 0.5  # cosine of two questions' search keys (IDF-weighted) to be one group


@dataclass(frozen=True)
class Cluster:
    """Unanswered questions that mean the same, for /unanswered: how many people asked, the
    commonest wording, the languages."""

    wording: str
    people: int
    languages: list[str]
    wordings: int


def group_by_meaning(questions: list[UnansweredQuestion], index: FaqIndex) -> list[Cluster]:
    """Questions grouped by the FAQ search's own similarity (single link: a question joins the group
    of its nearest earlier question when the cosine of their IDF-weighted keys reaches
    ``SAME_MEANING``), most people first."""
    vectors: list[dict[str, float]] = []
    groups: list[list[int]] = []
    member_of: list[int] = []
    for question in questions:
        bag = features(question.text)
        vector = {key: weight * index.idf(key) for key, weight in bag.items()}
        norm = math.sqrt(sum(x * x for x in vector.values())) or 1.0
        vector = {key: value / norm for key, value in vector.items()}
        best, best_sim = -1, SAME_MEANING
        for other, other_vector in enumerate(vectors):
            sim = sum(value * other_vector.get(key, 0.0) for key, value in vector.items())
            if sim >= best_sim:
                best, best_sim = other, sim
        vectors.append(vector)
        if best < 0:
            member_of.append(len(groups))
            groups.append([len(vectors) - 1])
        else:
            member_of.append(member_of[best])
            groups[member_of[best]].append(len(vectors) - 1)
    clusters = []
    for members in groups:
        asked = [questions[i] for i in members]
        wording = Counter(normalize_question(q.text) for q in asked).most_common(1)[0][0]
        shown = next(q.text for q in asked if normalize_question(q.text) == wording)
        clusters.append(
            Cluster(
                wording=shown,
                people=len({q.user_id for q in asked}),
                languages=sorted({q.language for q in asked}),
                wordings=len({normalize_question(q.text) for q in asked}),
            )
        )
    return sorted(clusters, key=lambda c: (-c.people, c.wording))


class QuestionLogStorage(QuestionsStorage, Protocol):
    """What the question log reads and writes: its own area, and the operators' answer drafts."""

    async def faq_drafts(self, limit: int) -> list[FaqDraft]: ...


class QuestionLog:
    def __init__(self, storage: QuestionLogStorage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock
        # what the bot made of residents' messages since the process started (counters only):
        # answer, suggest, fallback, smalltalk, rumour
        self.asked: Counter[str] = Counter({outcome: 0 for outcome in OUTCOMES})

    def count(self, outcome: str) -> None:
        self.asked[outcome] += 1

    async def loop(self) -> AnswerLoopCounts:
        return await self.storage.answer_loop_counts()

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

    async def clusters(self, days: int, index: FaqIndex, limit: int) -> list[Cluster]:
        """The last ``days`` days' unanswered questions grouped by meaning, most people first."""
        since = self.clock.now() - timedelta(days=days)
        return group_by_meaning(await self.storage.unanswered_since(since, CLUSTERED), index)[:limit]

    async def drafts(self, limit: int) -> list[FaqDraft]:
        """The operators' latest answer drafts, for the editors (not published)."""
        return await self.storage.faq_drafts(limit)
