"""Webhook mode (``voterbot run --webhook``): an aiohttp server behind a load balancer.

- ``POST <path of WEBHOOK_URL>``: updates from Telegram, through aiogram's SimpleRequestHandler;
  a wrong or missing ``X-Telegram-Bot-Api-Secret-Token`` gets 401 and the update is ignored. The
  update is handled before the response: Telegram sends a chat's next update only after the
  previous one was answered, so one user's updates stay in order whichever replica gets them, and
  an update whose replica dies mid-way is delivered again (not lost). While shutting down, updates
  get 503 so that Telegram delivers them again (to another replica).
- Telegram delivers an update again when it did not get the answer (a timeout, a lost connection):
  an update ledger (Redis with ``REDIS_URL``, shared by the replicas; else this process's memory)
  remembers the update ids handled in the last hour, so a repeated update is acknowledged and not
  handled twice; one that another replica is handling right now gets 409 (Telegram retries; not
  503, which tells the reverse proxy that this replica is going away).
- ``GET /healthz``: the process is alive. ``GET /readyz``: the database answers, its migrations are
  applied and the process is not shutting down (else 503). ``GET /metrics``: Prometheus text.

At start-up ``setWebhook`` is called only when ``getWebhookInfo`` differs, so replicas starting
together do not hit Telegram's flood limit. Telegram never reveals the secret, so the registered URL
carries a short fingerprint of it (``?s=…``, ignored by the server): a new secret changes the URL
and is registered. Shutdown never deletes the webhook; SIGTERM/SIGINT stop the process after the
updates in flight are finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import time
from collections import OrderedDict
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.app import DRAIN_SECONDS, App
from bot.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
from bot.services.desk import DeskStats
from bot.storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)
LATEST_MIGRATION = MIGRATIONS[-1][0]
Gauge = tuple[str, str, str, dict[str, str], float]


def registered_url(url: str, secret: str) -> str:
    """The URL given to setWebhook: WEBHOOK_URL plus a fingerprint of the secret."""
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:10]
    parts = urlsplit(url)
    query = f"{parts.query}&s={fingerprint}" if parts.query else f"s={fingerprint}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class Claim(Enum):
    NEW = "new"  # not seen: handle it
    DONE = "done"  # handled already: acknowledge, do not handle again
    BUSY = "busy"  # being handled now (here or by another replica): ask Telegram to retry


LEDGER_SECONDS = 3600  # how long a handled update id is remembered
CLAIM_SECONDS = 120  # a claim left by a replica that died mid-update expires after this


class MemoryLedger:
    """Update ids handled by this process (one replica, or no Redis)."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._seen: OrderedDict[int, tuple[bool, float]] = OrderedDict()  # id -> (done, expires)

    async def claim(self, update_id: int) -> Claim:
        now = time.monotonic()
        entry = self._seen.get(update_id)
        if entry is not None and entry[1] > now:
            return Claim.DONE if entry[0] else Claim.BUSY
        self._seen[update_id] = (False, now + CLAIM_SECONDS)
        self._seen.move_to_end(update_id)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return Claim.NEW

    async def done(self, update_id: int) -> None:
        self._seen[update_id] = (True, time.monotonic() + LEDGER_SECONDS)

    async def release(self, update_id: int) -> None:
        self._seen.pop(update_id, None)


class RedisLedger:
    """Update ids handled by any replica, in Redis (``SET NX`` claims with expiry)."""

    def __init__(self, redis: Any, bot_id: int) -> None:
        self.redis = redis
        self.prefix = f"voterbot:update:{bot_id}:"

    async def claim(self, update_id: int) -> Claim:
        key = self.prefix + str(update_id)
        if await self.redis.set(key, b"busy", nx=True, ex=CLAIM_SECONDS):
            return Claim.NEW
        value = await self.redis.get(key)
        if value is None:  # expired just now: try once more
            return Claim.NEW if await self.redis.set(key, b"busy", nx=True, ex=CLAIM_SECONDS) else Claim.BUSY
        return Claim.DONE if value == b"done" else Claim.BUSY

    async def done(self, update_id: int) -> None:
        await self.redis.set(self.prefix + str(update_id), b"done", ex=LEDGER_SECONDS)

    async def release(self, update_id: int) -> None:
        await self.redis.delete(self.prefix + str(update_id))


Ledger = MemoryLedger | RedisLedger


