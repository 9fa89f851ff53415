"""Countdown reminders through the fake Bot API with a controllable clock.

The scheduler wakes ``ReminderService.tick``; the tests call the same ``tick`` after moving the
clock (the scheduler's own jobs run on real time) and wait for the engine to deliver."""

from __future__ import annotations

import logging
import os
import time as systime
from datetime import UTC, datetime, timedelta

import pytest

from bot.devtools.fake_api import FakeTelegram, FakeUser
from bot.services.reminders import ReminderService
from bot.services.scheduler import ReminderScheduler
from tests.conftest import RunningBot, almaty

D3 = almaty(2026, 3, 12, 10, 0)
OPEN = almaty(2026, 3, 15, 7, 0)
CLOSE = almaty(2026, 3, 15, 18, 0)


def service(running: RunningBot) -> ReminderService:
    assert running.app is not None
    reminders: ReminderService = running.app.dispatcher["reminders"]
    return reminders


async def settle(running: RunningBot) -> None:
    """Wait until every broadcast the reminders created has been delivered."""
    assert running.app is not None
    engine = running.app.dispatcher["delivery"]
    for broadcast in await running.app.storage.recent_broadcasts(100):
        if broadcast.status in ("running", "scheduled") and broadcast.start_at <= running.clock.now():
            await engine.wait_finished(broadcast.id, timeout=20)


async def at(running: RunningBot, moment: datetime) -> None:
    running.clock.set(moment)
    await service(running).tick()
    await settle(running)


def texts(user: FakeUser) -> list[str]:
    return [m.content for m in user.bot_messages()]


async def subscribers(fake: FakeTelegram) -> dict[str, FakeUser]:
    people = {
        "ru_all": fake.user(4001, language_code="ru"),
        "kk_day": fake.user(4002, language_code="kk"),
        "en_none": fake.user(4003, language_code="en"),
        "en_unsubscribed": fake.user(4004, language_code="en"),
    }
    for name, user in people.items():
        if name != "en_unsubscribed":
            await user.send("/subscribe")
        else:
            await user.send("/start")
    day = (await people["kk_day"].send("/reminders")).replies[0]
    await people["kk_day"].press(day, 1)  # only on voting day
    none = (await people["en_none"].send("/reminders")).replies[0]
    await people["en_none"].press(none, "No reminders")
    return people


def count_new(user: FakeUser, before: int) -> list[str]:
    return texts(user)[before:]


async def test_schedule_is_in_almaty_time_whatever_the_machine_zone(running: RunningBot) -> None:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    systime.tzset()
    try:
        moments = {r.id: m.astimezone(UTC) for r, m in service(running).schedule()}
        assert moments["day-open"] == datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 07:00 Almaty, UTC+5
        assert moments["d-3"] == datetime(2026, 3, 12, 5, 0, tzinfo=UTC)
        assert moments["day-close"] == datetime(2026, 3, 15, 13, 0, tzinfo=UTC)
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        systime.tzset()
    assert running.app is not None
    scheduler: ReminderScheduler = running.app.dispatcher["scheduler"]
    jobs = scheduler.jobs()
    assert "reminders:catch-up" in jobs
    assert {"reminder:kz-referendum-2026:d-1", "reminder:kz-referendum-2026:day-open"} <= set(jobs)
    assert "reminder:kz-referendum-2026:d-3" not in jobs  # the clock stands past it: no job


