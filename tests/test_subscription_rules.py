"""The rules of a resident's own choices (services/subscriptions.py), on the real app and storage at
moments of the campaign: what is still on offer decides, and a refused choice writes nothing."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.services.subscriptions import NO_DISTRICT, NO_VOTE_TIME, SubscriptionService, vote_time_token
from tests.conftest import RunningBot

ALMATY = ZoneInfo("Asia/Almaty")
USER = 4242


def _service(running: RunningBot) -> SubscriptionService:
    assert running.app is not None
    service: SubscriptionService = running.app.dispatcher["subscriptions"]
    return service


async def test_district_and_unsubscribe(running: RunningBot) -> None:
    service = _service(running)
    db = service.storage
    await db.touch_user(USER, "en", running.clock.now())
    await service.subscribe(USER, "en")
    district = service.campaign.districts[0].id
    assert await service.set_district(USER, district)
    assert (await db.get_subscription(USER)).district == district  # type: ignore[union-attr]
    assert not await service.set_district(USER, "atlantis")  # forged: refused, nothing written
    assert (await db.get_subscription(USER)).district == district  # type: ignore[union-attr]
    assert await service.set_district(USER, NO_DISTRICT)
    assert (await db.get_subscription(USER)).district is None  # type: ignore[union-attr]

    assert await service.set_reminder_mode(USER, "voting_day")
    await service.unsubscribe(USER)
    assert await db.get_subscription(USER) is None
    assert (await db.reminder_prefs(USER)).mode == "all"  # the preferences went with it


async def test_choices_follow_the_moment(running: RunningBot) -> None:
    service = _service(running)
    db = service.storage
    running.clock.set(datetime(2026, 3, 15, 8, 0, tzinfo=ALMATY))  # polls open
    await db.touch_user(USER, "en", running.clock.now())
    await service.subscribe(USER, "en")
    later = [t for t in service.campaign.vote_times() if t > time(9, 0)]
    assert later and await service.set_vote_time(USER, vote_time_token(later[0]))
    assert (await db.reminder_prefs(USER)).vote_time == later[0]
    assert not await service.set_vote_time(USER, "0400")  # not on offer: refused, nothing written
    assert (await db.reminder_prefs(USER)).vote_time == later[0]
    assert await service.set_vote_time(USER, NO_VOTE_TIME)
    assert (await db.reminder_prefs(USER)).vote_time is None
    assert await service.mark_voted(USER)

    running.clock.set(datetime(2026, 3, 15, 20, 0, tzinfo=ALMATY))  # polls closed
    assert not await service.mark_voted(USER)
    assert not await service.set_reminder_mode(USER, "voting_day")  # voting day is over
    assert not await service.set_vote_time(USER, vote_time_token(later[0]))
