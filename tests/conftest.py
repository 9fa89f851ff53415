"""The harness: the real bot (create_app + long polling) against the fake Bot API on 127.0.0.1.

Updates are handled one at a time (``handle_as_tasks=False``), so the fake server knows an update
is fully handled when the bot asks for the next ones; tests await that, never sleep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import App, create_app
from bot.clock import ManualClock
from bot.config import DatabaseConfig, Settings
from bot.devtools.fake_api import FakeTelegram
from bot.runners.polling import run_polling

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
ALMATY = ZoneInfo("Asia/Almaty")
ADMIN_ID = 900001

BEFORE = datetime(2026, 3, 12, 12, 0, tzinfo=ALMATY)  # three days before voting day
VOTING_OPEN = datetime(2026, 3, 15, 10, 0, tzinfo=ALMATY)
AFTER = datetime(2026, 11, 24, 12, 0, tzinfo=ALMATY)


def almaty(*args: int) -> datetime:
    return datetime(*args, tzinfo=ALMATY)  # type: ignore[misc]


class RunningBot:
    """The real application, started and stopped (and restarted on the same database) by tests."""

    def __init__(self, fake: FakeTelegram, settings: Settings, clock: ManualClock) -> None:
        self.fake = fake
        self.settings = settings
        self.clock = clock
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> App:
        polls_before = self.fake.get_updates_requests
        self.app = await create_app(self.settings, clock=self.clock, token=self.fake.token)
        self._task = asyncio.create_task(run_polling(self.app, handle_signals=False, handle_as_tasks=False))
        # started means this run has polled (start-up done), not a previous run before a restart
        await self.fake.wait_for(lambda: self.fake.get_updates_requests > polls_before)
        return self.app

    async def stop(self) -> None:
        if self.app is None or self._task is None:
            return
        with contextlib.suppress(RuntimeError):  # polling already stopped
            await self.app.dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, 15)
        self.app = None
        self._task = None

    async def restart(self) -> App:
        await self.stop()
        return await self.start()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BEFORE)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(fake: FakeTelegram | None = None, **overrides: Any) -> Settings:
        path = tmp_path / "bot.sqlite3"
        settings = Settings(
            bot_token=fake.token if fake else "123456:TEST-TOKEN",
            bot_api_base=fake.base_url if fake else "http://127.0.0.1:9",
            database=DatabaseConfig("sqlite", f"sqlite:///{path}", path),
            admin_ids=frozenset({ADMIN_ID}),
            content_dir=DATA,
            default_language="ru",
        )
        return replace(settings, **overrides)

    return build


@pytest.fixture
async def running(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock
) -> AsyncIterator[RunningBot]:
    bot = RunningBot(fake, make_settings(fake), clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
