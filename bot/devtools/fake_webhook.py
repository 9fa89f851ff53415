"""Webhook delivery for the fake Bot API, the way Telegram does it, through a load balancer.

Once the bot has called ``setWebhook`` on the :class:`FakeTelegram`, :class:`WebhookDelivery` posts
the pending updates to the replicas instead of waiting for ``getUpdates``:

- like Telegram: a chat's next update is sent only after the previous one was answered with 2xx,
  updates of different chats go out concurrently (up to ``max_connections``), the secret given to
  ``setWebhook`` is sent in ``X-Telegram-Bot-Api-Secret-Token``, and an update that got no 2xx
  answer (an error status, a refused or dropped connection, a timeout) is delivered again;
- like a load balancer in front of the replicas: each request goes to the next target in turn, a
  failed one to the next target.

``repeat`` delivers chosen updates a second time after they were answered, to the next target (what
Telegram does when the answer was lost on the way). Updates count as processed for
``FakeTelegram.wait_processed`` (and ``FakeUser.send``) when they were answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.devtools.fake_api import FakeTelegram

log = logging.getLogger(__name__)
JSON = dict[str, Any]


def chat_key(update: JSON) -> int | None:
    """The chat (or, without one, the user) an update belongs to; Telegram orders updates per chat."""
    for kind, value in update.items():
        if not isinstance(value, dict) or kind == "update_id":
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        user = value.get("from") or value.get("user")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return int(user["id"])
    return None


@dataclass
class DeliveryStats:
    requests: int = 0
    failures: int = 0  # no 2xx answer: delivered again
    repeats: int = 0  # delivered again on purpose after a 2xx answer
    by_target: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # 2xx answers per target
    answered: dict[int, str] = field(default_factory=dict)  # update_id -> target that answered it first


class WebhookDelivery:
    def __init__(
        self,
        fake: FakeTelegram,
        targets: list[str],
        *,
        max_connections: int = 40,
        retry_seconds: float = 0.2,
        timeout: float = 60.0,
        repeat: Callable[[JSON], bool] | None = None,
    ) -> None:
        if not targets:
            raise ValueError("at least one target URL")
        self.fake = fake
        self.targets = list(targets)
        self.max_connections = max_connections
        self.retry_seconds = retry_seconds
        self.timeout = timeout
        self.repeat = repeat
        self.stats = DeliveryStats()
        self._turns: dict[int | None, int] = {}  # round robin per chat
        self._chats: dict[int | None, deque[JSON]] = defaultdict(deque)
        self._busy: set[int | None] = set()
        self._slots = asyncio.Semaphore(max_connections)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._acked: set[int] = set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._loop = asyncio.create_task(self._run(), name="fake-webhook-delivery")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def _next_target(self, key: int | None) -> str:
        """Round robin per chat, so that each chat's updates alternate between the targets
        whatever the other chats do (a global turn let one chat land on one replica only)."""
        turn = self._turns.get(key, abs(key or 0))  # chats start on different targets
        self._turns[key] = turn + 1
        return self.targets[turn % len(self.targets)]

    async def _run(self) -> None:
        fake = self.fake
        while True:
            async with fake._cond:
                await fake._cond.wait_for(lambda: bool(fake.webhook.get("url")) and bool(fake._pending))
                taken, fake._pending = fake._pending, []
            for update in taken:
                key = chat_key(update)
                self._chats[key].append(update)
                if key not in self._busy:
                    self._busy.add(key)
                    task = asyncio.create_task(self._serve_chat(key))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _serve_chat(self, key: int | None) -> None:
        """One chat's updates, one at a time, in order."""
        queue = self._chats[key]
        try:
            while queue:
                update = queue[0]
                async with self._slots:
                    target = await self._deliver(update)
                    if self.repeat is not None and self.repeat(update):
                        self.stats.repeats += 1
                        await self._deliver(update, avoid=target)
                queue.popleft()
                await self._answered(int(update["update_id"]))
        finally:
            self._busy.discard(key)
            if not queue:
                self._chats.pop(key, None)

    async def _deliver(self, update: JSON, avoid: str | None = None) -> str:
        """Post until a target answers 2xx; that target."""
        assert self._session is not None
        secret = self.fake.webhook.get("secret_token")
        headers = {"X-Telegram-Bot-Api-Secret-Token": str(secret)} if secret else {}
        while True:
            key = chat_key(update)
            target = self._next_target(key)
            if target == avoid and len(self.targets) > 1:
                target = self._next_target(key)
            avoid = None
            self.stats.requests += 1
            try:
                async with self._session.post(target, json=update, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        self.stats.by_target[target] += 1
                        self.stats.answered.setdefault(int(update["update_id"]), target)
                        return target
                    log.info("update %s: %s answered %d", update["update_id"], target, response.status)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.info("update %s: %s failed: %r", update["update_id"], target, error)
            self.stats.failures += 1
            await asyncio.sleep(self.retry_seconds)

    async def _answered(self, update_id: int) -> None:
        fake = self.fake
        self._acked.add(update_id)
        fake._confirm_index.setdefault(update_id, len(fake.calls))
        while fake._confirmed + 1 in self._acked:
            fake._confirmed += 1
            self._acked.discard(fake._confirmed)
        fake._skipped.update(self._acked)  # answered out of order: processed too
        await fake._notify()
