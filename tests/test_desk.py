"""The operators' desk (issue 15) end to end: residents in private chats, operators in the topics of a
forum supergroup, all through the fake Bot API."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeGroup, FakeMessage, FakeTelegram, FakeUser
from tests.conftest import ADMIN_ID, DATA, OPS, RunningBot, almaty, no_errors

# the end-to-end tests that use the database run on SQLite and PostgreSQL (tests/conftest.py)
pytestmark = pytest.mark.both_backends

OPERATOR = 700001
QUESTION = "Can I bring my grandmother's passport for her if she is ill at home?"


def operator_in(fake: FakeTelegram, forum: FakeGroup, thread_id: int) -> FakeUser:
    return fake.user(OPERATOR, first_name="Dana", language_code="en").in_topic(forum, thread_id)


def posts(forum: FakeGroup, thread_id: int) -> list[FakeMessage]:
    return forum.topic_messages(thread_id)


async def ask(resident: FakeUser, question: str = QUESTION) -> None:
    screen = (await resident.send("/operator")).replies[0]
    assert "Ask a person" in screen.content
    await resident.send(question)


async def test_question_topic_reply_and_back(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    resident = fake.user(5001, first_name="Aigul", language_code="en", username="aigul_private")
    screen = (await resident.send("/operator")).replies[0]
    assert "first name" in screen.content and "never your username" in screen.content
    assert "on duty now" in screen.content  # Thursday 12:00 in Almaty
    assert [b.text for b in screen.flat_buttons] == ["↩️ Back to the bot"]

    opened = await resident.send(QUESTION)
    assert "ticket #1" in opened.text and "Their reply will come here" in opened.text
    topic = forum.topic_by_name("#1 ")
    assert topic.name.startswith("#1 · EN · Can I bring my grandmother") and len(topic.name) <= 128
    intro, question = posts(forum, topic.thread_id)
    assert "Ticket #1" in intro.content and "English" in intro.content and "Aigul" in intro.content
    assert "aigul_private" not in intro.content  # the username is never shared
    assert "/close" in intro.content and "//" in intro.content
    assert question.content == QUESTION

    operator = operator_in(fake, forum, topic.thread_id)
    internal = await operator.send("// checking with the commission")
    assert internal.calls == [] or all(c.method != "copyMessage" for c in internal.calls)
    before = len(resident.bot_messages())
    await operator.send("Yes: bring your own identity document; a relative cannot vote for her.")
    header, reply = resident.bot_messages()[before:]
    assert header.content == "💬 Reply from the operators (ticket #1):"
    assert reply.content.startswith("Yes: bring your own identity document")
    assert [b.text for b in reply.flat_buttons] == ["↩️ Back to the bot"]

    # and back: the resident's next message goes to the operators, not to the FAQ search
    follow_up = await resident.send("Where is my polling station then?")
    assert [m.content for m in follow_up.replies] == ["✓ Passed on to the operators."]
    assert posts(forum, topic.thread_id)[-1].content == "Where is my polling station then?"

    # "↩️ Back to the bot": the FAQ answers again
    back = await resident.press(resident.last_bot_message(), "Back to the bot")
    assert "You are back with the bot" in back.text
    answered = await resident.send("where is my polling station")
    assert answered.replies[0].content.startswith("❓ Where is my polling station?")
    assert posts(forum, topic.thread_id)[-1].content == "Where is my polling station then?"
    no_errors(fake)


async def test_a_photo_both_ways(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    resident = fake.user(5002, language_code="ru")
    await resident.send("/operator")
    await resident.send_photo(caption="Это мой бюллетень?")
    topic = forum.topic_by_name("#1 ")
    assert "RU" in topic.name and "Это мой бюллетень" in topic.name
    copied = posts(forum, topic.thread_id)[-1]
    assert "photo" in copied.extra and copied.content == "Это мой бюллетень?"

    operator = operator_in(fake, forum, topic.thread_id)
    await operator.send_photo(caption="Образец бюллетеня")
    header, reply = resident.bot_messages()[-2:]
    assert header.content == "💬 Ответ операторов (обращение №1):"
    assert "photo" in reply.extra and reply.content == "Образец бюллетеня"
    await resident.send_voice()
    assert "voice" in posts(forum, topic.thread_id)[-1].extra
    no_errors(fake)


async def test_close_rating_and_a_new_ticket(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup, clock: ManualClock
) -> None:
    resident = fake.user(5003, language_code="en")
    await ask(resident)
    first = forum.topic_by_name("#1 ")
    operator = operator_in(fake, forum, first.thread_id)
    clock.advance(timedelta(minutes=6))
    await operator.send("Please call 1308.")
    closing = await operator.send("/close")
    assert "Ticket #1 closed." in closing.text and forum.topics[first.thread_id].closed
    told = resident.last_bot_message()
    assert "closed this conversation (ticket #1)" in told.content
    rated = await resident.press(told, "👍")
    assert rated.callback_answer is not None and "Thank you" in str(rated.callback_answer.get("text"))
    assert desk_bot.app is not None
    ticket = await desk_bot.app.storage.ticket(1)
    assert ticket is not None and ticket.status == "closed" and ticket.rating == 1
    assert ticket.first_reply_at is not None and (ticket.first_reply_at - ticket.opened_at).total_seconds() == 360

    # the operator writes in the closed ticket: a hint, nothing reaches the resident
    before = len(resident.bot_messages())
    late = await operator.send("one more thing")
    assert "Ticket #1 is closed" in late.text and len(resident.bot_messages()) == before

    # the resident writes again: a new ticket, a new topic
    again = await resident.send("And what about my own passport?")
    assert "ticket #2" in again.text
    second = forum.topic_by_name("#2 ")
    assert posts(forum, second.thread_id)[-1].content == "And what about my own passport?"

    # /stats: open and closed tickets, the median time to a first reply
    admin = fake.user(ADMIN_ID, language_code="en")
    stats = (await admin.send("/stats")).text
    assert "Operators' desk: 1 open tickets, 1 closed; median time to the first reply 6 min" in stats
    audit = await desk_bot.app.storage.audit_entries(20)
    assert {"desk.close", "desk.reply"} <= {entry.action for entry in audit}
    no_errors(fake)


async def test_block_and_faq_draft(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    resident = fake.user(5004, language_code="en")
    await ask(resident, "Is there early voting for students?")
    topic = forum.topic_by_name("#1 ")
    operator = operator_in(fake, forum, topic.thread_id)
    hint = await operator.send("/faq")
    assert "Reply /faq to your answer" in hint.text
    await operator.send("No: everyone votes on 15 March, at their own polling station.")
    saved = await operator.send("/faq")
    assert "Draft 1 saved for the editors" in saved.text
    admin = fake.user(ADMIN_ID, language_code="en")
    unanswered = (await admin.send("/unanswered")).text
    assert "Answer drafts from the operators" in unanswered and "Is there early voting for students?" in unanswered

    blocked = await operator.send("/block")
    assert "blocked" in blocked.text and forum.topics[topic.thread_id].closed
    notice = resident.last_bot_message()
    assert "cannot take your messages any more" in notice.content
    again = await resident.send("/operator")  # told once; afterwards the desk ignores them
    assert "cannot take your messages" not in again.text and not forum.topic_by_name("#1 ").name.startswith("#2")
    assert len(forum.topics) == 1
    assert desk_bot.app is not None
    assert "desk.block" in {entry.action for entry in await desk_bot.app.storage.audit_entries(20)}
    no_errors(fake)


async def test_outside_hours_the_question_waits_for_the_morning(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup, clock: ManualClock
) -> None:
    clock.set(almaty(2026, 3, 12, 22, 30))
    resident = fake.user(5005, language_code="en")
    screen = (await resident.send("/operator")).replies[0]
    assert "off duty now; they will answer from 08:00 (Almaty time), 13 March 2026" in screen.content
    opened = await resident.send("Who counts the votes?")
    assert "ticket #1" in opened.text and "off duty now" in opened.text
    assert forum.topic_by_name("#1 ")
    no_errors(fake)


async def test_ask_a_person_from_the_no_answer_screen(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5006, language_code="en")
    no_answer = (await resident.send("qwerty zxcvb")).replies[0]
    assert "I do not have a confirmed answer" in no_answer.content
    screen = (await resident.press(no_answer, "Ask a person")).replies[0]
    assert "Write your question" in screen.content
    await resident.send("qwerty zxcvb: what is it?")
    intro = posts(forum, forum.topic_by_name("#1 ").thread_id)[0]
    assert "no confirmed answer" in intro.content
    no_errors(fake)


async def test_a_rumour_answered_from_the_faq_then_by_a_person(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5007, language_code="en")
    prompt = (await resident.send("/rumour")).replies[0]
    assert "Forward me the message" in prompt.content
    found = await resident.send("where is my polling station")
    answer, offer = found.replies
    assert answer.content.startswith("❓ Where is my polling station?") and "📎" in answer.content
    assert forum.topics == {}  # the FAQ answered: no ticket
    escalated = await resident.press(offer, "Ask a person about it")
    assert "ticket #1" in escalated.text
    topic = forum.topic_by_name("#1 ")
    assert "🔎" in topic.name
    assert posts(forum, topic.thread_id)[-1].content == "where is my polling station"
    no_errors(fake)


async def test_a_rumour_checked_by_an_operator(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    resident = fake.user(5008, language_code="kk")
    await resident.send("/rumour")
    sent = await resident.send_photo()  # a picture without words: nothing for the FAQ to match
    assert "№1" in sent.text
    topic = forum.topic_by_name("#1 🔎")
    assert "KK" in topic.name
    intro, rumour = posts(forum, topic.thread_id)
    assert "rumour" in intro.content and "photo" in rumour.extra
    operator = operator_in(fake, forum, topic.thread_id)
    await operator.send("Бұл жалған ақпарат.")
    assert resident.last_bot_message().content == "Бұл жалған ақпарат."
    no_errors(fake)


async def test_operator_hints_and_a_resident_who_blocked_the_bot(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    general = fake.user(OPERATOR, language_code="en").in_group(forum)
    assert "Write in a ticket's topic" in (await general.send("/close")).text
    assert (await general.send("good morning, colleagues")).replies == []  # their own talk stays theirs
    resident = fake.user(5009, language_code="en")
    await ask(resident, "Where do I vote?")
    topic = forum.topic_by_name("#1 ")
    await resident.block()
    failed = await operator_in(fake, forum, topic.thread_id).send("Call 1308, please.")
    assert "Not delivered: the resident has blocked the bot." in failed.text
    refused = fake.errors()  # the reply to the resident, and nothing else
    assert refused and all(c.params["chat_id"] == resident.id for c in refused)


async def test_a_misconfigured_desk_is_off_and_never_mentioned(
    fake: FakeTelegram,
    make_settings: Callable[..., Settings],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.forum(OPS, "Operators", can_manage_topics=False)
    bot = RunningBot(fake, make_settings(fake, operators_chat_id=OPS), clock)
    with caplog.at_level(logging.WARNING, logger="bot.services.desk"):
        await bot.start()
    try:
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.services.desk"]
        assert lines == [
            f"operators' desk off: OPERATORS_CHAT_ID={OPS} does not let the bot manage topics: "
            "give it the 'Manage topics' right"
        ]
        resident = fake.user(5010, language_code="en")
        assert "I do not know this command" in (await resident.send("/operator")).text
        no_answer = (await resident.send("qwerty zxcvb")).replies[0]
        assert "Ask a person" not in [b.text for b in no_answer.flat_buttons]
        assert all(c["command"] != "operator" for commands in fake.commands.values() for c in commands)
        assert "/operator" not in (await resident.send("/help")).text
        no_errors(fake)
    finally:
        await bot.stop()


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ({"is_forum": False}, "is not a forum"),
        ({"bot_admin": False}, "does not have the bot as an administrator"),
    ],
)
async def test_each_misconfiguration_is_named(
    fake: FakeTelegram,
    make_settings: Callable[..., Settings],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    setup: dict[str, bool],
    problem: str,
) -> None:
    fake.forum(OPS, "Operators", **setup)
    bot = RunningBot(fake, make_settings(fake, operators_chat_id=OPS), clock)
    with caplog.at_level(logging.WARNING, logger="bot.services.desk"):
        await bot.start()
    await bot.stop()
    assert [problem in r.getMessage() for r in caplog.records if r.name == "bot.services.desk"] == [True]


async def test_without_the_variable_nothing_mentions_the_desk(running: RunningBot, fake: FakeTelegram) -> None:
    resident = fake.user(5011, language_code="en")
    help_text = (await resident.send("/help")).text
    assert "/operator" not in help_text and "rumour" not in help_text
    assert "I do not know this command" in (await resident.send("/rumour")).text
    assert all(c["command"] not in ("operator", "rumour") for cs in fake.commands.values() for c in cs)
    assert not fake.calls_of("getChat") and not fake.calls_of("createForumTopic")


async def test_per_resident_budget(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    assert desk_bot.app is not None
    budget = desk_bot.app.dispatcher["desk"].budget
    resident = fake.user(5012, language_code="en")
    await ask(resident, "first")
    for n in range(budget - 1):
        await resident.send(f"message {n}")
    refused = await resident.send("one too many")
    assert "many messages in the last hour" in refused.text
    topic = forum.topic_by_name("#1 ")
    assert len(posts(forum, topic.thread_id)) == 1 + budget  # the intro and the messages within the budget
    no_errors(fake)


async def test_an_operator_closing_the_topic_in_telegram_closes_the_ticket(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5013, language_code="en")
    await ask(resident, "Who can observe the count?")
    topic = forum.topic_by_name("#1 ")
    await operator_in(fake, forum, topic.thread_id).close_topic()
    assert "closed this conversation (ticket #1)" in resident.last_bot_message().content
    assert desk_bot.app is not None
    ticket = await desk_bot.app.storage.ticket(1)
    assert ticket is not None and ticket.status == "closed"
    assert not fake.calls_of("closeForumTopic")  # already closed by the operator
    no_errors(fake)


async def test_help_offers_both_desk_buttons(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    resident = fake.user(5014, language_code="ru")
    help_screen = (await resident.send("/help")).replies[0]
    assert "/operator" in help_screen.content and "/rumour" in help_screen.content and "/done" in help_screen.content
    # one "💬 A person" group, in the same style as the others, in /help and in the unknown-command help
    for text in (help_screen.content, (await resident.send("/nosuchcommand")).replies[0].content):
        group = text[text.index("💬 Человек") :].split("\n\n")[0].splitlines()
        assert group[1:] == [
            "/operator — Спросить человека",
            "/rumour — Проверить слух",
            "/done — Вернуться к боту из разговора с операторами",
        ], group
        settings = text[text.index("⚙️") :]
        assert "/operator" not in settings and "/done" not in settings
    assert [b.text for b in help_screen.buttons[-1]] == ["💬 Спросить человека", "🔎 Проверить слух"]
    prompt = (await resident.press(help_screen, "Проверить слух")).replies[0]
    assert "Перешлите мне полученное сообщение" in prompt.content
    asked = (await resident.press(help_screen, "Спросить человека")).replies[0]
    assert "Напишите вопрос одним сообщением" in asked.content
    assert [c["command"] for c in fake.commands[('{"type": "default"}', "ru")]][-2:] == ["operator", "rumour"]
    no_errors(fake)


async def test_privacy_names_the_desk_and_forget_erases_the_tickets(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5015, language_code="en")
    await ask(resident, "Can my employer make me vote?")
    summary = (await resident.send("/privacy")).replies[0]
    assert "if you asked a person: your tickets" in summary.content
    privacy = (await resident.press(summary, 0)).edits[0].content
    assert "If you asked a person: your tickets" in privacy
    confirm = (await resident.send("/forget")).replies[-1]
    await resident.press(confirm, "Yes, erase everything")
    assert desk_bot.app is not None
    assert await desk_bot.app.storage.open_ticket_of(5015) is None and await desk_bot.app.storage.ticket(1) is None
    no_errors(fake)


async def test_not_helpful_offers_a_person_when_the_desk_is_on(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    user = fake.user(7390, language_code="en")
    answer = (await user.send("/start faq-vote-abroad")).replies[0]
    follow_up = (await user.press(answer, "👎")).replies[0]
    assert "ask a person" in follow_up.content
    ask = await user.press(follow_up, "Ask a person")  # the desk takes it from here
    assert ask.callback_answer is not None
    no_errors(fake)


async def test_a_forwarded_message_is_a_rumour_check_without_a_command(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5031, language_code="en")
    checked = await resident.forward("65% voted yes in almaty")  # a checked rumour: its verdict, no ticket
    assert checked.replies[0].content.startswith("🔎") and "2022" in checked.replies[0].content
    assert forum.topics == {}
    unknown = await resident.forward("the polling stations will give out free concert tickets")
    assert "#1" in unknown.text  # nothing known: a person checks it
    assert "🔎" in forum.topic_by_name("#1 ").name
    no_errors(fake)


RUMOUR = """
  - id: free-concert-tickets
    verdict: "false"
    reviewed: 2026-12-08
    sources:
      - title: "Test source"
        url: "https://example.org/tickets"
        published: 2026-02-20
    kk:
      claim: "Учаскелерде тегін билет береді"
      explanation: "Жоқ."
      alt: ["учаскеде тегін билет", "тегін концерт билеті учаскеде", "дауыс бергенге тегін билет"]
    ru:
      claim: "На участках дают бесплатные билеты"
      explanation: "Нет."
      alt: ["на участках бесплатные билеты", "бесплатные билеты на концерт", "за голос бесплатный билет"]
    en:
      claim: "Polling stations give out free concert tickets"
      explanation: "No, they do not."
      alt: ["{claim}", "free tickets at polling stations", "free concert ticket for voting"]
