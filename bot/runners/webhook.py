"""Webhook mode (``voterbot run --webhook``): an aiohttp server behind a load balancer.

- ``POST <path of WEBHOOK_URL>``: updates from Telegram, through aiogram's SimpleRequestHandler;
  a wrong or missing ``X-Telegram-Bot-Api-Secret-Token`` gets 401 and the update is ignored. The
  update is answered at once and handled in the background; while shutting down, updates get 503
  so that Telegram delivers them again (to another replica).
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
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiogram import Bot
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.app import DRAIN_SECONDS, App
from bot.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
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


class _UpdateHandler(SimpleRequestHandler):
    """SimpleRequestHandler that counts refusals, refuses updates while shutting down, and can wait
    for the updates it started in the background (aiogram does not wait for them at shutdown)."""

    def __init__(self, server: WebhookServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = server

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot):
            self.server.metrics.unauthorized += 1
            log.warning("webhook request with a wrong or missing secret from %s refused", request.remote)
            return web.Response(text="Unauthorized", status=401)
        if not self.server.accepting:
            return web.Response(text="Shutting down", status=503, headers={"Retry-After": "1"})
        return await super().handle(request)

    async def drain(self, seconds: float) -> bool:
        tasks = set(self._background_feed_update_tasks)
        if not tasks:
            return True
        log.info("finishing %d update(s) in flight", len(tasks))
        _, pending = await asyncio.wait(tasks, timeout=seconds)
        if pending:
            log.warning("%d update(s) still in flight after %.0f s", len(pending), seconds)
        return not pending

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
        self.handler = _UpdateHandler(self, dispatcher=app.dispatcher, bot=app.bot, secret_token=secret)
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
