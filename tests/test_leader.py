"""The leader lease: one replica runs the scheduler and the delivery engine; another takes over.

The PostgreSQL tests are skipped (with the reason) when PostgreSQL is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.config import parse_database_url
from bot.content import load_content
from bot.devtools.fake_api import FakeTelegram
from bot.devtools.fake_webhook import WebhookDelivery
from bot.services.delivery import in_flight_window
from bot.services.leader import Leadership, LocalLease, PgAdvisoryLease
from bot.storage.sql import SqlStorage
from tests.conftest import ADMIN_ID, ALMATY, BEFORE, DATA
from tests.support.bot_process import BotProcess, start_bot
from tests.test_webhook import SECRET, URL, _env, _free_port, message_update


class Recorder:
    """A background service that records its starts and stops."""

    def __init__(self, name: str, events: list[str]) -> None:
        self.name = name
        self.events = events
        self.running = False

    async def start(self) -> None:
        self.running = True
        self.events.append(f"start {self.name}")

    async def stop(self) -> None:
        if self.running:
            self.running = False
            self.events.append(f"stop {self.name}")


async def until(predicate: Callable[[], bool], timeout: float) -> float:  # noqa: ASYNC109
    """Poll a process-level condition until it holds; the seconds it took (AssertionError on timeout)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_sqlite_lease_is_always_held() -> None:
    events: list[str] = []
    leadership = Leadership(LocalLease(), [Recorder("engine", events), Recorder("scheduler", events)])
    await leadership.start()
    assert leadership.leading and events == ["start engine", "start scheduler"]  # at once, not later
    await leadership.stop()
    assert not leadership.leading and events[2:] == ["stop scheduler", "stop engine"]


async def test_two_leases_on_one_database_only_one_leads(postgres_url: str) -> None:
    first, second = PgAdvisoryLease(postgres_url), PgAdvisoryLease(postgres_url)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.check() and not await second.check()
        await first.release()
        assert await second.try_acquire()  # a clean release hands over at once
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()


async def test_closing_the_leaders_connection_hands_over_within_10_s(postgres_url: str) -> None:
    events: list[str] = []
    one = Leadership(PgAdvisoryLease(postgres_url), [Recorder("one", events)])
    two = Leadership(PgAdvisoryLease(postgres_url), [Recorder("two", events)])
    await one.start()
    await two.start()
    try:
        assert one.leading and not two.leading and events == ["start one"]
        lease = one.lease
        assert isinstance(lease, PgAdvisoryLease) and lease.connection is not None
        pid = lease.connection.get_server_pid()
        admin = await asyncpg.connect(postgres_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)  # the leader's session dies
        finally:
            await admin.close()
        took = await until(lambda: two.leading, timeout=10)
        await until(lambda: not one.leading, timeout=10)
        assert sorted(events) == ["start one", "start two", "stop one"] and took < 10
        assert one.acquired == 1 and two.acquired == 1  # the old leader stays a follower while two leads
    finally:
        await one.stop()
        await two.stop()
    assert events[-1] == "stop two"


# --- two replicas in webhook mode on one PostgreSQL: kill -9 of the leader mid-broadcast -----------------
RATE = 20  # BROADCAST_RATE: slow enough to kill the leader mid-broadcast
SUBSCRIBERS = range(7000, 7100)


class Replica:
    def __init__(self, name: str, port: int, process: BotProcess) -> None:
        self.name = name
        self.port = port
        self.process = process
        self.log: list[str] = []
        assert process.stderr is not None
        self._reader = asyncio.create_task(self._read(process.stderr))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.log.append(line.decode(errors="replace"))

    def logged(self, text: str) -> bool:
        return any(text in line for line in self.log)

    async def finish(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)  # in case a failed test left it frozen
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._reader, 10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg/webhook"


