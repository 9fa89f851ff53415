"""What a resident sets about being reached: the subscription and its district, the reminder mode,
the time they plan to vote, and "I voted". The rules of each choice live here (what is still on
offer at this moment of the campaign, what goes with what); the handlers only show the outcome."""

from __future__ import annotations

from datetime import time

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.content.models import Campaign
from bot.services.reminders import ReminderService, plan_for
from bot.services.scheduler import ReminderScheduler
from bot.storage import Storage
from bot.storage.base import Subscription

NO_DISTRICT = "none"
NO_VOTE_TIME = "off"


def vote_time_token(value: time) -> str:
    """A vote time as it travels in callback data: "0930"."""
    return value.strftime("%H%M")


class SubscriptionService:
    def __init__(
        self,
        storage: Storage,
        content: ContentStore,
        clock: Clock,
        reminders: ReminderService,
        scheduler: ReminderScheduler,
    ) -> None:
        self.storage = storage
        self.content = content
        self.clock = clock
        self.reminders = reminders
        self.scheduler = scheduler

    @property
    def campaign(self) -> Campaign:
        return self.content.current.campaign

    async def subscribe(self, user_id: int, language: Lang) -> Subscription:
        return await self.storage.subscribe(user_id, language, self.clock.now())

    async def unsubscribe(self, user_id: int) -> None:
        await self.storage.unsubscribe(user_id)
        await self.storage.drop_reminder_prefs(user_id)  # they only serve the subscription

    async def set_district(self, user_id: int, value: str) -> bool:
        """``value`` a district id of the campaign, or ``none``; False if it is neither."""
        if value != NO_DISTRICT and not self.campaign.is_district(value):
            return False
        await self.storage.set_district(user_id, None if value == NO_DISTRICT else value)
        return True

    async def set_reminder_mode(self, user_id: int, mode: str) -> bool:
        """False when the choice is no longer on offer (nothing ahead, or voting day passed)."""
        prefs = await self.storage.reminder_prefs(user_id)
        plan = plan_for(self.campaign, self.clock.now(), prefs.voted_on)
        if not plan.anything or (mode == "voting_day" and not plan.voting_day):
            return False
        await self.storage.set_reminder_mode(user_id, mode)
        return True

    async def set_vote_time(self, user_id: int, value: str) -> bool:
        """``value`` one of the times still on offer ("0930") or ``off``; False otherwise (polls
        closed, the time passed, the hours changed, or a forged button)."""
        prefs = await self.storage.reminder_prefs(user_id)
        plan = plan_for(self.campaign, self.clock.now(), prefs.voted_on)
        offered = {vote_time_token(choice): choice for choice in plan.vote_times}
        if value == NO_VOTE_TIME:
            chosen = None
        elif value in offered:
            chosen = offered[value]
        else:
            return False
        await self.storage.set_vote_time(user_id, chosen)
        if chosen is not None:
            self.scheduler.schedule_personal(user_id, self.reminders.vote_time_moment(chosen))
        return True

    async def mark_voted(self, user_id: int) -> bool:
        """No more reminders today; False unless the polls are open now."""
        campaign = self.campaign
        if not campaign.polls_open_at(self.clock.now()):
            return False
        await self.storage.mark_voted(user_id, campaign.voting_day)
        return True
