"""Issue 12 through the fake Bot API: /privacy, /forget (then a look at every table), /stop,
retention with an injected clock, removed admins, the audit of admin dialogs, SQL parameters kept
out of the logs, and event notices that survive a kill -9 of the bot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import ConfigError, Settings, load_settings
from bot.content import load_content
from bot.devtools.fake_api import FakeTelegram
from bot.logs import setup_logging
from bot.services.delivery import DeliveryEngine, in_flight_window
from bot.services.events import EventService
from bot.services.privacy import PrivacyService, vote_cutoff
from bot.services.reminders import ReminderService
from bot.storage.base import BroadcastMessage, EventRecord
from bot.storage.broadcasts import ALL_SUBSCRIBERS, MessageKind
from bot.storage.sql import SqlStorage
from tests.conftest import ADMIN_ID, BEFORE, DATA, RunningBot, almaty, no_errors, sqlite_database
from tests.support.bot_process import BotProcess
from tests.test_delivery import _env, _spawn
from tests.test_postgres_storage import rows_mentioning

RESIDENT = 98765432123  # 11 digits: no timestamp or count in the database contains it
FORMER = 900002


def app_parts(bot: RunningBot) -> tuple[PrivacyService, EventService, DeliveryEngine, ReminderService]:
    assert bot.app is not None
    dp = bot.app.dispatcher
    return dp["privacy"], dp["events"], dp["delivery"], dp["reminders"]


def chat_commands(fake: FakeTelegram, chat_id: int) -> list[str] | None:
    key = (json.dumps({"type": "chat", "chat_id": chat_id}, sort_keys=True), "")
    commands = fake.commands.get(key)
    return None if commands is None else [str(c["command"]) for c in commands]


# --- /privacy, /forget, /stop ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "phrases"),
    [
        ("en", ["What the bot stores about you", "Deleted after 30 days", "at most 20 a day", "/forget erases"]),
        ("ru", ["Что бот хранит о вас", "Удаляются через 30 дн.", "не больше 20 в сутки", "/forget удаляет"]),
        ("kk", ["Бот сіз туралы не сақтайды", "30 күннен кейін өшіріледі", "тәулігіне 20", "/forget мұның"]),
    ],
)
async def test_privacy_says_what_why_and_how_long_in_each_language(
    running: RunningBot, fake: FakeTelegram, lang: str, phrases: list[str]
) -> None:
    user = fake.user(8100, language_code=lang)
    summary = (await user.send("/privacy")).replies[0]
    assert phrases[0] in summary.content and phrases[3] in summary.content  # the short version first
    assert len(summary.content.split()) < 120 and len(summary.flat_buttons) == 1
    reply = (await user.press(summary, 0)).edits[0]  # 📄 More: the full list, in place
    for phrase in phrases:
        assert phrase in reply.content
    for command in ("privacy", "forget", "stop"):  # in the command menu, in this language
        key = (json.dumps({"type": "default"}, sort_keys=True), lang)
        assert command in [c["command"] for c in fake.commands[key]]
    no_errors(fake)


async def test_forget_erases_every_row_about_the_user_after_a_confirmation(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    assert running.app is not None
    storage = running.app.storage
    _privacy, _events, engine, _reminders = app_parts(running)
    user = fake.user(RESIDENT, language_code="en")
    other = fake.user(8201, language_code="en")
    for person in (user, other):
        screen = (await person.send("/subscribe")).replies[0]
        await person.press((await person.press(screen, "Choose a district")).edits[0], "Medeu")
        await person.send("who will win the champions league")  # unanswered: stored
        answer = (await person.send("/start faq-documents")).replies[0]
        await person.press(answer, "👍")
        card = (await person.send("/start event-day-of-silence")).replies[0]
        await person.press(card, "the day before")
    await storage.set_vote_time(RESIDENT, datetime(2026, 3, 15, 9, 0).time())
    await storage.mark_voted(RESIDENT, date(2026, 3, 15))
    await storage.set_language(RESIDENT, "en")
    announcement = await engine.create_broadcast(BroadcastMessage(kind=MessageKind.TEXT, text="Hello"), ALL_SUBSCRIBERS)
    await engine.wait_finished(announcement.id, timeout=20)
    before = await rows_mentioning(storage, RESIDENT)
    assert {"users", "subscriptions", "reminder_prefs", "faq_feedback", "unanswered", "event_reminders",
            "deliveries"} <= set(before)  # fmt: skip

    ask = (await user.send("/forget")).replies[0]
    assert "cannot be undone" in ask.content
    kept = await user.press(ask, "No, keep it")
    assert "Nothing was erased." in kept.edits[0].content
    assert set(await rows_mentioning(storage, RESIDENT)) == set(before)

    ask = (await user.send("/forget")).replies[0]
    done = await user.press(ask, "Yes, erase everything")
    assert "the bot no longer stores anything about you" in done.edits[0].content
    assert await rows_mentioning(storage, RESIDENT) == {}  # every table of the schema
    assert await storage.get_user(RESIDENT) is None
    assert [c for c in fake.calls_of("deleteMyCommands") if c.params.get("scope", {}).get("chat_id") == RESIDENT]
    # the other resident keeps everything
    assert {"users", "subscriptions", "faq_feedback", "unanswered", "event_reminders", "deliveries"} <= set(
        await rows_mentioning(storage, 8201)
    )
    no_errors(fake)


async def test_stop_ends_every_message_but_keeps_nothing_else(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    storage = running.app.storage
    user = fake.user(8300, language_code="en")
    await user.send("/subscribe")
    card = (await user.send("/start event-day-of-silence")).replies[0]
    await user.press(card, "the day before")
    await storage.set_vote_time(8300, datetime(2026, 3, 15, 9, 0).time())
    reply = (await user.send("/stop")).replies[0]
    assert "Stopped" in reply.content and "/forget" in reply.content
    assert await storage.get_subscription(8300) is None
    assert await storage.get_event_reminder(8300, "day-of-silence") is None
    assert (await storage.reminder_prefs(8300)).vote_time is None
    assert await running.app.storage.audience_size(ALL_SUBSCRIBERS) == 0
    no_errors(fake)


async def test_unsubscribe_drops_the_reminder_preferences(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    storage = running.app.storage
    user = fake.user(98765438301, language_code="en")
    await user.send("/subscribe")
    await storage.set_vote_time(98765438301, datetime(2026, 3, 15, 9, 0).time())
    await user.send("/unsubscribe")
    assert (await storage.reminder_prefs(98765438301)).vote_time is None
    assert set(await rows_mentioning(storage, 98765438301)) == {"users"}


# --- retention, with the injected clock -------------------------------------------------------------


async def test_unanswered_texts_are_deleted_after_the_retention_period(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    assert running.app is not None
    storage = running.app.storage
    privacy, _events, _engine, reminders = app_parts(running)
    asked = clock.now()
    await fake.user(98765438400, language_code="en").send("who will win the champions league")
    clock.set(asked + timedelta(days=1))
    await fake.user(8401, language_code="en").send("recipe for beshbarmak please")

    clock.set(asked + timedelta(days=30))  # exactly 30 days: still kept
    assert (await privacy.tick(clock.now())).unanswered == 0
    clock.set(asked + timedelta(days=30, seconds=1))
    await reminders.tick()  # the scheduler's tick runs the retention job
    rows = await storage.top_unanswered(asked - timedelta(days=1), 10)
    assert [row.text for row in rows] == ["recipe for beshbarmak please"]
    assert set(await rows_mentioning(storage, 98765438400)) == {"users"}
    clock.set(asked + timedelta(days=31, seconds=1))
    assert (await privacy.tick(clock.now())).unanswered == 1
    assert await storage.top_unanswered(asked - timedelta(days=1), 10) == []


async def test_retention_days_come_from_the_configuration(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    assert load_settings({}, dotenv=None).unanswered_retention_days == 30
    assert load_settings({"UNANSWERED_RETENTION_DAYS": "7"}, dotenv=None).unanswered_retention_days == 7
    for bad in ("0", "-1", "a week", "1.5"):
        with pytest.raises(ConfigError, match="UNANSWERED_RETENTION_DAYS"):
            load_settings({"UNANSWERED_RETENTION_DAYS": bad}, dotenv=None)
    bot = RunningBot(fake, make_settings(fake, unanswered_retention_days=2), clock)
    await bot.start()
    try:
        privacy, *_ = app_parts(bot)
        await fake.user(8402, language_code="en").send("who will win the champions league")
        assert "deleted after 2 days" in (await fake.user(8403, language_code="en").send("/privacy")).text
        clock.set(BEFORE + timedelta(days=2, seconds=1))
        assert (await privacy.tick(clock.now())).unanswered == 1
    finally:
        await bot.stop()


async def test_i_voted_is_forgotten_once_voting_days_reminders_are_over(
    running: RunningBot, clock: ManualClock
) -> None:
    assert running.app is not None
    storage = running.app.storage
    privacy, *_ = app_parts(running)
    await storage.touch_user(8500, "ru", clock.now())
    await storage.mark_voted(8500, date(2026, 3, 15))
    grace = running.settings.reminder_grace_seconds
    last_chance = almaty(2026, 3, 16, 0, 0) + timedelta(seconds=grace)  # midnight after voting day + grace
    for moment in (almaty(2026, 3, 15, 18, 0), last_chance - timedelta(seconds=1)):
        assert (await privacy.tick(moment)).votes == 0
        assert (await storage.reminder_prefs(8500)).voted_on == date(2026, 3, 15)
    assert (await privacy.tick(last_chance)).votes == 1
    assert (await storage.reminder_prefs(8500)).voted_on is None


def test_vote_cutoff_also_waits_for_the_last_voting_day_reminder() -> None:
    campaign = load_content(DATA).campaign
    grace = timedelta(hours=1)
    assert vote_cutoff(almaty(2026, 3, 16, 0, 59), campaign, grace) == date(2026, 3, 15)  # D kept
    assert vote_cutoff(almaty(2026, 3, 16, 1, 0), campaign, grace) == date(2026, 3, 16)  # D forgotten
    # a voting-day-scope reminder set for the next morning keeps D's marks until it is past its grace
    later = [r.model_copy(update={"days_before": -1}) if r.scope == "voting_day" else r for r in campaign.reminders]
    odd = campaign.model_copy(update={"reminders": later})
    assert vote_cutoff(almaty(2026, 3, 16, 1, 0), odd, grace) == date(2026, 3, 15)
    last = max(odd.reminder_moment(r) for r in later if r.scope == "voting_day")
    assert vote_cutoff(last + grace, odd, grace) == date(2026, 3, 16)


async def test_event_reminders_are_deleted_a_week_after_their_moment(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    assert running.app is not None
    privacy, *_ = app_parts(running)
    user = fake.user(8501, language_code="en")
    card = (await user.send("/start event-day-of-silence")).replies[0]
    await user.press(card, "the day before")
    reminder = await running.app.storage.get_event_reminder(8501, "day-of-silence")
    assert reminder is not None
    assert (await privacy.tick(reminder.remind_at + timedelta(days=7))).event_reminders == 0
    assert (await privacy.tick(reminder.remind_at + timedelta(days=7, seconds=1))).event_reminders == 1


# --- admins -----------------------------------------------------------------------------------------


async def test_a_removed_admin_loses_the_menu_and_their_scheduled_broadcasts(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> None:
    both = RunningBot(fake, make_settings(fake, admin_ids=frozenset({ADMIN_ID, FORMER})), clock)
    await both.start()
    assert both.app is not None
    former = fake.user(FORMER, language_code="en")
    await former.send("/start")
    assert "announce" in (chat_commands(fake, FORMER) or [])
    later = clock.now() + timedelta(days=1)
    message = BroadcastMessage(kind=MessageKind.TEXT, text="Scheduled")
    theirs, _ = await both.app.storage.create_broadcast(
        message, ALL_SUBSCRIBERS, created_by=FORMER, now=clock.now(), start_at=later
    )
    ours, _ = await both.app.storage.create_broadcast(
        message, ALL_SUBSCRIBERS, created_by=ADMIN_ID, now=clock.now(), start_at=later
    )
    await both.stop()

    one = RunningBot(fake, make_settings(fake, admin_ids=frozenset({ADMIN_ID})), clock)
    await one.start()
    try:
        assert one.app is not None
        storage = one.app.storage
        menu = chat_commands(fake, FORMER)
        assert menu is not None and "announce" not in menu and "forget" in menu
        assert "announce" in (chat_commands(fake, ADMIN_ID) or [])
        gone, kept = await storage.get_broadcast(theirs.id), await storage.get_broadcast(ours.id)
        assert gone is not None and gone.status == "cancelled"
        assert kept is not None and kept.status == "scheduled"
        audit = [(e.admin_id, e.action, e.details) for e in await storage.audit_entries(10)]
        assert (FORMER, "broadcast.cancel", f"#{theirs.id}: scheduled by an admin no longer in ADMIN_IDS") in audit
        assert (FORMER, "admin.removed", "admin command menu reset") in audit
        assert "I do not know this command" in (await former.send("/announce")).text
        await one.restart()  # nothing twice
        assert one.app is not None
        assert len(await one.app.storage.audit_entries(50)) == len(audit)
    finally:
        await one.stop()


async def test_event_dialogs_write_to_the_audit_log(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    admin = fake.user(ADMIN_ID, language_code="en")
    await admin.send("/event_add")
    await admin.send("/cancel")
    await admin.send("/event_edit voting-day")
    confirm = (await admin.send("/event_cancel voting-day")).replies[0]
    await admin.press(confirm, "No, keep it")
    actions = [(e.action, e.details) for e in reversed(await running.app.storage.audit_entries(10))]
    assert actions == [
        ("event_add.start", ""),
        ("event_dialog.stop", "EventForm:kind"),
        ("event_edit.open", "voting-day"),
        ("event_cancel.ask", "voting-day"),
        ("event_cancel.keep", "voting-day"),
    ]
    no_errors(fake)


# --- logs ---------------------------------------------------------------------------------------------


async def test_sql_parameters_are_never_logged_even_at_debug(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (
        root.handlers[:],
        root.level,
        logging.getLogger("sqlalchemy.engine").level,
        logging.getLogger("aiogram.event").level,
    )
    try:
        setup_logging("DEBUG", [])
        logging.getLogger("bot.test").debug("debug lines are on")
        storage = SqlStorage(sqlite_database(tmp_path / "log.sqlite3"))
        await storage.connect()
        await storage.record_unanswered(1, "en", "my ID number is 880101300123", BEFORE)
        await storage.close()
        err = capfd.readouterr().err
        assert "debug lines are on" in err
        assert "880101300123" not in err
    finally:
        root.handlers[:], level, aiosqlite_level, aiogram_level = saved
        root.setLevel(level)
        logging.getLogger("sqlalchemy.engine").setLevel(aiosqlite_level)
        logging.getLogger("aiogram.event").setLevel(aiogram_level)


# --- event notices through the delivery engine ---------------------------------------------------------


async def test_an_interrupted_cancellation_is_completed_by_the_next_tick(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    assert running.app is not None
    _privacy, events, engine, _reminders = app_parts(running)
    people = [fake.user(8600 + n, language_code=lang) for n, lang in enumerate(["en", "ru", "kk", "en"])]
    event = await events.get("day-of-silence")
    assert event is not None
    for person in people:
        await person.send("/help")
        assert await events.set_reminder(person.id, event, "eve", clock.now()) is not None
    # the process died right after marking the event cancelled: no notice queued, reminders pending
    await running.app.storage.cancel_event("day-of-silence", ADMIN_ID, clock.now())
    assert await events.send_due(clock.now()) == 0  # the tick completes the cancellation
    for lang in ("en", "ru", "kk"):
        record = await running.app.storage.get_broadcast_by_key(f"event-cancel:day-of-silence:{lang}")
        assert record is not None
        await engine.wait_finished(record.id, timeout=20)
    for person in people:
        assert len([m for m in person.bot_messages() if "❌" in m.content]) == 1
    assert await running.app.storage.pending_event_reminders("day-of-silence") == []
    assert await events.resume_cancellations() == 0  # nothing twice
    listing = (await fake.user(ADMIN_ID, language_code="en").send("/broadcasts")).text
    assert listing.count("event notice · sent 2 of 2") == 1 and listing.count("event notice · sent 1 of 1") == 2
    no_errors(fake)


async def test_an_interrupted_edit_is_completed_by_the_next_tick(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    assert running.app is not None
    storage = running.app.storage
    _privacy, events, engine, _reminders = app_parts(running)
    now = clock.now()
    starts = almaty(2026, 3, 20, 18, 0)
    record = meeting("ev-20260320-1", starts, now)
    await storage.save_event(record)
    person = fake.user(8650, language_code="en")
    await person.send("/help")
    event = await events.get(record.id)
    assert event is not None and await events.set_reminder(person.id, event, "1h", now) is not None
    # the process died right after saving the new start: reminders not moved, nobody told
    later = clock.now() + timedelta(minutes=5)
    await storage.save_event(replace(record, starts_at=starts + timedelta(days=1), updated_at=later))
    await events.send_due(clock.now())
    reminder = await storage.get_event_reminder(person.id, record.id)
    assert reminder is not None and reminder.remind_at == starts + timedelta(days=1, hours=-1)
    (notice,) = [b for b in await storage.recent_broadcasts(5) if (b.key or "").startswith("event-edit:")]
    await engine.wait_finished(notice.id, timeout=20)
    assert len([m for m in person.bot_messages() if "has changed" in m.content]) == 1
    assert await events.resume_edits(clock.now()) == 0  # nothing twice
    no_errors(fake)


def meeting(event_id: str, starts: datetime, now: datetime) -> EventRecord:
    return EventRecord(
        id=event_id, kind="meeting", title="Crash test meeting", description=None, starts_at=starts,
        ends_at=starts + timedelta(hours=2), all_day=False, district=None, venue_name="Hall",
        venue_address=None, latitude=None, longitude=None, organiser="Commission",
        organiser_kind="campaign", link=None, created_by=ADMIN_ID, created_at=now, updated_at=now,
    )  # fmt: skip


@pytest.mark.slow
async def test_kill_9_during_an_event_cancellation_every_notice_arrives(tmp_path: Path) -> None:
    """100 people hold a reminder; the admin cancels the event; the bot is killed (SIGKILL) while the
    notices go out. After a restart everyone has the notice, and the only duplicates are the
    messages Telegram had accepted but the dead process had not recorded (counted, bounded)."""
    rate, holders = 20.0, list(range(8700, 8800))
    database = tmp_path / "cancel.sqlite3"
    fake = FakeTelegram()
    await fake.start()
    process: BotProcess | None = None
    now = datetime.now().astimezone()
    starts = now + timedelta(days=30)
    try:
        storage = SqlStorage(sqlite_database(database))
        await storage.connect()
        await storage.save_event(meeting("ev-crash-1", starts, now))
        for user_id in holders:
            fake.user(user_id, language_code="en").open_chat()
            await storage.touch_user(user_id, "en", now)
            await storage.set_event_reminder(user_id, "ev-crash-1", "1d", starts - timedelta(days=1), now)
        await storage.close()

        env = _env(fake, database, rate)
        process = await _spawn(env)
        await fake.wait_polling(timeout=60)
        admin = fake.user(ADMIN_ID, language_code="en")
        await admin.send("/event_cancel ev-crash-1", timeout=30)
        await fake.wait_for(lambda: len(admin.bot_messages()) == 1, timeout=30)
        await admin.press(admin.last_bot_message(), "Yes, cancel the event", timeout=30)

        def notices(user_id: int) -> int:
            return len([m for m in fake.bot_messages(user_id) if "Crash test meeting" in m.content])

        await fake.wait_for(lambda: sum(notices(u) for u in holders) >= 30, timeout=30)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        got_before = {u for u in holders if notices(u)}
        with contextlib.closing(sqlite3.connect(database)) as db:
            recorded = {row[0] for row in db.execute("SELECT user_id FROM deliveries WHERE status = 'sent'")}
            pending = db.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
            stopped = db.execute("SELECT COUNT(*) FROM event_reminders WHERE cancelled = 1").fetchone()[0]
        assert pending > 0 and stopped == len(holders)  # killed mid-way, after the cancellation was saved
        assert recorded <= got_before
        in_flight = got_before - recorded
        assert len(in_flight) <= in_flight_window(rate)

        process = await _spawn(env)
        await fake.wait_for(lambda: all(notices(u) for u in holders), timeout=90)
        per_user = {u: notices(u) for u in holders}
        duplicates = {u for u, n in per_user.items() if n > 1}
        assert duplicates == in_flight and max(per_user.values()) <= 2  # the rest exactly once
        print(
            f"kill -9 after {len(got_before)} notices: {len(duplicates)} duplicate(s), window {in_flight_window(rate)}"
        )
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()