"""


async def test_a_rumour_the_operators_checked_reaches_the_resident_once_published(
    fake: FakeTelegram, forum: FakeGroup, make_settings: Callable[..., Settings], clock: ManualClock, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    shutil.copytree(DATA, content)
    settings = make_settings(fake, operators_chat_id=OPS, default_language="en", content_dir=content)
    bot = RunningBot(fake, settings, clock)
    await bot.start()
    try:
        claim = "the polling stations will give out free concert tickets"
        resident = fake.user(5032, language_code="en")
        await resident.send("/rumour")
        assert "#1" in (await resident.send(claim)).text  # nothing known: a person checks it
        rumours = content / "rumours.yaml"
        text = rumours.read_text(encoding="utf-8")
        rumours.write_text(text.replace("\nrumours:\n", "\nrumours:\n" + RUMOUR.replace("{claim}", claim), 1))
        assert "Content reloaded" in (await fake.user(ADMIN_ID, language_code="en").send("/faq_reload")).text

        def verdicts() -> list[str]:
            return [m.content for m in resident.bot_messages() if m.content.startswith("🔔 You sent me a rumour")]

        await fake.wait_for(lambda: len(verdicts()) == 1)
        assert "❌ False" in verdicts()[0] and "No, they do not." in verdicts()[0]
        assert bot.app is not None
        assert await bot.app.dispatcher["answers"].tell() == 0  # once
        no_errors(fake)
    finally:
        await bot.stop()


async def test_the_desk_follows_the_timeline(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    resident = fake.user(5090, first_name="Erlan", language_code="en")
    desk_bot.clock.set(almaty(2026, 3, 10, 12, 0))
    screen = (await resident.send("/operator")).replies[0]
    assert "Operators are on duty now: the staff of the Almaty city call centre for the referendum." in screen.content
    assert "🗓 Voting day is 15 March 2026." in screen.content  # the same stage line as /help and /reminders
    waiting = fake.user(5092, first_name="Dias", language_code="en")
    await waiting.send("/operator")  # asked for the question before the desk closes, writes it after
    talker = fake.user(5091, first_name="Aruzhan", language_code="en")
    await ask(talker)  # a conversation open before the desk closes
    desk_bot.clock.set(almaty(2026, 3, 21, 9, 0))
    later = await talker.send("Any news on my question?")
    said = " ".join(m.content for m in later.replies + later.edits)
    assert "The operators' desk has closed" in said and "as soon as they can" not in said, said
    late = await waiting.send("Where do I vote?")
    assert "The operators' desk has closed" in late.replies[0].content and len(forum.topics) == 1  # no new ticket
    # from the desk's `until` milestone (results-deadline) nobody answers: it says so, with the commission's site
    for moment in (almaty(2026, 3, 21, 9, 0), almaty(2026, 9, 10, 12, 0)):
        desk_bot.clock.set(moment)
        closed = (await resident.send("/operator")).replies[0]
        assert "The operators' desk has closed" in closed.content, closed.content
        assert "on duty" not in closed.content and "call centre" not in closed.content
        assert "Central Referendum Commission" in closed.content
        assert "election.gov.kz" in str(closed.html) + str(closed.entities), closed.content
        rumour = (await resident.send("/rumour")).replies[0]
        assert "The operators' desk has closed" in rumour.content
        answer = await resident.send("What is the capital of the moon?")  # no "💬 Ask a person" offered
        assert not [b for m in answer.replies for b in m.flat_buttons if "Ask a person" in b.text]
    no_errors(fake)
