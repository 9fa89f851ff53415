"""The leader lease: one replica runs the scheduler and the delivery engine; another takes over.

The PostgreSQL tests are skipped (with the reason) when PostgreSQL is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bot.devtools.fake_api import FakeMessage, FakeTelegram
from bot.services.delivery import in_flight_window
from bot.services.leader import Leadership, LocalLease, PgAdvisoryLease
from bot.storage.postgres import PostgresStorage
from tests.conftest import ADMIN_ID, BEFORE, ROOT
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
RATE = 10  # BROADCAST_RATE: slow enough to kill the leader mid-broadcast
SUBSCRIBERS = range(7000, 7100)


class Replica:
    def __init__(self, name: str, port: int, process: asyncio.subprocess.Process) -> None:
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


async def start_replica(name: str, fake: FakeTelegram, database_url: str) -> Replica:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--webhook", cwd=ROOT,
        env=_env(
            BOT_TOKEN=fake.token, BOT_API_BASE=fake.base_url, DATABASE_URL=database_url,
            ADMIN_IDS=str(ADMIN_ID), BROADCAST_RATE=str(RATE), LOG_LEVEL="INFO",
            WEBHOOK_URL=URL, WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        ),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    replica = Replica(name, port, process)
    await until(lambda: replica.logged("webhook ready") or process.returncode is not None, timeout=60)
    assert process.returncode is None, "".join(replica.log)
    return replica


async def test_kill_9_of_the_leader_mid_broadcast_the_other_replica_finishes_it(
    postgres_url: str, fake: FakeTelegram, tmp_path: Path
) -> None:
    storage = PostgresStorage(postgres_url)
    await storage.connect()
    for user_id in SUBSCRIBERS:
        fake.user(user_id, language_code="en").open_chat()
        await storage.touch_user(user_id, "en", BEFORE)
        await storage.subscribe(user_id, "en", BEFORE)
    admin = fake.user(ADMIN_ID, language_code="en").open_chat()
    replicas: list[Replica] = []
    session = aiohttp.ClientSession()
    try:
        leader = await start_replica("A", fake, postgres_url)
        replicas.append(leader)
        assert leader.logged("leader lease acquired")
        follower = await start_replica("B", fake, postgres_url)
        replicas.append(follower)
        assert not follower.logged("leader lease acquired")

        async def post(update: dict[str, Any]) -> None:  # the admin talks to the follower
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            url = f"http://127.0.0.1:{follower.port}/tg/webhook"
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 200

        async def leader_gauge(replica: Replica) -> str:
            async with session.get(f"http://127.0.0.1:{replica.port}/metrics") as response:
                return next(
                    line for line in (await response.text()).splitlines() if line.startswith("voterbot_leader ")
                )

        assert await leader_gauge(leader) == "voterbot_leader 1"
        assert await leader_gauge(follower) == "voterbot_leader 0"

        def control() -> FakeMessage | None:
            return next((m for m in admin.bot_messages() if any(b.text.endswith("Send") for b in m.flat_buttons)), None)

        await post(message_update(admin, "/announce"))
        await fake.wait_for(lambda: any("Send me the announcement" in m.content for m in admin.bot_messages()), 30)
        await post(message_update(admin, "Polling stations open at 07:00"))
        await fake.wait_for(lambda: control() is not None, 30)
        screen = control()
        assert screen is not None
        send = next(b for b in screen.flat_buttons if b.text.endswith("Send"))
        query_id = "leader-test-1"
        fake._open_callbacks[query_id] = None
        callback = {
            "id": query_id,
            "from": admin._state.to_user(),
            "message": screen.to_dict(),
            "chat_instance": "1",
            "data": send.callback_data,
        }
        await post({"update_id": 990001, "callback_query": callback})

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
        assert await leader_gauge(follower) == "voterbot_leader 1"

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
        for replica in replicas:
            await replica.finish()
        await session.close()
        await storage.close()
