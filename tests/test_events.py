"""Events through the fake Bot API with a controllable clock: the list and its filters at several
moments, pages, the card (venue, .ics, share), personal reminders and deep links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from bot.clock import ManualClock
from bot.devtools.fake_api import FakeMessage, FakeTelegram
from bot.services.events import EventService
from bot.storage.base import EventRecord
from bot.storage.sql import SqlStorage
from tests.conftest import BEFORE, RunningBot, almaty, no_errors


def service(bot: RunningBot) -> EventService:
    assert bot.app is not None
    events = bot.app.dispatcher["events"]
    assert isinstance(events, EventService)
    return events


def meeting(event_id: str = "ev-20260313-1", **changes: object) -> EventRecord:
    fields: dict[str, object] = {
        "id": event_id,
        "kind": "meeting",
        "title": "Meeting with residents",
        "description": "Questions & answers <about> the draft",
        "starts_at": almaty(2026, 3, 13, 18, 0),
        "ends_at": almaty(2026, 3, 13, 20, 0),
        "all_day": False,
        "district": "medeu",
        "venue_name": "Test hall",
        "venue_address": "1 Test street",
        "latitude": 43.2383,
        "longitude": 76.945,
        "organiser": "The campaign's coalition",
        "organiser_kind": "campaign",
        "link": None,
        "created_by": 900001,
        "created_at": BEFORE,
        "updated_at": BEFORE,
    }
    fields.update(changes)
    return EventRecord(**fields)  # type: ignore[arg-type]


def received(fake: FakeTelegram, user_id: int, marker: str) -> list[FakeMessage]:
    return [m for m in fake.bot_messages(user_id) if marker in m.content]


async def test_list_before_voting_day_is_soonest_first_without_past_events_and_pages(
    running: RunningBot, fake: FakeTelegram
) -> None:
    user = fake.user(6001, language_code="en")
    listing = (await user.send("/events")).replies[0]
    text = listing.content
    assert text.startswith("📅 Upcoming events · page 1 of 2")
    assert "Voter lists" not in text and "draft" not in text  # past: not listed
    order = [text.index(title) for title in ("Absentee certificates", "Day of silence", "Voting day", "Counting")]
    assert order == sorted(order)  # the ongoing absentee period first, then soonest first
    assert "15 March 2026, 07:00–20:00" in text
    second = (await user.press(listing, "▶️")).edits[0]
    # before the results the card does not present the outcome as known
    assert "page 2 of 2" in second.content and "Entry into force of the new Constitution (if adopted)" in second.content
    assert not [b for b in second.flat_buttons if "▶️" in b.text]  # the last page has no "next"
    first = (await user.press(second, "◀️")).edits[0]
    assert "page 1 of 2" in first.content
    assert not [b for b in first.flat_buttons if "◀️" in b.text]
    beyond = await user.press_data(first.message_id, "evl::::99")  # an old page number: the last page
    assert "page 2 of 2" in beyond.edits[0].content
    negative = await user.press_data(first.message_id, "evl::::-1")
    assert negative.callback_answer is not None and "out of date" in str(negative.callback_answer.get("text"))
    no_errors(fake)


async def test_on_voting_day_evening_and_today_filter(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    clock.set(almaty(2026, 3, 15, 21, 0))
    user = fake.user(6002, language_code="en")
    listing = (await user.send("/events")).replies[0]
    assert "Voting day" not in listing.content  # polls closed at 20:00: over
    assert "Counting of the votes" in listing.content
    today = (await user.press(listing, "Today")).edits[0]
    assert "Filters: today" in today.content
    assert "Counting of the votes" in today.content and "Official results announced" not in today.content
    week = (await user.press(today, "This week")).edits[0]
    assert "Filters: this week" in week.content
    # Sunday evening: "this week" ends at midnight, before the results of Tuesday
    assert "Counting" in week.content and "Official results announced" not in week.content
    everything = (await user.press(week, "All events")).edits[0]
    # the outcome is not known yet: the deadline is listed, not a results card, nor Constitution Day
    assert "Deadline for the official results" in everything.content
    assert "Official results announced" not in everything.content and "Constitution Day" not in everything.content
    assert "(if adopted)" in everything.content
    no_errors(fake)


async def test_nothing_upcoming_says_so_and_shows_key_dates(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    clock.set(almaty(2027, 4, 1, 12, 0))
    text = (await fake.user(6003, language_code="en").send("/events")).replies[0].content
    assert "There are no upcoming events right now." in text
    assert "Key dates of the campaign" in text
    assert "15 March 2026, 07:00–20:00 — Voting day" in text
    assert "27 February 2026 – 14 March 2026 — Absentee certificates are issued" in text
    assert "17 March 2026 — Official results announced" in text
    assert "Deadline for the official results" not in text  # moot once the results are out
    assert "The new Constitution entered into force" in text


async def test_after_the_results_the_cards_follow_the_outcome(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    clock.set(almaty(2026, 3, 18, 12, 0))
    text = (await fake.user(6005, language_code="ru").send("/events")).replies[0].content
    assert "Крайний срок официальных итогов" not in text
    assert "Новая Конституция вступает в силу" in text and "в случае принятия" not in text
    assert "День Конституции" in text


async def test_filters_and_legend_only_for_what_is_listed(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(6003, language_code="en")
    official_only = (await user.send("/events")).replies[0]
    assert "🏛 official date" in official_only.content and "campaign event" not in official_only.content
    labels = [b.text for b in official_only.flat_buttons]
    assert "🏷 Kind" not in labels and "📍 District" not in labels  # one kind, no district: nothing to filter

    await service(running).add_event(meeting())
    user = fake.user(6004, language_code="en")
    listing = (await user.send("/events")).replies[0]
    assert "🏛 official date · 📣 campaign event" in listing.content
    kinds = (await user.press(listing, "Kind")).edits[0]
    assert [b.text for b in kinds.flat_buttons] == ["Official date", "Meeting", "✅ Any kind"]  # no "Festival"
    meetings = (await user.press(kinds, "Meeting")).edits[0]
    assert "Meeting with residents" in meetings.content and "Voting day" not in meetings.content
    assert "🏛" not in meetings.content.split("\n\n")[0]  # the legend names only what is listed
    assert "📍 District" not in [b.text for b in meetings.flat_buttons]  # every meeting is in Medeu
    everything = (await user.press(meetings, "All events")).edits[0]
    districts = (await user.press(everything, "District")).edits[0]
    assert [b.text for b in districts.flat_buttons] == ["Medeu", "✅ Any district"]  # not Turksib, not Almaly
    medeu = (await user.press(districts, "Medeu")).edits[0]
    assert "Filters: Medeu" in medeu.content and "Meeting with residents" in medeu.content
    assert "🏷 Kind" not in [b.text for b in medeu.flat_buttons]
    for data in ["evl:bogus:::0", "evl::nowhere::0", "evl:::tomorrow:0", "evf:colour:::", "evf:kind:bogus::"]:
        forged = await user.press_data(medeu.message_id, data)
        assert forged.callback_answer is not None
    no_errors(fake)


async def test_card_with_venue_calendar_file_and_share_link(running: RunningBot, fake: FakeTelegram) -> None:
    await service(running).add_event(meeting())
    user = fake.user(6005, language_code="en")
    card = (await user.send("/start event-ev-20260313-1")).replies[0]
    assert card.content.startswith("📅 Meeting with residents")
    assert "13 March 2026, 18:00–20:00" in card.content
    assert "Test hall, 1 Test street, Medeu district" in card.content
    assert "Campaign event, organised by the campaign: The campaign's coalition." in card.content
    assert "Questions & answers <about> the draft" in card.content  # escaped, shown as typed
    share = [b for b in card.flat_buttons if b.url]
    assert share and share[0].url == f"https://t.me/{fake.bot_username}?start=event-ev-20260313-1"

    venue = (await user.press(card, "Show on map")).replies[0]
    assert venue.venue is not None
    assert venue.venue["location"] == {"latitude": 43.2383, "longitude": 76.945}
    assert venue.venue["title"] == "Test hall" and venue.venue["address"] == "1 Test street"

    exchange = await user.press(card, "Add to calendar")
    (document,) = exchange.documents
    assert document.filename == "ev-20260313-1.ics"
    (event,) = icalendar.Calendar.from_ical(document.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Meeting with residents"
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2026, 3, 13, 13, 0, tzinfo=UTC)
    assert "Medeu district" in str(event["LOCATION"])
    no_errors(fake)


async def test_official_date_card_has_no_map_and_its_calendar_file_is_in_almaty_time(
    running: RunningBot, fake: FakeTelegram
) -> None:
    user = fake.user(6006, language_code="en")
    card = (await user.send("/start event-voting-day")).replies[0]
    assert "Organiser: Central Referendum Commission" in card.content
    assert "📎 Sources:" in card.content
    assert not [b for b in card.flat_buttons if "map" in b.text]  # no coordinates in the sources
    (document,) = (await user.press(card, "Add to calendar")).documents
    assert b"DTSTART;TZID=Asia/Almaty:20260315T070000" in document.content
    (event,) = icalendar.Calendar.from_ical(document.content).walk("VEVENT")
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
    assert event.decoded("DTEND").astimezone(UTC) == datetime(2026, 3, 15, 15, 0, tzinfo=UTC)
    forged = await user.press_data(card.message_id, "ev:map:voting-day")
    assert forged.callback_answer is not None and "no map" in str(forged.callback_answer.get("text"))
    no_errors(fake)


async def test_cancelled_and_late_reminders_are_not_sent(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    cancels = fake.user(6008, language_code="en")
    card = (await cancels.send("/start event-day-of-silence")).replies[0]
    assert {"🔔 the day before", "🔔 on the day"} <= {b.text for b in card.flat_buttons}  # all-day offsets
    card = (await cancels.press(card, "the day before")).edits[0]
    undone = await cancels.press(card, "Cancel the reminder")
    assert "Reminder cancelled" in str(undone.callback_answer)
    assert "the day before" in " ".join(b.text for b in undone.edits[0].flat_buttons)

    late = fake.user(6009, language_code="en")
    card = (await late.send("/start event-day-of-silence")).replies[0]
    await late.press(card, "the day before")

    clock.set(almaty(2026, 3, 13, 11, 30))  # due at 09:00 on 13 March: 2 h 30 min late
    assert await service(running).send_due(clock.now()) == 0
    assert not received(fake, cancels.id, "Reminder:")
    assert not received(fake, late.id, "Reminder:")
    no_errors(fake)


async def test_reminder_buttons_disappear_when_too_late(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    user = fake.user(6010, language_code="en")
    card = (await user.send("/start event-voting-day")).replies[0]
    clock.set(almaty(2026, 3, 15, 6, 30))  # after "1 hour before" (06:00)
    exchange = await user.press_data(card.message_id, "ev:r1h:voting-day")
    assert "too late" in str(exchange.callback_answer)
    assert not [b for b in exchange.edits[0].flat_buttons if "🔔" in b.text]
    no_errors(fake)


async def test_deep_links_and_menu(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(6011, language_code="en")
    unknown = (await user.send("/start event-no-such-event")).replies[0]
    assert unknown.content.startswith("🤷 I do not know this event.")
    assert "Upcoming events" in unknown.content
    menu = (await user.send("/menu")).replies[0]
    listing = (await user.press(menu, "Events")).edits[0]
    assert listing.content.startswith("📅 Upcoming events")
    card = (await user.press(listing, 1)).edits[0]
    assert card.content.startswith("📅 Day of silence")
    back = (await user.press(card, "Events")).edits[0]
    assert back.content.startswith("📅 Upcoming events")
    for data in ["ev:open:nope", "ev:fly:voting-day", "ev:ics:nope"]:
        forged = await user.press_data(card.message_id, data)
        assert forged.callback_answer is not None
    no_errors(fake)


# In this harness, RunningBot.restart() followed by the fixture's stop hangs (15 s TimeoutError at
# teardown) when run after other bot tests; reported to the lead. The restart is simulated below.
async def test_personal_reminder_is_sent_once_at_its_time_and_not_again_after_a_restart(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    await service(running).add_event(meeting())
    user = fake.user(6007, language_code="en")
    card = (await user.send("/start event-ev-20260313-1")).replies[0]
    pressed = await user.press(card, "1 hour before")
    assert "I will remind you on 13 March 2026, 17:00" in str(pressed.callback_answer)
    card = pressed.edits[0]
    assert "Cancel the reminder" in [b.text.removeprefix("🔕 ") for b in card.flat_buttons]
    assert "🔔 I will remind you on 13 March 2026, 17:00." in card.content

    clock.set(almaty(2026, 3, 13, 16, 59))
    assert await service(running).send_due(clock.now()) == 0
    clock.set(almaty(2026, 3, 13, 17, 0))
    assert await service(running).send_due(clock.now()) == 1
    (reminder,) = received(fake, user.id, "Reminder")
    assert reminder.content.startswith("🔔 Reminder: Meeting with residents")
    assert "13 March 2026, 18:00–20:00" in reminder.content
    assert "Test hall" in reminder.content
    assert await service(running).send_due(clock.now()) == 0

    # A restart: a new service on a new connection to the same database, as a new process would
    # have (running.restart() is not used: see the note above).
    app = running.app
    assert app is not None
    fresh = SqlStorage(running.settings.database)
    await fresh.connect()
    try:
        restarted = EventService(app.content, fresh, clock, service(running).notifier, default_language="en")
        clock.advance(timedelta(minutes=1))
        assert await restarted.send_due(clock.now()) == 0
    finally:
        await fresh.close()
    assert len(received(fake, user.id, "Reminder")) == 1
    no_errors(fake)
