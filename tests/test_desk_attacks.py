"""Issue 22: the outside review's attacks on the operators' desk, each replayed through the fake Bot
API: an internal note in an album, a shared contact or location, a forged "Ask a person" button, a
burst past the hourly budget, a probe answer that cannot be parsed, a resident's edit, and /forget
against every copy of a resident's words."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeGroup, FakeMessage, FakeTelegram
from bot.services import desk as desk_service
from bot.services.desk import DeskService
from bot.telegram.callbacks import DeskCb
from tests.conftest import OPS, RunningBot, no_errors
from tests.test_desk import ask, operator_in, posts
from tests.test_postgres_storage import rows_mentioning

pytestmark = pytest.mark.both_backends

RESIDENT = 98765432123  # 11 digits: no timestamp or count in the database contains it
MARKER = "Zebra4711"


def desk_of(bot: RunningBot) -> DeskService:
    assert bot.app is not None
    desk: DeskService = bot.app.dispatcher["desk"]
    return desk


def photos(messages: list[FakeMessage]) -> list[FakeMessage]:
    return [m for m in messages if "photo" in m.extra]


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("// internal", True),
        (" // internal", True),
        ("\n//internal", True),
        ("\u200b// internal", True),
        ("／／ full-width", True),
        ("/ / spaced", False),
        ("see https://example.org", False),
        (None, False),
    ],
)
def test_the_note_marker_survives_blanks_and_folding(text: str | None, note: bool) -> None:
    assert desk_service.is_internal_note(text) is note


async def test_an_album_with_a_note_in_any_caption_stays_internal_whole(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5101, language_code="en")
    await ask(resident, "Is this the right ballot?")
    topic = forum.topic_by_name("#1 ")
    intro = posts(forum, topic.thread_id)[0]
    assert "a whole album if any of its captions starts with //" in intro.content
    operator = operator_in(fake, forum, topic.thread_id)
    before = len(resident.bot_messages())

    # the review's attack: the first photo's caption is the note, the second has none
    await operator.send_album("// internal: the resident's passport", None)
    await operator.send_album(None, "／／ full-width note on the last photo")
    await operator.send_album(" // a blank first", None, None)
    for text in ("／／ full-width", " // blank first", "\n// on the second line"):
        await operator.send(text)
    await desk_of(desk_bot).drain()
    assert len(resident.bot_messages()) == before  # nothing reached the resident

    # an album without a note reaches the resident, every photo
    await operator.send_album("Compare with this sample", None)
    await desk_of(desk_bot).drain()
    header, *album = resident.bot_messages()[-3:]
    assert header.content == "💬 Reply from the operators (ticket #1):"
    assert len(photos(album)) == 2 and album[0].content == "Compare with this sample"
    assert len(photos(resident.bot_messages())) == 2
    no_errors(fake)


async def test_an_album_noted_on_its_last_photo_stays_internal_with_updates_handled_at_once(
    fake: FakeTelegram, forum: FakeGroup, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """As in production: the album's items are handled concurrently, the note comes last."""
    settings = make_settings(fake, operators_chat_id=OPS, default_language="en")
    bot = RunningBot(fake, settings, clock, handle_as_tasks=True)
    await bot.start()
    try:
        resident = fake.user(5109, language_code="en")
        await resident.send("/operator")
        await fake.wait_for(lambda: len(resident.bot_messages()) == 1)
        await resident.send("Is this the right ballot?")
        await fake.wait_for(lambda: len(resident.bot_messages()) == 2)  # the ticket is open
        operator = operator_in(fake, forum, next(iter(forum.topics)))
        await operator.send_album(None, None, "// the resident's passport, for us only")
        await operator.send_album("Compare with this sample", None)
        await fake.wait_for(lambda: len(photos(resident.bot_messages())) == 2)
        await desk_of(bot).drain()
        assert [m.content for m in photos(resident.bot_messages())] == ["Compare with this sample", ""]
        no_errors(fake)
    finally:
        await bot.stop()


