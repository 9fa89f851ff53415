"""Process metrics in the Prometheus text exposition format (version 0.0.4), written by hand.

Counters and the handler latency histogram are updated by :class:`MetricsMiddleware` (an outer
update middleware); gauges that live elsewhere (database, delivery engine, scheduler) are read when
``/metrics`` is scraped (see ``bot.runners.webhook``)."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    escaped = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), "")}"'
        for key, value in labels.items()
    )
    return "{" + ",".join(escaped) + "}"


class Histogram:
    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(sorted(buckets))
        self.counts = [0] * len(self.bounds)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[index] += 1

    def lines(self, name: str) -> list[str]:
        out = [f'{name}_bucket{{le="{_number(b)}"}} {c}' for b, c in zip(self.bounds, self.counts, strict=True)]
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {_number(self.sum)}")
        out.append(f"{name}_count {self.count}")
        return out


class Metrics:
    """The bot's own counters and histogram; :meth:`render` adds gauges read at scrape time."""

    def __init__(self) -> None:
        self.updates: dict[str, int] = {"handled": 0, "failed": 0}
        self.unauthorized = 0
        self.refused: Counter[str] = Counter()  # webhook requests and connections refused, by reason
        self.repeated = 0
        self.latency = Histogram()

    def render(self, gauges: Iterable[tuple[str, str, str, dict[str, str], float]] = ()) -> str:
        """The exposition text; ``gauges`` are (name, type, help, labels, value) samples."""
        lines = [
            "# HELP voterbot_updates_total Updates handled by this process, by outcome.",
            "# TYPE voterbot_updates_total counter",
            *(f'voterbot_updates_total{{outcome="{k}"}} {v}' for k, v in self.updates.items()),
            "# HELP voterbot_webhook_unauthorized_total Webhook requests refused for a wrong or missing secret.",
            "# TYPE voterbot_webhook_unauthorized_total counter",
            f"voterbot_webhook_unauthorized_total {self.unauthorized}",
            "# HELP voterbot_webhook_refused_total Webhook requests and connections refused, by reason.",
            "# TYPE voterbot_webhook_refused_total counter",
            *(f'voterbot_webhook_refused_total{{reason="{k}"}} {v}' for k, v in sorted(self.refused.items())),
            "# HELP voterbot_webhook_repeated_total Updates Telegram delivered again after they were handled.",
            "# TYPE voterbot_webhook_repeated_total counter",
            f"voterbot_webhook_repeated_total {self.repeated}",
            "# HELP voterbot_update_handler_seconds Time to handle one update, middlewares included.",
            "# TYPE voterbot_update_handler_seconds histogram",
            *self.latency.lines("voterbot_update_handler_seconds"),
        ]
        described: set[str] = set()
        for name, kind, help_text, labels, value in gauges:
            if name not in described:
                described.add(name)
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            lines.append(f"{name}{_labels(labels)} {_number(value)}")
        return "\n".join(lines) + "\n"


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
            self.metrics.updates[outcome] += 1
            self.metrics.latency.observe(time.perf_counter() - started)
