"""Voting day at a million subscribers on a compressed clock (issue 27): the engine and SQLite send
the two voting-day reminders of data/campaign.yaml to 1,000,000 subscribers at a simulated 25
messages a second, with their deadlines from the timeline, while the injected clock runs
``SPEED`` times faster than real time (the engine paces at 25 × ``SPEED`` real messages a second,
with a sender that answers at once). It shows what the plan says: the 07:00 reminder finishes
inside its window, the 18:00 one cannot after it and what is left at 20:00 expires.

Run alone: ``.venv/bin/python -m bench voting_day``."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.delivery import ROOT, TEXT, _database
from bench.scale import _Instant, _seed
from bot.content.loader import load_content
from bot.services.delivery import DeliveryEngine
from bot.services.delivery.planner import plan
from bot.services.reminders import reminder_window
from bot.storage.base import BroadcastRecord
from bot.storage.broadcasts import ALL_SUBSCRIBERS
from bot.storage.sql import SqlStorage

SUBSCRIBERS = 1_000_000
RATE = 25.0  # simulated messages per second
SPEED = 250.0  # simulated seconds per real second


class CompressedClock:
    """Starts at ``start`` and runs ``speed`` times faster than real time."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start, self._speed, self._origin = start, speed, time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self._speed)


async def run_async(report: list[str], subscribers: int = SUBSCRIBERS) -> None:
    campaign = load_content(ROOT / "data").campaign
    tz = campaign.tz
    day = [r for r in campaign.reminders if r.scope == "voting_day"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "day.sqlite3"
        await _seed(path, subscribers)
        storage = SqlStorage(_database(path))
        await storage.connect()
        clock = CompressedClock(campaign.opens_at - timedelta(minutes=1), SPEED)
        engine = DeliveryEngine(_Instant(), storage, clock, rate=RATE * SPEED, chat_pacing=False)
        await engine.start()
        created: dict[str, BroadcastRecord] = {}
        started = time.monotonic()
        try:
            end = campaign.closes_at + timedelta(minutes=5)
            while clock.now() < end:
                for reminder in day:
                    earliest, deadline = reminder_window(campaign, reminder)
                    moment = campaign.reminder_moment(reminder)
                    planned = plan(subscribers, RATE, wanted=moment, deadline=deadline, earliest=earliest)
                    if reminder.id not in created and clock.now() >= planned.start:
                        created[reminder.id] = await engine.create_broadcast(
                            TEXT, ALL_SUBSCRIBERS, key=reminder.id, deadline=deadline
                        )
                await asyncio.sleep(0.05)
            finals = {rid: await engine.wait_finished(r.id, timeout=600) for rid, r in created.items()}
        finally:
            await engine.stop()
        real = time.monotonic() - started
        report.append("## Voting day at a million subscribers (compressed clock)")
        report.append("")
        report.append(
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/voting_day.py`: {subscribers:,} subscribers "
            f"on SQLite, the voting-day reminders of `data/campaign.yaml` with their deadlines, a simulated "
            f"{RATE:g} messages a second, the clock {SPEED:g}× real time ({real:.0f} s real for the day; "
            "instant sender). Times in the campaign's zone."
        )
        report.append("")
        report.append("| reminder | time | deadline | first sent | last sent | sent | expired | simulated rate |")
        report.append("|---|---|---|---|---|---|---|---|")
        expired = 0
        for reminder in day:
            record = finals[reminder.id]
            counts = await storage.delivery_counts(record.id)
            with sqlite3.connect(path) as connection:  # the first and the last message sent
                first, last = connection.execute(
                    "SELECT min(at), max(at) FROM deliveries WHERE broadcast_id = ? AND status = 'sent'", (record.id,)
                ).fetchone()
            start, finish = datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)
            busy = (finish - start).total_seconds()
            expired += counts.expired
            report.append(
                f"| {reminder.id} | {campaign.reminder_moment(reminder).astimezone(tz):%H:%M} | "
                f"{reminder_window(campaign, reminder)[1].astimezone(tz):%H:%M} | {start.astimezone(tz):%H:%M} | "
                f"{finish.astimezone(tz):%H:%M} | {counts.sent:,} | {counts.expired:,} | "
                f"{counts.sent / busy if busy else 0:.1f}/s |"
            )
        report.append("")
        if expired:
            report.append(
                "One broadcast at a time: the 18:00 reminder (same deadline) goes on when the 07:00 one has "
                "finished, and what is left when the polls close is not sent and is counted. `/broadcasts` and "
                "the start-up log say so in advance (`bench/plan.py`); paid broadcasts fit both."
                " Enqueueing a million delivery rows takes 1–2 s of real time, which this clock turns into"
                " minutes of simulated time before the first message."
            )
        else:
            report.append("Every reminder went out inside its window.")
        report.append("")
        await storage.close()


def run(report: list[str]) -> None:
    asyncio.run(run_async(report))


if __name__ == "__main__":
    import sys

    lines: list[str] = []
    count = int(sys.argv[1]) if len(sys.argv) > 1 else SUBSCRIBERS
    asyncio.run(run_async(lines, count))
    print("\n".join(lines))
