"""APScheduler 3 (AsyncIOScheduler, in the campaign's time zone), started and stopped with the bot.

Jobs are derived at start-up from campaign.yaml and the database, with explicit ids and
``replace_existing``; nothing is pickled (the in-memory job store): the database is the source of
truth. Each reminder gets a date job at its moment; a catch-up job runs at start-up and every
``tick_seconds`` so that a bot that was down still sends what is due within the grace period.

Moments come from the injected clock; they are turned into the scheduler's real time by their
distance from the clock's now, so a test clock standing in March schedules the same way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.services.reminders import ReminderService

log = logging.getLogger(__name__)
STOP_SECONDS = 15.0  # how long stop() lets a running job finish


class ReminderScheduler:
    def __init__(self, reminders: ReminderService, clock: Clock, *, tick_seconds: float = 30.0) -> None:
        self.reminders = reminders
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[object]] = set()  # jobs being run now

    async def _run(self, job: Callable[..., Awaitable[object]], *args: object) -> None:
        """Every job runs through here, so that stop() can let it finish instead of APScheduler's
        shutdown cancelling it half-way (with the database closed under it)."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await job(*args)
        finally:
            if task is not None:
                self._running.discard(task)

    def _real(self, moment: datetime) -> datetime:
        return datetime.now(UTC) + (moment - self.clock.now())

    async def start(self) -> None:
        campaign = self.reminders.campaign
        self.scheduler = AsyncIOScheduler(timezone=campaign.tz)
        now = self.clock.now()
        grace = int(self.reminders.grace.total_seconds())
        for reminder, moment in self.reminders.schedule():
            if moment > now:
                self.scheduler.add_job(
                    self._run,
                    DateTrigger(run_date=self._real(moment)),
                    args=[self.reminders.fire, reminder.id],
                    id=f"reminder:{campaign.id}:{reminder.id}",
                    replace_existing=True,
                    misfire_grace_time=grace,
                    coalesce=True,
                )
        for prefs in await self.reminders.storage.vote_time_subscribers():
            if prefs.vote_time is not None:
                self.schedule_personal(prefs.user_id, self.reminders.vote_time_moment(prefs.vote_time))
        self.scheduler.add_job(
            self._run,
            IntervalTrigger(seconds=self.tick_seconds),
            args=[self.reminders.tick],
            id="reminders:catch-up",
            replace_existing=True,
            next_run_time=datetime.now(UTC),  # at start-up: what fell due while the bot was down
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(  # each reminder's plan, once: one that cannot finish in time is logged
            self._run,
            DateTrigger(run_date=datetime.now(UTC)),
            args=[self.reminders.plans],
            id="reminders:plans",
            replace_existing=True,
        )
        self.scheduler.start()
        log.info("scheduler started with %d job(s)", len(self.scheduler.get_jobs()))

    def schedule_personal(self, user_id: int, moment: datetime) -> None:
        if self.scheduler is None:
            return
        job_id = f"vote-time:{user_id}"
        if moment <= self.clock.now():
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(job_id)
            return
        self.scheduler.add_job(
            self._run,
            DateTrigger(run_date=self._real(moment) + timedelta(seconds=1)),
            args=[self.reminders.tick],
            id=job_id,
            replace_existing=True,
            misfire_grace_time=int(self.reminders.grace.total_seconds()),
            coalesce=True,
        )

    def jobs(self) -> dict[str, datetime | None]:
        if self.scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()  # no new job; the running ones finish (shutdown would cancel them)
            if self._running:
                _, late = await asyncio.wait(set(self._running), timeout=STOP_SECONDS)
                if late:
                    log.warning("%d scheduler job(s) still running after %.0f s: cancelled", len(late), STOP_SECONDS)
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
