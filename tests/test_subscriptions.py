"""/subscribe, /unsubscribe, the Reminders section and districts, through the fake Bot API."""

from __future__ import annotations

from bot.devtools.fake_api import FakeTelegram
from bot.storage.broadcasts import ALL_SUBSCRIBERS, DistrictAudience, LanguageAudience
from tests.conftest import RunningBot, no_errors


async def test_subscribe_at_once_choose_a_district_and_unsubscribe(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    storage = running.app.storage
    user = fake.user(4001, language_code="en")
    screen = (await user.send("/subscribe")).replies[0]
    assert "You are subscribed" in screen.content
    assert "/unsubscribe" in screen.content and "reminders" in screen.content.lower()  # what, and how to stop
    subscription = await storage.get_subscription(4001)
    assert subscription is not None and subscription.language == "en" and subscription.district is None

    districts = (await user.press(screen, "Choose a district")).edits[0]
    assert len(districts.flat_buttons) == 9  # eight districts and "No district"
    saved = await user.press(districts, "Bostandyk")
    assert saved.callback_answer is not None and "District: Bostandyk" in saved.edits[0].content
    assert await storage.audience_size(DistrictAudience("bostandyk")) == 1

    gone = await user.send("/unsubscribe")
    assert "You are unsubscribed" in gone.text
    assert await storage.get_subscription(4001) is None
    assert await storage.audience_size(ALL_SUBSCRIBERS) == 0
    no_errors(fake)


async def test_reminders_section_of_the_menu(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    user = fake.user(4002, language_code="kk")
    menu = (await user.send("/menu")).replies[0]
    section = (await user.press(menu, "🔔")).edits[0]
    assert "coming soon" not in section.content
    subscribed = (await user.press(section, "🔔")).edits[0]  # the Subscribe button
    subscription = await running.app.storage.get_subscription(4002)
    assert subscription is not None and subscription.language == "kk"
    off = await user.press(subscribed, "🔕")
    assert off.edits and await running.app.storage.get_subscription(4002) is None
    no_errors(fake)


async def test_district_buttons_after_unsubscribing_are_harmless(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(4003, language_code="en")
    screen = (await user.send("/subscribe")).replies[0]
    districts = (await user.press(screen, "Choose a district")).edits[0]
    await user.send("/unsubscribe")
    late = await user.press(districts, "Medeu")
    assert late.edits and "Subscribe" in late.edits[0].flat_buttons[0].text
    forged = await user.press_data(screen.message_id, "sub:district:mars")
    assert forged.callback_answer is not None
    assert running.app is not None and await running.app.storage.get_subscription(4003) is None
    no_errors(fake)


async def test_blocking_makes_a_subscriber_inactive_and_writing_again_reactivates(
    running: RunningBot, fake: FakeTelegram
) -> None:
    assert running.app is not None
    storage = running.app.storage
    user = fake.user(4004, language_code="ru")
    await user.send("/subscribe")
    assert await storage.audience_size(LanguageAudience("ru")) == 1
    await user.block()
    assert await storage.audience_size(ALL_SUBSCRIBERS) == 0
    await user.unblock()
    await user.send("/menu")
    assert await storage.audience_size(ALL_SUBSCRIBERS) == 1
    counts = await storage.subscriber_counts()
    assert counts.total == 1 and counts.by_language == {"ru": 1}
