"""Admin broadcast commands through the fake Bot API: /announce with a photo, the progress message,
/broadcasts, /stats, scheduling, the audit log, and what non-admins (and forged buttons) get."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.devtools.fake_api import FakeTelegram
from bot.services.announcements import AnnouncementService, Draft, audience_token, parse_start
from bot.services.delivery import DeliveryEngine
from bot.storage.base import BroadcastMessage
from bot.storage.broadcasts import ALL_SUBSCRIBERS, DistrictAudience, LanguageAudience, MessageKind
from tests.conftest import ADMIN_ID, BEFORE, RunningBot, no_errors


async def seed(running: RunningBot, fake: FakeTelegram, ids: range, language: str, district: str | None = None) -> None:
    assert running.app is not None
    storage = running.app.storage
    for user_id in ids:
        fake.user(user_id, language_code=language).open_chat()
        await storage.touch_user(user_id, language, BEFORE)
        await storage.subscribe(user_id, language, BEFORE)
        if district:
            await storage.set_district(user_id, district)


def engine_of(running: RunningBot) -> DeliveryEngine:
    assert running.app is not None
    engine = running.app.dispatcher["delivery"]
    assert isinstance(engine, DeliveryEngine)
    return engine


async def test_announce_a_photo_to_english_subscribers(running: RunningBot, fake: FakeTelegram) -> None:
    await seed(running, fake, range(3000, 3012), "en")
    await seed(running, fake, range(3100, 3105), "kk")
    admin = fake.user(ADMIN_ID, language_code="en")

    prompt = await admin.send("/announce")
    assert "Send me the announcement" in prompt.text
    exchange = await admin.send_photo(caption="Polling stations open at 07:00")
    preview, control = exchange.replies
    assert "photo" in preview.extra and preview.caption == "Polling stations open at 07:00"  # exact preview
    assert "17 subscribers" in control.content and "all subscribers" in control.content

    choice = await admin.press(control, "By language")
    english = next(b.text for b in choice.edits[0].flat_buttons if "English" in b.text)
    assert english.endswith("(12)")
    chosen = await admin.press(choice.edits[0], english)
    assert "12 subscribers" in chosen.edits[0].content and "English" in chosen.edits[0].content

    sent = await admin.press(chosen.edits[0], "Send")
    assert sent.callback_answer is not None
    await fake.wait_for(
        lambda: "finished" in (fake._find_message(ADMIN_ID, control.message_id) or control).content, timeout=15
    )
    final = fake._find_message(ADMIN_ID, control.message_id)
    assert final is not None
    assert "Sent: 12" in final.content and "Blocked: 0" in final.content and "100%" in final.content
    assert final.flat_buttons == []  # the Cancel button is gone at the end
    for user_id in range(3000, 3012):
        (message,) = fake.bot_messages(user_id)
        assert "photo" in message.extra and message.caption == "Polling stations open at 07:00"
    assert all(fake.bot_messages(u) == [] for u in range(3100, 3105))

    assert running.app is not None
    actions = [entry.action for entry in reversed(await running.app.storage.audit_entries(10))]
    assert actions == ["announce.start", "announce.draft", "broadcast.send"]
    assert all(entry.admin_id == ADMIN_ID for entry in await running.app.storage.audit_entries(10))
    no_errors(fake)


async def test_a_formatted_text_announcement_by_district(running: RunningBot, fake: FakeTelegram) -> None:
    await seed(running, fake, range(3200, 3204), "ru", district="medeu")
    await seed(running, fake, range(3204, 3208), "ru")
    admin = fake.user(ADMIN_ID, language_code="en")
    await admin.send("/announce")
    exchange = await admin.send("<b>Medeu</b> & friends: meeting at 18:00")  # the admin's text, escaped
    control = exchange.replies[-1]
    choice = await admin.press(control, "By district")
    chosen = await admin.press(choice.edits[0], "Medeu (4)")
    await admin.press(chosen.edits[0], "Send")
    await fake.wait_for(lambda: all(fake.bot_messages(u) for u in range(3200, 3204)), timeout=10)
    assert fake.bot_messages(3200)[0].content == "<b>Medeu</b> & friends: meeting at 18:00"
    assert all(fake.bot_messages(u) == [] for u in range(3204, 3208))
    no_errors(fake)


async def test_schedule_then_cancel_from_broadcasts(running: RunningBot, fake: FakeTelegram) -> None:
    await seed(running, fake, range(3300, 3303), "en")
    admin = fake.user(ADMIN_ID, language_code="en")
    await admin.send("/announce")
    control = (await admin.send("Reminder: vote on Sunday")).replies[-1]
    asked = await admin.press(control, "Schedule")
    assert "Almaty time" in asked.edits[0].content
    assert "future date" in (await admin.send("2020-01-01 10:00")).text  # in the past: asked again
    scheduled = await admin.send("2026-03-14 09:00")
    assert "scheduled for 2026-03-14 09:00" in scheduled.text

    listing = (await admin.send("/broadcasts")).replies[0]
    assert "#1" in listing.content and "scheduled" in listing.content
    cancelled = await admin.press(listing, "Cancel #1")
    assert cancelled.callback_answer is not None and cancelled.callback_answer.get("text") == "Cancelled"
    assert "cancelled" in cancelled.edits[0].content
    assert running.app is not None
    record = await running.app.storage.get_broadcast(1)
    assert record is not None and record.status == "cancelled"
    assert all(fake.bot_messages(u) == [] for u in range(3300, 3303))
    actions = {entry.action for entry in await running.app.storage.audit_entries(20)}
    assert {"broadcast.schedule", "broadcasts.view", "broadcast.cancel"} <= actions
    no_errors(fake)


async def test_cancel_button_and_cancel_command(running: RunningBot, fake: FakeTelegram) -> None:
    admin = fake.user(ADMIN_ID, language_code="en")
    await admin.send("/announce")
    assert "nothing was sent" in (await admin.send("/cancel")).text
    await admin.send("/announce")
    control = (await admin.send("draft")).replies[-1]
    assert "nothing was sent" in (await admin.press(control, "Cancel")).edits[0].content
    stale = await admin.press_data(control.message_id, "ann:send:")  # the dialog has ended
    assert stale.callback_answer is not None and "out of date" in str(stale.callback_answer.get("text"))
    assert running.app is not None and await running.app.storage.recent_broadcasts(5) == []


async def test_stats(running: RunningBot, fake: FakeTelegram) -> None:
    await seed(running, fake, range(3400, 3403), "kk", district="almaly")
    await seed(running, fake, range(3403, 3405), "en")
    record = await engine_of(running).create_broadcast(
        BroadcastMessage(kind=MessageKind.TEXT, text="hi"), ALL_SUBSCRIBERS
    )
    await engine_of(running).wait_finished(record.id, timeout=10)
    text = (await fake.user(ADMIN_ID, language_code="en").send("/stats")).text
    assert "Subscribers: 5" in text
    assert "Almaly 3" in text and "not chosen 2" in text
    assert "last 24 hours 5" in text


@pytest.mark.parametrize("command", ["/announce", "/broadcasts", "/stats"])
async def test_admin_commands_do_not_exist_for_others(running: RunningBot, fake: FakeTelegram, command: str) -> None:
    exchange = await fake.user(3500, language_code="en").send(command)
    assert "I do not know this command" in exchange.text
    # nor for the admin in a group
    group = fake.group(-3500, title="Neighbours")
    assert (await fake.user(ADMIN_ID, language_code="en").in_group(group).send(command)).replies == []
    assert running.app is not None and await running.app.storage.audit_entries(5) == []


@pytest.mark.parametrize("data", ["ann:send:", "ann:aud:all", "bc:cancel:1:p", "bc:cancel:1:l"])
async def test_forged_admin_buttons_do_nothing(running: RunningBot, fake: FakeTelegram, data: str) -> None:
    await seed(running, fake, range(3600, 3603), "en")
    engine = engine_of(running)
    record = await engine.create_broadcast(
        BroadcastMessage(kind=MessageKind.TEXT, text="later"),
        ALL_SUBSCRIBERS,
        start_at=running.clock.now().replace(year=2027),
    )
    intruder = fake.user(3601, language_code="en")
    menu = (await intruder.send("/menu")).replies[0]
    exchange = await intruder.press_data(menu.message_id, data)
    assert exchange.callback_answer is not None and "out of date" in str(exchange.callback_answer.get("text"))
    assert running.app is not None
    stored = await running.app.storage.get_broadcast(record.id)
    assert stored is not None and stored.status == "scheduled"
    assert len(await running.app.storage.recent_broadcasts(5)) == 1
    assert await running.app.storage.audit_entries(5) == []
    no_errors(fake)


def test_a_start_time_is_a_valid_moment_in_the_future() -> None:
    tz = BEFORE.tzinfo
    assert tz is not None
    assert parse_start(" 2026-03-15 08:30 ", tz, BEFORE) == datetime(2026, 3, 15, 8, 30, tzinfo=tz)
    assert parse_start("2026-3-15T8:30", tz, BEFORE) == datetime(2026, 3, 15, 8, 30, tzinfo=tz)
    for text in ("2026-02-30 10:00", "2026-03-15 25:00", "tomorrow 10:00", "2026-03-15", "2026-03-12 12:00"):
        assert parse_start(text, tz, BEFORE) is None, text  # not a date, not a time, or not in the future


async def test_a_draft_and_its_audience_survive_the_conversation_data(running: RunningBot) -> None:
    assert running.app is not None
    announcements = running.app.dispatcher["announcements"]
    assert isinstance(announcements, AnnouncementService)
    for audience in (ALL_SUBSCRIBERS, LanguageAudience("kk"), DistrictAudience("almaly")):
        assert announcements.audience(audience_token(audience)) == audience
        draft = Draft(Draft.copy(ADMIN_ID, 77).message, audience)
        assert announcements.draft(draft.to_data()) == draft
    for forged in ("lang-xx", "dist-atlantis", "dist-", "everybody", ""):
        assert announcements.audience(forged) is None, forged
    text = Draft.text("<b>Vote</b>")
    assert text.to_data() == {"kind": "text", "text": "<b>Vote</b>", "audience": "all"}  # as older versions kept it
    stale = announcements.draft({"kind": "text", "text": "hi", "audience": "dist-atlantis"})
    assert stale is not None and stale.audience == ALL_SUBSCRIBERS
    assert announcements.draft({}) is None and announcements.draft({"kind": "poll"}) is None  # no draft kept
