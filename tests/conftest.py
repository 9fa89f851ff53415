"""The harness: the real bot (create_app + long polling) against the fake Bot API on 127.0.0.1.

Updates are handled one at a time (``handle_as_tasks=False``), so the fake server knows an update
is fully handled when the bot asks for the next ones; tests await that, never sleep."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

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


def no_errors(fake: FakeTelegram) -> None:
    """The bot made no call Telegram refused and left no button press unanswered."""
    assert fake.errors() == [], [(c.method, c.description) for c in fake.errors()]
    assert fake.unanswered_callback_queries() == []


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


# --- PostgreSQL: a throwaway cluster (Debian's binaries) on 127.0.0.1, one per session ----------------
# Tests asking for `postgres_url` get a fresh database in it; they are skipped, with the reason, when
# PostgreSQL is not installed. VOTERBOT_TEST_DATABASE=postgresql runs the end-to-end tests on it too.
PG_MISSING = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): PostgreSQL tests skipped"


class PgCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="voterbot-pg-"))
        self.data = self.root / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
            shutil.chown(self.root, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l", f"{self.root}/log", "start"
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        self._run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return name

    def drop_database(self, name: str) -> None:
        self._run(
            str(self.bindir / "dropdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "--force", name
        )


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip(PG_MISSING)
    cluster = PgCluster(bindir)
    try:
        cluster.start()
    except subprocess.CalledProcessError as error:
        cluster.stop()
        pytest.fail(f"could not start PostgreSQL: {error.stderr.decode(errors='replace')}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database in the session's cluster."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def test_database(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseConfig:
    """The end-to-end tests' database: SQLite, or PostgreSQL with VOTERBOT_TEST_DATABASE=postgresql."""
    if os.environ.get("VOTERBOT_TEST_DATABASE", "sqlite") == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return DatabaseConfig("postgresql", url)
    path = tmp_path / "bot.sqlite3"
    return DatabaseConfig("sqlite", f"sqlite:///{path}", path)


@pytest.fixture
def make_settings(tmp_path: Path, test_database: DatabaseConfig) -> Callable[..., Settings]:
    def build(fake: FakeTelegram | None = None, **overrides: Any) -> Settings:
        settings = Settings(
            bot_token=fake.token if fake else "123456:TEST-TOKEN",
            bot_api_base=fake.base_url if fake else "http://127.0.0.1:9",
            database=test_database,
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


# --- Redis: a throwaway redis-server for the session -----------------------------------------------
REDIS_MISSING = "redis-server is not installed (Debian's redis-server package): Redis tests skipped"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(REDIS_MISSING)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    directory = tempfile.mkdtemp(prefix="voterbot-redis-")
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", directory],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # a process-level event: the server accepts connections
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("could not start redis-server")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    yield redis_server
    client = Redis.from_url(redis_server)
    await client.flushdb()
    await client.aclose()
