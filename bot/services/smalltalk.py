"""Small talk: greetings, thanks, "ok", "bye", "how are you" in Kazakh, Russian and English.

A message made only of such words gets a short reply of its kind and is never searched in the FAQ
(nor kept as an unanswered question). A question that starts with a greeting or a "please tell me"
("привет, когда референдум?", "сәлеметсіз бе, айтыңызшы ...") is searched without those words, so
the politeness does not dilute the question.

This is knowledge of the languages, not of a campaign: the words are the same for every vote. The
phrases are compared folded (``faq_search.fold``: case, ё, the Kazakh letters as typed on a Russian
keyboard), so "сәлем", "салем" and "Сәлем!" are one phrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.services.faq_search import fold


class SmallTalk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    OK = "ok"
    BYE = "bye"
    HOW_ARE_YOU = "how_are_you"


_APOLOGIES = (
    "кешіріңіз", "кешір", "ғафу етіңіз", "извините", "простите", "извини", "прости", "sorry", "excuse me",
    "my bad", "pardon",
)  # fmt: skip

_PHRASES: dict[SmallTalk, tuple[str, ...]] = {
    SmallTalk.GREETING: (
        # kk
        "сәлем", "сәлеметсіз бе", "сәлеметсіз", "сәлеметсіздер ме", "сәлеметсіздер", "ассалаумағалейкум",
        "ассалаумағалейкұм", "ассалаумалейкум", "салам", "саламатсызба", "армысыз", "армысыздар", "қайырлы күн",
        "қайырлы таң", "қайырлы кеш", "ә сәлем", "salem", "salemetsiz be", "salemetsizbe", "salam",
        # ru
        "привет", "приветик", "приветствую", "здравствуйте", "здравствуй", "здрасте", "здрасьте", "здорово",
        "добрый день", "доброе утро", "добрый вечер", "доброго дня", "доброй ночи", "хай", "салют", "privet",
        "zdravstvuyte", "zdravstvuite", "добрый",
        # en
        "hi", "hello", "hey", "hiya", "heya", "good morning", "good afternoon", "good evening", "greetings", "yo",
        "hey there", "hi there", "hello there", "howdy", "sup",
    ),
    SmallTalk.HOW_ARE_YOU: (
        "қалайсың", "қалайсыз", "қалың қалай", "қалыңыз қалай", "жағдай қалай", "жағдайың қалай", "хал қалай",
        "не жаңалық", "как дела", "как ты", "как вы", "как поживаешь", "как поживаете", "как сам", "как жизнь",
        "что нового", "how are you", "how r u", "how are u", "how is it going", "hows it going", "how's it going",
        "how you doing", "what's up", "whats up", "wassup", "how do you do", "kak dela",
    ),
    SmallTalk.THANKS: (
        "рахмет", "рақмет", "рахмет сізге", "көп рахмет", "үлкен рахмет", "рахмет көмегіңізге", "алғыс айтамын",
        "rahmet", "raxmet", "rakhmet", "spasibo bolshoe", "bolshoe spasibo", "spasibki", "sps", "blagodaryu",
        "raqmet", "rakmet", "kop rahmet", "көп көмектестіңіз", "көмектестіңіз",
        "рахмет көп", "спасибо", "спасибки", "спс", "сяп", "пасиб", "пасибо", "спасиб", "пасибки", "сенкс",
        "мерси", "благодарочка", "благодарю", "большое спасибо", "спасибо большое",
        "спасибо огромное", "огромное спасибо", "спасибо за помощь", "спасибо за ответ", "благодарствую",
        "spasibo", "thanks", "thank you", "thx", "thanx", "ty", "tysm", "thank u", "thanks a lot", "many thanks",
        "thank you very much", "thanks so much", "cheers", "much appreciated", "appreciate it",
        "очень помогли", "вы очень помогли", "помогли", "спасибо за информацию", "это помогло", "that helped",
        "you helped a lot", "helpful", "very helpful", "thanks for the info", "thanks for your help",
    ),
    SmallTalk.OK: (
        "ок", "окей", "оке", "ok", "okay", "okey", "k", "кк", "жарайды", "жақсы", "түсінікті", "түсіндім", "иә",
        "мақұл", "дұрыс", "керемет", "тамаша", "ясно", "понятно", "понял", "поняла", "понятненько", "хорошо",
        "ладно", "отлично", "супер", "класс", "норм", "ага", "угу", "да", "ну ладно", "ясненько", "good", "great",
        "cool", "nice", "got it", "i see", "understood", "alright", "all right", "fine", "sure", "yes", "yep",
        "perfect", "awesome", "noted", "clear", "makes sense",
        *_APOLOGIES,  # an apology alone ("sorry", "кешіріңіз"): nothing to answer but a nod
    ),
    SmallTalk.BYE: (
        "сау бол", "сау болыңыз", "сау болыңыздар", "көріскенше", "хош", "қош бол", "қош болыңыз", "кездескенше",
        "пока", "пока пока", "до свидания", "досвидания", "до встречи", "всего доброго", "всего хорошего",
        "счастливо", "бывай", "bye", "bye bye", "goodbye", "good bye", "see you", "see ya", "cya", "later",
        "take care", "have a nice day", "good night", "poka",
    ),
}  # fmt: skip

# Words that add politeness (or address the bot) and carry no meaning of their own in a question.
_FILLERS = (
    # kk
    "айтыңызшы", "айтыңыз", "айтшы", "айтып беріңізші", "айтып беріңіз", "айтып берші", "айтып бер",
    "түсіндіріп беріңізші", "түсіндіріңізші", "өтінемін", "өтініш", "ағай", "өте", "көп", "апай", "бауырым",
    "сұрағым бар", "сұрақ бар", "бір сұрақ", "білгім келеді", "білейін деп едім", "қойшы", "бот", "ботжан",
    # ru
    "подскажите", "подскажи", "подскажите пожалуйста", "скажите", "скажи", "скажите пожалуйста", "пожалуйста",
    "пожалуйсто", "плиз", "пжл", "пж", "пжлст", "будьте добры", "очень", "большое", "огромное", "у меня вопрос",
    "вопрос", "есть вопрос", "можно вопрос", "хотел спросить", "хотела спросить", "хочу спросить",
    "хочу узнать", "интересует", "бот", "ботик", "ребят", "ребята", "уважаемый", "уважаемые",
    # en
    "please", "pls", "plz", "pleas", "kindly", "could you tell me", "can you tell me", "tell me",
    "very", "so", "really", "much", "a lot", "i have a question", "quick question", "question", "i want to know",
    "i wanna know",
    "i would like to know", "i'd like to know", "bot", "dear", "sir", "madam", "guys",
)  # fmt: skip

# Interjections and Latin spellings of the words above that are fillers too: "ааа понятно", "spasibo bolshoe".
_MORE_FILLERS = (
    "а", "ааа", "аа", "о", "оо", "ооо", "ну", "ой", "ах", "эх", "хм", "хмм", "мм", "ммм", "ого", "ух", "ә", "әә",
    "oh", "ohh", "ah", "ahh", "aa", "aaa", "hmm", "hm", "mm", "wow", "oo", "ooh", "um", "uh", "well",
    "bolshoe", "bolshoye", "balshoe", "ochen", "ochen'", "pozhaluysta", "pozhaluista", "pojaluista", "kop",
)  # fmt: skip

_EMOJI: dict[str, SmallTalk] = {
    "👋": SmallTalk.GREETING, "🙏": SmallTalk.THANKS, "❤": SmallTalk.THANKS, "❤️": SmallTalk.THANKS,
    "🤝": SmallTalk.THANKS, "👍": SmallTalk.OK, "👌": SmallTalk.OK, "🆗": SmallTalk.OK, "✅": SmallTalk.OK,
    "🙂": SmallTalk.OK, "😊": SmallTalk.OK, "👏": SmallTalk.OK, "🔥": SmallTalk.OK,
}  # fmt: skip

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
# What a message may hold besides words and still be small talk: punctuation, spaces, emoji.
_NO_WORDS = re.compile(r"[\W_]*", re.UNICODE)

# The priority when a message mixes kinds: "рахмет, сау бол" thanks; "привет, как дела" asks how we are.
_PRIORITY = (SmallTalk.THANKS, SmallTalk.BYE, SmallTalk.HOW_ARE_YOU, SmallTalk.GREETING, SmallTalk.OK)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(fold(text)))


def _build() -> tuple[dict[tuple[str, ...], SmallTalk | None], int]:
    table: dict[tuple[str, ...], SmallTalk | None] = {}
    for kind, phrases in _PHRASES.items():
        for phrase in phrases:
            table.setdefault(_tokens(phrase), kind)
    for phrase in (*_FILLERS, *_MORE_FILLERS):
        table.setdefault(_tokens(phrase), None)
    return table, max(len(key) for key in table)


_TABLE, _LONGEST = _build()
# Leading words stripped off a question: greetings, "how are you" and fillers, not "ok" or "yes"
# ("да" and "ok" may start a real question) and not thanks ("спасибо, а когда итоги?" keeps its
# question either way, the thanks only costs a word).
_LEADING = {key for key, kind in _TABLE.items() if kind in (SmallTalk.GREETING, SmallTalk.HOW_ARE_YOU, None)} | {
    _tokens(phrase) for phrase in _APOLOGIES
}


@dataclass(frozen=True)
class Reading:
    """What a message is: small talk of a kind (``kind``), or a question (``question``: the message
    without its leading greetings and fillers, the words the FAQ search should read)."""

    kind: SmallTalk | None
    question: str


def _longest_phrase(tokens: tuple[str, ...], start: int) -> tuple[int, SmallTalk | None] | None:
    for size in range(min(_LONGEST, len(tokens) - start), 0, -1):
        key = tokens[start : start + size]
        if key in _TABLE:
            return size, _TABLE[key]
    return None


def read(text: str) -> Reading:
    """Small talk when every word of the message is a small-talk phrase (or a filler) and at least one
    is small talk; otherwise the question without its leading greetings and fillers."""
    stripped = text.strip()
    if stripped and not _TOKEN.search(fold(stripped)):
        # emoji and punctuation only: 👍, 🙏, "??"
        for symbol, kind in _EMOJI.items():
            if symbol in stripped:
                return Reading(kind, "")
        return Reading(None, stripped)
    tokens = _tokens(stripped)
    kinds: set[SmallTalk] = set()
    position = 0
    leading_end: int | None = None
    while position < len(tokens):
        found = _longest_phrase(tokens, position)
        if found is None:
            break
        size, phrase_kind = found
        if leading_end is None and tokens[position : position + size] not in _LEADING:
            leading_end = position
        if phrase_kind is not None:
            kinds.add(phrase_kind)
        position += size
    if position == len(tokens) and kinds:
        return Reading(next(kind for kind in _PRIORITY if kind in kinds), "")
    if leading_end is None:
        leading_end = position
    if leading_end == 0:
        return Reading(None, stripped)
    return Reading(None, " ".join(tokens[leading_end:]) or stripped)
