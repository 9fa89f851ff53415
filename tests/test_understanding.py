"""Residents as they write, through the fake Bot API: small talk, greetings before a question, the
urgent questions, 👎 offering the neighbours of the resident's own words, "None of these", and
rumours already checked."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeTelegram
from bot.devtools.fake_api.users import FakeUser
from tests.conftest import ADMIN_ID, AFTER, BEFORE, DATA, VOTING_OPEN, RunningBot, no_errors

pytestmark = pytest.mark.both_backends


async def _unanswered(running: RunningBot) -> list[str]:
    assert running.app is not None
    rows = await running.app.storage.top_unanswered(BEFORE.replace(year=2025), 50)
    return [row.text for row in rows]


@pytest.mark.parametrize(
    ("lang", "words", "reply"),
    [
        ("en", "hi", "👋 Hello!"),
        ("en", "thanks!", "😊 You are welcome!"),
        ("en", "ok", "👍"),
        ("en", "bye", "👋 Goodbye!"),
        ("ru", "спасибо", "😊"),
        ("ru", "Привет!", "👋"),
        ("ru", "ок", "👍"),
        ("kk", "рахмет", "😊"),
        ("kk", "сәлеметсіз бе", "👋"),
        ("kk", "сау болыңыз", "👋"),
        ("ru", "👍", "👍"),
    ],
)
async def test_small_talk_gets_a_short_reply_and_is_never_an_unanswered_question(
    running: RunningBot, fake: FakeTelegram, lang: str, words: str, reply: str
) -> None:
    exchange = await fake.user(3101, language_code=lang).send(words)
    assert len(exchange.replies) == 1
    screen = exchange.replies[0]
    assert screen.content.startswith(reply), screen.content
    assert "❓" not in screen.content and "📎" not in screen.content  # no FAQ entry
    assert any(button.callback_data == "m:faq" for button in screen.flat_buttons)  # the way on
    assert await _unanswered(running) == []
    no_errors(fake)


async def test_a_greeting_before_a_question_does_not_hide_the_question(running: RunningBot, fake: FakeTelegram) -> None:
    ru = await fake.user(3102, language_code="ru").send("привет, когда референдум?")
    assert ru.replies[0].content.startswith("❓ Когда и во сколько голосование?"), ru.text
    en = await fake.user(3103, language_code="en").send("hello, when is the vote?")
    assert en.replies[0].content.startswith("❓ When is the vote and what are the hours?"), en.text
    kk = await fake.user(3104, language_code="kk").send("сәлеметсіз бе, айтыңызшы, қандай құжат керек")
    assert kk.replies[0].content.startswith("❓"), kk.text
    no_errors(fake)


@pytest.mark.parametrize(
    ("moment", "lang", "question", "says"),
    [
        (BEFORE, "en", "can I still vote?", "15 March"),
        (VOTING_OPEN, "en", "can I still vote?", "20:00"),
        (AFTER, "en", "can I still vote?", "over"),
        (AFTER, "ru", "а я ещё могу проголосовать?", "завершён"),
    ],
)
async def test_can_i_still_vote_is_answered_for_the_moment(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock, moment: object, lang: str, question: str, says: str
) -> None:
    clock.set(moment)  # type: ignore[arg-type]
    exchange = await fake.user(3105, language_code=lang).send(question)
    answer = exchange.replies[0]
    assert answer.content.startswith("❓"), answer.content
    heading = answer.content.splitlines()[0]
    assert "still" in heading or "ещё" in heading, heading
    assert says in answer.content, answer.content
    assert answer.extra["reply_to_message"]["text"] == question  # the answer quotes the question
    no_errors(fake)


async def test_not_helpful_offers_the_neighbours_of_the_residents_own_words(
    running: RunningBot, fake: FakeTelegram
) -> None:
    """A question answered with a neighbouring entry: after 👎 the bot offers what the resident's own
    words are nearest to (voting at home first), not the neighbours of the entry it got wrong."""
    question = "what documents do i need to vote at home"
    user = fake.user(3106, language_code="en")
    answer = (await user.send(question)).replies[0]
    assert answer.content.startswith("❓ Which documents do I need to vote?")
    assert answer.extra["reply_to_message"]["text"] == question  # the answer quotes the question
    follow_up = (await user.press(answer, "👎")).replies[0]
    near = [b.callback_data for b in follow_up.flat_buttons if (b.callback_data or "").startswith("fe:")]
    assert near[0] == "fe:vote-at-home:" and "fe:documents:" not in near and len(near) == 3
    no_errors(fake)


async def test_none_of_these_keeps_the_question_for_the_editors_and_shows_the_ways_on(
    running: RunningBot, fake: FakeTelegram
) -> None:
    user = fake.user(3107, language_code="en")
    suggestions = (await user.send("vote")).replies[0]
    assert "Did you mean" in suggestions.content
    after = (await user.press(suggestions, "🙅 None of these")).replies[0]
    assert "Try asking in other words" in after.content and "1308" in after.content
    assert await _unanswered(running) == ["vote"]
    no_errors(fake)


@pytest.mark.parametrize(
    ("moment", "lang", "claim", "says"),
    [
        (AFTER, "en", "65 % voted yes in Almaty", "2022"),
        (AFTER, "ru", "в алматы 65% проголосовали за", "2022"),
        (BEFORE, "en", "65% voted yes in almaty", "There can be no 2026 results"),
    ],
)
async def test_a_checked_rumour_gets_its_verdict(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock, moment: object, lang: str, claim: str, says: str
) -> None:
    clock.set(moment)  # type: ignore[arg-type]
    user = fake.user(3108, language_code=lang)
    card = (await user.send(claim)).replies[0]  # typed as a question
    assert card.content.startswith("🔎") and says in card.content, card.content
    assert "⚠️" in card.content and "📎" in card.content
    await user.send("/rumour")
    checked = (await user.send(claim)).replies[0]  # and through /rumour
    assert checked.content == card.content
    no_errors(fake)


NEW_ENTRY = """
  - id: dogs-at-stations
    category: voting
    reviewed: 2026-12-08
    sources:
      - title: "Test source"
        url: "https://example.org/dogs"
        published: 2026-02-20
    kk: {q: "Учаскеге итпен баруға бола ма?", a: "Тест жауабы.", alt: ["учаскеге ит апаруға бола ма"]}
    ru: {q: "Можно ли прийти на участок с собакой?", a: "Тестовый ответ.", alt: ["собакам можно на участок"]}
    en: {q: "Can I bring my dog to the polling station?", a: "A test answer.", alt: ["{question}"]}
