"""When a broadcast must start to be sent in full before its deadline, and when it will finish.

Pure arithmetic over the number of recipients and the rate (no storage, no clock of its own): the
reminder service plans each campaign reminder with it (starting it earlier when its window needs it,
never in the quiet hours), and the announcement dialog tells the admin, when a broadcast is
scheduled, whether it can finish by its deadline ("finishes at 16:40, after its deadline 12:00:
start at 04:10, or switch on paid broadcasts"). ``/broadcasts`` shows the estimated finish."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

PAID_RATE = 1000.0  # messages per second with paid broadcasts (Telegram's limit for them)


@dataclass(frozen=True)
class QuietHours:
    """The night, in the campaign's zone: no campaign reminder is sent from ``start`` to ``end``
    (a resident's own chosen time is theirs, and an admin's announcement is the admin's choice)."""

    start: time
    end: time

    def day_window(self, day_moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The daytime around ``day_moment``'s day: from the end of the night before it to the
        start of the night after it."""
        day = day_moment.astimezone(tz).date()
        begin = datetime.combine(day, self.end, tz)
        finish = datetime.combine(day, self.start, tz)
        if finish <= begin:  # a night that does not cross midnight (unusual): the day ends at 24:00
            finish = datetime.combine(day + timedelta(days=1), time(0), tz)
        return begin, finish


QUIET_HOURS = QuietHours(start=time(22, 0), end=time(7, 0))


def send_time(recipients: int, rate: float) -> timedelta:
    """How long ``recipients`` messages take at ``rate`` messages per second."""
    if rate <= 0:
        raise ValueError("the rate must be positive")
    return timedelta(seconds=math.ceil(recipients / rate))


@dataclass(frozen=True)
class DeliveryPlan:
    """One broadcast's plan: it starts at ``start`` and finishes about ``finish``."""

    recipients: int
    rate: float
    wanted: datetime  # the moment it was meant for (a reminder's time, the admin's start)
    start: datetime  # when it starts (earlier than ``wanted`` when its window needs it)
    deadline: datetime | None

    @property
    def duration(self) -> timedelta:
        return send_time(self.recipients, self.rate)

    @property
    def finish(self) -> datetime:
        return self.start + self.duration

    @property
    def fits(self) -> bool:
        return self.deadline is None or self.finish <= self.deadline

    @property
    def latest_start(self) -> datetime | None:
        """The last moment it can start and still finish by its deadline."""
        return None if self.deadline is None else self.deadline - self.duration

    def fits_at(self, rate: float) -> bool:
        """Would it finish by its deadline at ``rate`` (paid broadcasts: :data:`PAID_RATE`)?"""
        return self.deadline is None or self.start + send_time(self.recipients, rate) <= self.deadline


def plan(
    recipients: int,
    rate: float,
    *,
    wanted: datetime,
    deadline: datetime | None,
    earliest: datetime | None = None,
) -> DeliveryPlan:
    """Start at ``wanted``, or earlier (never before ``earliest``) when it would not finish by
    ``deadline`` otherwise. A plan that does not fit even so says so (``fits`` False): it starts as
    early as it may and its ``latest_start`` tells what it would take."""
    start = wanted
    if deadline is not None:
        latest = deadline - send_time(recipients, rate)
        if latest < start:
            start = latest if earliest is None else max(earliest, latest)
            start = min(start, wanted)
    return DeliveryPlan(recipients=recipients, rate=rate, wanted=wanted, start=start, deadline=deadline)


def in_sequence(plans: Sequence[DeliveryPlan]) -> list[DeliveryPlan]:
    """The plans as the engine carries them out, one broadcast at a time: in order of start, each
    starts no earlier than the one before it finishes (two reminders to a million on the same day
    share its hours). Returned in that order."""
    done: list[DeliveryPlan] = []
    for each in sorted(plans, key=lambda p: p.start):
        if done and done[-1].finish > each.start:
            each = replace(each, start=done[-1].finish)
        done.append(each)
    return done


Rank = tuple[int, int, float, int, float, int]


@dataclass(frozen=True)
class Queued:
    """A broadcast still to be sent, for :func:`finishes`: ``messages`` left from ``start`` on."""

    key: int
    rank: Rank  # smaller goes first (the engine's order: see :func:`rank`)
    start: datetime
    messages: int


def rank(*, notice: bool, deadline: datetime | None, running: bool, start: datetime, key: int) -> Rank:
    """The engine's order among due broadcasts (``next_due_broadcast``): event notices, then the
    soonest deadline (none last), then a running one, then the earliest start."""
    return (
        0 if notice else 1,
        0 if deadline is not None else 1,
        deadline.timestamp() if deadline is not None else 0.0,
        0 if running else 1,
        start.timestamp(),
        key,
    )


def finishes(queue: Sequence[Queued], rate: float, now: datetime) -> dict[int, datetime]:
    """When each queued broadcast finishes as the engine sends them at ``rate``: one at a time, the
    first-ranked of those whose start has come, and a higher-ranked one that comes due takes over
    (the one it interrupts resumes after it)."""
    left = {q.key: float(q.messages) for q in queue}
    due = {q.key: max(q.start, now) for q in queue}
    done: dict[int, datetime] = {}
    moment = now
    while len(done) < len(queue):
        waiting = [q for q in queue if q.key not in done]
        ready = [q for q in waiting if due[q.key] <= moment]
        if not ready:
            moment = min(due[q.key] for q in waiting)
            continue
        top = min(ready, key=lambda q: q.rank)
        end = moment + timedelta(seconds=left[top.key] / rate)
        overtaking = [due[q.key] for q in waiting if moment < due[q.key] < end and q.rank < top.rank]
        if overtaking:
            until = min(overtaking)
            left[top.key] -= (until - moment).total_seconds() * rate
            moment = until
        else:
            done[top.key] = end
            moment = end
    return done