class _UpdateHandler(SimpleRequestHandler):
    """SimpleRequestHandler that counts refusals, refuses updates while shutting down, and handles
    each update once (see the update ledger) before answering the request."""

    def __init__(self, server: WebhookServer, ledger: Ledger, **kwargs: Any) -> None:
        super().__init__(handle_in_background=False, **kwargs)
        self.server = server
        self.ledger = ledger
        self.active: set[asyncio.Task[Any]] = set()  # requests being handled now

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot):
            self.server.metrics.unauthorized += 1
            log.warning("webhook request with a wrong or missing secret from %s refused", request.remote)
            return web.Response(text="Unauthorized", status=401)
        if not self.server.accepting:
            return web.Response(text="Shutting down", status=503, headers={"Retry-After": "1"})
        task = asyncio.current_task()
        assert task is not None
        self.active.add(task)
        try:
            return await super().handle(request)
        finally:
            self.active.discard(task)

    async def drain(self, seconds: float) -> bool:
        """Wait until the updates being handled are answered; False if some still are after ``seconds``."""
        tasks = set(self.active)
        if not tasks:
            return True
        log.info("finishing %d update(s) in flight", len(tasks))
        _, pending = await asyncio.wait(tasks, timeout=seconds)
        if pending:
            log.warning("%d update(s) still in flight after %.0f s", len(pending), seconds)
        return not pending

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        update = await request.json(loads=bot.session.json_loads)
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int):
            return web.Response(text="Bad Request: no update_id", status=400)
        claim = await self.ledger.claim(update_id)
        if claim is Claim.DONE:
            self.server.metrics.repeated += 1
            log.info("update %d was handled already: acknowledged again", update_id)
            return web.json_response({})
        if claim is Claim.BUSY:  # 409, not 503: the proxy must not take this replica out of rotation
            log.info("update %d is being handled elsewhere: Telegram will retry", update_id)
            return web.Response(text="Conflict: being handled", status=409, headers={"Retry-After": "1"})
        try:
            result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        except BaseException:
            await self.ledger.release(update_id)  # not handled: Telegram's retry may handle it
            raise
        await self.ledger.done(update_id)
        return web.Response(body=self._build_response_writer(bot=bot, result=result))

    async def close(self) -> None:  # the runner closes the bot session itself, after the drain
        return None


