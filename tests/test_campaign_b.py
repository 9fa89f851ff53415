"""The next campaign is a content change, not a rewrite: the real bot runs on a plainly fictional
campaign (tests/fixtures/campaign-b: another city, time zone, polling hours, call centre, districts
and reminder days) through the main journeys, and none of Almaty's facts shows while all of the
fixture's do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeTelegram, FakeUser
from bot.services.reminders import ReminderService
from tests.conftest import RunningBot, no_errors

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "campaign-b"
TOKYO = ZoneInfo("Asia/Tokyo")

# Almaty's campaign: what must never show on the fictional one
ALMATY_FACTS = [
    "Almaty", "Алматы", "1308", "07:00", "08:00–20:00", "07:00–20:00", "15 March", "15 марта", "наурыз",
    "2026", "referendum", "Referendum", "референдум", "Alatau", "Medeu", "Алатау", "Медеу",
    "Central Referendum Commission", "election.gov.kz", "Constitution", "Конституц",
]  # fmt: skip
# the fixture's: what must show somewhere in the journeys
FICTOPOLIS_FACTS = [
    "Fictopolis time", "08:30", "21:00", "+1 555 0100", "daily, 09:15–18:45", "Northside", "Южный",
    "10 and 2 days before voting day", "1 June 2031", "Unicorn parade", "The Fictopolis ballot is purple",
    "Candidate A", "Candidate B", "The election is over.", "fictopolis.example", "время Фиктополя",
]  # fmt: skip


def tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)  # type: ignore[misc, arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(tokyo(2031, 5, 10, 12, 0))


@pytest.fixture
async def running_b(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> AsyncIterator[RunningBot]:
    bot = RunningBot(fake, make_settings(fake, content_dir=FIXTURE), clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def _seen(user: FakeUser) -> str:
    parts = []
    for message in user.bot_messages():
        parts.append(message.html or message.content)
        parts += [button.text for button in message.flat_buttons]
        parts += [button.url or "" for button in message.flat_buttons]
    return "\n".join(parts)


async def test_a_second_campaign_is_a_content_change(running_b: RunningBot, fake: FakeTelegram) -> None:
    assert running_b.app is not None
    en, ru = fake.user(7001, language_code="en"), fake.user(7002, language_code="ru")
    await en.press((await en.send("/start")).replies[0], "English")  # first contact: the language first
    countdown = (await en.send("/countdown")).replies[0]
    assert "08:30 to 21:00 (Fictopolis time)" in countdown.content
    settings = (await en.send("/reminders")).replies[0]
    labels = [button.text for button in settings.flat_buttons]
    assert "08:30" in labels and "20:00" in labels and "07:00" not in labels and "21:00" not in labels
    saved = await en.press(settings, "08:30")
    assert saved.edits and "You plan to vote at 08:30" in saved.edits[0].content
    subscribed = (await en.send("/subscribe")).replies[0]
    districts = await en.press(subscribed, "Choose a district")
    chosen = await en.press(districts.last or districts.replies[0], "Northside")
    assert chosen.edits and "Northside" in chosen.edits[0].content
    listing = (await en.send("/events")).replies[0]
    card = await en.press(listing, "Unicorn parade")
    assert "(Fictopolis time)" in (card.last or card.replies[0]).content
    assert "purple" in (await en.send("what colour is the ballot paper")).text
    assert "+1 555 0100" in (await en.send("zebra quantum marmalade")).text
    await ru.press((await ru.send("/start")).replies[0], "Русский")
    await ru.press((await ru.send("/subscribe")).replies[0], "Выбрать район")
    await ru.press(ru.bot_messages()[-1], "Южный")

    # voting day: the polls open at 08:30 Fictopolis time, "I voted" only while they are open
    running_b.clock.set(tokyo(2031, 6, 1, 8, 29))
    assert "I voted" not in [b.text for b in (await en.send("/countdown")).replies[0].flat_buttons]
    running_b.clock.set(tokyo(2031, 6, 1, 8, 30))
    reminders: ReminderService = running_b.app.dispatcher["reminders"]
    await reminders.tick()
    await fake.wait_for(lambda: any("Polls are open 08:30–21:00" in m.content for m in en.bot_messages()))
    open_now = (await en.send("/countdown")).replies[0]
    assert "polls are open until 21:00" in open_now.content
    assert any("I voted" in b.text for b in open_now.flat_buttons)

    # results, then the hotline stops, then the archive
    running_b.clock.set(tokyo(2031, 6, 3, 12, 1))
    results = (await en.send("/countdown")).replies[0].content
    assert "«Candidate A»: 330 votes (51.56%)" in results and "«Candidate B»: 270 votes (42.19%)" in results
    assert "daily, 09:15–18:45" in (await en.send("/help")).text
    running_b.clock.set(tokyo(2031, 6, 10, 0, 1))
    help_after = (await en.send("/help")).text
    assert "09:15" not in help_after and "fictopolis.example" in str((await en.send("/help")).replies[0].html)
    running_b.clock.set(tokyo(2031, 7, 15, 0, 1))
    archive = (await en.send("/start")).text
    assert "The election is over." in archive and "archived" in archive
    await ru.send("/start")
    await ru.send("/countdown")
    await ru.send("/reminders")
    running_b.clock.set(tokyo(2031, 5, 10, 12, 0))
    await ru.send("/countdown")  # "(время Фиктополя)"

    seen = _seen(en) + "\n" + _seen(ru)
    for fact in ALMATY_FACTS:
        assert fact not in seen, fact
    for fact in FICTOPOLIS_FACTS:
        assert fact in seen, fact
    no_errors(fake)
