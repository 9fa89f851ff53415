"""The delivery engine through the fake Bot API: every subscriber once, the rate, 429s, blocked
users, scheduling, idempotency keys, restarts and a kill -9 in the middle of a broadcast."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage, TelegramMethod

from bot.app import create_app, create_bot
from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeMessage, FakeTelegram
from bot.services.delivery import (
    SENT,
    STATUS_SECONDS,
    DeliveryEngine,
    Failed,
    Gone,
    RetryAfter,
    Unavailable,
    concurrency_for,
    in_flight_window,
)
from bot.storage.base import BroadcastMessage
from bot.storage.broadcasts import ALL_SUBSCRIBERS, DistrictAudience, LanguageAudience, MessageKind
from bot.storage.sql import SqlStorage
from bot.telegram.sender import BroadcastSender, TelegramSender, broadcast_method, outcome_of
from tests.conftest import ADMIN_ID, BEFORE, RunningBot, no_errors, sqlite_database
from tests.support.bot_process import BotProcess, start_bot

TEXT = BroadcastMessage(kind=MessageKind.TEXT, text="📣 <b>Polling stations</b> open at 07:00.")


async def seed(
    fake: FakeTelegram,
    storage: Any,
    ids: range | list[int],
    *,
    language: str = "en",
    district: str | None = None,
    reachable: bool = True,
) -> None:
    """Subscribers straight into the database (fast), with chats the fake knows."""
    for user_id in ids:
        user = fake.user(user_id, language_code=language)
        if reachable:
            user.open_chat()
        await storage.touch_user(user_id, language, BEFORE)
        await storage.subscribe(user_id, language, BEFORE)
        if district:
            await storage.set_district(user_id, district)


def received(fake: FakeTelegram, user_id: int, marker: str = "Polling stations") -> list[FakeMessage]:
    return [m for m in fake.bot_messages(user_id) if marker in m.content]


def engine_of(bot: RunningBot) -> DeliveryEngine:
    assert bot.app is not None
    engine = bot.app.dispatcher["delivery"]
    assert isinstance(engine, DeliveryEngine)
    return engine


def max_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.fixture
async def bot_factory(make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[Callable[..., Any]]:
    """A running bot against a fake with chosen limits (the shared ``fake`` has none)."""
    started: list[tuple[FakeTelegram, RunningBot]] = []

    async def build(*, rate_limit: float | None = None, retry_after: int = 1, **overrides: Any) -> RunningBot:
        fake = FakeTelegram(rate_limit=rate_limit, retry_after=retry_after)
        await fake.start()
        bot = RunningBot(fake, make_settings(fake, **overrides), clock)
        started.append((fake, bot))
        await bot.start()
        return bot

    yield build
    for fake, bot in started:
        await bot.stop()
        await fake.stop()


async def test_every_subscriber_gets_it_once_and_unreachable_users_become_inactive(
    running: RunningBot, fake: FakeTelegram
) -> None:
    assert running.app is not None
    storage = running.app.storage
    await seed(fake, storage, range(5000, 5060))
    for user_id in (5001, 5002):
        fake.user(user_id).deactivate()  # 403 "user is deactivated"
    await seed(fake, storage, [5100], reachable=False)  # 400 "chat not found"
    engine = engine_of(running)

    record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS, created_by=ADMIN_ID)
    assert (await storage.delivery_counts(record.id)).total == 61  # the rows exist before any send
    await engine.wait_finished(record.id, timeout=20)

    counts = await storage.delivery_counts(record.id)
    assert (counts.sent, counts.blocked, counts.failed, counts.pending) == (58, 3, 0, 0)
    for user_id in range(5000, 5060):
        if user_id not in (5001, 5002):
            assert len(received(fake, user_id)) == 1, user_id
    # not retried: one attempt each for the unreachable users
    attempts = Counter(c.params.get("chat_id") for c in fake.calls_of("sendMessage"))
    assert attempts[5001] == attempts[5002] == attempts[5100] == 1
    for user_id in (5001, 5002, 5100):
        user = await storage.get_user(user_id)
        assert user is not None and user.blocked
    assert await storage.audience_size(ALL_SUBSCRIBERS) == 58
    # writing again reactivates
    await fake.user(5100).send("/menu")
    assert await storage.audience_size(ALL_SUBSCRIBERS) == 59


async def test_audience_by_language_and_by_district(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    storage = running.app.storage
    await seed(fake, storage, range(5200, 5210), language="kk", district="medeu")
    await seed(fake, storage, range(5210, 5215), language="ru", district="turksib")
    await seed(fake, storage, range(5215, 5218), language="en")
    engine = engine_of(running)

    kk = await engine.create_broadcast(TEXT, LanguageAudience("kk"))
    await engine.wait_finished(kk.id, timeout=10)
    assert {u for u in range(5200, 5218) if received(fake, u)} == set(range(5200, 5210))

    turksib = await engine.create_broadcast(
        BroadcastMessage(kind=MessageKind.TEXT, text="Polling stations of Turksib"), DistrictAudience("turksib")
    )
    await engine.wait_finished(turksib.id, timeout=10)
    assert {u for u in range(5200, 5218) if received(fake, u, "Turksib")} == set(range(5210, 5215))
    assert (await storage.delivery_counts(turksib.id)).total == 5


async def test_the_rate_stays_under_broadcast_rate_and_replies_keep_flowing(bot_factory: Any) -> None:
    bot: RunningBot = await bot_factory(broadcast_rate=20.0)
    fake, storage = bot.fake, bot.app.storage if bot.app else None
    assert storage is not None
    await seed(fake, storage, range(6000, 6080))
    engine = engine_of(bot)
    record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS)
    await fake.wait_for(lambda: fake.stats.sent >= 20, timeout=10)
    resident = fake.user(6999, language_code="en")
    exchange = await resident.send("/help", timeout=5)
    assert exchange.replies and "/language" in exchange.replies[0].content  # answered mid-broadcast
    assert (await storage.delivery_counts(record.id)).pending > 0  # ... really mid-broadcast
    await engine.wait_finished(record.id, timeout=20)

    sends = [c.timestamp for c in fake.calls if c.ok and c.method in ("sendMessage", "copyMessage")]
    assert max_in_any_second(sends) <= 20  # broadcast and replies together
    assert fake.stats.rejected_429 == 0


async def test_a_429_storm_pauses_all_sending_and_nobody_is_lost(bot_factory: Any) -> None:
    # the server allows 8/s but the engine is configured for 30/s: it must honour every retry_after
    bot: RunningBot = await bot_factory(rate_limit=8, retry_after=1, broadcast_rate=30.0)
    fake = bot.fake
    assert bot.app is not None
    await seed(fake, bot.app.storage, range(6100, 6140))
    engine = engine_of(bot)
    record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS)
    await fake.wait_for(lambda: fake.stats.rejected_429 >= 1, timeout=10)
    resident = fake.user(6199, language_code="en")
    await resident.send("/help", timeout=10)
    await fake.wait_for(lambda: bool(resident.bot_messages()), timeout=10)  # the reply waited out the pause
    await engine.wait_finished(record.id, timeout=40)

    assert fake.stats.rejected_429 >= 1
    assert fake.stats.violations_after_429 == 0  # nothing was sent while a pause was running
    counts = await bot.app.storage.delivery_counts(record.id)
    assert (counts.sent, counts.failed) == (40, 0)
    assert all(len(received(fake, u)) == 1 for u in range(6100, 6140))


async def test_paid_broadcasts_set_allow_paid_broadcast(bot_factory: Any) -> None:
    bot: RunningBot = await bot_factory(broadcast_rate=500.0, broadcast_paid=True)
    assert bot.app is not None
    await seed(bot.fake, bot.app.storage, range(6200, 6230))
    engine = engine_of(bot)
    record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS)
    await engine.wait_finished(record.id, timeout=10)
    calls = bot.fake.calls_of("sendMessage")
    assert len(calls) == 30 and all(c.params.get("allow_paid_broadcast") is True for c in calls)


async def test_idempotency_key_returns_the_existing_broadcast(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    await seed(fake, running.app.storage, range(6300, 6305))
    engine = engine_of(running)
    key = "reminder:kz-referendum-2026:d-3"
    first = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS, key=key)
    again = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS, key=key)
    assert again.id == first.id
    await engine.wait_finished(first.id, timeout=10)
    third = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS, key=key)
    assert third.id == first.id and third.status == "done"
    assert all(len(received(fake, u)) == 1 for u in range(6300, 6305))


async def test_a_scheduled_broadcast_waits_for_its_time_and_can_be_cancelled(
    running: RunningBot, fake: FakeTelegram
) -> None:
    assert running.app is not None
    storage = running.app.storage
    await seed(fake, storage, range(6400, 6405))
    engine = engine_of(running)
    later = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS, start_at=running.clock.now() + timedelta(hours=2))
    cancelled = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS, start_at=running.clock.now() + timedelta(hours=3))
    assert later.status == "scheduled"
    assert await engine.cancel(cancelled.id)
    await fake.user(6499, language_code="en").send("/help")  # the bot goes on; nothing is sent early
    assert not any(received(fake, u) for u in range(6400, 6405))
    assert (await storage.delivery_counts(later.id)).total == 0  # recipients are taken at start time

    await seed(fake, storage, [6405])  # subscribes before the start: included
    running.clock.advance(timedelta(hours=2, minutes=1))
    engine.wake()
    await engine.wait_finished(later.id, timeout=10)
    assert all(len(received(fake, u)) == 1 for u in range(6400, 6406))
    record = await storage.get_broadcast(cancelled.id)
    assert record is not None and record.status == "cancelled"
    assert not await engine.cancel(later.id)  # already done


async def test_a_broadcast_cancelled_on_another_replica_stops_here(bot_factory: Any) -> None:
    """Replicas share the database and only the leader's engine sends; an admin's Cancel handled by
    a follower only writes the status. The leader's running broadcast notices and stops."""
    rate = 10.0
    leader: RunningBot = await bot_factory(broadcast_rate=rate)
    fake = leader.fake
    assert leader.app is not None
    audience = list(range(6600, 6660))
    await seed(fake, leader.app.storage, audience)
    admin = fake.user(ADMIN_ID, language_code="en")
    await admin.send("/announce")
    control = (await admin.send("Polling stations: cancelled elsewhere")).replies[-1]
    await admin.press(control, "Send")

    def reached() -> set[int]:
        return {u for u in audience if received(fake, u, "cancelled elsewhere")}

    await fake.wait_for(lambda: len(reached()) >= 5, timeout=10)
    # a second replica: its own connection to the same database, its engine not running
    follower = await create_app(leader.settings, clock=leader.clock, token=fake.token)
    try:
        (record,) = await follower.storage.recent_broadcasts(1)
        assert record.status == "running"
        engine = follower.dispatcher["delivery"]
        assert isinstance(engine, DeliveryEngine)
        before = reached()
        assert await engine.cancel(record.id)
    finally:
        await follower.close()

    final = await engine_of(leader).wait_finished(record.id, timeout=20)  # the leader's run has ended
    assert final.status == "cancelled"
    after = reached()
    assert len(after) < len(audience)  # not everybody got it
    assert len(after - before) <= rate * (STATUS_SECONDS + 1)  # it stopped soon after the cancel
    assert all(len(received(fake, u, "cancelled elsewhere")) == 1 for u in after)
    counts = await leader.app.storage.delivery_counts(record.id)
    assert counts.pending == 0 and counts.cancelled >= len(audience) - len(after)
    assert counts.sent <= len(after) and counts.blocked == counts.failed == 0
    report = fake._find_message(ADMIN_ID, control.message_id)  # the final report, as for a local cancel
    assert report is not None and "cancelled" in report.content and report.flat_buttons == []
    no_errors(fake)


