"""Process metrics through ``prometheus_client``, in a registry of the app's own (not the global one:
two servers in one process, as in the tests, keep their figures apart).

Counters and the handler latency histogram are updated by :class:`MetricsMiddleware` (an outer
update middleware) and the webhook server; figures that live elsewhere (database, delivery engine,
scheduler) are read when ``/metrics`` is scraped and handed to :meth:`Metrics.render` as
:data:`Gauge` samples (see ``bot.runners.webhook_endpoints``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what generate_latest writes
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UPDATE_OUTCOMES = ("handled", "failed")
Gauge = tuple[str, str, str, dict[str, str], float]  # (name, "gauge" or "counter", help, labels, value)

# No "<name>_created" series next to each counter and histogram: the figures stay those of before.
disable_created_metrics()  # type: ignore[no-untyped-call]  # (prometheus_client leaves it unannotated)


class _ScrapeSamples(Collector):
    """The samples read at scrape time, set by :meth:`Metrics.render` just before it renders."""

    def __init__(self) -> None:
        self.samples: list[Gauge] = []

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        for name, kind, help_text, labels, value in self.samples:
            family = families.get(name)
            if family is None:
                factory = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
                family = families[name] = factory(name, help_text, labels=list(labels))
            family.add_metric(list(labels.values()), value)
        yield from families.values()

    def describe(self) -> Iterable[Metric]:
        return ()  # the names vary with what the app runs (desk, delivery…): not checked for clashes


class Metrics:
    """The bot's own counters and histogram; :meth:`render` adds the samples read at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "voterbot_updates", "Updates handled by this process, by outcome.", ["outcome"], registry=self.registry
        )
        for outcome in UPDATE_OUTCOMES:
            self.updates.labels(outcome)  # shown at 0 from the start
        self.unauthorized = Counter(
            "voterbot_webhook_unauthorized",
            "Webhook requests refused for a wrong or missing secret.",
            registry=self.registry,
        )
        self.refused = Counter(
            "voterbot_webhook_refused",
            "Webhook requests and connections refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.repeated = Counter(
            "voterbot_webhook_repeated",
            "Updates Telegram delivered again after they were handled.",
            registry=self.registry,
        )
        self.latency = Histogram(
            "voterbot_update_handler_seconds",
            "Time to handle one update, middlewares included.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._scraped = _ScrapeSamples()
        self.registry.register(self._scraped)

    def render(self, gauges: Iterable[Gauge] = ()) -> bytes:
        """The exposition text (format 0.0.4) with ``gauges`` read at scrape time."""
        self._scraped.samples = list(gauges)
        try:
            return generate_latest(self.registry)
        finally:
            self._scraped.samples = []

    def sample(self, name: str, **labels: str) -> float:
        """One sample's current value (0 when it has none yet), as a scrape would show it."""
        return self.registry.get_sample_value(name, labels) or 0.0


class MetricsMiddleware(BaseMiddleware):
    """Counts updates and times their handling."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await handler(event, data)
            outcome = "handled"
            return result
        finally:
            self.metrics.updates.labels(outcome).inc()
            self.metrics.latency.observe(time.perf_counter() - started)
