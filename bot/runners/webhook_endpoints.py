"""The webhook server's health and metrics endpoints.

- ``GET /healthz``: the process is alive.
- ``GET /readyz``: the database answers, its migrations are applied, Redis answers (with
  ``REDIS_URL``) and the server is accepting updates (else 503, with the reason).
- ``GET /metrics``: Prometheus text (:mod:`bot.metrics`) with figures read at scrape time: the
  database's two queries (and the desk's) at most once per ``cache_seconds`` — scrapes in between
  get the same figures — the rest (updates in flight, 429 pauses, leadership, scheduler lag) live.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.app import App
from bot.metrics import CONTENT_TYPE, Gauge, Metrics
from bot.services.desk import DeskStats
from bot.storage.migrate import head_revision


class HealthEndpoints:
    def __init__(self, app: App, status: Callable[[], dict[str, bool]]) -> None:
        self.app = app
        self.status = status  # {"started": …, "shutting_down": …, "accepting": …}

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(self, request: web.Request) -> web.Response:
        status = self.status()
        checks: dict[str, Any] = {"started": status["started"], "shutting_down": status["shutting_down"]}
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
        ready = bool(checks["database"] and checks["migrations"] and checks.get("redis", True) and status["accepting"])
        return web.json_response({"ready": ready, **checks}, status=200 if ready else 503)


class MetricsEndpoint:
    def __init__(self, app: App, metrics: Metrics, cache_seconds: float) -> None:
        self.app = app
        self.metrics = metrics
        self.cache_seconds = cache_seconds
        self._cache: tuple[float, list[Gauge]] | None = None
        self._lock = asyncio.Lock()

    async def handle(self, request: web.Request) -> web.Response:
        body = self.metrics.render(await self.gauges())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def gauges(self) -> list[Gauge]:
        """The figures read from elsewhere, the database's through the cache."""
        gauges: list[Gauge] = [
            ("voterbot_updates_in_flight", "gauge", "Updates being handled now.", {}, self.app.in_flight.in_flight)
        ]
        services = self.app.services
        delivery = services.delivery if services else None
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
        if services is not None:  # counters only (guest mode stores nothing of the texts)
            gauges += counter_samples(
                "voterbot_guest_calls_total",
                "Guest calls (the bot called into a chat it is not in) by outcome, since the process started.",
                services.guests.counts.items(),
            )
            gauges += counter_samples(
                "voterbot_questions_total",
                "Residents' messages by what the bot made of them, since the process started.",
                services.questions.asked.items(),
            )
        gauges += await self._database_gauges()
        leadership = services.leadership if services else None
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
        scheduler = services.scheduler if services else None
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
        async with self._lock:  # scrapes arriving together share one reading
            now = time.monotonic()
            if self._cache is not None and now - self._cache[0] < self.cache_seconds:
                return self._cache[1]
            gauges: list[Gauge] = []
            with contextlib.suppress(Exception):  # a database outage must not break /metrics
                since = self.app.clock.now() - timedelta(days=1)
                recent, queued = await asyncio.wait_for(self.app.storage.delivery_summary(since), 5)
                for status in ("sent", "blocked", "failed", "expired"):
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
            with contextlib.suppress(Exception):  # a database outage must not break /metrics
                loop = await asyncio.wait_for(self.app.storage.answer_loop_counts(), 5)
                gauges += [
                    (
                        "voterbot_questions_waiting",
                        "gauge",
                        "Unanswered questions whose askers wait to be told of an answer (all replicas).",
                        {},
                        loop.waiting,
                    ),
                    (
                        "voterbot_questions_answered_later",
                        "gauge",
                        "Askers told of an answer later, within the retention (all replicas).",
                        {},
                        loop.told,
                    ),
                    (
                        "voterbot_questions_answer_wait_median_seconds",
                        "gauge",
                        "Median time from a question to its answer queued, for those told later.",
                        {},
                        loop.median_seconds or 0,
                    ),
                ]
            desk = self.app.services.desk if self.app.services else None
            if desk is not None and desk.enabled:
                with contextlib.suppress(Exception):  # a database outage must not break /metrics
                    gauges += desk_gauges(await asyncio.wait_for(desk.stats(), 5))
            self._cache = (now, gauges)
            return gauges


def counter_samples(name: str, help_text: str, counts: Iterable[tuple[str, int]]) -> list[Gauge]:
    """A counter by outcome, read at scrape time."""
    return [(name, "counter", help_text, {"outcome": outcome}, count) for outcome, count in counts]


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
