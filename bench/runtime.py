"""Production runtime benchmark: updates per second and reply latency for free-text questions.

A closed-loop load generator on loopback: ``CHATS`` residents write at once, each sending its next
question as soon as the bot has answered the previous one (questions from tests/eval, in the
chat's language). The fake Bot API runs in this process; the bot runs as real ``voterbot run``
processes:

- long polling on SQLite (the default of ``make run``), one process;
- webhook mode on PostgreSQL and Redis, one, two and three replicas, the fake delivering each update to the
  replicas in turn like Telegram behind a load balancer (a chat's next update after the previous
  answer, ``max_connections`` chats at once), see ``bot.devtools.fake_webhook``;
- webhook mode on SQLite, one replica (to separate the cost of the webhook from PostgreSQL's).

Latency is from the moment a question is handed to the fake Bot API to the moment the bot's answer
reaches it. Replies are paced by the bot's shared send gate at BROADCAST_RATE: the bot runs with
BROADCAST_PAID=true and BROADCAST_RATE=1000 so that the pacing does not cap the figures.

Run alone: ``.venv/bin/python -m bench runtime`` (or ``-m bench.runtime [--quick]``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from redis.asyncio import Redis

from bot.devtools.fake_api import FakeTelegram, FakeUser
from bot.devtools.fake_webhook import WebhookDelivery
from tests.support.services import PgCluster, RedisServer, free_port, pg_bindir

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "eval" / "dev" / "legacy.yaml"  # the questions of earlier runs, for comparison
CHATS = 32
QUESTIONS = 40  # per chat, after one warm-up question
IDLE_QUESTIONS = 30  # asked by a single resident first: the latency without queueing
SECRET = "bench-Webhook_secret-0123456789"
URL = "https://bot.example.org/tg/webhook"


def _questions() -> dict[str, list[str]]:
    by_lang: dict[str, list[str]] = {"kk": [], "ru": [], "en": []}
    for item in yaml.safe_load(EVAL.read_text(encoding="utf-8")):
        by_lang[item["lang"]].append(item["q"])
    return by_lang


def _env(**values: str) -> dict[str, str]:
    prefixes = ("BOT_", "DATABASE_", "ADMIN_", "WEBHOOK_", "CONTENT_", "REDIS_", "BROADCAST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(values)
    return env


class Process:
    def __init__(self, process: asyncio.subprocess.Process, log: Path, port: int | None) -> None:
        self.process = process
        self.log = log
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg/webhook"

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def _start_bot(fake: FakeTelegram, workdir: Path, name: str, *, webhook: bool, **env: str) -> Process:
    port = free_port() if webhook else None
    log = workdir / f"{name}.log"
    extra = {"WEBHOOK_URL": URL, "WEBHOOK_SECRET": SECRET, "WEBHOOK_LISTEN": f"127.0.0.1:{port}"} if webhook else {}
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", *(["--webhook"] if webhook else []), cwd=ROOT,
            env=_env(
                BOT_TOKEN=fake.token, BOT_API_BASE=fake.base_url, LOG_LEVEL="WARNING",
                BROADCAST_PAID="true", BROADCAST_RATE="1000", CHAT_PACING="false", **extra, **env,
            ),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    bot = Process(process, log, port)
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while True:  # ready: polling Telegram, or answering /readyz
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start: {log.read_text(errors='replace')[-2000:]}")
            if webhook:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            return bot
                except aiohttp.ClientError:
                    pass
            elif fake.get_updates_requests > 0:
                return bot
            await asyncio.sleep(0.05)


async def _chat(fake: FakeTelegram, user: FakeUser, questions: list[str], latencies: list[float] | None) -> None:
    """One resident: each question after the previous answer; the latency of each answer."""
    chat_id = user.chat_id
    for question in questions:
        expected = len(fake.bot_messages(chat_id)) + 1
        started = time.perf_counter()
        sending = asyncio.create_task(user.send(question, timeout=300))
        await fake.wait_for(lambda: len(fake.bot_messages(chat_id)) >= expected, timeout=300)  # noqa: B023
        if latencies is not None:
            latencies.append(time.perf_counter() - started)
        await sending


async def _load(
    fake: FakeTelegram, questions: dict[str, list[str]], chats: int, per_chat: int, first_id: int = 800_000
) -> dict[str, Any]:
    langs = ["kk", "ru", "en"]
    users = [fake.user(first_id + i, language_code=langs[i % 3]).open_chat() for i in range(chats)]

    def pick(i: int, n: int, offset: int) -> list[str]:
        pool = questions[langs[i % 3]]
        return [pool[(offset + i * 7 + k) % len(pool)] for k in range(n)]

    await asyncio.gather(*(_chat(fake, u, pick(i, 1, 0), None) for i, u in enumerate(users)))  # warm-up
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_chat(fake, u, pick(i, per_chat, 1), latencies) for i, u in enumerate(users)))
    elapsed = time.perf_counter() - started
    replies = sum(len(fake.bot_messages(u.chat_id)) for u in users)
    latencies.sort()
    return {
        "updates": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "replies_per_question": replies / (chats * (per_chat + 1)),
        "errors": len(fake.errors()),
    }


Scenario = Callable[[FakeTelegram, Path], Awaitable[list[Process]]]


async def _run_scenario(
    start: Scenario, *, webhook: bool, chats: int, per_chat: int, questions: dict[str, list[str]]
) -> dict[str, Any]:
    fake = FakeTelegram()
    await fake.start()
    workdir = Path(tempfile.mkdtemp(prefix="voterbot-bench-"))
    bots: list[Process] = []
    balancer: WebhookDelivery | None = None
    try:
        bots = await start(fake, workdir)
        if webhook:
            balancer = WebhookDelivery(fake, [b.url for b in bots], max_connections=40)
            await balancer.start()
        alone = await _load(fake, questions, 1, IDLE_QUESTIONS, first_id=700_000)  # one resident: no queueing
        loaded = await _load(fake, questions, chats, per_chat)
        return {**loaded, "idle_p50": alone["p50"], "idle_p99": alone["p99"]}
    except BaseException:
        for bot in bots:
            print(f"--- {bot.log.name}:\n{bot.log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        print(f"--- API calls: {[c.method for c in fake.calls][-30:]}", file=sys.stderr)
        raise
    finally:
        if balancer is not None:
            await balancer.stop()
        for bot in bots:
            await bot.stop()
        await fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def _bench(report: list[str], chats: int, per_chat: int) -> None:
    questions = _questions()
    rows: list[tuple[str, str, int, dict[str, Any] | str]] = []

    async def polling_sqlite(fake: FakeTelegram, workdir: Path) -> list[Process]:
        url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        return [await _start_bot(fake, workdir, "polling", webhook=False, DATABASE_URL=url)]

    async def webhook_sqlite(fake: FakeTelegram, workdir: Path) -> list[Process]:
        url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        return [await _start_bot(fake, workdir, "webhook", webhook=True, DATABASE_URL=url)]

    load: dict[str, Any] = {"chats": chats, "per_chat": per_chat, "questions": questions}
    rows.append(("long polling", "SQLite", 1, await _run_scenario(polling_sqlite, webhook=False, **load)))
    rows.append(("webhook", "SQLite", 1, await _run_scenario(webhook_sqlite, webhook=True, **load)))

    bindir, redis_binary = pg_bindir(), shutil.which("redis-server")
    if bindir is None or redis_binary is None:
        missing = "PostgreSQL" if bindir is None else "redis-server"
        rows.append(("webhook", "PostgreSQL + Redis", 1, f"not measured: {missing} is not installed"))
    else:
        cluster, redis = PgCluster(bindir), RedisServer(redis_binary)
        cluster.start()
        redis.start()
        try:
            for replicas in (1, 2, 3):
                database = cluster.create_database()
                client = Redis.from_url(redis.url)  # a new fake Bot API numbers its updates from 1 again:
                await client.flushdb()  # forget the update ids the last run's replicas handled
                await client.aclose()

                async def webhook_pg(
                    fake: FakeTelegram, workdir: Path, n: int = replicas, db: str = database
                ) -> list[Process]:
                    env = {"DATABASE_URL": cluster.url(db), "REDIS_URL": redis.url}
                    first = await _start_bot(fake, workdir, "replica-1", webhook=True, **env)  # migrates
                    others = [
                        await _start_bot(fake, workdir, f"replica-{i}", webhook=True, **env) for i in range(2, n + 1)
                    ]
                    return [first, *others]

                rows.append(
                    ("webhook", "PostgreSQL + Redis", replicas, await _run_scenario(webhook_pg, webhook=True, **load))
                )
                cluster.drop_database(database)
        finally:
            redis.stop()
            cluster.stop()

    report.append("## Production runtime\n")
    report.append(
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on the same machine. {chats} residents write at once, each "
        f"asking {per_chat} free-text questions (tests/eval, in their language), the next one as soon as the "
        "answer arrives. Load generator and fake Bot API in one process, the bot as real `voterbot run` "
        "processes; all of it, PostgreSQL and Redis share the machine's cores. Latency: question handed to "
        f"the fake Bot API → answer received by it; with {chats} residents it is mostly queueing "
        f"(about {chats} ÷ updates/s), so it is also given for one resident writing alone.\n"
    )
    report.append(
        "| runtime | database | replicas | questions | updates/s | p50 | p99 | one resident alone: p50 | p99 |"
    )
    report.append("|---|---|---|---|---|---|---|---|---|")
    for runtime, database, replicas, result in rows:
        if isinstance(result, str):
            report.append(f"| {runtime} | {database} | {replicas} | – | {result} | | | | |")
            continue
        report.append(
            f"| {runtime} | {database} | {replicas} | {result['updates']} | {result['rate']:,.0f} | "
            f"{result['p50']:.1f} ms | {result['p99']:.1f} ms | {result['idle_p50']:.1f} ms | "
            f"{result['idle_p99']:.1f} ms |"
        )
        if result["errors"] or abs(result["replies_per_question"] - 1) > 1e-9:
            problems = f"{result['errors']} refused call(s), {result['replies_per_question']:.2f} answers per question"
            report.append(f"| ⚠ | {problems} | | | | | | | |")
    report.append("")


def run(report: list[str]) -> None:
    quick = "--quick" in sys.argv
    asyncio.run(_bench(report, CHATS, 10 if quick else QUESTIONS))


if __name__ == "__main__":
    lines: list[str] = []
    run(lines)
    print("\n".join(lines))
