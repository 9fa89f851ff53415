"""No question left behind (issue 26): a resident whose question had no answer may ask to be told
when there is one ("🔔 Tell me when there is an answer"). Whenever the content changes (a reload, a
deploy), the waiting questions are searched again; those the FAQ now answers with confidence are
sent that entry (or, for a rumour sent for checking, its verdict once it is in ``rumours.yaml``), once,
through the delivery engine (paced, resumed after a crash, never to someone
who /stop-ped or erased their data: their rows are gone or no longer waiting).

The message names the entry's own question, never the resident's words: the queued broadcast keeps
no one's text. Consent and the question are kept within ``UNANSWERED_RETENTION_DAYS`` like every
unanswered question, and erased by /forget."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.config import LANGUAGES, Lang
from bot.content import Content, ContentStore, FaqEntry
from bot.content.models import Rumour
from bot.services.event_notices import Notices
from bot.services.faq import RUMOUR, FaqService
from bot.storage.base import QuestionsStorage
from bot.storage.broadcasts import BroadcastMessage, MessageKind

log = logging.getLogger(__name__)


class AnswerTexts(Protocol):
    """The words of "there is now an answer to your question" and "the rumour you sent is checked
    now" (the handler side, in ``lang``)."""

    def answer_found(self, entry: FaqEntry, lang: Lang, now: datetime) -> str: ...

    def rumour_checked(self, rumour: Rumour, lang: Lang, now: datetime) -> str: ...


class AnswerLoop:
    def __init__(
        self,
        storage: QuestionsStorage,
        faq: FaqService,
        content: ContentStore,
        notices: Notices,
        texts: AnswerTexts,
        clock: Clock,
        *,
        default_language: Lang,
    ) -> None:
        self.default_language = default_language
        self.storage = storage
        self.faq = faq
        self.content = content
        self.notices = notices
        self.texts = texts
        self.clock = clock
        self._checked: Content | None = None  # the content the waiting questions were last searched in

    async def want_answer(self, user_id: int, lang: Lang, question: str) -> bool:
        """Keep ``question`` (if it is not kept already) with the resident's consent to be told.
        False when it could not be kept (the person's daily cap of kept questions)."""
        await self.storage.record_unanswered(user_id, lang, question, self.clock.now())
        return await self.storage.want_answer(user_id, question)

    async def tick(self, now: datetime | None = None) -> int:
        """Search the waiting questions again when the content changed since the last look (and at
        the first tick after a start): what the FAQ answers now is queued. Returns how many
        residents were queued an answer."""
        content = self.content.current
        if content is self._checked:
            return 0
        queued = await self.tell()
        self._checked = content
        return queued

    async def tell(self) -> int:
        waiting = await self.storage.waiting_questions()
        groups: dict[tuple[str, Lang], list[tuple[int, int]]] = defaultdict(list)
        rumours: dict[str, Rumour] = {}
        for question in waiting:
            understood = self.faq.understand(question.text)
            result = understood.result
            lang = next((code for code in LANGUAGES if code == question.language), self.default_language)
            if understood.rumour is not None:  # a rumour sent for checking is in rumours.yaml now
                rumours[understood.rumour.id] = understood.rumour
                groups[(RUMOUR + understood.rumour.id, lang)].append((question.id, question.user_id))
                continue
            if result.decision != "answer" or result.best is None or self.faq.entry(result.best.id) is None:
                continue
            groups[(result.best.id, lang)].append((question.id, question.user_id))
        now = self.clock.now()
        told = 0
        for (entry_id, lang), rows in groups.items():
            entry = self.faq.entry(entry_id)
            rumour = rumours.get(entry_id.removeprefix(RUMOUR))
            if entry is not None:
                text = self.texts.answer_found(entry, lang, now)
            elif rumour is not None:
                text = self.texts.rumour_checked(rumour, lang, now)
            else:
                continue
            ids = sorted(row_id for row_id, _ in rows)
            # the same questions always make the same key: a crash between queueing and marking
            # them answered queues nothing twice
            digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
            message = BroadcastMessage(kind=MessageKind.TEXT, text=text)
            recipients = sorted({user for _, user in rows})
            await self.notices.create_notice(
                message,
                recipients,
                key=f"answer:{entry_id}:{lang}:{digest}",
                label=f"answer:{entry_id}",
                created_by=None,
            )
            await self.storage.mark_answered(ids, entry_id, now)
            told += len(recipients)
        if told:
            log.info("answers queued to %d resident(s) who asked to be told", told)
        return told