async def test_each_reminder_goes_to_the_right_subscribers_in_their_language(
    running: RunningBot, fake: FakeTelegram
) -> None:
    people = await subscribers(fake)
    seen = {name: len(texts(user)) for name, user in people.items()}
    await at(running, D3)
    new = {name: count_new(user, seen[name]) for name, user in people.items()}
    assert len(new["ru_all"]) == 1 and "Осталось 3 дня" in new["ru_all"][0]
    assert new["kk_day"] == [] and new["en_none"] == [] and new["en_unsubscribed"] == []

    seen = {name: len(texts(user)) for name, user in people.items()}
    await at(running, OPEN)
    new = {name: count_new(user, seen[name]) for name, user in people.items()}
    assert len(new["ru_all"]) == 1 and "Участки открыты" in new["ru_all"][0]
    assert len(new["kk_day"]) == 1 and "Учаскелер ашылды" in new["kk_day"][0]
    assert people["kk_day"].bot_messages()[-1].flat_buttons[0].text == "✅ Дауыс бердім"  # "I voted"
    assert new["en_none"] == [] and new["en_unsubscribed"] == []
    assert fake.errors() == []


async def test_sent_exactly_once_across_restarts_around_the_moment(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(4010, language_code="en")
    await user.send("/subscribe")
    before = len(texts(user))
    await at(running, D3 - timedelta(minutes=1))
    await running.restart()
    await at(running, D3 - timedelta(seconds=1))
    assert count_new(user, before) == []
    await at(running, D3)
    await at(running, D3 + timedelta(minutes=5))
    await running.restart()
    await at(running, D3 + timedelta(minutes=10))
    received = count_new(user, before)
    assert len(received) == 1 and "3 days left" in received[0]


@pytest.mark.parametrize(("late", "sent"), [(timedelta(minutes=59), True), (timedelta(minutes=61), False)])
async def test_downtime_within_and_beyond_the_grace_period(
    running: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture, late: timedelta, sent: bool
) -> None:
    user = fake.user(4020, language_code="en")
    await user.send("/subscribe")
    await running.stop()
    running.clock.set(D3 + late)  # the bot was down at 10:00 and comes back late
    before = len(texts(user))
    with caplog.at_level(logging.WARNING, logger="bot.services.reminders"):
        await running.start()
        await at(running, D3 + late)
    received = count_new(user, before)
    assert (len(received) == 1) is sent
    if not sent:
        assert any(
            "reminder d-3" in record.getMessage() and "skipped" in record.getMessage() for record in caplog.records
        )


async def test_personal_vote_time_reminder_and_i_voted(running: RunningBot, fake: FakeTelegram) -> None:
    voter = fake.user(4030, language_code="en")
    other = fake.user(4031, language_code="en")
    for user in (voter, other):
        await user.send("/subscribe")
    settings = (await voter.send("/reminders")).replies[0]
    settings = (await voter.press(settings, "10:00")).edits[0]
    assert "You plan to vote at 10:00" in settings.content

    before = len(texts(voter))
    await at(running, almaty(2026, 3, 15, 9, 29))
    assert not any("In 30 minutes" in t for t in count_new(voter, before))
    await at(running, almaty(2026, 3, 15, 9, 30))
    assert sum("In 30 minutes" in t for t in count_new(voter, before)) == 1

    personal = voter.bot_messages()[-1]  # "I voted" right under the reminder
    voted = await voter.press(personal, "I voted")
    assert voted.callback_answer is not None and "No more reminders today" in str(voted.callback_answer["text"])
    assert voted.replies and voted.replies[0].flat_buttons[0].url.startswith("https://t.me/share/url")  # type: ignore[union-attr]

    before_voter, before_other = len(texts(voter)), len(texts(other))
    await at(running, CLOSE)
    assert count_new(voter, before_voter) == []
    assert len(count_new(other, before_other)) == 1
    assert fake.errors() == []


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (almaty(2026, 3, 13, 10, 0), "2 days left"),
        (almaty(2026, 3, 14, 10, 0), "Polling stations open tomorrow at 07:00."),
        (almaty(2026, 3, 15, 19, 0), "polls are open until 20:00 (1 hour left)"),
        (almaty(2026, 3, 15, 21, 0), "The votes are being counted."),
        (
            almaty(2026, 3, 16, 10, 0),
            "preliminary results today. Official results are due no later than 21 March 2026.",
        ),
        (almaty(2026, 4, 1, 10, 0), "«No, I do not accept»: 898,099 votes (9.84%)"),
    ],
)
async def test_countdown_before_on_and_after(
    running: RunningBot, fake: FakeTelegram, moment: datetime, expected: str
) -> None:
    running.clock.set(moment)
    exchange = await fake.user(4040, language_code="en").send("/countdown")
    assert expected in exchange.replies[0].content