async def test_contacts_and_locations_never_reach_the_operators(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5102, language_code="en")
    await resident.send("/operator")
    told = await resident.send_contact("+77010000000", "Aigul")
    assert "do not pass a shared contact or location on" in told.text and "in words" in told.text
    assert forum.topics == {}  # no ticket for a phone number
    await resident.send("Where do I vote?")
    topic = forum.topic_by_name("#1 ")
    before = len(posts(forum, topic.thread_id))
    assert "do not pass" in (await resident.send_location(43.238, 76.889)).text
    assert "do not pass" in (await resident.send_contact("+77010000000", "Aigul")).text
    assert len(posts(forum, topic.thread_id)) == before
    assert not [c for c in fake.calls_of("copyMessage") if c.params.get("chat_id") == OPS and "77010000000" in str(c)]

    # a rumour check: the same
    other = fake.user(5103, language_code="ru")
    await other.send("/rumour")
    assert "не передаю" in (await other.send_location(43.2, 76.9)).text
    assert len(forum.topics) == 1
    summary = (await resident.send("/privacy")).replies[0]  # 📄 More: the full list
    privacy = (await resident.press(summary, 0)).edits[0].content
    assert "shared contact or location is never passed on" in privacy
    no_errors(fake)


async def test_a_forged_person_button_passes_nothing_on(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5104, language_code="en")
    await resident.send("my private words, not for the operators")
    private = [m for m in resident.messages() if not m.from_bot][-1]
    await resident.send("/rumour")
    offer = (await resident.send("where is my polling station")).replies[-1]
    forged = await resident.press_data(offer.message_id, DeskCb(action="person", ctx=str(private.message_id)).pack())
    assert "out of date" in forged.text
    assert forum.topics == {}
    taken = await resident.press(offer, "Ask a person about it")  # the offered message still goes
    assert "ticket #1" in taken.text
    assert posts(forum, forum.topic_by_name("#1 ").thread_id)[-1].content == "where is my polling station"
    no_errors(fake)


