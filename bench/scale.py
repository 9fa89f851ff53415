"""Deliveries at scale (issue 27): one broadcast to 10,000 and 100,000 subscribers on SQLite, the
fake Bot API in its own process allowing paid broadcasts at 1,000/s; and the engine's own capacity
(a sender that answers at once, no HTTP and no pacing) at 10,000, 100,000 and 1,000,000.

For each: time to enqueue (the broadcast row and one pending delivery row per recipient, in one
transaction), messages per second from the first send to the last, the bot process's resident
memory growth during the broadcast (sampled every 0.2 s, from just before the enqueue), and the
database's growth per delivery row.

Run alone: ``.venv/bin/python -m bench scale`` (writes bench/RESULTS.md) or
``.venv/bin/python -m bench.scale [--quick] [--no-million] [--million-fake]``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.delivery import _FAKE_PROCESS, ROOT, TEXT, _database, fake_stats
from bot.app import create_app
from bot.clock import SystemClock
from bot.config import Settings
from bot.devtools.fake_api import FakeTelegram
from bot.services.delivery import SENT, DeliveryEngine, MessageSender, SendOutcome
from bot.storage.base import BroadcastMessage
from bot.storage.broadcasts import ALL_SUBSCRIBERS
from bot.storage.sql import SqlStorage

FIRST_ID = 1_000_000
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE


@contextlib.asynccontextmanager
async def _rss_peak() -> AsyncIterator[dict[str, int]]:
    """``{"before": …, "peak": …}`` in bytes: the resident set sampled every 0.2 s meanwhile."""
    seen = {"before": _rss(), "peak": _rss()}

    async def sample() -> None:
        while True:
            seen["peak"] = max(seen["peak"], _rss())
            await asyncio.sleep(0.2)

    task = asyncio.create_task(sample())
    try:
        yield seen
    finally:
        task.cancel()
        seen["peak"] = max(seen["peak"], _rss())


def _rows(count: int) -> Iterator[tuple[int, int]]:
    return ((FIRST_ID + i, 0) for i in range(count))


async def _seed(path: Path, count: int) -> None:
    """``count`` English subscribers, written straight into the migrated database (no Python list)."""
    storage = SqlStorage(_database(path))
    await storage.connect()  # migrates
    await storage.close()
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO users (id, telegram_language, first_seen, last_seen, blocked) VALUES (?, 'en', ?, 0, 0)",
            _rows(count),
        )
        connection.executemany(
            "INSERT INTO subscriptions (user_id, language, subscribed_at) VALUES (?, 'en', ?)", _rows(count)
        )
    connection.close()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # with the WAL


async def _measure(engine: DeliveryEngine, storage: SqlStorage, path: Path | None, count: int) -> dict[str, Any]:
    """``path``: the SQLite file; None for PostgreSQL (its size is asked of the server)."""

    async def size() -> int:
        return _size(path) if path is not None else await _pg_size(storage)

    before_size = await size()
    async with _rss_peak() as memory:
        started = time.monotonic()
        record = await engine.create_broadcast(TEXT, ALL_SUBSCRIBERS)
        enqueued = time.monotonic() - started
        queued_size = await size()
        await engine.start()
        final = await engine.wait_finished(record.id, timeout=7200)
        elapsed = time.monotonic() - started - enqueued
    counts = await storage.delivery_counts(final.id)
    if counts.sent != count:  # a figure for a broadcast that did not happen would mislead
        raise RuntimeError(f"{counts.sent} of {count} sent")
    return {
        "subscribers": count,
        "enqueue": enqueued,
        "elapsed": elapsed,
        "rate": count / elapsed,
        "rss_mb": (memory["peak"] - memory["before"]) / 2**20,
        "bytes_per_delivery": (queued_size - before_size) / count,
    }


async def with_fake_api(count: int) -> dict[str, Any]:
    """A paid broadcast through aiogram and HTTP to the fake Bot API in its own process (1,000/s)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FAKE_PROCESS, str(FIRST_ID), str(count), "30",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None and process.stdin is not None
    base_url = (await process.stdout.readline()).decode().strip()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.sqlite3"
        await _seed(path, count)
        settings = Settings(
            bot_token=FakeTelegram().token,
            bot_api_base=base_url,
            database=_database(path),
            content_dir=ROOT / "data",
            default_language="en",
            broadcast_paid=True,
            broadcast_rate=1000.0,
        )
        app = await create_app(settings, clock=SystemClock())
        engine = app.dispatcher["delivery"]
        assert isinstance(engine, DeliveryEngine) and isinstance(app.storage, SqlStorage)
        try:
            result = await _measure(engine, app.storage, path, count)
        finally:
            await engine.stop()
            await app.close()
    stats = await fake_stats(process)
    return result | {"fake_rate": stats["rate"], "r429": stats["r429"]}


async def _pg_size(storage: SqlStorage) -> int:
    """The database's size on the server (tables, indexes and their free space)."""
    from sqlalchemy import text

    def read(connection: Any) -> int:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())

    return int(await storage.run_sync(read))