async def test_i_voted_outside_voting_day_is_refused(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(4041, language_code="en")
    menu = (await user.send("/countdown")).replies[0]
    exchange = await user.press_data(menu.message_id, "rm:voted:")
    assert exchange.callback_answer is not None and "while the polling stations are open" in str(
        exchange.callback_answer["text"]
    )


async def test_key_dates_calendar_file(running: RunningBot, fake: FakeTelegram) -> None:
    import icalendar

    user = fake.user(4050, language_code="ru")
    countdown = (await user.send("/countdown")).replies[0]
    exchange = await user.press(countdown, "календар")
    (document,) = exchange.documents
    assert document.filename == "key-dates.ics"
    calendar = icalendar.Calendar.from_ical(document.content)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    voting = next(e for uid, e in events.items() if uid.startswith("voting-day"))
    start = voting.decoded("DTSTART")
    assert start.astimezone(UTC) == datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 07:00 Almaty
    # the description's {polls_open}/{polls_close} filled from campaign.yaml, as in the card
    assert "Участки открыты с 07:00 до 20:00" in str(voting["DESCRIPTION"])
    assert not any("{" in str(e.get("DESCRIPTION", "")) for e in events.values())
    assert len(events) >= 8
    assert fake.errors() == []


@pytest.mark.parametrize(
    ("reminder_id", "moment", "ru_text", "to_voting_day_only"),
    [
        ("d-7", almaty(2026, 3, 8, 10, 0), "Осталось 7 дней", False),
        ("d-3", almaty(2026, 3, 12, 10, 0), "Осталось 3 дня", False),
        ("d-1", almaty(2026, 3, 14, 10, 0), "дни тишины", False),
        ("day-open", almaty(2026, 3, 15, 7, 0), "Участки открыты", True),
        ("day-close", almaty(2026, 3, 15, 18, 0), "осталось 2 часа", True),
        ("results", almaty(2026, 3, 18, 10, 0), "объявила официальные итоги", False),
        ("entry-into-force", almaty(2026, 7, 1, 10, 0), "вступила в силу", False),
    ],
)
async def test_every_reminder_fires_at_its_time(
    running: RunningBot, fake: FakeTelegram, reminder_id: str, moment: datetime, ru_text: str, to_voting_day_only: bool
) -> None:
    people = await subscribers(fake)
    assert {r.id: m for r, m in service(running).schedule()}[reminder_id] == moment
    await at(running, moment - timedelta(seconds=1))
    seen = {name: len(texts(user)) for name, user in people.items()}
    await at(running, moment)
    new = {name: count_new(user, seen[name]) for name, user in people.items()}
    assert len(new["ru_all"]) == 1 and ru_text in new["ru_all"][0], new["ru_all"]
    assert len(new["kk_day"]) == (1 if to_voting_day_only else 0)
    assert new["en_none"] == [] and new["en_unsubscribed"] == []


async def test_event_reminders_go_out_on_the_scheduler_tick(running: RunningBot, fake: FakeTelegram) -> None:
    from tests.test_events import meeting
    from tests.test_events import service as events_service

    await events_service(running).add_event(meeting())
    user = fake.user(4060, language_code="en")
    card = (await user.send("/start event-ev-20260313-1")).replies[0]
    await user.press(card, "1 hour before")
    await at(running, almaty(2026, 3, 13, 17, 0))  # the same tick the scheduler runs
    await fake.wait_for(lambda: any(m.content.startswith("🔔 Reminder") for m in user.bot_messages()))
    await at(running, almaty(2026, 3, 13, 17, 5))
    assert sum(m.content.startswith("🔔 Reminder") for m in user.bot_messages()) == 1
