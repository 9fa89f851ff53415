"""Guest mode (issue 28) through the fake Bot API: residents call the bot into a chat it is not a
member of; it answers there, once per call, with ``answerGuestQuery``. And groups the bot is in:
``/countdown@bot`` and ``/events@bot`` answered, other commands invited to a private chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeGroup, FakeMessage, FakeTelegram
from bot.services.guest import CALLER_ANSWERS, CHAT_ANSWERS, GuestBudget, GuestCounts, looks_like_claim, question_of
from bot.storage import Storage
from bot.telegram_text import lead_html
from tests.conftest import ADMIN_ID, AFTER, BEFORE, OPS, VOTING_OPEN, RunningBot, no_errors
from tests.test_postgres_storage import _rows, all_tables

_chats = iter(range(-1009000, -1010000, -1))


def stranger_chat(fake: FakeTelegram, title: str = "Family") -> FakeGroup:
    """A group the bot is not a member of: it only ever speaks there as a guest."""
    group = fake.group(next(_chats), title=title, type="supergroup")
    group.bot_status = "left"
    return group


def only_reply(exchange_replies: list[FakeMessage], chat: FakeGroup) -> FakeMessage:
    assert len(exchange_replies) == 1, [m.content for m in exchange_replies]
    [reply] = exchange_replies
    assert reply.chat_id == chat.chat_id and reply.from_bot
    return reply


HOURS_QUESTION = {
    "en": "what time do polls open",
    "ru": "во сколько открываются участки",
    "kk": "учаскелер неше сағатта ашылады",
}
# what the answer says at each moment (the answer's variant for the moment, as in a private chat)
AT_MOMENT: dict[str, dict[datetime, list[str]]] = {
    "en": {
        BEFORE: ["Voting day is 15 March 2026", "from 07:00 to 20:00"],
        VOTING_OPEN: ["Today, 15 March 2026, voting is under way", "until 20:00"],
        AFTER: ["The 2026 referendum is over", "from 07:00 to 20:00"],
    },
    "ru": {
        BEFORE: ["День голосования — 15 марта 2026 года", "с 07:00 до 20:00"],
        VOTING_OPEN: ["Сегодня, 15 марта 2026 года, идёт голосование", "до 20:00"],
        AFTER: ["Референдум 2026 года завершён", "с 07:00 до 20:00"],
    },
    "kk": {
        BEFORE: ["Дауыс беру күні — 2026 жылғы 15 наурыз", "07:00-ден 20:00-ге дейін"],
        VOTING_OPEN: ["Бүгін, 2026 жылғы 15 наурызда, дауыс беру жүріп жатыр", "20:00-ге дейін"],
        AFTER: ["2026 жылғы референдум аяқталды", "07:00-ден 20:00-ге дейін"],
    },
}
MORE = {"en": "More in a private chat", "ru": "Подробнее в личном чате", "kk": "Толығырақ жеке чатта"}
SOURCES = {"en": "Sources:", "ru": "Источники:", "kk": "Дереккөздер:"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_a_guest_question_about_polling_hours_is_answered_in_the_chat_at_the_moment(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock, lang: str
) -> None:
    caller = fake.user(28_001, language_code=lang)
    answers = []
    for moment, expected in AT_MOMENT[lang].items():
        clock.set(moment)
        chat = stranger_chat(fake)
        exchange = await caller.guest(HOURS_QUESTION[lang], chat=chat)
        assert [c.method for c in exchange.calls] == ["answerGuestQuery"]
        reply = only_reply(exchange.replies, chat)
        for phrase in expected:
            assert phrase in reply.content, (moment, reply.content)
        assert f"📎 {SOURCES[lang]}" in reply.content
        links = [str(e["url"]) for e in reply.entities if e.get("type") == "text_link"]
        assert any("zakon.kz" in url for url in links)
        [more] = reply.flat_buttons
        assert more.text == f"📖 {MORE[lang]}"
        assert more.url == f"https://t.me/{fake.bot_username}?start=faq-vote-date-hours"
        assert len(reply.content) < 600  # short enough for a group: the lead, not the whole answer
        assert reply.extra["guest_bot_caller_user"]["id"] == 28_001
        answers.append(reply.content)
    assert len(set(answers)) == 3
    # the deep link opens the full answer in a private chat (the caller's chat opens only now)
    full = await caller.send("/start faq-vote-date-hours")
    assert AT_MOMENT[lang][AFTER][0] in full.replies[0].content
    no_errors(fake)
    assert fake.unanswered_guest_queries() == []


async def test_a_caller_without_a_known_language_gets_the_default_one(running: RunningBot, fake: FakeTelegram) -> None:
    chat = stranger_chat(fake)
    reply = only_reply((await fake.user(28_002, language_code="de").guest("когда референдум", chat=chat)).replies, chat)
    assert "День голосования" in reply.content and "Подробнее в личном чате" in reply.flat_buttons[0].text
    no_errors(fake)


@pytest.mark.parametrize(
    ("lang", "text", "line"),
    [
        ("kk", "ауа райы қандай", "Мен тек «Жаңа Конституция бойынша республикалық референдум» туралы"),
        ("ru", "погода завтра", "Я отвечаю только на вопросы по теме «Республиканский референдум"),
        ("en", "weather tomorrow", "I only answer questions about the Nationwide referendum"),
    ],
)
async def test_an_off_topic_guest_message_gets_one_polite_line(
    running: RunningBot, fake: FakeTelegram, lang: str, text: str, line: str
) -> None:
    chat = stranger_chat(fake)
    reply = only_reply((await fake.user(28_003, language_code=lang).guest(text, chat=chat)).replies, chat)
    assert line in reply.content
    assert "\n" not in reply.content and reply.flat_buttons == []
    no_errors(fake)


async def test_calling_the_bot_with_nothing_to_ask_says_how_to_ask(running: RunningBot, fake: FakeTelegram) -> None:
    chat = stranger_chat(fake)
    reply = only_reply((await fake.user(28_004, language_code="en").guest("", chat=chat)).replies, chat)
    assert f"@{fake.bot_username} when can I vote?" in reply.content
    no_errors(fake)


async def test_a_rumour_is_recognised_and_checked_against_the_faq(running: RunningBot, fake: FakeTelegram) -> None:
    chat = stranger_chat(fake)
    claim = await fake.user(28_005, language_code="en").guest(
        "is it true that someone can vote for me by proxy?", chat=chat
    )
    reply = only_reply(claim.replies, chat)
    assert reply.content.startswith("🔎 What official sources say:")
    assert "Everyone votes in person" in reply.content and "📎 Sources:" in reply.content
    assert reply.flat_buttons[0].url == f"https://t.me/{fake.bot_username}?start=faq-proxy-voting"

    # the message the caller replies to when calling the bot is the claim checked
    heard = (
        fake.user(28_006, language_code="ru")
        .in_group(chat)
        .say_unseen("Говорят, можно проголосовать за маму по доверенности")
    )
    replied = await fake.user(28_007, language_code="ru").guest("это правда?", chat=chat, reply_to=heard)
    reply = only_reply(replied.replies, chat)
    assert reply.content.startswith("🔎 Что говорят официальные источники:")
    assert "Каждый голосует лично" in reply.content

    # a reply to the bot's own answer is a question, not a claim to check again
    follow_up = await fake.user(28_010, language_code="en").guest("when is the referendum", chat=chat, reply_to=reply)
    assert only_reply(follow_up.replies, chat).content.startswith("❓ When is the vote and what are the hours?")
    no_errors(fake)


async def test_a_rumour_the_faq_does_not_answer_is_not_guessed(running: RunningBot, fake: FakeTelegram) -> None:
    chat = stranger_chat(fake)
    exchange = await fake.user(28_008, language_code="en").guest(
        "I heard the referendum was moved to April because of the snow", chat=chat
    )
    reply = only_reply(exchange.replies, chat)
    assert reply.content.startswith("🔎 I have no confirmed information about this.")
    assert "1308" in reply.content  # without the operators' desk: where an official answer is given
    assert reply.flat_buttons[0].url == f"https://t.me/{fake.bot_username}"
    no_errors(fake)


@pytest.fixture
async def with_desk(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> AsyncIterator[FakeGroup]:
    """The bot with the operators' desk on; the operators' forum."""
    forum = fake.forum(OPS, "Operators")
    bot = RunningBot(fake, make_settings(fake, operators_chat_id=OPS, default_language="en"), clock)
    await bot.start()
    try:
        yield forum
    finally:
        await bot.stop()


async def test_with_the_desk_an_unknown_rumour_goes_to_a_person_from_a_private_chat(
    with_desk: FakeGroup, fake: FakeTelegram
) -> None:
    forum = with_desk
    chat = stranger_chat(fake)
    resident = fake.user(28_009, language_code="en")
    claim = "I heard the referendum was moved to April because of the snow"
    reply = only_reply((await resident.guest(claim, chat=chat)).replies, chat)
    assert "a person will check it" in reply.content
    [check] = reply.flat_buttons
    assert check.text == "🔎 Check it in a private chat"
    assert check.url == f"https://t.me/{fake.bot_username}?start=rumour"
    # the button opens the private chat on /rumour: what the resident sends next goes to the operators
    prompt = (await resident.send("/start rumour")).replies[0]
    assert "rumour" in prompt.content.lower()
    await resident.send(claim)
    topic = forum.topic_by_name("#1 🔎")
    assert claim in [m.content for m in forum.topic_messages(topic.thread_id)]
    no_errors(fake)


async def rows_containing(storage: Storage, needles: list[str]) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = {}
    for table in await all_tables(storage):
        rows = await _rows(storage, f"SELECT * FROM {table}")
        hits = [row for row in rows if any(n in str(value) for value in row for n in needles)]
        if hits:
            found[table] = hits
    return found


@pytest.mark.both_backends
async def test_a_flooding_chat_gets_answers_within_budget_one_notice_and_no_429(
    running: RunningBot, fake: FakeTelegram
) -> None:
    fake.group_rate_limit = 20  # Telegram's: 20 messages a minute in a group
    chat = stranger_chat(fake, "Neighbours")
    callers = [fake.user(98_765_432_100 + n, language_code="ru") for n in range(5)]  # ids no count contains
    last = 0
    for n in range(20):  # 20 calls at once (well within a minute), four from each of five people
        last = await callers[n % 5].post_guest(HOURS_QUESTION["ru"], chat=chat)
    await fake.wait_processed(last)
    said = [m.content for m in fake.bot_messages(chat.chat_id)]
    assert len(said) == CHAT_ANSWERS + 1
    assert all("15 марта 2026 года" in text for text in said[:CHAT_ANSWERS])
    assert said[-1].startswith("⏳ Я уже много ответил здесь")
    assert fake.stats.rejected_429 == 0 and fake.errors() == []
    assert len(fake.unanswered_guest_queries()) == 20 - CHAT_ANSWERS - 1  # silence: they expire unanswered

    # another chat is not held back by this one's flood
    other = stranger_chat(fake)
    assert only_reply((await callers[0].guest("когда референдум", chat=other)).replies, other)

    # nothing of the guest messages is stored, nor who sent them: counters only
    assert running.app is not None
    callers_ids = [str(c.id) for c in callers]
    assert await rows_containing(running.app.storage, [HOURS_QUESTION["ru"], "когда референдум", *callers_ids]) == {}
    summary = (await callers[0].send("/privacy")).replies[0]  # and residents are told so (📄 More: the full list)
    privacy = (await callers[0].press(summary, 0)).edits[0].content
    assert "Когда вы вызываете бота в другой чат (@bot и вопрос), он отвечает там и ничего" in privacy
    stats = (await fake.user(ADMIN_ID, language_code="en").send("/stats")).text
    assert "Guest calls since start: 21" in stats
    assert "answered 7," in stats and "budget notices 1," in stats and "(over the budget) 13" in stats


async def test_the_caller_budget_covers_every_chat(running: RunningBot, fake: FakeTelegram) -> None:
    caller = fake.user(28_200, language_code="en")
    said = []
    for _ in range(CALLER_ANSWERS + 2):
        chat = stranger_chat(fake)
        said.append([m.content for m in (await caller.guest("when is the referendum", chat=chat)).replies])
    assert all(len(s) == 1 and "15 March 2026" in s[0] for s in said[:CALLER_ANSWERS])
    assert said[CALLER_ANSWERS][0].startswith("⏳ I have answered a lot here")
    assert said[CALLER_ANSWERS + 1] == []
    no_errors(fake)


# --- groups the bot is a member of ----------------------------------------------------------------


async def test_group_commands_addressed_to_the_bot_get_an_answer(running: RunningBot, fake: FakeTelegram) -> None:
    group = fake.group(-28_500, title="Neighbours")
    member = fake.user(28_501, language_code="en").in_group(group)
    countdown = await member.send(f"/countdown@{fake.bot_username}")
    [reply] = countdown.replies
    assert "Voting day: 15 March 2026" in reply.content and "3 days left" in reply.content
    assert [b.url for b in reply.flat_buttons] == [f"https://t.me/{fake.bot_username}?start=group"]
    assert reply.extra["reply_to_message"]["text"] == f"/countdown@{fake.bot_username}"  # a reply to the command
    events = (await member.send(f"/events@{fake.bot_username}")).replies
    assert len(events) == 1 and "Upcoming events" in events[0].content
    for command in (f"/rumour@{fake.bot_username}", f"/whatever@{fake.bot_username}", "/questions"):
        [invitation] = (await member.send(command)).replies
        assert "in a private chat" in invitation.content, command
    # plain chatter and other bots' commands are still ignored
    for text in ("when is the referendum?", "/countdown@other_bot", "/whatever"):
        assert (await member.send(text)).replies == [], text
    no_errors(fake)


# --- the rules, unit-tested -------------------------------------------------------------------------


def test_the_budget_gives_one_notice_then_silence_until_the_quiet_is_over() -> None:
    budget = GuestBudget(chat_answers=3, caller_answers=10, window=60, quiet=300)
    seen = [budget.admit(-1, n, float(n)) for n in range(8)]
    assert seen == ["answer"] * 3 + ["notice"] + ["silent"] * 4
    assert budget.admit(-2, 99, 8.0) == "answer"  # another chat
    assert budget.admit(-1, 1, 200.0) == "silent"  # still quiet
    assert budget.admit(-1, 1, 310.0) == "answer"  # the quiet is over, the window has moved on


def test_a_callers_notice_counts_as_one_of_the_chats_messages() -> None:
    budget = GuestBudget(chat_answers=3, caller_answers=1, window=60, quiet=300)
    assert [budget.admit(-1, 7, 0.0), budget.admit(-1, 7, 1.0), budget.admit(-1, 7, 2.0)] == [
        "answer",
        "notice",
        "silent",
    ]
    assert [budget.admit(-1, 8, 3.0), budget.admit(-1, 9, 4.0)] == ["answer", "notice"]  # 3 messages, then the notice


def test_guest_counts_are_numbers_only() -> None:
    counts = GuestCounts()
    counts.add("answer")
    counts.add("silent")
    assert counts.total == 2 and dict(counts.items())["answer"] == 1


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("говорят, что участки закроют в 18:00", True),
        ("Правда ли, что можно голосовать без паспорта?", True),
        ("учаскелер ертерек жабылады деп естідім", True),
        ("I heard you can vote online", True),
        ("when is the referendum", False),
        ("где мой участок", False),
    ],
)
def test_claims_are_told_from_questions(text: str, claim: bool) -> None:
    assert looks_like_claim(text) is claim


def test_the_bots_mention_is_taken_out_of_the_question() -> None:
    assert question_of("@Voter_Test_Bot  when is the vote?", "voter_test_bot") == "when is the vote?"
    assert question_of("hey @voter_test_bot, when?", "voter_test_bot") == "hey , when?"
    assert question_of("@voter_test_bot_two hi", "voter_test_bot") == "@voter_test_bot_two hi"


def test_the_lead_is_the_first_sentences_that_fit_with_valid_html() -> None:
    answer = "First <b>bold. still bold</b> sentence. Second one. " + "Long " * 60 + "end."
    assert lead_html(answer, limit=50) == "First <b>bold. still bold</b> sentence. Second one."
    assert lead_html("Short answer.\n\nMore detail.") == "Short answer."
    assert lead_html("Steps:\n• one\n• two\n\nAfter.") == "Steps:\n• one\n• two"
    assert lead_html("x" * 300 + ". y", limit=50).endswith("…")


async def test_a_failure_while_answering_a_guest_is_said_in_the_chat(
    running: RunningBot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert running.app is not None
    faq = running.app.dispatcher["faq"]

    def broken(text: str, limit: int = 5) -> None:
        raise RuntimeError("the index is gone")

    monkeypatch.setattr(faq, "search", broken)
    chat = stranger_chat(fake)
    reply = only_reply((await fake.user(28_300, language_code="kk").guest("когда референдум", chat=chat)).replies, chat)
    assert reply.content.startswith("😕 ") and "/menu" not in reply.content
    no_errors(fake)
