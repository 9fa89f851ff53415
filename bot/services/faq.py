"""The FAQ as the bot uses it: search, browsing by category, answers for the moment."""

from __future__ import annotations

from datetime import datetime

from bot.config import LANGUAGES, Lang
from bot.content import Content, ContentStore, FaqCategory, FaqEntry
from bot.services.faq_search import Document, FaqIndex, SearchResult

CACHE_SIZE = 20_000


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
            answers.extend(text.answers())
        documents.append(Document(entry.id, phrasings, keywords, answers))
    off_topic = content.faq.off_topic
    return FaqIndex(documents, negatives=[*off_topic.kk, *off_topic.ru, *off_topic.en])


class FaqService:
    """Rebuilt whenever the content is reloaded (``/faq_reload``)."""

    def __init__(self, store: ContentStore) -> None:
        self._store = store
        self._index = index_for(store.current)
        # Residents ask the same questions again and again: results and rendered answers are kept
        # until the content changes (bounded; cleared on reload).
        self._results: dict[tuple[str, int], SearchResult] = {}
        self.rendered: dict[tuple[object, ...], object] = {}
        store.subscribe(self._rebuild)

    def _rebuild(self, content: Content) -> None:
        self._index = index_for(content)
        self._results.clear()
        self.rendered.clear()

    @property
    def content(self) -> Content:
        return self._store.current

    def search(self, query: str, limit: int = 5) -> SearchResult:
        key = (query, limit)
        result = self._results.get(key)
        if result is None:
            result = self._index.search(query, limit)
            if len(self._results) >= CACHE_SIZE:
                self._results.clear()
            self._results[key] = result
        return result

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
