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
import hmac
import logging
import signal
import time
from collections import Counter, OrderedDict
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.app import DRAIN_SECONDS, App
from bot.config import ConfigError
from bot.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
from bot.runners.http_guard import ConnectionGuard
from bot.services.desk import DeskStats
from bot.storage.migrate import head_revision

log = logging.getLogger(__name__)
HEADER_TIMEOUT = 10.0  # seconds for a request's headers (then the connection is closed)
BODY_TIMEOUT = 10.0  # seconds for its body (then 408)
MAX_BODY = 1024 * 1024  # bytes; Telegram's updates are a few kilobytes (then 413)
MAX_CONNECTIONS = 256  # open at once; Telegram uses at most 100 (setWebhook max_connections)
BACKLOG = 128
REFUSAL_LOG_SECONDS = 60.0  # refused requests are logged at most this often (always counted)
METRICS_CACHE_SECONDS = 5.0
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
    """SimpleRequestHandler that refuses bad requests cheaply (counted, logged at most once a
    minute), refuses updates while shutting down, and handles each update once (see the update
    ledger) before answering the request."""

    def __init__(self, server: WebhookServer, ledger: Ledger, **kwargs: Any) -> None:
        super().__init__(handle_in_background=False, **kwargs)
        self.server = server
        self.ledger = ledger
        self.active: set[asyncio.Task[Any]] = set()  # requests being handled now
        self._secret = (self.secret_token or "").encode()

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        """Compared as bytes: any header (non-ASCII included) is an answer, never an exception.
        aiohttp decodes headers as UTF-8 with surrogateescape, which gives the bytes back."""
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot):
            self.server.metrics.unauthorized += 1
            return self.server.refuse("secret", request.remote, 401, "Unauthorized")
        if not self.server.accepting:
            return web.Response(text="Shutting down", status=503, headers={"Retry-After": "1"})
        task = asyncio.current_task()
        assert task is not None
        self.active.add(task)
        try:
            return await self._handle_request(self.bot, request)
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

    async def _read_update(self, bot: Bot, request: web.Request) -> Update | web.Response:
        """The request's Update, or the response refusing it: 408 for a body that does not arrive
        in time, 413 for one too large, 400 for malformed JSON or something that is not an Update."""
        remote = request.remote
        try:
            body = await asyncio.wait_for(request.read(), self.server.body_timeout)
        except TimeoutError:
            return self.server.refuse("body-timeout", remote, 408, "Request Timeout")
        except web.HTTPRequestEntityTooLarge:
            return self.server.refuse("too-large", remote, 413, "Request Entity Too Large")
        try:
            raw = bot.session.json_loads(body.decode("utf-8"))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return self.server.refuse("malformed", remote, 400, "Bad Request: malformed JSON")
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            return self.server.refuse("invalid", remote, 400, "Bad Request: no update_id")
        try:
            return Update.model_validate(raw, context={"bot": bot})
        except ValidationError:
            return self.server.refuse("invalid", remote, 400, "Bad Request: not an Update")

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        update = await self._read_update(bot, request)
        if isinstance(update, web.Response):
            return update
        update_id = update.update_id
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
        self._gauges_cache: tuple[float, list[Gauge]] | None = None
        self._gauges_lock = asyncio.Lock()
        app.dispatcher.update.outer_middleware(MetricsMiddleware(self.metrics))
        self.web = web.Application(client_max_size=MAX_BODY)
        redis = getattr(app.dispatcher.fsm.storage, "redis", None)  # with REDIS_URL
        ledger: Ledger = RedisLedger(redis, app.bot.id) if redis is not None else MemoryLedger()
        self.handler = _UpdateHandler(self, ledger, dispatcher=app.dispatcher, bot=app.bot, secret_token=secret)
        path = urlsplit(url).path or "/"
        self.web.router.add_post(path, self.handler.handle)
        self.web.router.add_get("/healthz", self.healthz)
        self.web.router.add_get("/readyz", self.readyz)
        if metrics_address is None:
            self.web.router.add_get("/metrics", self.metrics_view)
            self.metrics_web: web.Application | None = None
        else:  # /metrics only there (and the health endpoints, for the monitoring's convenience)
            self.metrics_web = web.Application()
            self.metrics_web.router.add_get("/metrics", self.metrics_view)
            self.metrics_web.router.add_get("/healthz", self.healthz)
            self.metrics_web.router.add_get("/readyz", self.readyz)

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

    # --- refusals --------------------------------------------------------------------------------
    def refuse(self, reason: str, remote: Any, status: int, text: str) -> web.Response:
        self.note_refusal(reason, remote)
        return web.Response(text=text, status=status)

    def note_refusal(self, reason: str, remote: Any) -> None:
        """Counted always (``voterbot_webhook_refused_total``); logged at most once a minute, as a
        summary: an outsider must not be able to fill the log."""
        self.metrics.refused[reason] += 1
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
            self.web, handle_signals=False, access_log=None, keepalive_timeout=self.header_timeout
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

    # --- endpoints -------------------------------------------------------------------------------
    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(self, request: web.Request) -> web.Response:
        checks: dict[str, Any] = {"started": self.started, "shutting_down": self.shutting_down}
        try:
            checks["database"] = await asyncio.wait_for(self.app.storage.ping(), 5)
            revision = await asyncio.wait_for(self.app.storage.schema_revision(), 5)
            checks["migrations"] = revision == head_revision()
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
        """The gauges read from elsewhere: the database's two queries at most once per
        ``metrics_cache_seconds`` (scrapes in between get the same figures), the rest live."""
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
        gauges += await self._database_gauges()
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

    async def _database_gauges(self) -> list[Gauge]:
        async with self._gauges_lock:  # scrapes arriving together share one reading
            now = time.monotonic()
            if self._gauges_cache is not None and now - self._gauges_cache[0] < self.metrics_cache_seconds:
                return self._gauges_cache[1]
            gauges: list[Gauge] = []
            with contextlib.suppress(Exception):  # a database outage must not break /metrics
                since = self.app.clock.now() - timedelta(days=1)
                recent, queued = await asyncio.wait_for(self.app.storage.delivery_summary(since), 5)
                for status in ("sent", "blocked", "failed"):
                    gauges.append(
                        (
                            "voterbot_deliveries",
                            "gauge",
                            "Deliveries recorded in the last 24 hours, by status (all replicas).",
                            {"status": status},
                            recent.get(status, 0),
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
            desk = self.app.dispatcher.workflow_data.get("desk")
            if desk is not None and desk.enabled:
                with contextlib.suppress(Exception):  # a database outage must not break /metrics
                    gauges += desk_gauges(await asyncio.wait_for(desk.stats(), 5))
            self._gauges_cache = (now, gauges)
            return gauges


def _peer(remote: Any) -> str:
    if isinstance(remote, tuple) and remote:
        return str(remote[0])
    return str(remote) if remote else "?"


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
    metrics = app.settings.metrics_listen
    server = WebhookServer(app, url=url, secret=secret, host=host, port=port, metrics_address=metrics)
    await server.run(handle_signals=handle_signals)
