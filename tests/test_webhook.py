"""Webhook mode: real HTTP posts of updates to the webhook server, the fake Bot API behind the bot."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import BaseMiddleware
from aiogram.methods import SendMessage
from aiogram.types import TelegramObject, Update

from bot.app import create_app
from bot.clock import ManualClock
from bot.config import ConfigError, Settings, load_settings
from bot.devtools.fake_api import FakeTelegram, FakeUser
from bot.runners.webhook import WebhookServer, registered_url
from tests.conftest import DATA as FROZEN_CAMPAIGN
from tests.conftest import ROOT

# the end-to-end tests that use the database run on SQLite and PostgreSQL (tests/conftest.py)
pytestmark = pytest.mark.both_backends

URL = "https://bot.example.org/tg/webhook"
SECRET = "s3cret-Webhook_token-0123456789"
_ids = itertools.count(1)


def message_update(user: FakeUser, text: str) -> dict[str, Any]:
    state = user._state
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": 1772000000,
            "chat": state.to_chat(),
            "from": state.to_user(),
            **content,
        },
    }


class Client:
    def __init__(self, session: aiohttp.ClientSession, server: WebhookServer) -> None:
        self.session = session
        self.base = f"http://127.0.0.1:{server.bound_port}"

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with self.session.post(f"{self.base}/tg/webhook", json=update, headers=headers) as response:
            return response.status

    async def get(self, path: str) -> tuple[int, str, str]:
        async with self.session.get(self.base + path) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()


Start = Callable[..., Awaitable[tuple[WebhookServer, Client]]]


@pytest.fixture
async def start_server(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> AsyncIterator[Start]:
    servers: list[WebhookServer] = []
    session = aiohttp.ClientSession()

    async def start(secret: str = SECRET) -> tuple[WebhookServer, Client]:
        settings = make_settings(fake, webhook_url=URL, webhook_secret=secret)
        app = await create_app(settings, clock=clock, token=fake.token)
        server = WebhookServer(app, url=URL, secret=secret, host="127.0.0.1", port=0)
        await server.start()
        servers.append(server)
        return server, Client(session, server)

    try:
        yield start
    finally:
        for server in servers:
            await server.stop()
        await session.close()


async def test_secret_is_checked_and_a_good_update_is_handled(start_server: Start, fake: FakeTelegram) -> None:
    server, client = await start_server()
    assert fake.webhook == {"url": registered_url(URL, SECRET), "secret_token": SECRET}
    user = fake.user(3001, language_code="en").open_chat()
    assert await client.post(message_update(user, "/help"), secret=None) == 401
    assert await client.post(message_update(user, "/help"), secret="wrong-secret-0123456789") == 401
    assert await client.post(message_update(user, "/help")) == 200
    await fake.wait_for(lambda: bool(user.bot_messages()))
    assert len(user.bot_messages()) == 1 and "/language" in user.bot_messages()[0].content  # the refused ones: nothing
    assert server.metrics.sample("voterbot_webhook_unauthorized_total") == 2
    await server.stop()
    assert fake.webhook["url"] == registered_url(URL, SECRET)  # shutdown never deletes the webhook
    assert not fake.calls_of("deleteWebhook")


async def test_set_webhook_only_when_telegram_differs(start_server: Start, fake: FakeTelegram) -> None:
    first, _ = await start_server()
    assert len(fake.calls_of("setWebhook")) == 1
    await first.stop()
    await start_server()  # a second replica / a restart: info matches
    assert len(fake.calls_of("setWebhook")) == 1
    assert len(fake.calls_of("getWebhookInfo")) == 2
    await start_server(secret="another-secret-0123456789")  # a new secret changes the registered URL
    assert len(fake.calls_of("setWebhook")) == 2
    assert fake.webhook["secret_token"] == "another-secret-0123456789"
    assert registered_url(URL, "another-secret-0123456789") != registered_url(URL, SECRET)
    assert registered_url("https://h/p?a=1", SECRET).startswith("https://h/p?a=1&s=")


async def test_healthz_readyz_and_metrics(start_server: Start, fake: FakeTelegram) -> None:
    server, client = await start_server()
    status, _, body = await client.get("/healthz")
    assert status == 200 and '"ok": true' in body
    status, _, body = await client.get("/readyz")
    assert status == 200 and '"ready": true' in body and '"migrations": true' in body and '"database": true' in body
    user = fake.user(3002, language_code="ru").open_chat()
    assert await client.post(message_update(user, "/start")) == 200
    assert user.bot_messages()  # the update is handled before the answer
    assert await server.handler.drain(10)  # nothing in flight
    await client.post(message_update(user, "/help"), secret="nope-nope-nope-nope")
    status, content_type, text = await client.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain") and "version=0.0.4" in content_type
    lines = set(text.splitlines())
    assert 'voterbot_updates_total{outcome="handled"} 1.0' in lines
    assert 'voterbot_updates_total{outcome="failed"} 0.0' in lines
    assert "voterbot_webhook_unauthorized_total 1.0" in lines
    assert "# TYPE voterbot_update_handler_seconds histogram" in lines
    assert 'voterbot_update_handler_seconds_bucket{le="+Inf"} 1.0' in lines
    assert "voterbot_update_handler_seconds_count 1.0" in lines
    assert "voterbot_broadcast_queue_depth 0.0" in lines
    assert 'voterbot_deliveries{status="sent"} 0.0' in lines
    assert "voterbot_telegram_429_pauses_total 0.0" in lines
    assert "voterbot_updates_in_flight 0.0" in lines
    assert 'voterbot_guest_calls_total{outcome="answer"} 0.0' in lines  # guest mode: counters only
    assert 'voterbot_questions_total{outcome="answer"} 0.0' in lines  # the loop with residents
    assert "voterbot_questions_waiting 0.0" in lines and "voterbot_questions_answered_later 0.0" in lines
    assert any(line.startswith("voterbot_scheduler_lag_seconds ") for line in lines)


class Blocker(BaseMiddleware):
    """Holds every update until released: an update in flight at shutdown."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        self.entered.set()
        await self.release.wait()
        return await handler(event, data)


