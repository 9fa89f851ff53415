"""The desk's part of the admins' ``/stats``."""

from __future__ import annotations

from bot.i18n import _
from bot.services.desk import DeskService


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{n} min").format(n=minutes)
    return _("{h} h {m} min").format(h=minutes // 60, m=minutes % 60)


async def stats_lines(desk: DeskService | None) -> list[str]:
    """The desk's part of ``/stats`` (nothing when the desk is off)."""
    if desk is None or not desk.enabled:
        return []
    stats = await desk.stats()
    median = _duration(stats.median_first_reply) if stats.median_first_reply is not None else "—"
    return [
        "",
        _("Operators' desk: {open} open tickets, {closed} closed; median time to the first reply {median}").format(
            open=stats.open, closed=stats.closed, median=median
        ),
    ]