async def start_replica(name: str, fake: FakeTelegram, database_url: str, *, rate: int = RATE, **env: str) -> Replica:
    port = _free_port()
    process = await start_bot(
        "run", "--webhook",
        env=_env(
            BOT_TOKEN=fake.token, BOT_API_BASE=fake.base_url, DATABASE_URL=database_url,
            ADMIN_IDS=str(ADMIN_ID), BROADCAST_RATE=str(rate), LOG_LEVEL="INFO",
            WEBHOOK_URL=URL, WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            CHAT_PACING="false", **env,  # residents write eight messages in a burst, each to be answered
        ),
    )  # fmt: skip
    replica = Replica(name, port, process)
    await until(lambda: replica.logged("webhook ready") or process.returncode is not None, timeout=60)
    assert process.returncode is None, "".join(replica.log)
    return replica


@pytest.mark.slow
async def test_kill_9_of_the_leader_mid_broadcast_the_other_replica_finishes_it(
    postgres_url: str, redis_url: str, fake: FakeTelegram, tmp_path: Path
) -> None:
    storage = SqlStorage(parse_database_url(postgres_url))
    await storage.connect()
    for user_id in SUBSCRIBERS:
        fake.user(user_id, language_code="en").open_chat()
        await storage.touch_user(user_id, "en", BEFORE)
        await storage.subscribe(user_id, "en", BEFORE)
    admin = fake.user(ADMIN_ID, language_code="en").open_chat()
    replicas: list[Replica] = []
    balancer: WebhookDelivery | None = None
    session = aiohttp.ClientSession()
    try:
        leader = await start_replica("A", fake, postgres_url, REDIS_URL=redis_url)
        replicas.append(leader)
        assert leader.logged("leader lease acquired")
        follower = await start_replica("B", fake, postgres_url, REDIS_URL=redis_url)
        replicas.append(follower)
        assert not follower.logged("leader lease acquired")
        balancer = WebhookDelivery(fake, [leader.url, follower.url])  # the admin's updates go to both
        await balancer.start()

        async def leader_gauge(replica: Replica) -> str:
            async with session.get(f"http://127.0.0.1:{replica.port}/metrics") as response:
                return next(
                    line for line in (await response.text()).splitlines() if line.startswith("voterbot_leader ")
                )

        assert await leader_gauge(leader) == "voterbot_leader 1.0"
        assert await leader_gauge(follower) == "voterbot_leader 0.0"

        await admin.send("/announce", timeout=30)
        screen = (await admin.send("Polling stations open at 07:00", timeout=30)).replies[-1]
        await admin.press(screen, next(b.text for b in screen.flat_buttons if b.text.endswith("Send")), timeout=30)

        def received() -> int:
            return sum(1 for u in SUBSCRIBERS if fake.bot_messages(u))

        def got() -> set[int]:
            return {u for u in SUBSCRIBERS if fake.bot_messages(u)}

        await fake.wait_for(lambda: received() >= 30, timeout=30)
        # Freeze the follower for a moment so that the database can be read exactly as the leader
        # left it: which deliveries reached Telegram but were not yet recorded as sent.
        follower.process.send_signal(signal.SIGSTOP)
        leader.process.kill()  # kill -9 mid-broadcast
        killed_at = time.monotonic()
        await leader.process.wait()
        got_before = got()
        snapshot = await asyncpg.connect(postgres_url)
        try:
            rows = await snapshot.fetch("SELECT user_id FROM deliveries WHERE status = 'sent'")
            pending = await snapshot.fetchval("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
        finally:
            await snapshot.close()
        follower.process.send_signal(signal.SIGCONT)
        recorded = {int(row[0]) for row in rows}
        assert recorded <= got_before and pending > 0  # sent rows only after Telegram accepted; mid-broadcast
        in_flight = got_before - recorded  # delivered but not recorded: these arrive twice
        at_kill = len(got_before)
        await until(lambda: follower.logged("leader lease acquired"), timeout=10)
        takeover = time.monotonic() - killed_at
        await fake.wait_for(lambda: received() == len(SUBSCRIBERS), timeout=60)
        assert await leader_gauge(follower) == "voterbot_leader 1.0"

        record = None
        for _ in range(200):  # the follower records the end of the broadcast
            (record,) = await storage.recent_broadcasts(1)
            if record.status == "done":
                break
            await asyncio.sleep(0.05)
        assert record is not None and record.status == "done"
        counts = await storage.delivery_counts(record.id)
        assert (counts.sent, counts.pending, counts.failed) == (len(SUBSCRIBERS), 0, 0)

        per_user = {u: len(fake.bot_messages(u)) for u in SUBSCRIBERS}
        assert all(n >= 1 for n in per_user.values())  # nobody skipped
        duplicates = sum(n - 1 for n in per_user.values())
        assert {u for u, n in per_user.items() if n > 1} == in_flight and max(per_user.values()) <= 2  # exactly
        assert all(m.content == "Polling stations open at 07:00" for u in SUBSCRIBERS for m in fake.bot_messages(u))
        assert duplicates <= in_flight_window(RATE), duplicates
        print(  # the figures, in the test output with pytest -s
            f"\nleader killed after {at_kill}/{len(SUBSCRIBERS)} deliveries; takeover in {takeover:.1f} s; "
            f"{duplicates} duplicate(s), exactly the {len(in_flight)} unrecorded in flight "
            f"(window {in_flight_window(RATE)})"
        )
        assert fake.errors() == [], [(c.method, c.description) for c in fake.errors()]
    finally:
        if balancer is not None:
            await balancer.stop()
        for replica in replicas:
            await replica.finish()
        await session.close()
        await storage.close()


# --- two replicas behind a load balancer, on one PostgreSQL and one Redis -------------------------------
BALANCED_SUBSCRIBERS = range(7300, 7340)
CHATTERS = range(7400, 7406)
PATTERN = ["/help", "/countdown", "/countdown", "/help", "/help", "/countdown", "/help", "/countdown"]
TEST_REMINDER = "🧪 A reminder due now"


def content_with_a_reminder_due_now(directory: Path) -> Path:
    """The shipped content plus one post-vote reminder at the current minute (within the grace period)."""
    content = directory / "content"
    shutil.copytree(DATA, content)
    now = datetime.now(ALMATY)
    campaign = content / "campaign.yaml"
    text = campaign.read_text(encoding="utf-8")
    # a milestone now (after the campaign's end) and a reminder on it
    milestone = (
        f'  - id: balancer-test\n    date: {now:%Y-%m-%d}\n    time: "{now:%H:%M}"\n'
        "    title: {kk: test, ru: test, en: test}\n"
    )
    reminder = (
        f'  - id: balancer-test\n    milestone: balancer-test\n    at: "{now:%H:%M}"\n    scope: after\n'
        f'    with_status: false\n    text:\n      kk: "{TEST_REMINDER}"\n      ru: "{TEST_REMINDER}"\n'
        f'      en: "{TEST_REMINDER}"\n'
    )
    assert "\nsources:\n" in text and "\n# Almaty's districts" in text
    text = text.replace("\n# Almaty's districts", "\n" + milestone + "\n# Almaty's districts", 1)
    campaign.write_text(text.replace("\nsources:\n", "\n" + reminder + "sources:\n", 1), encoding="utf-8")
    return content


@pytest.mark.slow
async def test_two_replicas_behind_a_load_balancer(
    postgres_url: str, redis_url: str, fake: FakeTelegram, tmp_path: Path
) -> None:
    """Each update handled once and in order per user (some delivered twice, to both replicas), a
    reminder sent once (also after the leader hands over), an announcement delivered once."""
    content = content_with_a_reminder_due_now(tmp_path)
    storage = SqlStorage(parse_database_url(postgres_url))
    await storage.connect()
    for user_id in BALANCED_SUBSCRIBERS:
        fake.user(user_id, language_code="en").open_chat()
        await storage.touch_user(user_id, "en", BEFORE)
        await storage.subscribe(user_id, "en", BEFORE)
    replicas: list[Replica] = []
    balancer: WebhookDelivery | None = None
    env = {"REDIS_URL": redis_url, "CONTENT_DIR": str(content)}
    try:
        replicas = list(
            await asyncio.gather(
                start_replica("A", fake, postgres_url, rate=25, **env),
                start_replica("B", fake, postgres_url, rate=25, **env),
            )
        )
        assert sum(r.logged("leader lease acquired") for r in replicas) == 1
        balancer = WebhookDelivery(fake, [r.url for r in replicas], repeat=lambda u: u["update_id"] % 4 == 0)
        await balancer.start()
        intruder = fake.user(7499, language_code="en").open_chat()
        async with aiohttp.ClientSession() as session:  # not from Telegram: refused, not handled
            for replica in replicas:
                forged = message_update(intruder, "/help")
                headers = {"X-Telegram-Bot-Api-Secret-Token": "guessed-secret-0123456789"}
                async with session.post(replica.url, json=forged, headers=headers) as response:
                    assert response.status == 401

        # Residents write in bursts: each chat's updates alternate between the replicas.
        chatters = [fake.user(user_id, language_code="en").open_chat() for user_id in CHATTERS]
        sends = [asyncio.create_task(u.send(text, timeout=60)) for u in chatters for text in PATTERN]
        await asyncio.gather(*sends)
        # the replicas run on the real clock: once the results are known, /countdown brings their picture
        pictures = (
            PATTERN.count("/countdown") if load_content(content).campaign.passed("results", datetime.now(ALMATY)) else 0
        )
        for user in chatters:
            replies = [m for m in user.bot_messages() if m.photo is None]
            assert len(user.bot_messages()) - len(replies) == pictures
            assert len(replies) == len(PATTERN)  # each update handled once, none lost
            assert ["/language" in m.content for m in replies] == [t == "/help" for t in PATTERN]  # in order
        answered = balancer.stats.answered
        for user in chatters:  # each chat's updates went to both replicas
            mine = [t.result() for t in sends if t.result().chat_id == user.chat_id]
            assert {answered[e.update_id] for e in mine} == {r.url for r in replicas}
        assert balancer.stats.repeats >= 10

        # An announcement, the admin's dialog spread over both replicas (state in Redis).
        admin = fake.user(ADMIN_ID, language_code="en").open_chat()
        await admin.send("/announce", timeout=30)
        screen = (await admin.send("Polling stations open at 07:00", timeout=30)).replies[-1]
        send = next(b.text for b in screen.flat_buttons if b.text.endswith("Send"))
        await admin.press(screen, send, timeout=30)

        def announced(user_id: int) -> int:
            return sum(m.content == "Polling stations open at 07:00" for m in fake.bot_messages(user_id))

        await fake.wait_for(lambda: all(announced(u) for u in BALANCED_SUBSCRIBERS), timeout=60)

        def reminded(user_id: int) -> int:
            return sum(TEST_REMINDER in m.content for m in fake.bot_messages(user_id))

        await fake.wait_for(lambda: all(reminded(u) for u in BALANCED_SUBSCRIBERS), timeout=60)
        # The leader steps down; the other replica leads and catches up on reminders at once.
        leader = next(r for r in replicas if r.logged("leader lease acquired"))
        other = next(r for r in replicas if r is not leader)
        await leader.finish()
        await until(lambda: other.logged("leader lease acquired") and other.logged("scheduler started"), timeout=30)
        await until(lambda: other.logged("reminder balancer-test"), timeout=30)
        await storage.touch_user(ADMIN_ID, "en", BEFORE)  # (a round trip: the catch-up's writes are in)
        assert [reminded(u) for u in BALANCED_SUBSCRIBERS] == [1] * len(BALANCED_SUBSCRIBERS)  # once
        assert [announced(u) for u in BALANCED_SUBSCRIBERS] == [1] * len(BALANCED_SUBSCRIBERS)  # once
        broadcasts = await storage.recent_broadcasts(10)  # the reminder: one per language; the announcement
        assert sorted(b.key or "announcement" for b in broadcasts) == [
            "announcement",
            *(f"reminder:kz-referendum-2026:balancer-test:{lang}" for lang in ("en", "kk", "ru")),
        ]
        for record in broadcasts:
            counts = await storage.delivery_counts(record.id)
            expected = 0 if record.key and not record.key.endswith(":en") else len(BALANCED_SUBSCRIBERS)
            assert (record.status, counts.sent, counts.pending, counts.failed) == ("done", expected, 0, 0)
        assert not intruder.bot_messages()
        assert fake.errors() == [], [(c.method, c.description) for c in fake.errors()]
    finally:
        if balancer is not None:
            await balancer.stop()
        for replica in replicas:
            await replica.finish()
        await storage.close()
