"""The FAQ as the bot uses it: search, browsing by category, answers for the moment."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from bot.config import LANGUAGES, Lang
from bot.content import Content, ContentStore, FaqCategory, FaqEntry
from bot.content.models import Rumour
from bot.services.faq_search import Document, FaqIndex, SearchResult, searched_text
from bot.services.smalltalk import SmallTalk, read

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")  # facts held once in campaign.yaml, filled when an answer is shown
RUMOUR = "rumour:"  # the search's id of a checked rumour (rumours.yaml)
CACHE_SIZE = 10_000  # search results kept (least recently used dropped first)
CACHE_CHARACTERS = 1_000_000  # and at most this many characters of keys (a few MiB)


# The index of a Content, kept while that Content is in use: contents are immutable and shared (see
# ``load_content``), so apps built from the same files share one index (built once, about 1 s).
_INDEXES: dict[int, tuple[Content, FaqIndex]] = {}


def index_for(content: Content) -> FaqIndex:
    found = _INDEXES.get(id(content))
    if found is not None and found[0] is content:
        return found[1]
    index = build_index(content)
    if len(_INDEXES) >= 4:
        _INDEXES.clear()
    _INDEXES[id(content)] = (content, index)
    return index


def build_index(content: Content) -> FaqIndex:
    documents = []
    for entry in content.faq.entries:
        phrasings: list[str] = []
        keywords: list[str] = []
        answers: list[str] = []
        for lang in LANGUAGES:
            text = entry.text(lang)
            phrasings.append(text.q)
            phrasings.extend(text.alt)
            keywords.extend(text.keywords)
            answers.extend(_PLACEHOLDER.sub(" ", answer) for answer in text.answers())  # {call_centre}: not words
        documents.append(Document(entry.id, phrasings, keywords, answers))
    for rumour in content.rumours:  # checked rumours are found by the same search, as "rumour:<id>"
        claims: list[str] = []
        for lang in LANGUAGES:
            claims.append(rumour.text(lang).claim)
            claims.extend(rumour.text(lang).alt)
        documents.append(Document(RUMOUR + rumour.id, claims))
    off_topic = content.faq.off_topic
    return FaqIndex(documents, negatives=[*off_topic.kk, *off_topic.ru, *off_topic.en])


@dataclass(frozen=True)
class Understanding:
    """What the bot makes of a resident's message: small talk of a kind, or a question with what the
    FAQ search found for it (the question read without its greetings and fillers)."""

    smalltalk: SmallTalk | None
    result: SearchResult  # FAQ entries only
    rumour: Rumour | None = None  # a checked rumour the message repeats

    @property
    def decision(self) -> str:
        if self.smalltalk is not None:
            return "smalltalk"
        return "rumour" if self.rumour is not None else self.result.decision


_NOTHING = SearchResult("fallback", [])


class FaqService:
    """Rebuilt whenever the content is reloaded (``/faq_reload``)."""

    def __init__(self, store: ContentStore) -> None:
        self._store = store
        self._index = index_for(store.current)
        # Residents ask the same questions again and again: results and rendered answers are kept
        # until the content changes (bounded; cleared on reload). Results are keyed by the text the
        # search actually reads (the first 500 characters, normalized), never the whole message.
        self._results: OrderedDict[tuple[str, int], SearchResult] = OrderedDict()
        self._cached_characters = 0
        self.rendered: dict[tuple[object, ...], object] = {}
        self._rumours = {rumour.id: rumour for rumour in store.current.rumours}
        store.subscribe(self._rebuild)

    def _rebuild(self, content: Content) -> None:
        self._index = index_for(content)
        self._rumours = {rumour.id: rumour for rumour in content.rumours}
        self._results.clear()
        self._cached_characters = 0
        self.rendered.clear()

    @property
    def index(self) -> FaqIndex:
        return self._index

    @property
    def content(self) -> Content:
        return self._store.current

    def search(self, query: str, limit: int = 5) -> SearchResult:
        text = searched_text(query)
        key = (text, limit)
        result = self._results.get(key)
        if result is not None:
            self._results.move_to_end(key)
            return result
        result = self._index.search(text, limit)
        self._results[key] = result
        self._cached_characters += len(text)
        while self._results and (len(self._results) > CACHE_SIZE or self._cached_characters > CACHE_CHARACTERS):
            (old, _), _ = self._results.popitem(last=False)
            self._cached_characters -= len(old)
        return result

    def understand(self, text: str) -> Understanding:
        """Small talk, or the search of the question (the one place the bot reads a resident's words:
        free text, /rumour, 👎, the evaluation)."""
        reading = read(text)
        if reading.kind is not None:
            return Understanding(reading.kind, _NOTHING)
        result = self.search(reading.question)
        best = result.best
        if best is not None and best.id.startswith(RUMOUR):
            rumour = self._rumours.get(best.id.removeprefix(RUMOUR))
            if result.decision == "answer" and rumour is not None:
                return Understanding(None, _NOTHING, rumour)
        if any(match.id.startswith(RUMOUR) for match in result.matches):
            entries = [match for match in result.matches if not match.id.startswith(RUMOUR)]
            decision = result.decision if entries else "fallback"
            result = SearchResult(decision, entries, result.off_topic)
        return Understanding(None, result)

    def entry(self, entry_id: str) -> FaqEntry | None:
        return self.content.faq_by_id.get(entry_id)

    def categories(self) -> list[FaqCategory]:
        used = {entry.category for entry in self.content.faq.entries}
        return [category for category in self.content.faq.categories if category.id in used]

    def category(self, category_id: str) -> FaqCategory | None:
        return next((c for c in self.content.faq.categories if c.id == category_id), None)

    def entries_in(self, category_id: str) -> list[FaqEntry]:
        return [entry for entry in self.content.faq.entries if entry.category == category_id]

    def answer(self, entry: FaqEntry, lang: Lang, now: datetime) -> str:
        return entry.text(lang).answer(self.content.campaign.passed_ids(now))
