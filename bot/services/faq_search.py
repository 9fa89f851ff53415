"""FAQ search: finds the entry a resident means, whatever language, script, layout or typos.

No Telegram here. The index is language-agnostic: each entry's questions, alternative phrasings
and answers in kk, ru and en feed one bag of keys, so a question typed in one language finds the
entry and the bot answers in the user's language.

Keys of a word (after case folding, ё→е and folding the Kazakh letters ә ғ қ ң ө ұ ү һ і to their
nearest Russian ones, so Kazakh typed on a Russian keyboard matches):
  * ``s:<stem[:6]>`` — Snowball stem (Russian or English), cut to 6 letters so Kazakh suffixes fold;
  * ``p:<word[:5]>`` — the first five letters (morphology the stemmer does not know).
A query word that is not in the vocabulary is corrected to its closest vocabulary word (rapidfuzz)
when they are similar enough. A query is also tried as typed on the wrong keyboard layout and
transliterated from Latin letters; the best reading wins.

Score of an entry = how much of the query's information (IDF-weighted words) it explains, in 0..1.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz, process

Decision = Literal["answer", "suggest", "fallback"]

_KK_FOLD = str.maketrans("әғқңөұүһіё", "агкноууxие".replace("x", "х"))
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_LATIN_RE = re.compile(r"[a-z]")
_CYRILLIC_RE = re.compile(r"[а-я]")

# Russian typed with the English layout ("rjulf" -> "когда") and the reverse.
_EN = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_RU = "йцукенгшщзхъфывапролджэячсмитьбюё"
_EN_TO_RU = str.maketrans(_EN, _RU)

_TRANSLIT = [
    ("shch", "щ"), ("sch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ya", "я"),
    ("yu", "ю"), ("yo", "е"), ("ye", "е"), ("ia", "я"), ("iu", "ю"), ("gh", "г"),
    ("ay", "ай"), ("oy", "ой"), ("ey", "ей"), ("iy", "ий"), ("uy", "уй"), ("yy", "ый"),
    ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"), ("i", "и"),
    ("j", "ж"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"),
    ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "у"), ("x", "кс"), ("y", "ы"), ("z", "з"),
]  # fmt: skip
_TRANSLIT_RE = re.compile("|".join(re.escape(latin) for latin, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)

_STOP_TEXT = """
и в во на с со к ко по из у о об от а но ли же бы то это я мы вы ты он она они мне меня мой моя мои вас нам
нас ну вот там тут или да нет бол мен сен ол біз сіз олар және бен пен ма ме ба бе па пе ше ғой
ғана де та the a an is are am be to of in on at for and or i me my we you it this that do does did was were
"""
# Conversation around a question: asides, hedges, fillers and interjections in the three languages.
# They carry nothing the FAQ could match, and as unknown words they would dilute the question.
_CHATTER_TEXT = """
ок окей ok okay okey lol lmm hmm hm um uh oh ah hey hi hello yo pls plz please so just like really actually
basically honestly literally kinda sorta also too very much well anyway btw bro sis guys thx thanks ty idk
tbh imo ya yeah yep nope sure k its im ive id would could shall might let lets got gonna wanna gotta очень
прям прямо просто вообще ваще короче блин типа кстати вроде вдруг ладно хорошо ой ах эх слушай слушайте
честно правда реально конечно пожалуйста подскажите подскажи скажите скажи здравствуйте привет спасибо
извините простите надо нужно хочу хотел хотела знаю знать понять понимаю понял поняла пж пжл плиз чтобы чтоб
если тоже также ребят ребята бро енді ау әй рахмет сәлем өтінемін айтыңызшы айтшы білмеймін білгім келеді
говорят слышал слышала слыхал heard естідім дейді
"""

# Chat shorthand, read as the words it stands for before anything else.
SHORTHAND = {
    "u": "you", "ur": "your", "r": "are", "ppl": "people", "abt": "about", "whn": "when", "wen": "when",
    "wat": "what", "wut": "what", "wht": "what", "rn": "now", "tmrw": "tomorrow", "tmr": "tomorrow",
    "b4": "before", "cuz": "because", "coz": "because", "bc": "because", "pls": "please", "w": "with",
    "govt": "government", "gov": "government", "info": "information", "yrs": "years",
    "щас": "сейчас", "щаз": "сейчас", "ща": "сейчас", "скока": "сколько", "скоко": "сколько",
    "сколко": "сколько", "чё": "что", "че": "что", "шо": "что", "чо": "что", "ниче": "ничего",
    "инфа": "информация", "инфу": "информацию", "тыщ": "тысяч", "прописка": "регистрация",
    "прописке": "регистрации", "прописки": "регистрации", "прописан": "зарегистрирован",
    "прописана": "зарегистрирована", "propiska": "registration", "комп": "компьютер",
}  # fmt: skip

_ru_stemmer = snowballstemmer.stemmer("russian")
_en_stemmer = snowballstemmer.stemmer("english")

STEM_WEIGHT = 1.0
PREFIX_WEIGHT = 0.5
PHRASE_WEIGHT = 1.0  # questions and alternative phrasings
KEYWORD_WEIGHT = 1.0
ANSWER_WEIGHT = 0.4  # a word found only in an answer counts for less than one in a question
COSINE_SHARE = 0.5  # score = COSINE_SHARE * best phrasing cosine + the rest * query coverage
COMMON_KEY_SHARE = 0.08  # keys in more than this share of phrasings are too common to rank by
FUZZY_CUTOFF = 78.0
CORRECTION_CACHE = 50_000
MAX_QUERY = 500  # characters of a message that are searched
MAX_WORD = 64  # longer "words" are cut: no vocabulary word is that long, and caches stay small
COVERAGE_CANDIDATES = 15  # entries whose coverage is computed (by best phrasing): fewer changes no dev result
MAX_POSTINGS = 3000
READING_DISCOUNT = 0.9


def fold(text: str) -> str:
    return text.casefold().translate(_KK_FOLD)


STOP_WORDS = frozenset(fold(word) for word in (_STOP_TEXT + _CHATTER_TEXT).split())


def searched_text(query: str) -> str:
    """The part of ``query`` the search reads, normalized: its first ``MAX_QUERY`` characters,
    folded, runs of white space made one space. ``FaqIndex.search`` gives the same result for a query
    and for its searched text, so this is the key of a result cache."""
    return " ".join(fold(query[:MAX_QUERY]).split())


def words(text: str) -> list[str]:
    return _WORD_RE.findall(fold(text))


def phrasing_key(text: str) -> frozenset[str]:
    """A phrasing's words as the exact-match rule compares them: folded, shorthand read, stop words
    left out, in any order."""
    return frozenset(SHORTHAND.get(word, word) for word in words(text) if word not in STOP_WORDS) - STOP_WORDS


@lru_cache(maxsize=65536)
def word_keys(word: str) -> tuple[str, str]:
    if _CYRILLIC_RE.search(word):
        stem = _ru_stemmer.stemWord(word)
    elif _LATIN_RE.search(word):
        stem = _en_stemmer.stemWord(word)
    else:
        stem = word
    return "s:" + stem[:6], "p:" + word[:5]


def features(text: str) -> dict[str, float]:
    """Keys of the text's words with their weights (a bag: each key counted once)."""
    out: dict[str, float] = {}
    for word in words(_strip_tags(text)):
        if word in STOP_WORDS:
            continue
        stem_key, prefix_key = word_keys(word)
        out[stem_key] = STEM_WEIGHT
        out.setdefault(prefix_key, PREFIX_WEIGHT)
    return out


