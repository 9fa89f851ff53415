"""REDIS_URL: conversation state shared by replicas (aiogram's RedisStorage, with TTLs) and one
user's updates handled in order across replicas (RedisEventIsolation).

A throwaway ``redis-server`` (Debian's package) listens on 127.0.0.1 for the session; the tests are
skipped, with the reason, when it is not installed. Two webhook servers in this process share it
and one PostgreSQL database (skipped likewise without PostgreSQL)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

from bot.app import FSM_TTL, create_app
from bot.clock import ManualClock
from bot.config import ConfigError, DatabaseConfig, Settings, load_settings
from bot.devtools.fake_api import FakeMessage, FakeTelegram
from bot.runners.webhook import WebhookServer
from tests.conftest import ADMIN_ID, DATA
from tests.test_webhook import SECRET, URL, _env, message_update


def test_redis_url_is_validated() -> None:
    assert load_settings({}, dotenv=None).redis_url is None
    assert load_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"}, dotenv=None).redis() == "redis://127.0.0.1:6379/0"
    assert load_settings({"REDIS_URL": "unix:///run/redis.sock"}, dotenv=None).redis() == "unix:///run/redis.sock"
    for bad in ("http://127.0.0.1:6379", "127.0.0.1:6379", "redis://"):
        with pytest.raises(ConfigError) as error:
            load_settings({"REDIS_URL": bad}, dotenv=None)
        assert error.value.variable == "REDIS_URL"


@pytest.mark.slow
async def test_a_bad_redis_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path,
        env=_env(BOT_TOKEN="123456:TEST-TOKEN", REDIS_URL="http://:secret@127.0.0.1:6379"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode().strip()
    assert process.returncode == 2 and len(text.splitlines()) == 1 and "REDIS_URL" in text and "secret" not in text


class Replica:
    def __init__(self, server: WebhookServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session
        self.base = f"http://127.0.0.1:{server.bound_port}"

    async def post(self, update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.session.post(f"{self.base}/tg/webhook", json=update, headers=headers) as response:
            assert response.status == 200

    async def readyz(self) -> str:
        async with self.session.get(f"{self.base}/readyz") as response:
            assert response.status == 200
            return await response.text()


Start = Callable[[], Awaitable[Replica]]


@pytest.fixture
async def replicas(fake: FakeTelegram, postgres_url: str, redis_url: str, clock: ManualClock) -> AsyncIterator[Start]:
    servers: list[WebhookServer] = []
    session = aiohttp.ClientSession()

    async def start() -> Replica:
        settings = Settings(
            bot_token=fake.token,
            bot_api_base=fake.base_url,
            database=DatabaseConfig("postgresql", postgres_url),
            admin_ids=frozenset({ADMIN_ID}),
            content_dir=DATA,
            webhook_url=URL,
            webhook_secret=SECRET,
            redis_url=redis_url,
            chat_pacing=False,  # residents at machine speed (see conftest)
        )
        app = await create_app(settings, clock=clock, token=fake.token)
        server = WebhookServer(app, url=URL, secret=SECRET, host="127.0.0.1", port=0)
        await server.start()
        servers.append(server)
        return Replica(server, session)

    try:
        yield start
    finally:
        for server in servers:
            await server.stop()
        await session.close()


async def test_conversation_state_is_shared_by_replicas_with_a_ttl(
    replicas: Start, fake: FakeTelegram, redis_url: str
) -> None:
    one, two = await replicas(), await replicas()
    assert '"redis": true' in await one.readyz()
    admin = fake.user(ADMIN_ID, language_code="en").open_chat()
    await one.post(message_update(admin, "/announce"))  # the dialog starts on one replica…
    await fake.wait_for(lambda: any("Send me the announcement" in m.content for m in admin.bot_messages()), 30)
    await two.post(message_update(admin, "Polling stations open at 07:00"))  # …and goes on on the other

    def control() -> FakeMessage | None:
        return next((m for m in admin.bot_messages() if any(b.text.endswith("Send") for b in m.flat_buttons)), None)

    await fake.wait_for(lambda: control() is not None, 30)
    client = Redis.from_url(redis_url)
    try:
        keys = [key.decode() async for key in client.scan_iter(f"fsm:{fake.bot_id}:{ADMIN_ID}:{ADMIN_ID}:*")]
        assert sorted(key.rsplit(":", 1)[1] for key in keys) == ["data", "state"]
        for key in keys:
            assert 0 < await client.ttl(key) <= FSM_TTL.total_seconds()
    finally:
        await client.aclose()


class Trace(BaseMiddleware):
    """Records when each update enters and leaves the handlers; optionally holds them."""

    def __init__(self, name: str, order: list[str], hold: asyncio.Event | None = None) -> None:
        self.name = name
        self.order = order
        self.hold = hold
        self.entered = asyncio.Event()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        self.order.append(f"{self.name} enter {event.update_id}")
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        try:
            return await handler(event, data)
        finally:
            self.order.append(f"{self.name} leave {event.update_id}")


async def test_one_users_updates_are_handled_in_order_across_replicas(replicas: Start, fake: FakeTelegram) -> None:
    one, two = await replicas(), await replicas()
    order: list[str] = []
    release = asyncio.Event()
    first = Trace("one", order, hold=release)
    one.server.app.dispatcher.update.outer_middleware(first)  # inside the isolation lock (FSM middleware)
    two.server.app.dispatcher.update.outer_middleware(Trace("two", order))
    user = fake.user(3101, language_code="en").open_chat()
    update_1, update_2 = message_update(user, "/help"), message_update(user, "/menu")
    posted_1 = asyncio.create_task(one.post(update_1))
    await first.entered.wait()
    # Telegram would wait for the answer before sending the user's next update; a load balancer or
    # a retry may still bring it to the other replica now. That replica must wait for the user's
    # lock: give it half a second to (wrongly) handle it.
    posted_2 = asyncio.create_task(two.post(update_2))
    _, pending = await asyncio.wait({posted_2}, timeout=0.5)
    assert pending and order == [f"one enter {update_1['update_id']}"]
    release.set()
    await asyncio.wait_for(asyncio.gather(posted_1, posted_2), 30)
    assert len(user.bot_messages()) == 2
    assert order == [
        f"one enter {update_1['update_id']}",
        f"one leave {update_1['update_id']}",
        f"two enter {update_2['update_id']}",
        f"two leave {update_2['update_id']}",
    ]


async def test_an_update_delivered_again_to_the_other_replica_is_handled_once(
    replicas: Start, fake: FakeTelegram
) -> None:
    one, two = await replicas(), await replicas()
    user = fake.user(3102, language_code="en").open_chat()
    update = message_update(user, "/help")
    await one.post(update)
    await two.post(update)  # Telegram did not get the first answer and retried; the balancer chose the other
    assert len(user.bot_messages()) == 1
    assert tuple(s.server.metrics.sample("voterbot_webhook_repeated_total") for s in (one, two)) == (0, 1)
