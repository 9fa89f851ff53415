"""The search service without Telegram: the evaluation set, and the behaviours it is built for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.content import ContentStore, load_content
from bot.devtools.evaluate import Item, by, evaluate, figures, load_items, report
from bot.services.faq import FaqService
from bot.services.faq_search import fold, readings, transliterate
from tests.conftest import SHIPPED as DATA  # the evaluation measures the shipped content on purpose

EVAL = Path(__file__).parent / "eval"
# The evaluation set is written for the Almaty referendum's FAQ: with another campaign in data/ (the
# next one being prepared, issue 24) it has nothing to measure, and says so instead of failing.
EVALUATED_CAMPAIGN = "kz-referendum-2026"
pytestmark = pytest.mark.skipif(
    load_content(DATA).campaign.id != EVALUATED_CAMPAIGN,
    reason=f"data/ holds another campaign than the evaluation set's ({EVALUATED_CAMPAIGN}): tests/eval not measured",
)
# The held-out part is only measured, never tuned on: these floors hold what was measured when the
# thresholds were fitted on the development part (bench/RESULTS.md, "Understanding residents").
# Measured on 8 December 2026 (heldout + heldout2): kk 96.4 %, ru 95.0 %, en 94.5 %, confident wrong
# 1.5 %. The issue's goal (95 % each, at most 1 % confident wrong) is not met for en and the wrong rate.
HELDOUT_RIGHT = {"kk": 0.95, "ru": 0.94, "en": 0.93}
HELDOUT_CONFIDENT_WRONG = 0.02  # share of all held-out questions


@pytest.fixture(scope="module")
def faq() -> FaqService:
    return FaqService(ContentStore(load_content(DATA)))


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load_items(EVAL)


def test_evaluation_set_is_what_it_claims(items: list[Item], faq: FaqService) -> None:
    assert len(items) >= 450
    languages = Counter(item.lang for item in items)
    assert all(languages[lang] >= 150 for lang in ("kk", "ru", "en")), languages
    heldout = [item for item in items if item.split != "dev"]
    assert Counter(item.lang for item in heldout).keys() == {"kk", "ru", "en"}
    assert len(heldout) >= 450
    for label in ("smalltalk", "off-topic", "none"):
        assert sum(item.expect == label for item in heldout) >= 30, label
    evaluate(faq, items[:1])  # every expected entry exists (raises otherwise)


def test_heldout_floors(items: list[Item], faq: FaqService) -> None:
    outcomes = evaluate(faq, [item for item in items if item.split != "dev"])
    per_language = by(outcomes, "lang")
    for lang, floor in HELDOUT_RIGHT.items():
        assert per_language[lang].right_share >= floor, report(outcomes)
    assert figures(outcomes).wrong_share <= HELDOUT_CONFIDENT_WRONG, report(outcomes)
    smalltalk = [o for o in outcomes if o.item.expect == "smalltalk"]
    assert smalltalk and all(o.decision == "smalltalk" for o in smalltalk), report(smalltalk)
    assert not any(o.decision == "smalltalk" for o in outcomes if o.item.expect != "smalltalk"), report(outcomes)


def test_development_part_reads_the_same_way(items: list[Item], faq: FaqService) -> None:
    """The figures the thresholds were fitted on: small talk always recognised, and no entry
    answered for small talk."""
    outcomes = evaluate(faq, [item for item in items if item.split == "dev"])
    assert all(o.decision == "smalltalk" for o in outcomes if o.item.expect == "smalltalk"), report(outcomes)
    assert figures(outcomes).right_share >= 0.9, report(outcomes)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("когда референдум", "vote-date-hours"),
        ("rjulf htathtylev", "vote-date-hours"),  # "когда референдум" typed on an English layout
        ("kashan dauys beru", "vote-date-hours"),  # Kazakh in Latin letters
        ("кашан дауыс беру", "vote-date-hours"),  # Kazakh typed with Russian letters
        ("какие документы нужны", "documents"),
        ("какие дакументы нужны", "documents"),  # a typo
        ("открепительное", "absentee-certificate"),
        ("when are the results", "results"),
        ("вице-президент", "vice-president"),
    ],
)
def test_questions_as_people_type_them(faq: FaqService, query: str, expected: str) -> None:
    result = faq.search(query)
    assert result.matches[0].id == expected, result.to_json()
    assert result.decision in ("answer", "suggest")


def test_normalisation() -> None:
    assert fold("ӘҒҚҢӨҰҮҺІЁ") == "агкноуухие"
    assert transliterate("shchuka zhdet") == "щука ждет"
    assert "когда" in readings("rjulf")


def test_json_shape(faq: FaqService) -> None:
    data = faq.search("документы").to_json()
    assert set(data) == {"decision", "matches"}
    assert data["decision"] in ("answer", "suggest", "fallback")
    assert all(set(m) == {"id", "score"} for m in data["matches"])  # type: ignore[attr-defined]


def test_result_cache_is_keyed_by_the_searched_text_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.services import faq as faq_module

    service = FaqService(ContentStore(load_content(DATA)))
    question = "Где мой избирательный участок?"
    padding = " да" * 2000  # beyond what the search reads
    first = service.search(question + padding)
    variant = "ГДЕ мой избирательный\tучасток?"  # as long as the question: the same 500 characters are read
    assert len(variant) == len(question)
    assert service.search(variant + padding + " и ещё что-то") is first  # the same searched text: a cache hit
    (text, _), *_ = service._results
    assert len(text) <= 500  # the key is what was searched, not the 6,000-character message
    assert service.search(question) == service._index.search(question)  # the same answer as uncached

    monkeypatch.setattr(faq_module, "CACHE_SIZE", 50)
    monkeypatch.setattr(faq_module, "CACHE_CHARACTERS", 5_000)
    for n in range(300):
        service.search(f"вопрос номер {n} " + "слово " * (n % 120))
    assert len(service._results) <= 50
    assert sum(len(text) for text, _ in service._results) <= 5_000
    assert service._cached_characters == sum(len(text) for text, _ in service._results)
    assert any(text.startswith("вопрос номер 299") for text, _ in service._results)  # the newest are kept


# The examples of issue 21, each once wrong: now the expected entry is answered (or, for the close
# calls, offered first among the suggestions), and never a confident wrong answer.
ISSUE_EXAMPLES = [
    ("can I still vote?", "still-vote", "answer"),
    ("а я ещё могу проголосовать?", "still-vote", "answer"),
    ("how do I vote", "how-to-vote", "answer"),
    ("как проголосовать", "how-to-vote", "answer"),
    ("калай дауыс беремын", "how-to-vote", "suggest"),
    ("конституцияда не өзгерді", "what-changes", "answer"),
    ("привет, когда референдум?", "vote-date-hours", "answer"),
    ("hello, when is the vote?", "vote-date-hours", "answer"),
    ("кто может быть наблюдателем", "observers", "answer"),
    ("земля теперь чья", "land-resources", "answer"),
    ("скока народу пришло в алмате", "almaty-turnout", "answer"),
    ("голосование обязательное?", "voting-compulsory", "answer"),
    ("Where can I read the text of the Constitution", "constitution-text", "answer"),
    ("is voting mandatory", "voting-compulsory", "answer"),
    ("what happens if No wins", "if-no-wins", "answer"),
]


@pytest.mark.parametrize(("question", "expected", "decision"), ISSUE_EXAMPLES)
def test_the_issues_examples(faq: FaqService, question: str, expected: str, decision: str) -> None:
    result = faq.understand(question).result
    assert result.decision == decision and result.matches[0].id == expected, result.to_json()


@pytest.mark.parametrize("words", ["hi", "thanks", "спасибо", "рахмет", "ок", "bye", "сәлеметсіз бе", "👍"])
def test_small_talk_is_never_searched(faq: FaqService, words: str) -> None:
    understood = faq.understand(words)
    assert understood.smalltalk is not None and understood.result.matches == []