async def _seed_pg(url: str, count: int) -> SqlStorage:
    """``count`` English subscribers in a migrated PostgreSQL database (one INSERT … SELECT each)."""
    from sqlalchemy import text

    from bot.config import parse_database_url

    storage = SqlStorage(parse_database_url(url))
    await storage.connect()  # migrates

    def seed(connection: Any) -> None:
        connection.execute(
            text(
                "INSERT INTO users (id, telegram_language, first_seen, last_seen, blocked) "
                "SELECT g, 'en', 0, 0, 0 FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS g"
            ),
            {"a": FIRST_ID, "b": FIRST_ID + count - 1},
        )
        connection.execute(
            text(
                "INSERT INTO subscriptions (user_id, language, subscribed_at) "
                "SELECT g, 'en', 0 FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS g"
            ),
            {"a": FIRST_ID, "b": FIRST_ID + count - 1},
        )

    await storage.run_sync(seed, transaction=True)
    return storage


async def engine_alone_pg(count: int) -> dict[str, Any] | None:
    """The engine alone on a throwaway PostgreSQL cluster (Debian's binaries; None without them)."""
    from tests.support.services import PgCluster, pg_bindir

    bindir = pg_bindir()
    if bindir is None:  # no PostgreSQL on this machine: the row is left out
        return None
    cluster = PgCluster(bindir)
    cluster.start()
    try:
        database = cluster.create_database()
        storage = await _seed_pg(cluster.url(database), count)
        engine = DeliveryEngine(_Instant(), storage, SystemClock(), rate=1_000_000.0, chat_pacing=False)
        try:
            return await _measure(engine, storage, None, count)
        finally:
            await engine.stop()
            await storage.close()
    finally:
        cluster.stop()


class _Instant:
    """A sender that answers at once: the engine and SQLite alone."""

    def prepare(self, message: BroadcastMessage, *, paid: bool) -> MessageSender:
        return self

    async def send(self, chat_id: int) -> SendOutcome:
        return SENT


async def engine_alone(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.sqlite3"
        await _seed(path, count)
        storage = SqlStorage(_database(path))
        await storage.connect()
        engine = DeliveryEngine(_Instant(), storage, SystemClock(), rate=1_000_000.0, chat_pacing=False)
        try:
            return await _measure(engine, storage, path, count)
        finally:
            await engine.stop()
            await storage.close()


def _row(label: str, r: dict[str, Any], extra: str = "") -> str:
    return (
        f"| {label} | {r['subscribers']:,} | {r['enqueue']:.2f} s | {r['rate']:,.0f}/s | {r['elapsed']:.0f} s | "
        f"+{r['rss_mb']:.0f} MiB | {r['bytes_per_delivery']:.0f} B |{extra}"
    )


async def run_async(
    report: list[str], *, quick: bool = False, million: bool = True, million_fake: bool = False
) -> None:
    """``million``: the engine alone at 1,000,000 too (under a minute); ``million_fake``: also
    1,000,000 through the fake Bot API (about 20 minutes at 1,000/s, so not in ``make bench``)."""
    load = os.getloadavg()[0]
    report.append("## Deliveries at scale")
    report.append("")
    report.append(
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (load average {load:.2f} at the start; the machine is "
        "shared, so rates are lower bounds), SQLite, one broadcast to all subscribers (`bench/scale.py`). "
        "Enqueue: the broadcast row and one pending delivery row per recipient in one transaction. Rate: "
        "messages per second over the whole send. Memory: growth of the bot process's resident set from "
        "just before the enqueue to the highest sample. Storage: database growth per delivery row."
    )
    report.append("")
    report.append("| sender | subscribers | enqueue | rate | send time | memory growth | storage per delivery |")
    report.append("|---|---|---|---|---|---|---|")
    sizes = (2_000, 10_000) if quick else (10_000, 100_000)
    for count in [*sizes, *([1_000_000] if million_fake else [])]:
        r = await with_fake_api(count)
        report.append(_row(f"fake Bot API, own process, paid 1,000/s (fake measured {r['fake_rate']:,.0f}/s)", r))
    alone = [*sizes, *([1_000_000] if million and not quick else [])]
    for count in alone:
        report.append(_row("engine + SQLite alone (instant sender, no pacing)", await engine_alone(count)))
    for count in alone:
        pg = await engine_alone_pg(count)
        if pg is not None:  # storage per delivery: the database's growth on the server (tables and indexes)
            report.append(_row("engine + PostgreSQL alone (instant sender, no pacing)", pg))
    report.append("")


def run(report: list[str]) -> None:
    asyncio.run(run_async(report))


if __name__ == "__main__":
    lines: list[str] = []
    asyncio.run(
        run_async(
            lines,
            quick="--quick" in sys.argv,
            million="--no-million" not in sys.argv,
            million_fake="--million-fake" in sys.argv,
        )
    )
    print("\n".join(lines))