def test_telegram_errors_become_the_ports_outcomes() -> None:
    method = SendMessage(chat_id=1, text="x")
    flood = TelegramRetryAfter(method=method, message="Too Many Requests: retry after 3", retry_after=3)
    assert outcome_of(flood) == RetryAfter(3)
    blocked = "Forbidden: bot was blocked by the user"
    assert outcome_of(TelegramForbiddenError(method, blocked)) == Gone(blocked)
    assert outcome_of(TelegramBadRequest(method, "Bad Request: chat not found")) == Gone("Bad Request: chat not found")
    parse = "Bad Request: can't parse entities"
    assert outcome_of(TelegramBadRequest(method, parse)) == Failed(parse)
    assert outcome_of(TelegramServerError(method, "Bad Gateway")) == Unavailable("Telegram server says - Bad Gateway")
    timeout = TelegramNetworkError(method, "Request timeout error")
    assert outcome_of(timeout) == Unavailable("HTTP Client says - Request timeout error")
    assert outcome_of(TelegramConflictError(method, "Conflict")) == Failed("Conflict")


async def test_the_prepared_request_is_what_aiogram_would_send(make_settings: Callable[..., Settings]) -> None:
    """The engine serializes a broadcast once and posts JSON; the fields are aiogram's own (bot
    defaults resolved, markup dumped), and a foreign request middleware turns the shortcut off."""
    bot = create_bot(make_settings(), "123456:TEST-TOKEN")
    markup = '{"inline_keyboard": [[{"text": "Yes", "callback_data": "v:1"}]]}'
    message = BroadcastMessage(kind=MessageKind.TEXT, text="<b>Vote</b>", reply_markup=markup)
    try:
        sender = BroadcastSender(bot, message, paid=True)
        assert sender.prepared
        form = bot.session.build_form_data(bot, broadcast_method(message, 42, paid=True))  # type: ignore[attr-defined]
        expected: dict[str, Any] = {}
        for options, _headers, value in form._fields:  # (name, headers, value) of each form field
            with contextlib.suppress(ValueError):  # aiogram sends nested objects as JSON strings
                value = json.loads(value)
            expected[options["name"]] = value
        assert json.loads(sender.body(42)) == expected
        assert expected["parse_mode"] == "HTML" and expected["allow_paid_broadcast"] is True

        async def passthrough(make_request: Any, bot: Any, method: Any) -> Any:
            return await make_request(bot, method)

        bot.session.middleware(passthrough)
        assert not BroadcastSender(bot, message, paid=True).prepared
    finally:
        await bot.session.close()


