"""How long drawing each picture takes (Pillow, one core), in each language: the results picture,
the "I voted" card and the admins' 30-day chart. Target: under 200 ms each (drawn once per content
version or per day, in a worker thread; then served from the cache or by Telegram's file_id)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from bot.config import LANGUAGES
from bot.content import load_content
from bot.handlers.pictures import results_picture_of, stats_chart_of, stats_days
from bot.i18n import _, create_i18n, fmt_date
from bot.services.pictures import VotedCard, draw_chart, draw_results, draw_voted, font
from bot.storage.base import DailyActivity

DATA = Path(__file__).resolve().parent.parent / "data"
ROUNDS = 15
TARGET_MS = 200


def _time(draw: Callable[[], bytes]) -> tuple[float, float, int]:
    """Median and worst of ROUNDS drawings in ms (after one warm-up), and the PNG's size."""
    size = len(draw())
    times = []
    for _round in range(ROUNDS):
        start = time.perf_counter()
        draw()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), size


def run(report: list[str]) -> None:
    campaign = load_content(DATA).campaign
    i18n = create_i18n("ru")
    days = stats_days(date(2026, 3, 12))
    activity = DailyActivity(
        subscribers_before=1200,
        subscribed={day: 40 + 7 * index for index, day in enumerate(days)},
        delivered={day: 900 * (index % 7) for index, day in enumerate(days)},
    )
    report += [
        "## Pictures",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (load average {os.getloadavg()[0]:.2f}). Time to draw "
        f"and encode one PNG with Pillow, median and worst of {ROUNDS} after a warm-up; fonts loaded once "
        f"(loading the two font sizes: {_font_load_ms():.1f} ms). Target: < {TARGET_MS} ms each.",
        "",
        "| picture | language | median | worst | PNG |",
        "|---|---|---|---|---|",
    ]
    for lang in LANGUAGES:
        with i18n.context(), i18n.use_locale(lang):
            bars = results_picture_of(campaign, lang, campaign.at("results"))
            card = VotedCard(
                _("I voted"), campaign.title.get(lang), fmt_date(campaign.voting_day, lang), campaign.place.get(lang)
            )
            chart, _caption = stats_chart_of(activity, days, lang)
        rows: list[tuple[str, Callable[[], bytes]]] = [
            ("results (1000 px wide)", lambda bars=bars: draw_results(bars)),  # type: ignore[misc]
            ("I voted card (1000×560)", lambda card=card: draw_voted(card)),  # type: ignore[misc]
            ("/stats chart, 30 days (1000×640)", lambda chart=chart: draw_chart(chart)),  # type: ignore[misc]
        ]
        for name, draw in rows:
            median, worst, size = _time(draw)
            report.append(f"| {name} | {lang} | {median:.0f} ms | {worst:.0f} ms | {size / 1024:.0f} KiB |")
    report.append("")


def _font_load_ms() -> float:
    font.cache_clear()
    start = time.perf_counter()
    font(32, bold=True)
    font(22)
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    lines: list[str] = []
    run(lines)
    print("\n".join(lines))