"""


async def test_tell_me_when_there_is_an_answer(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock, tmp_path: Path
) -> None:
    """A question with no answer → "🔔 Tell me" → an entry that answers it is published → the resident
    gets it exactly once; not after /forget or /stop."""
    content = tmp_path / "content"
    shutil.copytree(DATA, content)
    bot = RunningBot(fake, make_settings(fake, content_dir=content), clock)
    await bot.start()
    try:
        question = "are dogs allowed at polling stations"
        waiting, forgetting, stopping = (fake.user(n, language_code="en") for n in (3120, 3121, 3122))
        for resident in (waiting, forgetting, stopping):
            suggestions = (await resident.send(question)).replies[0]
            assert "Did you mean" in suggestions.content
            screen = (await resident.press(suggestions, "🙅 None of these")).replies[0]
            told = await resident.press(screen, "🔔 Tell me when there is an answer")
            assert told.callback_answer is not None and "I will tell you once" in str(told.callback_answer)
        ask = (await forgetting.send("/forget")).replies[0]
        await forgetting.press(ask, "Yes, erase everything")
        await stopping.send("/stop")

        faq_file = content / "faq.yaml"
        text = faq_file.read_text(encoding="utf-8")
        entry = NEW_ENTRY.replace("{question}", question)
        faq_file.write_text(text.replace("\nentries:\n", "\nentries:\n" + entry, 1), encoding="utf-8")
        admin = fake.user(ADMIN_ID, language_code="en")
        assert "Content reloaded" in (await admin.send("/faq_reload")).text

        def told_about_dogs(user: FakeUser) -> list[str]:
            return [m.content for m in user.bot_messages() if m.content.startswith("🔔 You asked me")]

        await fake.wait_for(lambda: len(told_about_dogs(waiting)) == 1)
        assert "Can I bring my dog to the polling station?" in told_about_dogs(waiting)[0]
        assert "A test answer." in told_about_dogs(waiting)[0]
        assert (await admin.send("/faq_reload")).text  # a second reload tells nobody again
        assert bot.app is not None
        await bot.app.dispatcher["answers"].tell()
        assert len(told_about_dogs(waiting)) == 1
        assert told_about_dogs(forgetting) == [] and told_about_dogs(stopping) == []
        stats = (await admin.send("/stats")).text  # the loop in numbers
        assert "Waiting to be told of an answer: 0; told later: 1" in stats, stats
        assert "suggestions 3" in stats, stats
        no_errors(fake)
    finally:
        await bot.stop()


async def test_unanswered_questions_that_mean_the_same_are_one_line(running: RunningBot, fake: FakeTelegram) -> None:
    wordings = [
        (3130, "en", "is there a dress code at the polling station"),
        (3131, "en", "polling station dress code?"),
        (3132, "ru", "polling station dress code for voters"),
        (3133, "en", "recipe for beshbarmak please"),
    ]
    for user_id, lang, text in wordings:
        user = fake.user(user_id, language_code=lang)
        screen = (await user.send(text)).replies[0]
        if len(screen.flat_buttons) > 1 and screen.flat_buttons[-2].callback_data == "fn":  # suggestions
            await user.press(screen, screen.flat_buttons[-2].text)
    report = (await fake.user(ADMIN_ID, language_code="en").send("/unanswered")).text
    lines = [line for line in report.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 2, report  # the dress code, asked by three people in three wordings, is one line
    assert "dress code" in lines[0] and "— 👥 3 · en, ru · 3 wordings" in lines[0], lines  # ru: the user's language
    assert "beshbarmak" in lines[1] and "— 👥 1 · en" in lines[1], lines
    no_errors(fake)


@pytest.mark.parametrize(
    ("lang", "claim", "verdict"),
    [
        ("en", "65% voted yes in almaty", "⚠️ Misleading"),
        ("ru", "в алматы 65% проголосовали за", "⚠️ Вводит в заблуждение"),
        ("kk", "алматыда 65 пайыз иә деп дауыс берді", "⚠️ Жаңылыстырады"),
    ],
)
async def test_a_forwarded_rumour_is_checked_without_a_command(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock, lang: str, claim: str, verdict: str
) -> None:
    clock.set(AFTER)
    card = (await fake.user(3140, language_code=lang).forward(claim)).replies[0]
    assert card.content.startswith("🔎") and verdict in card.content and "2022" in card.content, card.content
    assert await _unanswered(running) == []
    no_errors(fake)
