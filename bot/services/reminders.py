"""Countdown reminders: each due reminder becomes broadcasts (one per language) through the delivery
engine, keyed by (campaign, reminder, language) so that it is created once however often the job
fires or the bot restarts. Due means: its moment has come and is at most the grace period ago — a
"3 days left" must never arrive on the 2nd day. Personal "time I plan to vote" reminders go 30
minutes before that time on voting day.

The clock decides, not the scheduler: :meth:`ReminderService.tick` looks at ``clock.now()``; the
scheduler (``bot/services/scheduler.py``) only wakes it at the right moments."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol

from bot.clock import Clock
from bot.config import LANGUAGES, Lang
from bot.content import ContentStore
from bot.content.models import Campaign, Localized, Reminder
from bot.services.delivery.planner import PAID_RATE, QUIET_HOURS, DeliveryPlan, in_sequence
from bot.services.delivery.planner import plan as plan_delivery
from bot.storage import Storage
from bot.storage.base import Audience, BroadcastMessage, BroadcastRecord, UserRecord
from bot.storage.broadcasts import MessageKind, ReminderAudience, ReminderScope, UserAudience

log = logging.getLogger(__name__)
VOTE_TIME_LEAD = timedelta(minutes=30)
PLAN_SECONDS = 600  # a reminder's plan (its audience counted) is kept this long
Outcome = Literal["sent", "early", "skipped"]


def reminder_window(campaign: Campaign, reminder: Reminder) -> tuple[datetime, datetime]:
    """When a reminder may be sent: from the end of the night on its day (never before a milestone
    it follows or waits for) to its deadline. The deadline comes from the timeline: a voting-day
    reminder's is the polls closing (worthless after); any other's the end of its day ("tomorrow"
    is wrong after midnight); and no campaign reminder goes out in the quiet hours (22:00-07:00),
    unless the editors put the reminder itself there. A voting-day reminder never starts before
    its own time: its text and status line speak of the hour."""
    moment = campaign.reminder_moment(reminder)
    begin, night = QUIET_HOURS.day_window(moment, campaign.tz)
    if reminder.scope == ReminderScope.VOTING_DAY.value:
        deadline = campaign.closes_at
    else:
        deadline = datetime.combine(moment.astimezone(campaign.tz).date() + timedelta(days=1), time(0), campaign.tz)
    if moment < night:
        deadline = min(deadline, night)
    earliest = begin
    for milestone in (reminder.milestone, reminder.from_):
        if milestone is not None:
            earliest = max(earliest, campaign.at(milestone))
    if reminder.scope == ReminderScope.VOTING_DAY.value:
        earliest = moment  # its text speaks of the hour ("polls close at 20:00", "2 hours left")
    return min(earliest, moment), deadline


def plan_advice(delivery_plan: DeliveryPlan, *, paid: bool) -> str:
    """The plan in one line for the logs (the admin's screens word it in their language)."""
    deadline, finish = delivery_plan.deadline, delivery_plan.finish
    line = f"{delivery_plan.recipients} recipients at {delivery_plan.rate:g}/s finish at {finish:%d.%m %H:%M}"
    if deadline is None or delivery_plan.fits:
        return line
    latest = delivery_plan.latest_start
    line += f", after its deadline {deadline:%d.%m %H:%M}: start at {latest:%d.%m %H:%M}" if latest else ""
    if not paid and delivery_plan.fits_at(PAID_RATE):
        line += ", or switch on paid broadcasts"
    return line


@dataclass(frozen=True)
class ReminderPlan:
    """What is still ahead for a subscriber at a moment, from the campaign's reminders: what the
    settings screen may offer and promise. Empty in the archive or once everything has gone out."""

    countdown_days: list[int]  # days before voting day with a reminder still to come, largest first
    voting_day: bool  # reminders on voting day still to come
    after: list[Localized]  # what the reminders after the vote still to come are about
    vote_times: list[time]  # times one may say one plans to vote at (their reminder still ahead)

    @property
    def anything(self) -> bool:
        return bool(self.countdown_days or self.voting_day or self.after or self.vote_times)


def reminder_plan(campaign: Campaign, now: datetime) -> ReminderPlan:
    ahead = [
        r
        for r in campaign.reminders
        if campaign.reminder_moment(r) > now and (r.from_ is None or campaign.passed(r.from_, now))
    ]
    if campaign.passed("end", now):
        ahead = []
    days = sorted({r.days_before for r in ahead if r.days_before}, reverse=True)
    after = [r.title or campaign.milestone(r.milestone).title for r in ahead if r.milestone is not None]
    vote_times = [
        moment
        for moment in campaign.vote_times()
        if datetime.combine(campaign.voting_day, moment, campaign.tz) - VOTE_TIME_LEAD > now
    ]
    return ReminderPlan(
        countdown_days=days,
        voting_day=any(r.days_before == 0 for r in ahead),
        after=after,
        vote_times=vote_times,
    )


def plan_for(campaign: Campaign, now: datetime, voted_on: date | None) -> ReminderPlan:
    """:func:`reminder_plan` for one subscriber: once they said "I voted", nothing about voting day
    (its reminders, a time to vote) is offered any more."""
    plan = reminder_plan(campaign, now)
    if voted_on is not None and voted_on == campaign.voting_day:
        return replace(plan, voting_day=False, vote_times=[])
    return plan


class Broadcaster(Protocol):
    async def create_broadcast(
        self, message: BroadcastMessage, audience: Audience, *, key: str | None = None, deadline: datetime | None = None
    ) -> BroadcastRecord: ...


class ReminderTexts(Protocol):
    """The words of the reminders, in a subscriber's language (the port: rendered next to the
    handlers, :class:`bot.handlers.reminders.ReminderRenderer`)."""

    def language(self, user: UserRecord | None) -> Lang: ...

    def reminder(self, campaign: Campaign, reminder: Reminder, lang: Lang, moment: datetime) -> str: ...

    def vote_time(self, campaign: Campaign, vote_time: time, lang: Lang, moment: datetime) -> str: ...

    def voted_markup(self, lang: Lang) -> str | None:
        """The "I voted" button (an InlineKeyboardMarkup as JSON) under voting-day messages."""
        ...


class ReminderService:
    def __init__(
        self,
        content: ContentStore,
        storage: Storage,
        delivery: Broadcaster,
        clock: Clock,
        texts: ReminderTexts,
        *,
        grace: timedelta,
        rate: float = 25.0,
        paid: bool = False,
    ) -> None:
        self.content = content
        self.storage = storage
        self.delivery = delivery
        self.clock = clock
        self.texts = texts
        self.grace = grace
        self.rate = rate  # messages per second (BROADCAST_RATE): what the plans count with
        self.paid = paid
        self._plans: dict[tuple[str, str], tuple[datetime, DeliveryPlan]] = {}
        self._warned: set[tuple[str, str]] = set()
        self.on_tick: list[Callable[[datetime], Awaitable[object]]] = []  # e.g. event reminders
        self._skipped: set[str] = set()
        self._queued: set[tuple[str, str]] = set()  # (campaign, reminder) queued by this process

    @property
    def campaign(self) -> Campaign:
        return self.content.current.campaign

    def schedule(self) -> list[tuple[Reminder, datetime]]:
        """Every reminder of the campaign with its moment, soonest first."""
        campaign = self.campaign
        return sorted(((r, campaign.reminder_moment(r)) for r in campaign.reminders), key=lambda pair: pair[1])

    def message(self, reminder: Reminder, lang: Lang, moment: datetime) -> str:
        return self.texts.reminder(self.campaign, reminder, lang, moment)

    def delivery_plan(self, reminder: Reminder, recipients: int) -> DeliveryPlan:
        """When ``reminder`` to ``recipients`` starts and finishes: at its time, or earlier when it
        would not finish by its deadline at the rate, never before its window
        (:func:`reminder_window`)."""
        campaign = self.campaign
        earliest, deadline = reminder_window(campaign, reminder)
        moment = campaign.reminder_moment(reminder)
        return plan_delivery(recipients, self.rate, wanted=moment, deadline=deadline, earliest=earliest)

    async def recipients(self, scope: ReminderScope) -> int:
        """How many subscribers a reminder of ``scope`` reaches now (every language: they share
        the rate)."""
        day = self.campaign.voting_day
        return sum([await self.storage.audience_size(ReminderAudience(lang, scope, day)) for lang in LANGUAGES])

    async def plan_of(
        self, reminder: Reminder, *, fresh: bool = False, counted: dict[ReminderScope, int] | None = None
    ) -> DeliveryPlan:
        """The reminder's plan with its audience as counted in the last ``PLAN_SECONDS`` (``fresh``:
        counted now, or taken from ``counted``, the audiences by scope counted for this call); a
        plan that cannot finish by its deadline is logged once as a warning."""
        now = self.clock.now()
        key = (self.campaign.id, reminder.id)
        cached = self._plans.get(key)
        if not fresh and cached is not None and now - cached[0] < timedelta(seconds=PLAN_SECONDS):
            return cached[1]
        scope = ReminderScope(reminder.scope)
        counted = {} if counted is None else counted
        if scope not in counted:
            counted[scope] = await self.recipients(scope)
        delivery_plan = self.delivery_plan(reminder, counted[scope])
        self._plans[key] = (now, delivery_plan)
        if not delivery_plan.fits and key not in self._warned:
            self._warned.add(key)
            log.warning("reminder %s: %s", reminder.id, plan_advice(delivery_plan, paid=self.paid))
        return delivery_plan

    async def plans(self) -> list[tuple[Reminder, DeliveryPlan]]:
        """The plans of the reminders still ahead, their audiences counted now, in order of start
        and one after the other as the engine sends them (for ``/broadcasts`` and the start-up log)."""
        now = self.clock.now()
        if self.campaign.passed("end", now):
            return []
        ahead = [reminder for reminder, moment in self.schedule() if moment > now]
        counted: dict[ReminderScope, int] = {}  # one count per scope, not per reminder
        pairs = [(r, await self.plan_of(r, fresh=True, counted=counted)) for r in ahead]
        pairs.sort(key=lambda pair: pair[1].start)
        result = list(zip([r for r, _p in pairs], in_sequence([p for _r, p in pairs]), strict=True))
        for reminder, delivery_plan in result:  # one that fits alone may not after the one before it
            key = (self.campaign.id, reminder.id)
            if not delivery_plan.fits and key not in self._warned:
                self._warned.add(key)
                log.warning(
                    "reminder %s (after the reminders before it): %s",
                    reminder.id,
                    plan_advice(delivery_plan, paid=self.paid),
                )
        return result

    async def fire(self, reminder_id: str) -> Outcome:
        """Create the reminder's broadcasts if it is due now (idempotent): at its planned start
        (its time, or earlier when its audience needs it), with its deadline."""
        now = self.clock.now()
        found = next(((r, m) for r, m in self.schedule() if r.id == reminder_id), None)
        if found is None:
            return "skipped"
        reminder, moment = found
        earliest, deadline = reminder_window(self.campaign, reminder)
        if now < earliest:
            return "early"
        if now < moment and now < (await self.plan_of(reminder)).start:
            return "early"
        if reminder.from_ is not None and not self.campaign.passed(reminder.from_, now):
            return "skipped"  # e.g. news of an outcome that was not announced
        if now - moment > self.grace or now >= deadline:
            if reminder.id not in self._skipped:
                self._skipped.add(reminder.id)
                level = logging.WARNING if now - moment < timedelta(days=1) else logging.INFO
                log.log(
                    level,
                    "reminder %s was due at %s, %s ago (grace %s): skipped",
                    reminder.id, moment.isoformat(), now - moment, self.grace,
                )  # fmt: skip
            return "skipped"
        campaign = self.campaign
        queued = (campaign.id, reminder.id)
        if queued in self._queued:  # the catch-up tick calls this again throughout the grace period
            return "sent"
        ids: list[int] = []
        for lang in LANGUAGES:
            audience = ReminderAudience(lang, ReminderScope(reminder.scope), campaign.voting_day)
            markup = self.texts.voted_markup(lang) if reminder.scope == "voting_day" else None
            record = await self.delivery.create_broadcast(
                BroadcastMessage(kind=MessageKind.TEXT, text=self.message(reminder, lang, moment), reply_markup=markup),
                audience,
                key=f"reminder:{campaign.id}:{reminder.id}:{lang}",
                deadline=deadline,
            )
            ids.append(record.id)
        self._queued.add(queued)
        log.info("reminder %s due at %s: broadcasts %s (each created once)", reminder.id, moment.isoformat(), ids)
        return "sent"

    def vote_time_moment(self, vote_time: time) -> datetime:
        campaign = self.campaign
        return datetime.combine(campaign.voting_day, vote_time, campaign.tz) - VOTE_TIME_LEAD

    async def fire_personal(self, now: datetime) -> int:
        """Personal "time I plan to vote" reminders that are due."""
        campaign = self.campaign
        created = 0
        for prefs in await self.storage.vote_time_subscribers():
            if prefs.vote_time is None or prefs.voted_on == campaign.voting_day:
                continue
            if prefs.vote_time not in campaign.vote_times():  # chosen under other polling hours
                continue
            moment = self.vote_time_moment(prefs.vote_time)
            if not timedelta(0) <= now - moment <= self.grace:
                continue
            lang = self.texts.language(await self.storage.get_user(prefs.user_id))
            text = self.texts.vote_time(campaign, prefs.vote_time, lang, moment)
            await self.delivery.create_broadcast(
                BroadcastMessage(kind=MessageKind.TEXT, text=text, reply_markup=self.texts.voted_markup(lang)),
                UserAudience(prefs.user_id),
                key=f"vote-time:{campaign.id}:{prefs.user_id}",
                deadline=moment + VOTE_TIME_LEAD,  # the time they chose: worthless after it
            )
            created += 1
        return created

    async def tick(self) -> None:
        """Everything due at ``clock.now()``: campaign reminders, personal ones, and the hooks."""
        now = self.clock.now()
        for reminder, moment in self.schedule():
            if moment <= now or reminder_window(self.campaign, reminder)[0] <= now:
                await self.fire(reminder.id)
        await self.fire_personal(now)
        for hook in self.on_tick:
            await hook(now)
