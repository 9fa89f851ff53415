"""Residents as they write, through the fake Bot API: small talk, greetings before a question, the
urgent questions, 👎 offering the neighbours of the resident's own words, "None of these", and
rumours already checked."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.devtools.fake_api import FakeTelegram
from tests.conftest import AFTER, BEFORE, VOTING_OPEN, RunningBot, no_errors

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
