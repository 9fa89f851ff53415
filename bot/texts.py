"""Texts built from content and the clock, in the current language (gettext context required).

Shared by handlers and scheduled jobs, so that ``/countdown`` and a reminder say the same thing.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Lang
from bot.content.models import Campaign, Source
from bot.i18n import _, fmt_date, fmt_time, ngettext
from bot.services.campaign import status_at
from bot.telegram_text import escape, escape_attr

LANGUAGE_NAMES: dict[str, str] = {"kk": "🇰🇿 Қазақша", "ru": "🇷🇺 Русский", "en": "🇬🇧 English"}


def days_left(n: int) -> str:
    return ngettext("{n} day left", "{n} days left", n).format(n=n)


def hours_left(n: int) -> str:
    return ngettext("{n} hour left", "{n} hours left", n).format(n=n)


def call_centre_line(campaign: Campaign, lang: Lang) -> str:
    centre = campaign.call_centre
    return _("Call centre {phone} ({hours}, daily): {name}.").format(
        phone=f"<b>{escape(centre.phone)}</b>", hours=escape(centre.hours), name=escape(centre.name.get(lang))
    )


def status_text(campaign: Campaign, now: datetime, lang: Lang) -> str:
    """One paragraph on where the campaign stands: countdown, voting day, or the outcome."""
    status = status_at(campaign, now)
    tz = campaign.tz
    day = fmt_date(campaign.voting_day, lang)
    if status.phase == "before":
        lead = _("Voting day: <b>{day}</b>, polling stations are open from {open} to {close} local time.").format(
            day=day, open=fmt_time(campaign.opens_at, lang, tz), close=fmt_time(campaign.closes_at, lang, tz)
        )
        return f"🗓 {lead}\n⏳ {days_left(status.days_left)}."
    if status.phase == "voting":
        if status.polls == "not_open":
            return "🗳 " + _("Today is voting day. Polling stations open at {open} and close at {close}.").format(
                open=fmt_time(campaign.opens_at, lang, tz), close=fmt_time(campaign.closes_at, lang, tz)
            )
        if status.polls == "open":
            left = max(1, (status.seconds_to_close + 3599) // 3600)
            return "🗳 " + _("Today is voting day: polls are open until {close} ({left}).").format(
                close=fmt_time(campaign.closes_at, lang, tz), left=hours_left(left)
            )
        due = fmt_date(campaign.results_due, lang) if campaign.results_due else ""
        closed = _("Polls closed at {close}; the votes are being counted.").format(
            close=fmt_time(campaign.closes_at, lang, tz)
        )
        if due:
            closed += " " + _("Official results are due by {date}.").format(date=due)
        return "🗳 " + closed
    return campaign.after_vote.get(lang)


def sources_block(sources: list[Source]) -> str:
    links = [f'<a href="{escape_attr(source.url)}">{escape(source.title)}</a>' for source in sources]
    return "📎 " + _("Sources:") + " " + "; ".join(links)
