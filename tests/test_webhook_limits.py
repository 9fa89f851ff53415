"""The webhook port facing the internet: slow and malformed requests, too many connections, wrong
secrets of any kind, and /metrics on its own port. Real sockets against the real server."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeTelegram
from bot.runners.webhook import WebhookServer
from tests.test_webhook import SECRET, URL, message_update

GUARD = 30  # seconds: a hang fails the test instead of stalling the suite (never a timing assertion)
Start = Callable[..., Awaitable[WebhookServer]]


@pytest.fixture
async def start_server(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> AsyncIterator[Start]:
    servers: list[WebhookServer] = []

    async def start(**limits: Any) -> WebhookServer:
        settings = make_settings(fake, webhook_url=URL, webhook_secret=SECRET)
        app = await create_app(settings, clock=clock, token=fake.token)
        server = WebhookServer(app, url=URL, secret=SECRET, host="127.0.0.1", port=0, **limits)
        await server.start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            await server.stop()


async def raw(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection."""
    received = b""
    try:
        async with asyncio.timeout(GUARD):
            while chunk := await reader.read(65536):
                received += chunk
    except ConnectionResetError:
        pass
    return received


def post(body: bytes, secret: bytes = SECRET.encode(), extra: bytes = b"") -> bytes:
    return (
        b"POST /tg/webhook HTTP/1.1\r\nHost: bot.example.org\r\nContent-Type: application/json\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n" + extra + b"Connection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])


async def test_a_connection_that_never_finishes_its_headers_is_closed(start_server: Start) -> None:
    server = await start_server(header_timeout=0.5)
    port = server.bound_port
    loris = [await raw(port, b"POST /tg/webhook HTTP/1.1\r\nHost: x\r\nX-Slow: ") for _ in range(3)]
    silent = await raw(port, b"")  # connects and sends nothing at all
    for reader, _ in [*loris, silent]:
        assert await closed_by_server(reader) == b""  # closed without an answer
    assert server.metrics.sample("voterbot_webhook_refused_total", reason="header-timeout") == 4
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/readyz") as response:
        assert response.status == 200  # the server itself is fine
    for _, writer in [*loris, silent]:
        writer.close()


async def test_beyond_the_cap_slow_connections_make_room_for_telegram(start_server: Start, fake: FakeTelegram) -> None:
    server = await start_server(max_connections=4, header_timeout=60)
    port = server.bound_port
    crowd = [await raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n") for _ in range(10)]  # unfinished heads
    for reader, _ in crowd[:6]:  # never more than 4 open: each newcomer closed the oldest waiting one
        assert await closed_by_server(reader) == b""
    assert server.metrics.sample("voterbot_webhook_refused_total", reason="crowded-out") == 6
    user = fake.user(3101, language_code="en").open_chat()
    reader, _ = await raw(port, post(json.dumps(message_update(user, "/help")).encode()))
    assert status_of(await closed_by_server(reader)) == 200  # a real update still gets through at once
    await fake.wait_for(lambda: bool(user.bot_messages()))
    reader, _ = await raw(port, b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(await closed_by_server(reader)) == 200  # and so does the health check
    assert (
        server.metrics.sample("voterbot_webhook_refused_total", reason="crowded-out") == 7
    )  # the update took one slow one's place; /readyz the update's
    for _, writer in crowd:
        writer.close()


async def test_beyond_the_cap_of_busy_connections_a_new_one_is_refused_at_once(start_server: Start) -> None:
    server = await start_server(max_connections=4, body_timeout=60)
    port = server.bound_port
    busy = [await raw(port, post(b"x" * 100)[:-100]) for _ in range(4)]  # whole heads, bodies still to come
    extra = [await raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") for _ in range(20)]
    for reader, _ in extra:
        assert await closed_by_server(reader) == b""  # refused at once, not queued
    assert server.metrics.sample("voterbot_webhook_refused_total", reason="connections") == 20
    for reader, writer in busy:
        writer.write(b"{" * 100)  # the bodies arrive (malformed): the busy ones are answered
        assert status_of(await closed_by_server(reader)) == 400
    for _, writer in [*busy, *extra]:
        writer.close()


async def test_a_body_that_does_not_arrive_gets_408(start_server: Start) -> None:
    server = await start_server(body_timeout=0.5)
    head = post(b"x" * 100)[:-100] + b'{"update_id": '  # promises 100 bytes, sends 14
    reader, writer = await raw(server.bound_port, head)
    assert status_of(await closed_by_server(reader)) == 408
    assert server.metrics.sample("voterbot_webhook_refused_total", reason="body-timeout") == 1
    writer.close()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"update_id": 1, "message": ', "malformed"),  # cut JSON
        (b"\xff\xfe not utf-8", "malformed"),
        (b"[1, 2, 3]", "invalid"),
        (b'{"message": {}}', "invalid"),  # no update_id
        (b'{"update_id": 7, "message": {"message_id": "x", "chat": 5}}', "invalid"),  # not an Update
    ],
)
async def test_malformed_json_and_invalid_updates_get_400(
    start_server: Start, fake: FakeTelegram, body: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    reader, writer = await raw(server.bound_port, post(body))
    response = await closed_by_server(reader)
    assert status_of(response) == 400, response
    assert server.metrics.sample("voterbot_webhook_refused_total", reason=reason) == 1
    assert [server.metrics.sample("voterbot_updates_total", outcome=o) for o in ("handled", "failed")] == [
        0,
        0,
    ]  # nothing reached the dispatcher
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    writer.close()


@pytest.mark.parametrize(
    "secret",
    ["сек-рет-секрет-секрет".encode(), b"\xff\xfe\xfd-latin1-garbage", SECRET.encode()[:-1] + "й".encode(), b""],
)
async def test_any_wrong_secret_gets_401_never_500(
    start_server: Start, fake: FakeTelegram, secret: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    user = fake.user(3102, language_code="en").open_chat()
    reader, writer = await raw(server.bound_port, post(json.dumps(message_update(user, "/help")).encode(), secret))
    assert status_of(await closed_by_server(reader)) == 401
    assert (
        server.metrics.sample("voterbot_webhook_refused_total", reason="secret") == 1
        and server.metrics.sample("voterbot_webhook_unauthorized_total") == 1
    )
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not user.bot_messages()
    writer.close()


async def test_refused_requests_are_counted_and_logged_at_most_once_a_minute(
    start_server: Start, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    user = fake.user(3103, language_code="en").open_chat()
    caplog.set_level(logging.INFO, logger="bot.runners.webhook")
    async with aiohttp.ClientSession() as session:
        for n in range(30):
            headers = {"X-Telegram-Bot-Api-Secret-Token": f"wrong-{n}-{'x' * 16}"}
            async with session.post(
                f"http://127.0.0.1:{server.bound_port}/tg/webhook", json=message_update(user, "/help"), headers=headers
            ) as response:
                assert response.status == 401
            async with session.post(
                f"http://127.0.0.1:{server.bound_port}/tg/webhook",
                data=b"{oops",
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ) as response:
                assert response.status == 400
        async with session.get(f"http://127.0.0.1:{server.bound_port}/metrics") as response:
            lines = set((await response.text()).splitlines())
    assert 'voterbot_webhook_refused_total{reason="secret"} 30.0' in lines
    assert 'voterbot_webhook_refused_total{reason="malformed"} 30.0' in lines
    refused = [r for r in caplog.records if r.name == "bot.runners.webhook" and "refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING  # 60 refusals, one line
    assert "wrong-" not in caplog.text  # nothing the outsider sent is written to the log


async def test_metrics_on_their_own_port_and_cheap(start_server: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    server = await start_server(metrics_address=("127.0.0.1", 0), metrics_cache_seconds=3600)
    assert server.metrics_port is not None and server.metrics_port != server.bound_port
    calls = 0
    summary = server.app.storage.delivery_summary

    async def counted(since: datetime) -> tuple[dict[str, int], int]:
        nonlocal calls
        calls += 1
        return await summary(since)

    monkeypatch.setattr(server.app.storage, "delivery_summary", counted)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{server.bound_port}/metrics") as response:
            assert response.status == 404  # not on the public port
        async with session.get(f"http://127.0.0.1:{server.bound_port}/readyz") as response:
            assert response.status == 200  # the proxy's health check stays there
        for _ in range(5):
            async with session.get(f"http://127.0.0.1:{server.metrics_port}/metrics") as response:
                assert response.status == 200
                text = await response.text()
    assert 'voterbot_deliveries{status="sent"} 0.0' in text and "voterbot_broadcast_queue_depth 0.0" in text
    assert calls == 1  # five scrapes within the cache's lifetime: the database is read once


@pytest.mark.parametrize(
    "head",
    [
        b"POST /tg/webhook HTTP/1.1\r\nHost: x\r\nX-Evil-Secret-Bytes: ab\x01cd\r\n",  # a control byte in a header
        b"POST /tg/webhook HTTP/1.1\r\nHost: x\r\nX Evil-Secret-Bytes: spaced\r\n",  # a space in a header's name
        b"POST /tg/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Evil-Secret-Bytes\r\n",  # unknown coding
        b"EVIL-SECRET-BYTES\x00 /tg/webhook HTTP/1.1\r\nHost: x\r\n",  # not a method
    ],
)
async def test_a_request_aiohttp_cannot_parse_is_a_quiet_refusal(
    start_server: Start, head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """The review: 1,000 requests with a bad byte in a header wrote 3.5 MiB of tracebacks quoting
    what the client sent. Now each is a ``bad-request`` refusal, summarised once a minute."""
    server = await start_server()
    caplog.set_level(logging.DEBUG)
    for _ in range(50):
        reader, writer = await raw(server.bound_port, head + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        assert (await closed_by_server(reader)).split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")  # HTTP/1.0
        writer.close()
    assert server.metrics.sample("voterbot_webhook_refused_total", reason="bad-request") == 50
    assert not [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "evil-secret-bytes" not in caplog.text.lower()  # nothing the client sent
    refused = [r for r in caplog.records if r.name == "bot.runners.webhook" and "refused" in r.getMessage()]
    assert len(refused) == 1 and "bad-request 1" in refused[0].getMessage()  # the first, then a summary a minute on


async def test_json_nested_too_deeply_gets_400_without_a_traceback(
    start_server: Start, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    for body in (b"[" * 200_000 + b"]" * 200_000, b'{"update_id": 5, "x": ' + b"[" * 100 + b"]" * 100 + b"}"):
        reader, writer = await raw(server.bound_port, post(body))
        assert status_of(await closed_by_server(reader)) == 400
        writer.close()
    assert server.metrics.sample("voterbot_webhook_refused_total", reason="too-deep") == 2
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    # a real update, with brackets in its text, still passes
    user = fake.user(3104, language_code="en").open_chat()
    reader, writer = await raw(server.bound_port, post(json.dumps(message_update(user, "[{" * 100)).encode()))
    assert status_of(await closed_by_server(reader)) == 200
    await fake.wait_for(lambda: bool(user.bot_messages()))
    writer.close()