def transliterate(text: str) -> str:
    return _TRANSLIT_RE.sub(lambda match: _TRANSLIT_MAP[match.group(0)], text)


def readings(query: str) -> list[str]:
    """The query as typed, plus wrong-layout and Latin-transliterated readings when plausible."""
    folded = fold(query)
    out = [folded]
    if _LATIN_RE.search(folded):
        out.append(folded.translate(_EN_TO_RU))
        out.append(transliterate(folded))
    return out


@dataclass(frozen=True)
class Match:
    id: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    decision: Decision
    matches: list[Match]
    off_topic: float = 0.0  # how close the out-of-scope examples came

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def off_topic_like(self) -> bool:
        """Nothing of the campaign in it: no entry matched, or the out-of-scope examples came as close."""
        return not self.matches or self.off_topic >= self.matches[0].score - THRESHOLDS.off_topic_margin

    def to_json(self) -> dict[str, object]:
        return {"decision": self.decision, "matches": [{"id": m.id, "score": round(m.score, 3)} for m in self.matches]}


@dataclass(frozen=True)
class Document:
    """One entry as the search sees it: its id and its texts in every language."""

    id: str
    phrasings: list[str]  # questions and alternative phrasings, all languages
    keywords: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)


OFF_TOPIC = "\x00off-topic"  # the pseudo-entry of out-of-scope examples


