"""Time is injected: the bot's rules ask a :class:`Clock`, never ``datetime.now``. Only the edges that
meet real time read the system clock: :class:`SystemClock` itself, the scheduler turning a moment into
real time (``services.scheduler``) and the scheduler lag shown in ``/metrics``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until moved; for tests."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _aware(moment)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class ShiftedClock:
    """Starts at a chosen moment and runs forward at real speed (``voterbot chat --at``)."""

    def __init__(self, start: datetime) -> None:
        self._start = _aware(start)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    return moment.astimezone(UTC)