class WebhookServer:
    def __init__(self, app: App, *, url: str, secret: str, host: str, port: int) -> None:
        self.app = app
        self.url = url
        self.secret = secret
        self.host = host
        self.port = port
        self.metrics = Metrics()
        self.started = False  # services started and webhook registered
        self.shutting_down = False
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Task[None] | None = None
        app.dispatcher.update.outer_middleware(MetricsMiddleware(self.metrics))
        self.web = web.Application()
        redis = getattr(app.dispatcher.fsm.storage, "redis", None)  # with REDIS_URL
        ledger: Ledger = RedisLedger(redis, app.bot.id) if redis is not None else MemoryLedger()
        self.handler = _UpdateHandler(self, ledger, dispatcher=app.dispatcher, bot=app.bot, secret_token=secret)
        path = urlsplit(url).path or "/"
        self.web.router.add_post(path, self.handler.handle)
        self.web.router.add_get("/healthz", self.healthz)
        self.web.router.add_get("/readyz", self.readyz)
        self.web.router.add_get("/metrics", self.metrics_view)

    @property
    def bound_port(self) -> int:
        """The port actually listened on (useful with port 0)."""
        assert self._runner is not None
        for address in self._runner.addresses:
            return int(address[1])
        raise RuntimeError("not listening")

    @property
    def accepting(self) -> bool:
        return self.started and not self.shutting_down

    # --- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen (updates get 503 until ready), start the services, then register the webhook."""
        bot, dp = self.app.bot, self.app.dispatcher
        self._runner = web.AppRunner(self.web, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("webhook server listening on %s:%d", self.host, self.bound_port)
        await dp.emit_startup(bot=bot, **dp.workflow_data)  # commands, delivery engine, scheduler
        self.started = True
        await ensure_webhook(bot, registered_url(self.url, self.secret), self.secret, dp.resolve_used_update_types())
        log.info("webhook ready")

    def request_stop(self) -> asyncio.Task[None]:
        """Start shutting down at once (``/readyz`` turns 503 now); the task ends when stopped."""
        if self._stopping is None:
            self.shutting_down = True
            self._stopping = asyncio.create_task(self._shutdown(), name="webhook-shutdown")
        return self._stopping

    async def stop(self) -> None:
        await asyncio.shield(self.request_stop())

    async def _shutdown(self) -> None:
        """Refuse new updates (503: Telegram redelivers them), finish those in flight, stop the
        services, close the database and the HTTP session. The webhook stays registered."""
        try:
            await self.handler.drain(DRAIN_SECONDS)
            dp = self.app.dispatcher
            await dp.emit_shutdown(bot=self.app.bot, **dp.workflow_data)  # drains InFlight, stops services
            if self._runner is not None:
                await self._runner.cleanup()
        finally:
            await self.app.close()
            log.info("stopped")

    async def run(self, *, handle_signals: bool = True) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            await stop.wait()
            log.info("stopping: finishing updates in flight")
        finally:
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            await self.stop()

    # --- endpoints -------------------------------------------------------------------------------
    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(self, request: web.Request) -> web.Response:
        checks: dict[str, Any] = {"started": self.started, "shutting_down": self.shutting_down}
        try:
            checks["database"] = await asyncio.wait_for(self.app.storage.ping(), 5)
            version = await asyncio.wait_for(self.app.storage.schema_version(), 5)
            checks["migrations"] = version == LATEST_MIGRATION
            redis = getattr(self.app.dispatcher.fsm.storage, "redis", None)  # with REDIS_URL
            if redis is not None:
                checks["redis"] = False
                checks["redis"] = bool(await asyncio.wait_for(redis.ping(), 5))
        except Exception as error:  # any failure means "not ready", with the reason
            checks.setdefault("database", False)
            checks["migrations"] = False
            checks["error"] = type(error).__name__
        ready = bool(checks["database"] and checks["migrations"] and checks.get("redis", True) and self.accepting)
        return web.json_response({"ready": ready, **checks}, status=200 if ready else 503)

    async def metrics_view(self, request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(await self._gauges()), headers={"Content-Type": CONTENT_TYPE})

    async def _gauges(self) -> list[Gauge]:
        gauges: list[Gauge] = [
            ("voterbot_updates_in_flight", "gauge", "Updates being handled now.", {}, self.app.in_flight.in_flight)
        ]
        dp = self.app.dispatcher
        delivery = dp.workflow_data.get("delivery")
        if delivery is not None:
            gauges.append(
                (
                    "voterbot_telegram_429_pauses_total",
                    "counter",
                    "Times a 429 from Telegram paused all sending.",
                    {},
                    delivery.gate.pauses,
                )
            )
        with contextlib.suppress(Exception):  # a database outage must not break /metrics
            queued = 0
            totals = {"sent": 0, "blocked": 0, "failed": 0}
            for record in await self.app.storage.recent_broadcasts(100):
                counts = await self.app.storage.delivery_counts(record.id)
                totals["sent"] += counts.sent
                totals["blocked"] += counts.blocked
                totals["failed"] += counts.failed
                if record.status in ("scheduled", "running"):
                    queued += counts.pending
            for status, value in totals.items():
                gauges.append(
                    (
                        "voterbot_deliveries",
                        "gauge",
                        "Delivery rows of the last 100 broadcasts, by status (all replicas).",
                        {"status": status},
                        value,
                    )
                )
            gauges.append(
                (
                    "voterbot_broadcast_queue_depth",
                    "gauge",
                    "Deliveries still pending in scheduled and running broadcasts.",
                    {},
                    queued,
                )
            )
        desk = dp.workflow_data.get("desk")
        if desk is not None and desk.enabled:
            with contextlib.suppress(Exception):  # a database outage must not break /metrics
                gauges += desk_gauges(await desk.stats())
        leadership = dp.workflow_data.get("leadership")
        if leadership is not None:
            gauges.append(
                (
                    "voterbot_leader",
                    "gauge",
                    "1 when this replica holds the leader lease (runs the scheduler and the delivery engine).",
                    {},
                    1.0 if leadership.leading else 0.0,
                )
            )
        scheduler = dp.workflow_data.get("scheduler")
        if scheduler is not None:
            due = [moment for moment in scheduler.jobs().values() if moment is not None]
            lag = max(0.0, (datetime.now(UTC) - min(due)).total_seconds()) if due else 0.0
            gauges.append(
                (
                    "voterbot_scheduler_lag_seconds",
                    "gauge",
                    "How late the most overdue scheduler job is (0 when none is overdue).",
                    {},
                    lag,
                )
            )
        return gauges


def desk_gauges(stats: DeskStats) -> list[Gauge]:
    """The operators' desk: tickets open and closed (all replicas), median wait for a first reply."""
    return [
        ("voterbot_desk_tickets", "gauge", "Operators' desk tickets, by status.", {"status": "open"}, stats.open),
        ("voterbot_desk_tickets", "gauge", "Operators' desk tickets, by status.", {"status": "closed"}, stats.closed),
        (
            "voterbot_desk_first_reply_median_seconds",
            "gauge",
            "Median time from a ticket's opening to the operators' first reply (tickets of the last 30 days).",
            {},
            stats.median_first_reply if stats.median_first_reply is not None else 0.0,
        ),
    ]


async def ensure_webhook(bot: Bot, url: str, secret: str, allowed_updates: list[str]) -> bool:
    """``setWebhook`` only when Telegram's webhook differs; True when it was called."""
    info = await bot.get_webhook_info()
    same_updates = info.allowed_updates is None or sorted(info.allowed_updates) == sorted(allowed_updates)
    if info.url == url and same_updates:
        log.info("webhook already set")
        return False
    await bot.set_webhook(url, secret_token=secret, allowed_updates=allowed_updates, drop_pending_updates=False)
    log.info("webhook set")
    return True


async def run_webhook(app: App, *, handle_signals: bool = True) -> None:
    url, secret = app.settings.require_webhook()
    host, port = app.settings.webhook_listen
    server = WebhookServer(app, url=url, secret=secret, host=host, port=port)
    await server.run(handle_signals=handle_signals)