class FaqIndex:
    """``negatives``: out-of-scope examples; a question closest to them is not answered."""

    def __init__(self, documents: Iterable[Document], negatives: Iterable[str] = ()) -> None:
        documents = [*documents, Document(OFF_TOPIC, list(negatives))]
        self.ids: list[str] = []
        phrases: list[tuple[int, float, dict[str, float]]] = []
        vocabulary: set[str] = set()
        for entry, document in enumerate(documents):
            self.ids.append(document.id)
            for weight, texts in (
                (PHRASE_WEIGHT, document.phrasings),
                (KEYWORD_WEIGHT, document.keywords),
                (ANSWER_WEIGHT, document.answers),
            ):
                for text in texts:
                    bag = features(text)
                    if bag:
                        phrases.append((entry, weight, bag))
                        vocabulary.update(w for w in words(_strip_tags(text)) if w not in STOP_WORDS)
        self.size = len(phrases)
        document_frequency: dict[str, int] = defaultdict(int)
        for _, _, bag in phrases:
            for key in bag:
                document_frequency[key] += 1
        self._idf = {key: math.log((self.size + 1) / (count + 0.5)) for key, count in document_frequency.items()}
        self.unknown_idf = math.log((self.size + 1) / 0.5)
        common = min(MAX_POSTINGS, max(20, int(self.size * COMMON_KEY_SHARE)))
        # key -> [(phrase index, normalised weight)]; entry bags for coverage
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._phrase_entry: list[int] = []
        self._phrase_weight: list[float] = []
        self._entry_bags: list[dict[str, float]] = [{} for _ in self.ids]
        for index, (entry, weight, bag) in enumerate(phrases):
            self._phrase_entry.append(entry)
            self._phrase_weight.append(weight)
            vector = {key: value * self._idf[key] for key, value in bag.items()}
            norm = math.sqrt(sum(x * x for x in vector.values())) or 1.0
            for key, value in vector.items():
                if document_frequency[key] <= common:
                    self._postings[key].append((index, value / norm))
            entry_bag = self._entry_bags[entry]
            for key, value in bag.items():
                if entry_bag.get(key, 0.0) < value * weight:
                    entry_bag[key] = value * weight
        # The same postings as arrays: a query adds each key's weights into one array of the phrases at
        # once, and the best phrase of each entry is one ``maximum.reduceat`` (phrases are in entry order).
        self._posting_arrays = {
            key: (np.fromiter((i for i, _ in pairs), np.int32, len(pairs)),
                  np.fromiter((w * self._phrase_weight[i] for i, w in pairs), np.float64, len(pairs)))
            for key, pairs in self._postings.items()
        }  # fmt: skip
        # The entries' bags inverted (key -> the entries that have it, with its weight there): the
        # coverage of every candidate is a few array additions, one per query key.
        inverted: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for entry, entry_bag in enumerate(self._entry_bags):
            for key, value in entry_bag.items():
                inverted[key].append((entry, value))
        self._coverage_arrays = {
            key: (np.fromiter((e for e, _ in pairs), np.intp, len(pairs)),
                  np.fromiter((w for _, w in pairs), np.float64, len(pairs)))
            for key, pairs in inverted.items()
        }  # fmt: skip
        starts: list[int] = []
        self._scored_entries: list[int] = []  # the entries that have phrases, in order
        for index, entry in enumerate(self._phrase_entry):
            if not self._scored_entries or self._scored_entries[-1] != entry:
                self._scored_entries.append(entry)
                starts.append(index)
        self._entry_starts = np.array(starts, dtype=np.intp)
        self.vocabulary = sorted(vocabulary)
        self._known = set(document_frequency)
        self._buckets: dict[str, list[str]] = defaultdict(list)  # by first letter: typos rarely hit it
        for word in self.vocabulary:
            self._buckets[word[0]].append(word)
        self._corrections: dict[str, str] = {}
        # A question typed as one of an entry's phrasings (its words, in any order, stop words aside)
        # is that entry's: `voterbot check` warns when two entries share a phrasing, and a phrasing
        # two entries share decides nothing.
        owners: dict[frozenset[str], set[int]] = defaultdict(set)
        for entry, document in enumerate(documents):
            if document.id != OFF_TOPIC:
                for text in document.phrasings:
                    phrasing = phrasing_key(text)
                    if phrasing:
                        owners[phrasing].add(entry)
        self._exact = {phrasing: next(iter(entries)) for phrasing, entries in owners.items() if len(entries) == 1}

    def idf(self, key: str) -> float:
        return self._idf.get(key, self.unknown_idf)

    def _correct(self, word: str) -> str:
        """A word the index does not know, replaced by its closest vocabulary word if close enough."""
        if len(word) < 4:
            return word
        cached = self._corrections.get(word)
        if cached is not None:
            return cached
        stem_key, prefix_key = word_keys(word)
        if stem_key in self._known or prefix_key in self._known:
            corrected = word
        else:
            candidates = self._buckets.get(word[0], [])
            found = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            corrected = str(found[0]) if found is not None else word
        if len(self._corrections) < CORRECTION_CACHE:
            self._corrections[word] = corrected
        return corrected

    def _score_reading(self, text: str) -> dict[int, float]:
        read = (SHORTHAND.get(w, w) for w in words(text))
        corrected = [self._correct(w[:MAX_WORD]) for w in read if w not in STOP_WORDS][:40]
        query = features(" ".join(corrected))
        if not query:
            return {}
        vector = {key: value * self.idf(key) for key, value in query.items()}
        norm = math.sqrt(sum(x * x for x in vector.values())) or 1.0
        total = sum(vector.values())
        cosine = np.zeros(self.size)
        for key, value in vector.items():
            posting = self._posting_arrays.get(key)
            if posting is not None:  # a phrase appears once in a key's postings: a plain indexed add
                cosine[posting[0]] += (value / norm) * posting[1]
        if not self._scored_entries:
            return {}
        best = np.maximum.reduceat(cosine, self._entry_starts)
        count = min(COVERAGE_CANDIDATES, len(best))
        top = np.argpartition(-best, count - 1)[:count] if count < len(best) else np.arange(len(best))
        candidates = [(self._scored_entries[i], float(best[i])) for i in top if best[i] > 0.0]
        covered = np.zeros(len(self.ids))
        for key, value in vector.items():
            entries = self._coverage_arrays.get(key)
            if entries is not None:  # an entry appears once in a key's list
                covered[entries[0]] += value * entries[1]
        return {
            entry: COSINE_SHARE * value + (1 - COSINE_SHARE) * float(covered[entry]) / total
            for entry, value in candidates
        }

    def search(self, query: str, limit: int = 5) -> SearchResult:
        best: dict[int, float] = {}
        for number, reading in enumerate(readings(query[:MAX_QUERY])):
            if number and best and max(best.values()) >= THRESHOLDS.confident:
                break  # the text as typed is understood; no need to re-read it as another layout
            discount = 1.0 if number == 0 else READING_DISCOUNT  # as typed beats a re-reading
            for index, score in self._score_reading(reading).items():
                score *= discount
                if score > best.get(index, 0.0):
                    best[index] = score
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        off_topic = next((score for index, score in ranked if self.ids[index] == OFF_TOPIC), 0.0)
        matches = [Match(self.ids[i], min(1.0, score)) for i, score in ranked if self.ids[i] != OFF_TOPIC][:limit]
        exact = next((self._exact[key] for key in map(phrasing_key, readings(query)) if key in self._exact), None)
        if exact is not None:  # typed as one of the entry's phrasings: that entry, first and certain
            others = [match for match in matches if match.id != self.ids[exact]]
            return SearchResult("answer", [Match(self.ids[exact], 1.0), *others][:limit], off_topic)
        return SearchResult(decide(matches, off_topic), matches, off_topic)


