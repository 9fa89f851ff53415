"""The operators' desk behind two webhook replicas on one database: every update delivered to both
(as when a delivery is repeated and the update ledger is not shared), one ticket, one topic, each
message relayed once; and the desk's figures on /metrics."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeGroup, FakeTelegram, FakeUser
from bot.runners.webhook import WebhookServer

# the end-to-end tests that use the database run on SQLite and PostgreSQL (tests/conftest.py)
pytestmark = pytest.mark.both_backends

URL = "https://bot.example.org/tg/webhook"
SECRET = "s3cret-Webhook_token-0123456789"
OPS = -1001234567890
_update_ids = itertools.count(10_000)


def update_from(fake: FakeTelegram, user: FakeUser, text: str) -> dict[str, Any]:
    """A message as Telegram would deliver it (stored in the fake, so that it can be copied)."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if user.group is not None and user.thread_id is not None:
        fake._into_topic(content, user.group, user.thread_id)
    message = fake._add_user_message(user._state, user.chat_id, user._chat(), content)
    return {"update_id": next(_update_ids), "message": message.to_dict()}


class Replicas:
    def __init__(self, session: aiohttp.ClientSession, servers: list[WebhookServer]) -> None:
        self.session = session
        self.servers = servers

    async def _post(self, server: WebhookServer, update: dict[str, Any]) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        url = f"http://127.0.0.1:{server.bound_port}/tg/webhook"
        async with self.session.post(url, json=update, headers=headers) as response:
            return response.status

    async def to_both(self, update: dict[str, Any]) -> list[int]:
        """The same update to both replicas at once."""
        return list(await asyncio.gather(*(self._post(server, update) for server in self.servers)))

    async def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.servers[0].bound_port}/metrics"
        async with self.session.get(url) as response:
            return await response.text()


@pytest.fixture
async def replicas(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> AsyncIterator[Replicas]:
    fake.forum(OPS, "Operators")
    servers: list[WebhookServer] = []
    session = aiohttp.ClientSession()
    try:
        for _ in range(2):
            settings = make_settings(
                fake, webhook_url=URL, webhook_secret=SECRET, operators_chat_id=OPS, default_language="en"
            )
            app = await create_app(settings, clock=clock, token=fake.token)
            server = WebhookServer(app, url=URL, secret=SECRET, host="127.0.0.1", port=0)
            await server.start()
            servers.append(server)
        yield Replicas(session, servers)
    finally:
        for server in servers:
            await server.stop()
        await session.close()


async def test_two_replicas_create_one_ticket_and_relay_once(replicas: Replicas, fake: FakeTelegram) -> None:
    forum: FakeGroup = fake.forum(OPS)
    resident = fake.user(6001, first_name="Arman", language_code="en").open_chat()
    # each replica keeps conversation state in its own memory here: both see "/operator"
    assert await replicas.to_both(update_from(fake, resident, "/operator")) == [200, 200]
    assert await replicas.to_both(update_from(fake, resident, "Do I need to register in advance?")) == [200, 200]
    assert len(fake.calls_of("createForumTopic")) == 1 and len(forum.topics) == 1
    topic = next(iter(forum.topics.values()))
    intro, question = forum.topic_messages(topic.thread_id)
    assert "Ticket #" in intro.content and question.content == "Do I need to register in advance?"
    confirmations = [m for m in resident.bot_messages() if "Your question is with the operators" in m.content]
    assert len(confirmations) == 1

    operator = fake.user(700001, language_code="en").in_topic(forum, topic.thread_id)
    await replicas.to_both(update_from(fake, operator, "No: you are on the list where you live."))
    replies = [m for m in resident.bot_messages() if m.content == "No: you are on the list where you live."]
    assert len(replies) == 1

    await replicas.to_both(update_from(fake, operator, "/close"))
    assert topic.closed
    closed = [m for m in resident.bot_messages() if "closed this conversation" in m.content]
    assert len(closed) == 1
    assert fake.errors() == []

    metrics = set((await replicas.metrics()).splitlines())
    assert 'voterbot_desk_tickets{status="open"} 0.0' in metrics
    assert 'voterbot_desk_tickets{status="closed"} 1.0' in metrics
    assert "voterbot_desk_first_reply_median_seconds 0.0" in metrics
