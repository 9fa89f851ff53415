"""/event_add, /event_edit and /event_cancel through the fake Bot API: admins only, bad input at
every step, the preview, and the users with reminders told about changes and cancellations."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.devtools.fake_api import FakeTelegram, FakeUser
from bot.services.events import EventService
from tests.conftest import ADMIN_ID, RunningBot, almaty, no_errors


def service(bot: RunningBot) -> EventService:
    assert bot.app is not None
    events = bot.app.dispatcher["events"]
    assert isinstance(events, EventService)
    return events


async def say(user: FakeUser, text: str) -> str:
    exchange = await user.send(text)
    assert len(exchange.replies) == 1, exchange.text
    return exchange.replies[0].content


async def add_meeting(admin: FakeUser) -> str:
    """The whole dialog with valid input; returns the new event's id."""
    kinds = (await admin.send("/event_add")).replies[0]
    await admin.press(kinds, "Meeting")
    for text in [
        "Meeting with residents",
        "-",
        "2026-03-20 18:00",
        "20:00",
        "Medeu",
        "Test hall; 1 Test street",
        "43.2383, 76.9450",
        "Coalition",
        "-",
    ]:
        last = (await admin.send(text)).replies[0]
    saved = await admin.press(last, "Save")
    text = saved.edits[0].content
    assert "The event is saved and listed: ev-20260320-1." in text
    return "ev-20260320-1"


async def test_event_commands_are_for_admins_only(running: RunningBot, fake: FakeTelegram) -> None:
    resident = fake.user(7001, language_code="en")
    for command in ["/event_add", "/event_edit", "/event_cancel voting-day"]:
        assert "I do not know this command" in await say(resident, command)
    menu = (await resident.send("/menu")).replies[0]
    for data in ["eva:save:", "eva:cancel_yes:voting-day", "eva:kind:meeting", "eva:field:title"]:
        forged = await resident.press_data(menu.message_id, data)
        assert forged.callback_answer is not None and "out of date" in str(forged.callback_answer.get("text"))
    assert (await service(running).get("voting-day")) is not None
    assert not (await service(running).get("voting-day")).cancelled  # type: ignore[union-attr]
    no_errors(fake)


async def test_add_dialog_validates_every_step_and_previews(running: RunningBot, fake: FakeTelegram) -> None:
    admin = fake.user(ADMIN_ID, language_code="en")
    kinds = (await admin.send("/event_add")).replies[0]
    assert "What kind of event" in kinds.content
    assert "Choose the kind with the buttons" in await say(admin, "a festival")
    assert "Send the title" in (await admin.press(kinds, "Round table")).replies[0].content

    assert "too short" in await say(admin, "ab")
    assert "the limit is 100" in await say(admin, "x" * 101)
    assert "short description" in await say(admin, "Round table on the draft")
    assert "the limit is 1000" in await say(admin, "y" * 1001)
    assert "When does it start" in await say(admin, "Experts explain the draft & answer questions.")
    assert "could not read this date" in await say(admin, "next Friday")
    assert "could not read this date" in await say(admin, "2026-02-30 18:00")
    assert "in the past" in await say(admin, "2026-03-01 10:00")
    assert "When does it end" in await say(admin, "20.03.2026 18:30")
    assert "could not read this time" in await say(admin, "25:99")
    assert "end is before the start" in await say(admin, "17:00")
    district = (await admin.send("21:00")).replies[0]
    assert "Which district" in district.content and len(district.flat_buttons) == 9
    assert "Unknown district" in await say(admin, "Downtown")
    assert "The place" in (await admin.press(district, "Bostandyk")).replies[0].content
    assert "the limit is 200" in await say(admin, "H" * 201)
    assert "Coordinates" in await say(admin, "Test library; 2 Test avenue")
    assert "out of range" in await say(admin, "91, 200")
    assert "Write the coordinates" in await say(admin, "near the park")
    assert "Who organises it" in await say(admin, "43.2, 76.9")
    assert "the limit is 100" in await say(admin, "O" * 101)
    assert "web link" in await say(admin, "Coalition")
    assert "not a web link" in await say(admin, "example dot com")
    preview = (await admin.send("https://example.org/round-table")).replies[0]
    assert preview.content.startswith("👀 Preview. Residents will see:")
    assert "Round table on the draft" in preview.content
    assert "20 March 2026, 18:30–21:00" in preview.content
    assert "Test library, 2 Test avenue, Bostandyk district" in preview.content
    assert "Campaign event, organised by the campaign: Coalition." in preview.content
    assert "Press Save or Cancel" in await say(admin, "looks good")

    saved = await admin.press(preview, "Save")
    assert "ev-20260320-1" in saved.edits[0].content
    again = await admin.press_data(preview.message_id, "eva:save:")  # the dialog is over: out of date
    assert again.callback_answer is not None and again.callback_answer.get("show_alert")

    resident = fake.user(7002, language_code="en")
    listing = (await resident.send("/events")).replies[0]
    districts = (await resident.press(listing, "District")).edits[0]
    bostandyk = (await resident.press(districts, "Bostandyk")).edits[0]
    assert "Round table on the draft" in bostandyk.content
    card = (await resident.send("/start event-ev-20260320-1")).replies[0]
    assert "Show on map" in " ".join(b.text for b in card.flat_buttons)
    assert running.app is not None
    assert any(entry.action == "event_add" for entry in await running.app.storage.audit_entries(10))
    no_errors(fake)