@dataclass(frozen=True)
class Thresholds:
    """When the bot answers, suggests or says it has no answer. Fitted on the development part of the
    evaluation set (``voterbot eval``; bench/RESULTS.md): a confident wrong answer is the worst outcome,
    so the top entry must be clearly ahead of the next one to be answered."""

    confident: float = 0.95  # answered whatever the others score
    answer: float = 0.5  # answered when also ``margin`` ahead of the second
    margin: float = 0.2
    suggest: float = 0.2  # below this: no answer
    off_topic_margin: float = 0.05  # no answer when the out-of-scope examples come this close to the best


THRESHOLDS = Thresholds()


def decide(matches: list[Match], off_topic: float = 0.0, t: Thresholds = THRESHOLDS) -> Decision:
    if not matches:
        return "fallback"
    top = matches[0].score
    if off_topic >= top - t.off_topic_margin:
        return "fallback"
    second = matches[1].score if len(matches) > 1 else 0.0
    if top >= t.confident or (top >= t.answer and top - second >= t.margin):
        return "answer"
    if top >= t.suggest:
        return "suggest"
    return "fallback"


_TAG_RE = re.compile(r"<[^>]+>|&[a-z#0-9]+;")


def _strip_tags(text: str) -> str:
    return _TAG_RE.sub(" ", text)
