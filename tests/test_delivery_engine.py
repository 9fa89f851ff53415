"""The delivery engine on its own: a real SQLite store and a fake :class:`Sender` (the port, answering
each chat from a script of outcomes). What each outcome becomes, retries, a message that cannot be
sent, a bug in the sender, cancelling mid-way and the progress reports. No Telegram, no aiogram."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.services.delivery import (
    SENT,
    BroadcastProgress,
    DeliveryEngine,
    Failed,
    Gone,
    MessageSender,
    RetryAfter,
    SendOutcome,
    Unavailable,
)
from bot.services.delivery import run as delivery_run
from bot.storage.broadcasts import ALL_SUBSCRIBERS, BroadcastMessage, BroadcastStatus, MessageKind
from bot.storage.sql import SqlStorage
from tests.conftest import BEFORE, sqlite_database

TEXT = BroadcastMessage(kind=MessageKind.TEXT, text="Polling stations open at 07:00.")
Step = SendOutcome | Exception


@dataclass
class FakeSender:
    """A :class:`~bot.services.delivery.ports.Sender`: each chat gets the outcomes of its script in
    turn, then :data:`SENT`; an exception in a script is raised (a bug in a sender). A copy without
    its source cannot be prepared, as with Telegram's sender. ``hold`` keeps sends waiting until set;
    ``sending`` is set by the first send."""

    script: dict[int, list[Step]] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    prepared: list[tuple[BroadcastMessage, bool]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    sending: asyncio.Event = field(default_factory=asyncio.Event)

    def prepare(self, message: BroadcastMessage, *, paid: bool) -> MessageSender:
        if message.kind == MessageKind.COPY and message.from_chat_id is None:
            raise ValueError("a copy broadcast needs from_chat_id and message_id")
        self.prepared.append((message, paid))
        return self

    async def send(self, chat_id: int) -> SendOutcome:
        self.calls.append(chat_id)
        self.sending.set()
        if self.hold is not None:
            await self.hold.wait()
        steps = self.script.get(chat_id)
        step = steps.pop(0) if steps else SENT
        if isinstance(step, Exception):
            raise step
        return step


@dataclass
class Reports:
    """A :class:`~bot.services.delivery.ProgressListener` that keeps what it is told."""

    seen: list[BroadcastProgress] = field(default_factory=list)

    async def __call__(self, progress: BroadcastProgress) -> None:
        self.seen.append(progress)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    store = SqlStorage(sqlite_database(tmp_path / "engine.sqlite3"))
    await store.connect()
    yield store
    await store.close()


async def subscribe(storage: SqlStorage, ids: Iterable[int]) -> None:
    for user_id in ids:
        await storage.touch_user(user_id, "en", BEFORE)
        await storage.subscribe(user_id, "en", BEFORE)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after 10 ms instead of 1 and 3 s: the rule (how many attempts) is what is tested."""
    monkeypatch.setattr(delivery_run, "BACKOFF_SECONDS", (0.01, 0.01))


async def deliver(engine: DeliveryEngine, message: BroadcastMessage = TEXT) -> int:
    await engine.start()
    try:
        record = await engine.create_broadcast(message, ALL_SUBSCRIBERS)
        final = await engine.wait_finished(record.id, timeout=20)
    finally:
        await engine.stop()
    return final.id


async def test_each_outcome_becomes_its_delivery_row(storage: SqlStorage) -> None:
    await subscribe(storage, range(1, 8))
    sender = FakeSender(
        {
            2: [Gone("Forbidden: bot was blocked by the user")],
            3: [Failed("Bad Request: can't parse entities")],
            4: [Unavailable("Bad Gateway"), Unavailable("Bad Gateway")],  # the third attempt succeeds
            5: [Unavailable("Bad Gateway")] * 3,  # three attempts, then failed
            6: [RetryAfter(0.01), Unavailable("timeout"), Unavailable("timeout")],  # a 429 is not an attempt
            7: [RuntimeError("a bug in the sender")],  # recorded as failed; the broadcast goes on
        }
    )
    engine = DeliveryEngine(sender, storage, ManualClock(BEFORE), rate=1000.0, chat_pacing=False)
    broadcast_id = await deliver(engine)

    counts = await storage.delivery_counts(broadcast_id)
    assert (counts.sent, counts.blocked, counts.failed, counts.pending) == (3, 1, 3, 0)
    assert Counter(sender.calls) == Counter({1: 1, 2: 1, 3: 1, 4: 3, 5: 3, 6: 4, 7: 1})
    blocked = await storage.get_user(2)
    assert blocked is not None and blocked.blocked  # Gone: the user is inactive
    assert engine.gate.pauses == 1  # the 429 for a chat that got nothing else lately: all sending paused
    assert sender.prepared == [(TEXT, False)]  # prepared once for everybody


async def test_a_message_that_cannot_be_prepared_fails_for_everybody_without_a_send(storage: SqlStorage) -> None:
    await subscribe(storage, range(1, 4))
    sender = FakeSender()
    engine = DeliveryEngine(sender, storage, ManualClock(BEFORE), rate=100.0)
    broadcast_id = await deliver(engine, BroadcastMessage(kind=MessageKind.COPY))

    counts = await storage.delivery_counts(broadcast_id)
    assert counts.total == counts.failed == 3 and sender.calls == []
    assert engine.gate.in_flight == 0  # every slot taken for it was given back


async def test_cancelling_mid_way_stops_sending_and_reports_the_end(storage: SqlStorage) -> None:
    await subscribe(storage, range(1, 41))
    hold = asyncio.Event()
    sender = FakeSender(hold=hold)
    reports = Reports()
    engine = DeliveryEngine(sender, storage, ManualClock(BEFORE), rate=100.0, paid=True, listener=reports)
    await engine.start()
    try:
        record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS)
        await asyncio.wait_for(sender.sending.wait(), 10)  # the first sends are under way, held
        assert engine.gate.paid_active  # replies go out as paid while a paid broadcast runs
        assert await engine.cancel(record.id)
        hold.set()
        final = await engine.wait_finished(record.id, timeout=20)
    finally:
        await engine.stop()

    assert final.status is BroadcastStatus.CANCELLED and not engine.gate.paid_active
    counts = await storage.delivery_counts(record.id)
    assert counts.pending == 0 and counts.sent == len(sender.calls) < 40  # the held sends still count
    assert counts.cancelled == 40 - counts.sent
    assert reports.seen[-1].final and reports.seen[-1].broadcast.status is BroadcastStatus.CANCELLED
    assert not await engine.cancel(record.id)  # already ended
    assert sender.prepared == [(TEXT, True)]
