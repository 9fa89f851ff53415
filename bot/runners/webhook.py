"""Webhook mode (``voterbot run --webhook``): an aiohttp server behind a load balancer.

- ``POST <path of WEBHOOK_URL>``: updates from Telegram (:mod:`bot.runners.webhook_updates`, on
  aiogram's public ``Dispatcher.feed_webhook_update``): the secret is checked, bad requests are
  refused cheaply, each update is handled once (:mod:`bot.runners.update_ledger`) and before the
  answer. While shutting down, updates get 503 so that Telegram delivers them again (to another
  replica).
- ``GET /healthz``, ``GET /readyz``, ``GET /metrics``: :mod:`bot.runners.webhook_endpoints`;
  ``/metrics`` alone on ``METRICS_LISTEN`` when set (with the health endpoints).
- Connections: a deadline for the headers and a cap on open connections
  (:mod:`bot.runners.http_guard`). Every refusal is counted (``voterbot_webhook_refused_total``)
  and logged at most once a minute, as a summary; so is a request aiohttp cannot parse
  (``bad-request``: no traceback, nothing the client sent).

At start-up ``setWebhook`` is called only when ``getWebhookInfo`` differs, so replicas starting
together do not hit Telegram's flood limit. Telegram never reveals the secret, so the registered URL
carries a short fingerprint of it (``?s=…``, ignored by the server): a new secret changes the URL
and is registered. Shutdown never deletes the webhook; SIGTERM/SIGINT stop the process after the
updates in flight are finished.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiogram import Bot
from aiohttp import web

from bot.app import DRAIN_SECONDS, App
from bot.config import ConfigError
from bot.metrics import Metrics, MetricsMiddleware
from bot.runners.http_guard import ConnectionGuard, ParserErrorLog
from bot.runners.update_ledger import Ledger, MemoryLedger, RedisLedger
from bot.runners.webhook_endpoints import HealthEndpoints, MetricsEndpoint
from bot.runners.webhook_updates import UpdateEndpoint

log = logging.getLogger(__name__)
HEADER_TIMEOUT = 10.0  # seconds for a request's headers (then the connection is closed)
BODY_TIMEOUT = 10.0  # seconds for its body (then 408)
MAX_BODY = 1024 * 1024  # bytes; Telegram's updates are a few kilobytes (then 413)
# After a 408 or 413 the connection is closed once the client has had this long to take the answer
# (aiohttp's default lingers 10 s reading the unread body: a stalled body would hold its slot twice as long)
LINGER_SECONDS = 1.0
MAX_CONNECTIONS = 256  # open at once; Telegram uses at most 100 (setWebhook max_connections)
BACKLOG = 128
REFUSAL_LOG_SECONDS = 60.0  # refused requests are logged at most this often (always counted)
METRICS_CACHE_SECONDS = 5.0


def registered_url(url: str, secret: str) -> str:
    """The URL given to setWebhook: WEBHOOK_URL plus a fingerprint of the secret."""
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:10]
    parts = urlsplit(url)
    query = f"{parts.query}&s={fingerprint}" if parts.query else f"s={fingerprint}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class WebhookServer:
    def __init__(
        self,
        app: App,
        *,
        url: str,
        secret: str,
        host: str,
        port: int,
        metrics_address: tuple[str, int] | None = None,
        max_connections: int = MAX_CONNECTIONS,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        metrics_cache_seconds: float = METRICS_CACHE_SECONDS,
    ) -> None:
        self.app = app
        self.url = url
        self.secret = secret
        self.host = host
        self.port = port
        self.metrics_address = metrics_address
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.metrics_cache_seconds = metrics_cache_seconds
        self.metrics = Metrics()
        self.started = False  # services started and webhook registered
        self._startup_emitted = False
        self.shutting_down = False
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._metrics_runner: web.AppRunner | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._refusals: Counter[str] = Counter()  # not logged yet
        self._refusals_logged_at: float | None = None
        app.dispatcher.update.outer_middleware(MetricsMiddleware(self.metrics))
        redis = getattr(app.dispatcher.fsm.storage, "redis", None)  # with REDIS_URL
        ledger: Ledger = RedisLedger(redis, app.bot.id) if redis is not None else MemoryLedger()
        self.handler = UpdateEndpoint(
            app.dispatcher,
            app.bot,
            secret=secret,
            ledger=ledger,
            metrics=self.metrics,
            refuse=self.refuse,
            accepting=lambda: self.accepting,
            body_timeout=body_timeout,
        )
        health = HealthEndpoints(app, self.status)
        metrics_view = MetricsEndpoint(app, self.metrics, metrics_cache_seconds)
        self.web = web.Application(client_max_size=MAX_BODY)
        self.web.router.add_post(urlsplit(url).path or "/", self.handler.handle)
        self.web.router.add_get("/healthz", health.healthz)
        self.web.router.add_get("/readyz", health.readyz)
        if metrics_address is None:
            self.web.router.add_get("/metrics", metrics_view.handle)
            self.metrics_web: web.Application | None = None
        else:  # /metrics only there (and the health endpoints, for the monitoring's convenience)
            self.metrics_web = web.Application()
            self.metrics_web.router.add_get("/metrics", metrics_view.handle)
            self.metrics_web.router.add_get("/healthz", health.healthz)
            self.metrics_web.router.add_get("/readyz", health.readyz)

    @property
    def bound_port(self) -> int:
        """The port actually listened on (useful with port 0)."""
        assert self._listener is not None
        for sock in self._listener.sockets:
            return int(sock.getsockname()[1])
        raise RuntimeError("not listening")

    @property
    def metrics_port(self) -> int | None:
        if self._metrics_runner is None:
            return None
        for address in self._metrics_runner.addresses:
            return int(address[1])
        return None

    @property
    def accepting(self) -> bool:
        return self.started and not self.shutting_down

    def status(self) -> dict[str, bool]:
        return {"started": self.started, "shutting_down": self.shutting_down, "accepting": self.accepting}

    # --- refusals --------------------------------------------------------------------------------
    def refuse(self, reason: str, remote: Any, status: int, text: str) -> web.Response:
        self.note_refusal(reason, remote)
        return web.Response(text=text, status=status)

    def note_refusal(self, reason: str, remote: Any) -> None:
        """Counted always (``voterbot_webhook_refused_total``); logged at most once a minute, as a
        summary: an outsider must not be able to fill the log."""
        self.metrics.refused.labels(reason).inc()
        self._refusals[reason] += 1
        now = time.monotonic()
        if self._refusals_logged_at is not None and now - self._refusals_logged_at < REFUSAL_LOG_SECONDS:
            return
        summary = ", ".join(f"{reason} {count}" for reason, count in sorted(self._refusals.items()))
        since = "" if self._refusals_logged_at is None else f" in the last {now - self._refusals_logged_at:.0f} s"
        log.warning("webhook requests refused%s: %s (the latest from %s)", since, summary, _peer(remote))
        self._refusals.clear()
        self._refusals_logged_at = now

    # --- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen (updates get 503 until ready), start the services, then register the webhook."""
        bot, dp = self.app.bot, self.app.dispatcher
        # keepalive_timeout also bounds the headers of a kept-alive connection's next request
        self._runner = web.AppRunner(
            self.web,
            handle_signals=False,
            access_log=None,
            keepalive_timeout=self.header_timeout,
            lingering_time=LINGER_SECONDS,
            logger=ParserErrorLog(self.note_refusal),  # requests aiohttp cannot parse: refusals, no traceback
        )
        await self._runner.setup()
        assert self._runner.server is not None
        guard = ConnectionGuard(
            self._runner.server,
            header_timeout=self.header_timeout,
            max_connections=self.max_connections,
            on_refused=self.note_refusal,
        )
        loop = asyncio.get_running_loop()
        try:
            self._listener = await loop.create_server(guard.factory, self.host, self.port, backlog=BACKLOG)
            log.info("webhook server listening on %s:%d", self.host, self.bound_port)
            if self.metrics_web is not None and self.metrics_address is not None:
                self._metrics_runner = web.AppRunner(self.metrics_web, handle_signals=False, access_log=None)
                await self._metrics_runner.setup()
                host, port = self.metrics_address
                await web.TCPSite(self._metrics_runner, host, port).start()
                log.info("metrics on %s:%d", host, self.metrics_port)
        except OSError as error:
            raise ConfigError(
                "METRICS_LISTEN" if self._listener is not None else "WEBHOOK_LISTEN",
                f"cannot listen: {error.strerror or error}",
            ) from None
        self._startup_emitted = True  # from here on, shutdown must stop what startup began
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
            if self._startup_emitted:
                await dp.emit_shutdown(bot=self.app.bot, **dp.workflow_data)  # drains InFlight, stops services
            if self._listener is not None:
                self._listener.close()
            if self._runner is not None:
                await self._runner.cleanup()  # closes the connections still open
            if self._metrics_runner is not None:
                await self._metrics_runner.cleanup()
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


def _peer(remote: Any) -> str:
    if isinstance(remote, tuple) and remote:
        return str(remote[0])
    return str(remote) if remote else "?"


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
    metrics = app.settings.metrics_listen
    server = WebhookServer(app, url=url, secret=secret, host=host, port=port, metrics_address=metrics)
    await server.run(handle_signals=handle_signals)
