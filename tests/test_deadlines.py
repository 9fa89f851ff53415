"""Deadlines and priorities of deliveries (issue 27), with the injected clock and no real sends.

The planner on its own (a reminder to a million subscribers starts early enough to finish inside its
window, or says it cannot), and the delivery engine with a real SQLite store and a fake sender: a
broadcast past its deadline is not sent and is counted, a reminder due sooner goes before an
announcement that is already running, and an event notice before a large broadcast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection

from bot.clock import ManualClock
from bot.content.loader import load_content
from bot.content.models import Campaign, Reminder
from bot.devtools.fake_api import FakeTelegram
from bot.services.delivery import SENT, DeliveryEngine, MessageSender, SendOutcome
from bot.services.delivery.planner import PAID_RATE, Queued, finishes, in_sequence, plan, rank, send_time
from bot.services.reminders import plan_advice, reminder_window
from bot.storage import Storage
from bot.storage.broadcasts import (
    ALL_SUBSCRIBERS,
    BroadcastMessage,
    BroadcastStatus,
    DeliveryResult,
    DeliveryStatus,
    MessageKind,
)
from bot.storage.schema import subscriptions, users
from bot.storage.sql import SqlStorage
from tests.conftest import ADMIN_ID, ALMATY, BEFORE, RunningBot, almaty, no_errors, sqlite_database

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "campaign-b"
MILLION = 1_000_000


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_content(FIXTURE).campaign


def reminder(campaign: Campaign, reminder_id: str) -> Reminder:
    return next(r for r in campaign.reminders if r.id == reminder_id)


def local(campaign: Campaign, moment: datetime) -> tuple[int, int, int, int]:
    at = moment.astimezone(campaign.tz)
    return at.month, at.day, at.hour, at.minute


# --------------------------------------------------------------------------- the planner
def test_a_million_subscribers_at_25_a_second_take_11_hours() -> None:
    assert send_time(MILLION, 25) == timedelta(hours=11, minutes=6, seconds=40)
    assert send_time(MILLION, PAID_RATE) == timedelta(minutes=16, seconds=40)


def test_a_voting_day_reminder_to_a_million_fits_between_its_time_and_the_polls_closing(campaign: Campaign) -> None:
    day = reminder(campaign, "day")  # 08:30 on voting day; the polls close at 21:00
    earliest, deadline = reminder_window(campaign, day)
    assert deadline == campaign.closes_at
    delivery_plan = plan(MILLION, 25, wanted=campaign.reminder_moment(day), deadline=deadline, earliest=earliest)
    assert delivery_plan.start == campaign.reminder_moment(day)  # no need to start earlier
    assert delivery_plan.fits and local(campaign, delivery_plan.finish) == (6, 1, 19, 36)


def test_a_countdown_reminder_to_a_million_starts_early_enough_to_end_before_the_night(campaign: Campaign) -> None:
    d2 = reminder(campaign, "d-2")  # 12:00, two days before; nothing after 22:00 (quiet hours)
    earliest, deadline = reminder_window(campaign, d2)
    assert local(campaign, earliest)[2:] == (7, 0) and local(campaign, deadline)[2:] == (22, 0)
    delivery_plan = plan(MILLION, 25, wanted=campaign.reminder_moment(d2), deadline=deadline, earliest=earliest)
    assert delivery_plan.fits and delivery_plan.finish == deadline
    assert local(campaign, delivery_plan.start) == (5, 30, 10, 53)  # 1 h 7 min before its 12:00
    assert earliest <= delivery_plan.start < campaign.reminder_moment(d2)


def test_a_plan_that_cannot_fit_says_when_it_would_have_to_start_and_that_paid_broadcasts_would(
    campaign: Campaign,
) -> None:
    day = reminder(campaign, "day")
    earliest, deadline = reminder_window(campaign, day)
    delivery_plan = plan(MILLION * 2, 25, wanted=campaign.reminder_moment(day), deadline=deadline, earliest=earliest)
    assert not delivery_plan.fits
    assert delivery_plan.start == earliest  # as early as the night allows: 07:00
    assert delivery_plan.latest_start == deadline - timedelta(hours=22, minutes=13, seconds=20)
    assert delivery_plan.fits_at(PAID_RATE)
    advice = plan_advice(delivery_plan, paid=False)
    assert "after its deadline 01.06 21:00" in advice and "or switch on paid broadcasts" in advice
    assert "start at 31.05 22:46" in advice
    assert "paid" not in plan_advice(delivery_plan, paid=True)


def test_a_small_audience_starts_at_its_time_and_no_deadline_never_moves_it(campaign: Campaign) -> None:
    d2 = reminder(campaign, "d-2")
    moment = campaign.reminder_moment(d2)
    earliest, deadline = reminder_window(campaign, d2)
    assert plan(10_000, 25, wanted=moment, deadline=deadline, earliest=earliest).start == moment
    endless = plan(MILLION * 50, 25, wanted=moment, deadline=None)
    assert endless.start == moment and endless.fits and endless.latest_start is None


def test_a_reminder_the_editors_put_in_the_night_keeps_its_time(campaign: Campaign) -> None:
    night = Reminder.model_validate(
        {"id": "late", "days_before": 1, "at": time(23, 0), "scope": "countdown", "text": d2_text(campaign)}
    )
    earliest, deadline = reminder_window(campaign, night)
    moment = campaign.reminder_moment(night)
    assert earliest <= moment < deadline and local(campaign, deadline)[2:] == (0, 0)  # midnight: "tomorrow"


def d2_text(campaign: Campaign) -> object:
    return reminder(campaign, "d-2").text.model_dump()


# --------------------------------------------------------------------------- the engine
@dataclass
class Sends:
    """A :class:`~bot.services.delivery.ports.Sender` that records (message text, chat) of every send;
    sends of a message whose text is in ``held`` wait until ``hold`` is set."""

    log: list[tuple[str, int]] = field(default_factory=list)
    hold: asyncio.Event = field(default_factory=asyncio.Event)
    held: set[str] = field(default_factory=set)
    sending: asyncio.Event = field(default_factory=asyncio.Event)

    def prepare(self, message: BroadcastMessage, *, paid: bool) -> MessageSender:
        return Prepared(self, message.text or "")

    def of(self, text: str) -> list[int]:
        return [chat for said, chat in self.log if said == text]


@dataclass
class Prepared:
    sends: Sends
    text: str

    async def send(self, chat_id: int) -> SendOutcome:
        self.sends.sending.set()
        if self.text in self.sends.held:
            await self.sends.hold.wait()
        self.sends.log.append((self.text, chat_id))
        return SENT


def text(words: str) -> BroadcastMessage:
    return BroadcastMessage(kind=MessageKind.TEXT, text=words)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    store = SqlStorage(sqlite_database(tmp_path / "deadlines.sqlite3"))
    await store.connect()
    yield store
    await store.close()


async def subscribe(storage: SqlStorage, ids: Iterable[int]) -> None:
    for user_id in ids:
        await storage.touch_user(user_id, "en", BEFORE)
        await storage.subscribe(user_id, "en", BEFORE)


def engine_for(sends: Sends, storage: SqlStorage, clock: ManualClock, rate: float = 200.0) -> DeliveryEngine:
    return DeliveryEngine(sends, storage, clock, rate=rate, chat_pacing=False, status_seconds=0.05, poll_seconds=0.05)


async def test_a_reminder_past_its_deadline_is_not_sent_and_is_counted(store: SqlStorage) -> None:
    await subscribe(store, range(1, 31))
    clock = ManualClock(BEFORE)
    sends = Sends()
    engine = engine_for(sends, store, clock)
    # scheduled before the bot went down; it comes back after the deadline
    record = await engine.create_broadcast(
        text("Polls close at 20:00"), ALL_SUBSCRIBERS, start_at=BEFORE, deadline=BEFORE + timedelta(hours=1)
    )
    clock.advance(timedelta(hours=1))
    await engine.start()
    try:
        final = await engine.wait_finished(record.id, timeout=20)
    finally:
        await engine.stop()
    assert final.status is BroadcastStatus.DONE and final.deadline == BEFORE + timedelta(hours=1)
    counts = await store.delivery_counts(record.id)
    assert (counts.total, counts.expired, counts.sent, counts.pending) == (30, 30, 0, 0)
    assert sends.log == []
    summary, queued = await store.delivery_summary(BEFORE)
    assert summary.get("expired") == 30 and queued == 0


async def test_what_is_left_when_the_deadline_passes_mid_way_is_not_sent(store: SqlStorage) -> None:
    await subscribe(store, range(1, 41))
    clock = ManualClock(BEFORE)
    sends = Sends(held={"Two hours left"})
    engine = engine_for(sends, store, clock, rate=100.0)
    await engine.start()
    try:
        record = await engine.create_broadcast(
            text("Two hours left"), ALL_SUBSCRIBERS, deadline=BEFORE + timedelta(minutes=10)
        )
        await asyncio.wait_for(sends.sending.wait(), 10)  # the first sends are under way, held
        clock.advance(timedelta(minutes=10))  # the polls close
        sends.hold.set()
        final = await engine.wait_finished(record.id, timeout=20)
    finally:
        await engine.stop()
    counts = await store.delivery_counts(record.id)
    assert final.status is BroadcastStatus.DONE and counts.pending == 0
    assert counts.sent == len(sends.log) < 40  # the ones in flight were sent; nothing after the deadline
    assert counts.expired == 40 - counts.sent


async def test_an_announcement_does_not_delay_a_due_reminder(store: SqlStorage) -> None:
    await subscribe(store, range(1, 101))
    clock = ManualClock(BEFORE)
    sends = Sends(held={"announcement"})
    engine = engine_for(sends, store, clock)
    await engine.start()
    try:
        announcement = await engine.create_broadcast(text("announcement"), ALL_SUBSCRIBERS)  # no deadline
        await asyncio.wait_for(sends.sending.wait(), 10)  # it is running
        reminder = await engine.create_broadcast(
            text("reminder"), ALL_SUBSCRIBERS, deadline=BEFORE + timedelta(hours=2)
        )
        sends.hold.set()
        await engine.wait_finished(reminder.id, timeout=20)
        left = (await store.delivery_counts(announcement.id)).pending
        final = await engine.wait_finished(announcement.id, timeout=20)
    finally:
        await engine.stop()
    assert left > 50  # the reminder went first: the announcement had sent no more than its first few
    assert sorted(sends.of("reminder")) == list(range(1, 101))
    assert final.status is BroadcastStatus.DONE and sorted(sends.of("announcement")) == list(range(1, 101))
    last_reminder = max(i for i, (said, _chat) in enumerate(sends.log) if said == "reminder")
    assert sum(said == "announcement" for said, _chat in sends.log[: last_reminder + 1]) < 50


async def test_a_sooner_deadline_goes_first_and_an_event_notice_before_a_large_broadcast(store: SqlStorage) -> None:
    await subscribe(store, range(1, 101))
    clock = ManualClock(BEFORE)
    sends = Sends(held={"later"})
    engine = engine_for(sends, store, clock)
    await engine.start()
    try:
        later = await engine.create_broadcast(text("later"), ALL_SUBSCRIBERS, deadline=BEFORE + timedelta(hours=5))
        await asyncio.wait_for(sends.sending.wait(), 10)
        sooner = await engine.create_broadcast(text("sooner"), ALL_SUBSCRIBERS, deadline=BEFORE + timedelta(hours=1))
        notice = await engine.create_notice(text("notice"), [7, 8, 9], key="event:1:cancelled", label="event 1")
        sends.hold.set()
        for broadcast in (notice, sooner, later):
            await engine.wait_finished(broadcast.id, timeout=20)
    finally:
        await engine.stop()
    order = [said for said, _chat in sends.log]
    first = {said: order.index(said) for said in ("notice", "sooner")}
    last = {said: len(order) - 1 - order[::-1].index(said) for said in ("notice", "sooner", "later")}
    assert last["notice"] < first["sooner"] and last["sooner"] < last["later"]
    assert order[: first["notice"]].count("later") < 50


# --------------------------------------------------------------------------- the admin, through the fake Bot API
async def many_subscribers(running: RunningBot, count: int) -> None:
    """``count`` English subscribers written at once (the fake has no chats for them: nothing is sent)."""
    assert running.app is not None
    ids = range(5_000_000, 5_000_000 + count)

    def seed(connection: Connection) -> None:
        connection.execute(
            users.insert(),
            [{"id": i, "telegram_language": "en", "first_seen": 0, "last_seen": 0, "blocked": 0} for i in ids],
        )
        connection.execute(subscriptions.insert(), [{"user_id": i, "language": "en", "subscribed_at": 0} for i in ids])

    storage = running.app.storage
    assert isinstance(storage, SqlStorage)
    await storage.run_sync(seed, transaction=True)


async def test_an_impossible_deadline_is_reported_to_the_admin_when_scheduling(
    running: RunningBot, fake: FakeTelegram
) -> None:
    await many_subscribers(running, 4000)  # 160 s at the default 25 messages a second
    admin = fake.user(ADMIN_ID, language_code="en")
    await admin.send("/announce")
    control = (await admin.send("The commission's open day is moved to 15:00")).replies[-1]
    asked = await admin.press(control, "Deadline")
    assert "By when must it reach subscribers?" in asked.edits[0].content
    assert "future date" in (await admin.send("2020-01-01 10:00")).text  # in the past: asked again
    control = (await admin.send("2026-03-12 12:31")).replies[-1]  # the clock stands at 12:00
    assert "Deadline: 2026-03-12 12:31 (Almaty time)" in control.content and "4000 subscribers" in control.content

    await admin.press(control, "Schedule")
    assert "before the deadline" in (await admin.send("2026-03-12 12:45")).text  # after it: asked again
    scheduled = (await admin.send("2026-03-12 12:30")).text
    assert "scheduled for 2026-03-12 12:30" in scheduled and "Estimated finish: 12:32" in scheduled
    assert (
        "At 25 messages a second it finishes at 2026-03-12 12:32, after its deadline 2026-03-12 12:31: "
        "start at 2026-03-12 12:28, or switch on paid broadcasts (BROADCAST_PAID)." in scheduled
    )
    listing = (await admin.send("/broadcasts")).replies[0].content
    assert "#1 · 🕒 scheduled" in listing and "finishes about 12:32 ⚠️ after its deadline 12:31" in listing
    assert "Next campaign reminders:\nd-1 · 2026-03-14 10:00 · finishes about 10:02\nday-open" in listing
    assert running.app is not None
    audit = {(entry.action, entry.details) for entry in await running.app.storage.audit_entries(20)}
    assert ("announce.deadline", almaty(2026, 3, 12, 12, 31).isoformat()) in audit

    running.clock.set(almaty(2026, 3, 12, 12, 31))  # the bot was busy elsewhere until the deadline
    record = await running.app.dispatcher["delivery"].wait_finished(1, timeout=20)
    counts = await running.app.storage.delivery_counts(record.id)
    assert record.status is BroadcastStatus.DONE and (counts.expired, counts.sent) == (4000, 0)
    assert "not sent by the deadline: 4000" in (await admin.send("/broadcasts")).replies[0].content
    no_errors(fake)


async def test_a_reminder_starts_early_when_its_audience_needs_it(running: RunningBot, fake: FakeTelegram) -> None:
    """The 10:00 reminder the day before voting day must be sent before the night (22:00): with an
    audience that takes 12 h 13 min at the rate the plans count with, it starts at 09:46. A
    voting-day reminder never moves: its text speaks of its hour."""
    from tests.test_reminders import at, service

    people = [fake.user(4100 + i, language_code="en") for i in range(4)]
    for user in people:
        await user.send("/subscribe")
    reminders = service(running)
    reminders.rate = 4 / (12 * 3600 + 13 * 60 + 20)  # the four of them take as long as a big audience
    by_id = {r.id: r for r, _m in reminders.schedule()}
    planned = (await reminders.plan_of(by_id["d-1"], fresh=True)).start
    assert planned.astimezone(ALMATY).strftime("%H:%M") == "09:46"
    closing = await reminders.plan_of(by_id["day-close"], fresh=True)
    assert closing.start == almaty(2026, 3, 15, 18, 0) and not closing.fits
    before = [len(user.bot_messages()) for user in people]
    await at(running, almaty(2026, 3, 14, 9, 45))
    assert [len(user.bot_messages()) for user in people] == before
    await at(running, almaty(2026, 3, 14, 9, 47))
    assert all("Tomorrow is voting day" in user.bot_messages()[-1].content for user in people)
    assert running.app is not None
    record = await running.app.storage.get_broadcast_by_key("reminder:kz-referendum-2026:d-1:en")
    assert record is not None and record.deadline == almaty(2026, 3, 14, 22, 0)


# --------------------------------------------------------------------------- storage, on both backends
async def test_the_due_broadcasts_rank_notices_then_deadlines_and_expire_counts_what_was_left(
    storage: Storage,
) -> None:
    for user_id in (1, 2, 3):
        await storage.touch_user(user_id, "en", BEFORE)
        await storage.subscribe(user_id, "en", BEFORE)

    async def create(words: str, deadline: timedelta | None, start: timedelta = timedelta(0)) -> int:
        record, _created = await storage.create_broadcast(
            text(words),
            ALL_SUBSCRIBERS,
            created_by=None,
            now=BEFORE,
            start_at=BEFORE + start,
            deadline=BEFORE + deadline if deadline is not None else None,
        )
        return record.id

    endless = await create("announcement", None)
    later = await create("later", timedelta(hours=5))
    sooner = await create("sooner", timedelta(hours=1))
    await create("not yet", timedelta(minutes=30), start=timedelta(hours=1))  # not due: never ranked
    await storage.start_broadcast(endless, BEFORE)  # running already: it still yields to deadlines
    ranked = await storage.next_due_broadcast(BEFORE)
    assert ranked is not None and ranked.id == sooner and ranked.deadline == BEFORE + timedelta(hours=1)
    notice, _created = await storage.create_notice_broadcast(
        text("notice"), [2], key="event:x", label="event x", created_by=None, now=BEFORE
    )
    first = await storage.next_due_broadcast(BEFORE)
    assert first is not None and first.id == notice.id and first.notice

    await storage.start_broadcast(later, BEFORE)
    await storage.record_deliveries(later, [DeliveryResult(1, DeliveryStatus.SENT)], BEFORE)
    assert await storage.expire_broadcast(later, BEFORE + timedelta(hours=5)) == 2
    counts = await storage.delivery_counts(later)
    assert (counts.sent, counts.expired, counts.pending) == (1, 2, 0)
    record = await storage.get_broadcast(later)
    assert record is not None and record.status is BroadcastStatus.DONE
    assert await storage.expire_broadcast(later, BEFORE + timedelta(hours=6)) == 0  # once


def test_two_reminders_to_a_million_on_one_day_are_planned_one_after_the_other(campaign: Campaign) -> None:
    """The engine sends one broadcast at a time: the second reminder of voting day starts when the
    first has finished, and the plan says it cannot finish before the polls close."""
    day = reminder(campaign, "day")  # 08:30; the polls close at 21:00
    earliest, deadline = reminder_window(campaign, day)
    opening = plan(MILLION, 25, wanted=campaign.reminder_moment(day), deadline=deadline, earliest=earliest)
    closing_time = campaign.closes_at - timedelta(hours=2)
    closing = plan(MILLION, 25, wanted=closing_time, deadline=deadline, earliest=earliest)
    assert closing.fits and closing.start < closing_time  # alone, it would start early enough
    first, second = in_sequence([closing, opening])
    assert first == opening and first.fits
    assert second.start == opening.finish and not second.fits  # together they do not fit at 25/s
    assert all(p.fits for p in in_sequence([replace(p, rate=PAID_RATE) for p in (opening, closing)]))


async def test_sending_now_with_a_deadline_it_cannot_meet_warns_and_shows_the_deadline(
    running: RunningBot, fake: FakeTelegram
) -> None:
    await many_subscribers(running, 4000)
    admin = fake.user(ADMIN_ID, language_code="en")
    await admin.send("/announce")
    control = (await admin.send("Open day at the commission")).replies[-1]
    await admin.press(control, "Deadline")
    control = (await admin.send("2026-03-12 12:01")).replies[-1]
    sent = await admin.press(control, "Send")
    (warning,) = [m.content for m in sent.replies if "⚠️" in m.content]
    assert "finishes at 2026-03-12 12:02, after its deadline 2026-03-12 12:01: start at 2026-03-12 11:58" in warning
    assert running.app is not None
    record = await running.app.storage.get_broadcast(1)
    assert record is not None and record.deadline == almaty(2026, 3, 12, 12, 1)

    def progress_shows_the_deadline() -> bool:
        return any(
            call.method == "editMessageText" and "Deadline: 2026-03-12 12:01" in str(call.params.get("text"))
            for call in fake.calls
        )

    await fake.wait_for(progress_shows_the_deadline)
    await running.app.dispatcher["delivery"].cancel(record.id)  # the point is what the admin was told


def test_estimated_finishes_follow_the_engine_order() -> None:
    """An announcement running since 12:00 to 90,000 (an hour at 25/s), a reminder due at 12:20 with a
    deadline to 30,000 (20 min), and a notice at 12:30 to 3: the reminder takes over at 12:20, the
    notice at 12:30 for a moment, and the announcement ends 20 min and 0.12 s later than alone."""
    noon = BEFORE.replace(hour=12, minute=0)

    def queued(key: int, start: datetime, messages: int, **kind: object) -> Queued:
        deadline = kind.get("deadline")
        assert deadline is None or isinstance(deadline, datetime)
        return Queued(
            key,
            rank(notice=bool(kind.get("notice")), deadline=deadline, running=key == 1, start=start, key=key),
            start,
            messages,
        )

    announcement = queued(1, noon, 90_000)
    reminder_ = queued(2, noon + timedelta(minutes=20), 30_000, deadline=noon + timedelta(hours=3))
    notice = queued(3, noon + timedelta(minutes=30), 3, notice=True)
    done = finishes([announcement, reminder_, notice], 25, noon)
    assert done[3] == noon + timedelta(minutes=30, seconds=0.12)
    assert done[2] == noon + timedelta(minutes=40, seconds=0.12)
    assert done[1] == noon + timedelta(hours=1, minutes=20, seconds=0.12)
    assert finishes([announcement], 25, noon + timedelta(minutes=5)) == {1: noon + timedelta(hours=1, minutes=5)}