async def test_a_burst_cannot_pass_the_hourly_budget(
    fake: FakeTelegram, forum: FakeGroup, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    """Updates handled at once, as in production: the review sent 60 with a budget of 20, all copied."""
    bot = RunningBot(
        fake, make_settings(fake, operators_chat_id=OPS, default_language="en"), clock, handle_as_tasks=True
    )
    await bot.start()
    try:
        budget = desk_of(bot).budget
        resident = fake.user(5105, language_code="en")
        await resident.send("/operator")
        await fake.wait_for(lambda: len(resident.bot_messages()) == 1)
        await resident.send("first")
        await fake.wait_for(lambda: len(resident.bot_messages()) == 2)  # the ticket is open
        for n in range(3 * budget):  # all at once
            await resident.post(f"burst {n}")
        await fake.wait_for(lambda: len(resident.bot_messages()) == 2 + 3 * budget)  # each got its answer
        topic = forum.topic_by_name("#1 ")
        assert len(posts(forum, topic.thread_id)) == 2 + budget - 1  # the intro, "first" and the rest of the budget
        no_errors(fake)
    finally:
        await bot.stop()


async def test_a_probe_answer_that_cannot_be_parsed_switches_the_desk_off(
    fake: FakeTelegram,
    make_settings: Callable[..., Settings],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.forum(OPS, "Operators")
    fake.garbled.add("getChatMember")
    bot = RunningBot(fake, make_settings(fake, operators_chat_id=OPS), clock)
    with caplog.at_level(logging.DEBUG, logger="bot.services.desk"):
        await bot.start()
    try:
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.services.desk" and r.levelno >= logging.INFO]
        assert len(lines) == 1 and lines[0].startswith(f"operators' desk off: OPERATORS_CHAT_ID={OPS} could not be")
        resident = fake.user(5106, language_code="en")
        assert "I do not know this command" in (await resident.send("/operator")).text
        assert "/operator" not in (await resident.send("/help")).text  # the bot runs on, without the desk
    finally:
        await bot.stop()


async def test_an_edit_of_a_relayed_message_reaches_the_operators(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    resident = fake.user(5107, language_code="en")
    await resident.send("how do I vote")  # a question to the FAQ: not relayed
    faq_question = [m for m in resident.messages() if not m.from_bot][-1]
    await ask(resident, "Where is polling station 12?")
    question = [m for m in resident.messages() if not m.from_bot][-1]
    topic = forum.topic_by_name("#1 ")
    await resident.edit(question, "Where is polling station 21? <b>21</b>")
    assert posts(forum, topic.thread_id)[-1].content == "✏️ edited: Where is polling station 21? <b>21</b>"
    before = len(posts(forum, topic.thread_id))
    await fake.wait_processed(await fake.push_update({"edited_message": question.to_dict()}))  # delivered twice
    assert len(posts(forum, topic.thread_id)) == before  # passed on once
    await resident.edit(faq_question, "how do I vote early")  # never relayed: stays with the bot
    assert len(posts(forum, topic.thread_id)) == before
    no_errors(fake)


async def test_forget_erases_every_copy_of_the_residents_words(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup, clock: ManualClock
) -> None:
    assert desk_bot.app is not None
    storage = desk_bot.app.storage
    resident = fake.user(RESIDENT, language_code="en")
    await resident.send(f"who will win the {MARKER} cup")  # a question without an answer: unanswered
    answer = (await resident.send("/start faq-documents")).replies[0]
    await resident.press(answer, "👍")  # feedback
    card = (await resident.send("/start event-day-of-silence")).replies[0]
    await resident.press(card, "the day before")  # an event reminder
    await ask(resident, f"My question {MARKER}: can my employer make me vote?")  # a ticket
    first = forum.topic_by_name("#1 ")
    operator = operator_in(fake, forum, first.thread_id)
    await operator.send("No: nobody can make you vote.")
    await operator.send("/faq")  # a draft with the resident's question
    await operator.send("/close")
    told = resident.last_bot_message()
    await resident.press(told, "👍")  # the ticket's rating
    await resident.send("/rumour")
    await resident.send(f"they say {MARKER} buys votes")  # a rumour: ticket #2
    rumour = forum.topic_by_name("#2 ")
    await resident.edit([m for m in resident.messages() if not m.from_bot][-1], f"they say {MARKER} pays")
    assert posts(forum, rumour.thread_id)[-1].content.startswith("✏️")
    assert await rows_mentioning(storage, RESIDENT)
    drafts = await storage.faq_drafts(10)
    assert drafts and MARKER in drafts[0].question

    confirm = (await resident.send("/forget")).replies[-1]
    done = await resident.press(confirm, "Yes, erase everything")
    assert "no longer stores anything about you" in done.edits[0].content
    assert await rows_mentioning(storage, RESIDENT) == {}
    assert await rows_mentioning(storage, MARKER) == {}  # type: ignore[arg-type]
    drafts = await storage.faq_drafts(10)
    assert drafts[0].question == "" and drafts[0].answer == "No: nobody can make you vote."

    # a minute later, the old buttons store nothing again (the bot's clock at Telegram's time)
    clock.set(datetime.now(UTC) + timedelta(minutes=2))
    stale = await resident.press(answer, "👍")
    assert stale.callback_answer is not None and "out of date" in str(stale.callback_answer.get("text"))
    stale = await resident.press(told, "👍")
    assert stale.callback_answer is not None and "out of date" in str(stale.callback_answer.get("text"))
    found = await rows_mentioning(storage, RESIDENT)
    assert set(found) <= {"users"}  # only the record of this very press
    no_errors(fake)


async def test_retention_blanks_the_question_of_old_drafts(
    desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup
) -> None:
    assert desk_bot.app is not None
    storage = desk_bot.app.storage
    resident = fake.user(5108, language_code="en")
    await ask(resident, f"Old question {MARKER}")
    operator = operator_in(fake, forum, forum.topic_by_name("#1 ").thread_id)
    await operator.send("/faq The answer stays.")
    await operator.send("/close")
    later = desk_bot.app.clock.now() + timedelta(days=40)
    assert await storage.purge_desk_before(later) > 0
    draft = (await storage.faq_drafts(1))[0]
    assert draft.question == "" and draft.answer == "The answer stays."
    assert await rows_mentioning(storage, MARKER) == {}  # type: ignore[arg-type]


async def test_concurrent_claims_keep_to_the_budget(desk_bot: RunningBot, fake: FakeTelegram, forum: FakeGroup) -> None:
    """The storage alone: many claims at once, on both backends, never pass the budget."""
    assert desk_bot.app is not None
    storage = desk_bot.app.storage
    now = desk_bot.app.clock.now()
    outcomes = await asyncio.gather(
        *(storage.claim_relay_within(6001, n, 1, 6001, 5, now - timedelta(hours=1), now) for n in range(30))
    )
    assert outcomes.count("relay") == 5 and outcomes.count("over_budget") == 25
    relayed = outcomes.index("relay")  # the message ids are 0..29
    assert await storage.claim_relay_within(6001, relayed, 1, 6001, 5, now - timedelta(hours=1), now) == "duplicate"
