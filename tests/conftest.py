"""The harness: the real bot (create_app + long polling) against the fake Bot API on 127.0.0.1.

Updates are handled one at a time (``handle_as_tasks=False``), so the fake server knows an update
is fully handled when the bot asks for the next ones; tests await that, never sleep."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import DatabaseConfig, Settings, parse_database_url
from bot.devtools.fake_api import FakeGroup, FakeTelegram
from tests.support.services import PG_MISSING, REDIS_MISSING, PgCluster, RedisServer, pg_bindir

if TYPE_CHECKING:  # imported where used: with xdist the controller process loads this file too,
    # and would otherwise spend 5 s of CPU importing aiogram before it starts the workers
    from bot.app import App
    from bot.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# The engine's tests run on frozen fixture campaigns, never on data/ (what editors change: checked by
# `voterbot check` and tests/test_content.py): the 2026 Almaty referendum as shipped in December 2026,
# and Fictopolis, a second campaign in another zone with other facts.
DATA = FIXTURES / "almaty-2026"
CAMPAIGN_B = FIXTURES / "campaign-b"
# data/ itself: read only by the content tests (tests/test_content.py) and the FAQ evaluation, which
# measures the shipped content on purpose; tests/test_content.py guards that no other test does.
SHIPPED = ROOT / "data"
ALMATY = ZoneInfo("Asia/Almaty")
ADMIN_ID = 900001

BEFORE = datetime(2026, 3, 12, 12, 0, tzinfo=ALMATY)  # three days before voting day
VOTING_OPEN = datetime(2026, 3, 15, 10, 0, tzinfo=ALMATY)
AFTER = datetime(2026, 11, 24, 12, 0, tzinfo=ALMATY)


def sqlite_database(path: Path) -> DatabaseConfig:
    """The settings of DATABASE_URL=sqlite:///<path> (an absolute path: four slashes)."""
    return parse_database_url(f"sqlite:///{path}")


def almaty(*args: int) -> datetime:
    return datetime(*args, tzinfo=ALMATY)  # type: ignore[misc, arg-type]


def no_errors(fake: FakeTelegram) -> None:
    """The bot made no call Telegram refused and left no button press unanswered."""
    assert fake.errors() == [], [(c.method, c.description) for c in fake.errors()]
    assert fake.unanswered_callback_queries() == []
    assert fake.spec_violations == [], fake.spec_violations[:10]  # the fake answered as Telegram would


class RunningBot:
    """The real application, started and stopped (and restarted on the same database) by tests."""

    def __init__(
        self, fake: FakeTelegram, settings: Settings, clock: ManualClock, *, handle_as_tasks: bool = False
    ) -> None:
        self.fake = fake
        self.settings = settings
        self.clock = clock
        self.handle_as_tasks = handle_as_tasks  # True: as in production (then await conditions, not exchanges)
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> App:
        from bot.app import create_app
        from bot.runners.polling import run_polling

        polls_before = self.fake.get_updates_requests
        self.app = await create_app(self.settings, clock=self.clock, token=self.fake.token)
        self._task = asyncio.create_task(
            run_polling(self.app, handle_signals=False, handle_as_tasks=self.handle_as_tasks)
        )
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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip(f"{PG_MISSING}: PostgreSQL tests skipped")
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The storage tests run on both backends (PostgreSQL skipped, with the reason, when missing)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storage.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    from bot.storage import open_storage

    store = open_storage(parse_database_url(database_url))
    await store.connect()
    try:
        yield store
    finally:
        await store.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module marked ``both_backends`` runs each test that uses the database twice, on SQLite and on
    PostgreSQL, in the same session (and the same xdist workers) as the rest: the end-to-end checks
    whose behaviour depends on the backend. Tests that never open the database run once."""
    if metafunc.definition.get_closest_marker("both_backends") and "test_database" in metafunc.fixturenames:
        metafunc.parametrize("test_database", ["sqlite", "postgresql"], indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow process tests first (a stable sort): with xdist their waits overlap the fast tests
    instead of leaving one worker busy at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _migrate(url: str) -> None:
    """Alembic's upgrade to head, as at the bot's start (in a thread of its own: a test's event loop
    may be set up already in this one)."""

    from bot.storage import open_storage

    async def migrate() -> None:
        store = open_storage(parse_database_url(url))
        await store.connect()
        await store.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, migrate()).result()


# --- the end-to-end tests' database: a copy of one migrated by the bot's own start-up code ----------
# Running Alembic costs each start on an empty database ~30 ms of CPU and ~50 ms of disk; hundreds of
# end-to-end tests start on a copy of a database migrated once per session (per xdist worker) instead.
# Migrating an empty or old database is tested on its own (tests/test_migrations.py, the storage
# tests on `database_url`/`postgres_url`, which stay empty, and the process tests of test_exits.py).


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "bot.sqlite3"
    _migrate(f"sqlite:///{path}")
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file itself
    return path


@pytest.fixture(scope="session")
def migrated_postgres(pg_cluster: PgCluster) -> str:
    """A database of the session's cluster migrated to head, the template of ``test_database``'s."""
    name = pg_cluster.create_database()
    _migrate(pg_cluster.url(name))
    return name


@pytest.fixture
def test_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseConfig]:
    """The end-to-end tests' database: SQLite, or PostgreSQL for the ``postgresql`` half of a
    ``both_backends`` module or with VOTERBOT_TEST_DATABASE=postgresql (every end-to-end test).
    Either is a fresh copy of a migrated database (``migrated_sqlite``, ``migrated_postgres``)."""
    backend = getattr(request, "param", None) or os.environ.get("VOTERBOT_TEST_DATABASE", "sqlite")
    if backend == "postgresql":
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        template: str = request.getfixturevalue("migrated_postgres")
        name = f"{template}_{next(_copies)}"
        createdb = [str(cluster.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
        subprocess.run([*createdb, "-T", template, name], check=True, capture_output=True, timeout=60)
        try:
            yield DatabaseConfig("postgresql", cluster.url(name))
        finally:
            cluster.drop_database(name)
        return
    path = tmp_path / "bot.sqlite3"
    shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
    yield DatabaseConfig("sqlite", f"sqlite:///{path}", path)


_copies = itertools.count(1)


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
            # The harness's residents act at machine speed (a dozen messages in a second): the per-chat
            # pace and flood budget are tested on their own (tests/test_pacing.py, chat_pacing=True).
            chat_pacing=False,
        )
        return settings.replace(**overrides)

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


# --- the operators' desk: its forum and a bot that uses it (test_desk, test_desk_attacks) ------------
OPS = -1001234567890  # the operators' forum supergroup


@pytest.fixture
def forum(fake: FakeTelegram) -> FakeGroup:
    return fake.forum(OPS, "Operators")


@pytest.fixture
async def desk_bot(
    fake: FakeTelegram, forum: FakeGroup, make_settings: Callable[..., Settings], clock: ManualClock
) -> AsyncIterator[RunningBot]:
    # the operators read the bot's default language; the residents, their own
    bot = RunningBot(fake, make_settings(fake, operators_chat_id=OPS, default_language="en"), clock)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


# --- Redis: a throwaway redis-server for the session -----------------------------------------------
@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"{REDIS_MISSING}: Redis tests skipped")
    server = RedisServer(binary)
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    from redis.asyncio import Redis

    yield redis_server
    client = Redis.from_url(redis_server)
    await client.flushdb()
    await client.aclose()