async def test_shutdown_finishes_updates_in_flight_and_is_not_ready(start_server: Start, fake: FakeTelegram) -> None:
    server, client = await start_server()
    blocker = Blocker()
    server.app.dispatcher.update.outer_middleware(blocker)
    user = fake.user(3003, language_code="en").open_chat()
    in_flight = asyncio.create_task(client.post(message_update(user, "/help")))  # answered once handled
    await blocker.entered.wait()
    stopping = server.request_stop()  # what SIGTERM does
    status, _, body = await client.get("/readyz")
    assert status == 503 and '"ready": false' in body and '"shutting_down": true' in body
    assert await client.post(message_update(user, "/start")) == 503  # Telegram will deliver it again
    assert not stopping.done() and not in_flight.done() and not user.bot_messages()
    blocker.release.set()
    assert await in_flight == 200
    await asyncio.wait_for(stopping, 30)
    assert len(user.bot_messages()) == 1 and "/language" in user.bot_messages()[0].content


class Answering(BaseMiddleware):
    """Answers one text by returning a method, as an aiogram handler may ("reply into the webhook")."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        if event.message is not None and event.message.text == "returned":
            return SendMessage(chat_id=event.message.chat.id, text="a method returned by a handler")
        return await handler(event, data)


async def test_a_method_returned_by_a_handler_is_called(start_server: Start, fake: FakeTelegram) -> None:
    server, client = await start_server()
    server.app.dispatcher.update.outer_middleware(Answering())
    user = fake.user(3005, language_code="en").open_chat()
    assert await client.post(message_update(user, "returned")) == 200
    await fake.wait_for(lambda: bool(user.bot_messages()))
    assert [message.content for message in user.bot_messages()] == ["a method returned by a handler"]


async def test_an_update_delivered_again_is_handled_once(start_server: Start, fake: FakeTelegram) -> None:
    """Telegram delivers an update again when it did not get the answer; the bot answers it only once.
    One being handled right now gets 409 (Telegram retries later)."""
    server, client = await start_server()
    user = fake.user(3004, language_code="en").open_chat()
    update = message_update(user, "/help")
    assert await client.post(update) == 200
    assert len(user.bot_messages()) == 1  # handled before the answer
    assert await client.post(update) == 200  # delivered again: acknowledged…
    assert len(user.bot_messages()) == 1  # …and not handled twice
    assert server.metrics.sample("voterbot_webhook_repeated_total") == 1
    blocker = Blocker()
    server.app.dispatcher.update.outer_middleware(blocker)
    slow = message_update(user, "/menu")
    first = asyncio.create_task(client.post(slow))
    await blocker.entered.wait()
    assert await client.post(slow) == 409  # the same update while it is being handled: Telegram retries
    blocker.release.set()
    assert await first == 200
    assert len(user.bot_messages()) == 2


def test_webhook_settings_are_validated() -> None:
    settings = load_settings(
        {"WEBHOOK_URL": URL, "WEBHOOK_SECRET": SECRET, "WEBHOOK_LISTEN": "127.0.0.1:9000"}, dotenv=None
    )
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == SECRET
    assert (settings.webhook_url, settings.require_webhook()[1], settings.webhook_listen) == (
        URL,
        SECRET,
        ("127.0.0.1", 9000),
    )
    assert load_settings({}, dotenv=None).webhook_listen == ("0.0.0.0", 8080)
    assert settings.replace(webhook_secret=None).webhook_url == URL
    for env, variable in [
        ({"WEBHOOK_URL": "http://bot.example.org/hook"}, "WEBHOOK_URL"),
        ({"WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_SECRET": "has spaces in it, 0123456789"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_LISTEN": "8080"}, "WEBHOOK_LISTEN"),
        ({"WEBHOOK_LISTEN": "0.0.0.0:99999"}, "WEBHOOK_LISTEN"),
    ]:
        with pytest.raises(ConfigError) as error:
            load_settings(env, dotenv=None)
        assert error.value.variable == variable
    with pytest.raises(ConfigError) as error:
        load_settings({"WEBHOOK_URL": URL}, dotenv=None).require_webhook()
    assert error.value.variable == "WEBHOOK_SECRET"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(**values: str) -> dict[str, str]:
    prefixes = ("BOT_", "DATABASE_", "ADMIN_", "WEBHOOK_", "CONTENT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["CONTENT_DIR"] = str(FROZEN_CAMPAIGN)  # never data/
    env.update(values)
    return env


@pytest.mark.slow
async def test_run_webhook_without_secret_is_one_line_and_exit_2(fake: FakeTelegram, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--webhook", cwd=tmp_path,
        env=_env(BOT_TOKEN=fake.token, BOT_API_BASE=fake.base_url, WEBHOOK_URL=URL),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert stderr.decode().strip().splitlines() == [stderr.decode().strip()] and "WEBHOOK_SECRET" in stderr.decode()


@pytest.mark.slow
async def test_run_webhook_serves_and_stops_cleanly_on_sigterm(fake: FakeTelegram, tmp_path: Path) -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--webhook", cwd=ROOT,
        env=_env(
            BOT_TOKEN=fake.token, BOT_API_BASE=fake.base_url, DATABASE_URL=f"sqlite:///{tmp_path / 'hook.sqlite3'}",
            WEBHOOK_URL=URL, WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN=f"127.0.0.1:{port}", LOG_LEVEL="INFO",
        ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    log: list[str] = []
    try:
        while not any("webhook ready" in line for line in log):
            line = await asyncio.wait_for(process.stderr.readline(), 60)
            assert line, "the process ended: " + "".join(log)
            log.append(line.decode())
        user = fake.user(3004, language_code="en").open_chat()
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{port}"
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with session.post(f"{base}/tg/webhook", json=message_update(user, "/help"), headers=headers) as r:
                assert r.status == 200
            async with session.post(f"{base}/tg/webhook", json=message_update(user, "/help")) as r:
                assert r.status == 401
            await fake.wait_for(lambda: bool(user.bot_messages()), timeout=30)
            async with session.get(f"{base}/readyz") as r:
                assert r.status == 200
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = "".join(log) + rest.decode()
    assert process.returncode == 0, text
    assert "stopped" in text and SECRET not in text and fake.token not in text
    assert len(user.bot_messages()) == 1 and fake.webhook["url"] == registered_url(URL, SECRET)