async def test_all_day_event_and_stopping_the_dialog(running: RunningBot, fake: FakeTelegram) -> None:
    admin = fake.user(ADMIN_ID, language_code="en")
    kinds = (await admin.send("/event_add")).replies[0]
    await admin.press(kinds, "Festival")
    await admin.send("Youth festival")
    await admin.send("-")
    assert "Last day of the event" in await say(admin, "2026-03-21")
    assert "end is before the start" in await say(admin, "2026-03-20")
    assert "Write the last day" in await say(admin, "18:00")
    district = (await admin.send("2026-03-22")).replies[0]
    venue_prompt = (await admin.press(district, "No district")).replies[0]
    assert "The place" in venue_prompt.content
    organiser = await say(admin, "-")  # no place: no coordinates asked
    assert "Who organises it" in organiser
    assert "Stopped. Nothing was saved." in await say(admin, "/cancel")
    assert [e for e in await service(running).all_events() if e.origin == "admin"] == []
    no_errors(fake)


async def test_edit_moves_reminders_and_tells_their_users(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    admin = fake.user(ADMIN_ID, language_code="en")
    event_id = await add_meeting(admin)
    resident = fake.user(7003, language_code="en")
    card = (await resident.send(f"/start event-{event_id}")).replies[0]
    await resident.press(card, "1 hour before")

    assert "edit it in the file" in await say(admin, "/event_edit voting-day")
    menu = (await admin.send(f"/event_edit {event_id}")).replies[0]
    assert "Which field" in menu.content
    prompt = (await admin.press(menu, "Start")).replies[0]
    assert "When does it start" in prompt.content
    assert "in the past" in await say(admin, "2026-03-10 10:00")
    saved = await say(admin, "2026-03-21 19:00")
    assert "A notice of the change goes to the people with a reminder: 1." in saved
    assert "21 March 2026, 19:00–21:00" in saved  # the duration is kept
    # the notice goes through the delivery engine (persistent, resumed after a crash)
    await fake.wait_for(lambda: any("has changed" in m.content for m in fake.bot_messages(resident.id)))
    (notice,) = [m for m in fake.bot_messages(resident.id) if "has changed" in m.content]
    assert "21 March 2026, 19:00–21:00" in notice.content
    assert "I will remind you on 21 March 2026, 18:00." in notice.content

    clock.set(almaty(2026, 3, 20, 17, 0))  # the old reminder time: nothing
    assert await service(running).send_due(clock.now()) == 0
    clock.set(almaty(2026, 3, 21, 18, 0))
    assert await service(running).send_due(clock.now()) == 1
    no_errors(fake)


async def test_cancel_tells_those_with_a_reminder_and_stops_it(
    running: RunningBot, fake: FakeTelegram, clock: ManualClock
) -> None:
    admin = fake.user(ADMIN_ID, language_code="en")
    event_id = await add_meeting(admin)
    waiting = fake.user(7004, language_code="en")
    card = (await waiting.send(f"/start event-{event_id}")).replies[0]
    await waiting.press(card, "1 day before")
    bystander = fake.user(7005, language_code="en")
    await bystander.send(f"/start event-{event_id}")

    choices = (await admin.send("/event_cancel")).replies[0]
    assert "Which event do you want to cancel" in choices.content
    confirm = (await admin.press(choices, "Meeting with residents")).edits[0]
    assert "Everyone with a reminder of it will be told" in confirm.content
    kept = await admin.press(confirm, "No, keep it")
    assert "stays as it is" in kept.edits[0].content
    confirm = (await admin.send(f"/event_cancel {event_id}")).replies[0]
    done = await admin.press(confirm, "Yes, cancel the event")
    assert "A notice goes to the people with a reminder: 1." in done.edits[0].content
    again = await admin.press_data(confirm.message_id, f"eva:cancel_yes:{event_id}")
    assert "already cancelled" in str(again.callback_answer)
    await fake.wait_for(lambda: any("is cancelled" in m.content for m in fake.bot_messages(waiting.id)))

    (notice,) = [m for m in fake.bot_messages(waiting.id) if "is cancelled" in m.content]
    assert "Meeting with residents" in notice.content and "20 March 2026, 18:00–20:00" in notice.content
    assert not [m for m in fake.bot_messages(bystander.id) if "is cancelled" in m.content]
    assert "Meeting with residents" not in (await waiting.send("/events")).replies[0].content
    card = (await waiting.send(f"/start event-{event_id}")).replies[0]
    assert "This event is cancelled." in card.content
    assert not [b for b in card.flat_buttons if "🔔" in b.text or "map" in b.text]

    clock.set(almaty(2026, 3, 19, 18, 0))
    assert await service(running).send_due(clock.now()) == 0
    clock.advance(timedelta(minutes=5))
    assert await service(running).send_due(clock.now()) == 0
    assert not [m for m in fake.bot_messages(waiting.id) if "Reminder:" in m.content]
    no_errors(fake)


async def test_official_dates_from_the_file_can_be_cancelled(running: RunningBot, fake: FakeTelegram) -> None:
    admin = fake.user(ADMIN_ID, language_code="en")
    confirm = (await admin.send("/event_cancel day-of-silence")).replies[0]
    await admin.press(confirm, "Yes, cancel the event")
    assert "Day of silence" not in (await fake.user(7006, language_code="en").send("/events")).replies[0].content
    assert "There is no event" in await say(admin, "/event_cancel nothing-here")
    no_errors(fake)