async def test_changed_aiogram_internals_fall_back_to_the_generic_path(
    fake: FakeTelegram, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If aiogram's session internals the shortcut relies on change (``prepare_value``'s private
    keyword, ``api_url``…), broadcasts are sent by ``await bot(method)``: slower, but delivered."""
    bot = create_bot(make_settings(fake), fake.token)
    user = fake.user(5301, language_code="en")
    await user.post("/start")  # the chat exists (no bot polls here: the update just waits)

    def changed(self: BroadcastSender, session: Any) -> None:
        raise TypeError("prepare_value() got an unexpected keyword argument '_dumps_json'")

    monkeypatch.setattr(BroadcastSender, "_prepare", changed)
    try:
        sender = BroadcastSender(bot, BroadcastMessage(kind=MessageKind.TEXT, text="<b>Hello</b>"), paid=False)
        assert not sender.prepared
        assert await sender.send(user.id) == SENT
        assert [m.content for m in user.bot_messages()] == ["Hello"] and fake.errors() == []
    finally:
        await bot.session.close()


async def test_a_server_serving_a_backlog_at_once_never_sees_more_than_the_rate(tmp_path: Path) -> None:
    """A server that stands still for a moment and then serves the requests waiting for it all at
    once counts them in the same instant, as a burst we never sent. The gate counts a request as
    sent until it is answered, so whatever the server counts in any second stays within the rate."""
    rate = 50.0

    class StallingServer:
        """A stub Bot: it serves each request at once, except that from the 30th on it stands
        still until every request the engine may have in flight is waiting, then serves them."""

        def __init__(self, backlog: int) -> None:
            self.backlog = backlog
            self.requests = 0
            self.waiting = 0
            self.resume = asyncio.Event()
            self.served: list[float] = []

        async def __call__(self, method: TelegramMethod[Any], request_timeout: int | None = None) -> None:
            self.requests += 1
            if self.requests >= 30 and not self.resume.is_set():
                self.waiting += 1
                if self.waiting == self.backlog:
                    self.resume.set()
                await self.resume.wait()
            self.served.append(asyncio.get_running_loop().time())

    storage = SqlStorage(sqlite_database(tmp_path / "stall.sqlite3"))
    await storage.connect()
    try:
        for user_id in range(1, 121):
            await storage.touch_user(user_id, "en", BEFORE)
            await storage.subscribe(user_id, "en", BEFORE)
        server = StallingServer(backlog=concurrency_for(rate))
        engine = DeliveryEngine(TelegramSender(server), storage, ManualClock(BEFORE), rate=rate)  # type: ignore[arg-type]
        await engine.start()
        try:
            record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS)
            await engine.wait_finished(record.id, timeout=30)
        finally:
            await engine.stop()
        assert server.resume.is_set() and len(server.served) == 120
        assert max_in_any_second(server.served) <= rate
    finally:
        await storage.close()


async def test_errors_retry_with_backoff_then_count_as_failed(tmp_path: Path) -> None:
    """The engine's error handling through the Telegram sender on a stub bot (aiogram's generic
    path): 5xx retried, other 400s failed at once, and a message that cannot be sent at all fails
    for everybody without a call."""

    class StubBot:
        def __init__(self) -> None:
            self.calls: Counter[int] = Counter()

        async def __call__(self, method: TelegramMethod[Any], request_timeout: int | None = None) -> None:
            assert isinstance(method, SendMessage) and isinstance(method.chat_id, int)
            chat_id = method.chat_id
            self.calls[chat_id] += 1
            if chat_id == 1 and self.calls[chat_id] == 1:
                raise TelegramServerError(method, "Internal Server Error")  # then succeeds
            if chat_id == 2:
                raise TelegramServerError(method, "Bad Gateway")  # always
            if chat_id == 3:
                raise TelegramBadRequest(method, "Bad Request: can't parse entities")
            if chat_id == 4:
                raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")

    storage = SqlStorage(sqlite_database(tmp_path / "engine.sqlite3"))
    await storage.connect()
    try:
        clock = ManualClock(BEFORE)
        for user_id in range(1, 6):
            await storage.touch_user(user_id, "en", BEFORE)
            await storage.subscribe(user_id, "en", BEFORE)
        stub = StubBot()
        engine = DeliveryEngine(TelegramSender(stub), storage, clock, rate=1000.0)  # type: ignore[arg-type]
        await engine.start()
        try:
            record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS)
            await engine.wait_finished(record.id, timeout=20)
            # a message that cannot be sent at all (a copy without its source): all fail, no call
            unsendable = await engine.create_broadcast(BroadcastMessage(kind=MessageKind.COPY), ALL_SUBSCRIBERS)
            await engine.wait_finished(unsendable.id, timeout=20)
        finally:
            await engine.stop()
        counts = await storage.delivery_counts(record.id)
        assert (counts.sent, counts.failed, counts.blocked) == (2, 2, 1)
        assert stub.calls == Counter({1: 2, 2: 3, 3: 1, 4: 1, 5: 1})
        failed = await storage.delivery_counts(unsendable.id)
        assert failed.total == failed.failed == 4  # user 4 blocked the bot in the first one
        assert sum(stub.calls.values()) == 8
    finally:
        await storage.close()


async def test_a_clean_restart_mid_broadcast_resumes_without_duplicates(bot_factory: Any) -> None:
    bot: RunningBot = await bot_factory(broadcast_rate=30.0)
    fake = bot.fake
    assert bot.app is not None
    await seed(fake, bot.app.storage, range(6500, 6560))
    record = await engine_of(bot).create_broadcast(TEXT, ALL_SUBSCRIBERS)
    await fake.wait_for(lambda: fake.stats.sent >= 15, timeout=10)
    await bot.restart()
    assert bot.app is not None
    assert (await bot.app.storage.delivery_counts(record.id)).pending > 0
    await engine_of(bot).wait_finished(record.id, timeout=20)
    assert [len(received(fake, u)) for u in range(6500, 6560)] == [1] * 60


def _env(fake: FakeTelegram, database: Path, rate: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "ADMIN_", "BROADCAST_"))}
    env.update(
        BOT_TOKEN=fake.token,
        BOT_API_BASE=fake.base_url,
        DATABASE_URL=f"sqlite:///{database}",
        ADMIN_IDS=str(ADMIN_ID),
        BROADCAST_RATE=str(rate),
        DEFAULT_LANGUAGE="en",
        LOG_LEVEL="WARNING",
    )
    return env


async def _spawn(env: dict[str, str]) -> BotProcess:
    return await start_bot("run", env=env)


@pytest.mark.slow
async def test_kill_9_mid_broadcast_skips_nobody_and_counts_duplicates_exactly(tmp_path: Path) -> None:
    rate, audience = 30.0, list(range(7000, 7150))
    database = tmp_path / "crash.sqlite3"
    fake = FakeTelegram()
    await fake.start()
    process: BotProcess | None = None
    try:
        storage = SqlStorage(sqlite_database(database))  # subscribers seeded before the bot starts
        await storage.connect()
        await seed(fake, storage, audience)
        await storage.close()

        env = _env(fake, database, rate)
        process = await _spawn(env)
        await fake.wait_polling(timeout=60)
        admin = fake.user(ADMIN_ID, language_code="en")
        await admin.send("/announce", timeout=30)
        await fake.wait_for(lambda: len(admin.bot_messages()) == 1, timeout=30)
        await admin.send("Polling stations: crash test", timeout=30)
        await fake.wait_for(lambda: len(admin.bot_messages()) == 3, timeout=30)  # the preview and the controls
        control = admin.last_bot_message()
        await admin.press(control, "Send", timeout=30)

        before = fake.get_updates_requests
        await fake.wait_for(lambda: fake.stats.sent >= 50, timeout=30)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        assert before > 0

        got_before = {u for u in audience if received(fake, u, "crash test")}
        with contextlib.closing(sqlite3.connect(database)) as db:
            recorded = {row[0] for row in db.execute("SELECT user_id FROM deliveries WHERE status = 'sent'")}
            pending = db.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
        assert recorded <= got_before  # a row is marked sent only after Telegram accepted the message
        assert pending > 0  # it really died mid-broadcast
        in_flight = got_before - recorded  # delivered but not yet recorded: these will arrive twice
        assert len(in_flight) <= in_flight_window(rate)

        process = await _spawn(env)
        await fake.wait_for(
            lambda: (
                all(received(fake, u, "crash test") for u in audience)
                and "finished" in (fake._find_message(ADMIN_ID, control.message_id) or control).content
            ),
            timeout=60,
        )
        per_user = {u: len(received(fake, u, "crash test")) for u in audience}
        assert min(per_user.values()) == 1  # nobody skipped
        duplicates = {u for u, n in per_user.items() if n > 1}
        assert duplicates == in_flight  # exactly the in-flight window, and counted
        assert max(per_user.values()) <= 2
        print(f"kill -9 after {len(got_before)} sends: {len(duplicates)} duplicate(s), window {in_flight_window(rate)}")

        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()
