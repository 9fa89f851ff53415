"""Texts built from content and the clock, in the current language (gettext context required).

Shared by handlers and scheduled jobs, so that ``/countdown`` and a reminder say the same thing.
Every text that depends on the moment asks the timeline (``bot.services.campaign``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import unescape

from bot.config import Lang
from bot.content.models import Campaign, FaqEntry, Source
from bot.content.placeholders import fill
from bot.i18n import _, fmt_date, fmt_number, fmt_share, fmt_time, ngettext
from bot.services.campaign import note_at, share, status_at
from bot.services.faq import FaqService
from bot.telegram_text import escape, escape_attr


def days_left(n: int) -> str:
    return ngettext("{n} day left", "{n} days left", n).format(n=n)


def hours_left(n: int) -> str:
    return ngettext("{n} hour left", "{n} hours left", n).format(n=n)


def time_left(seconds: int) -> str:
    """The time left until a moment ``seconds`` away, never rounded up past it: whole hours from 3
    hours on, hours and minutes below, minutes in the last hour ("12 minutes left")."""
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    if hours >= 3 or (hours and not minutes):
        return hours_left(hours)
    if hours:
        return _("{hours} {minutes} left").format(
            hours=ngettext("{n} hour", "{n} hours", hours).format(n=hours),
            minutes=ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes),
        )
    if minutes:
        return ngettext("{n} minute left", "{n} minutes left", minutes).format(n=minutes)
    return _("less than a minute left")


def local_time(campaign: Campaign, lang: Lang) -> str:
    """Whose clock the times are on: "Almaty time"."""
    return _("{place} time").format(place=escape(campaign.place.get(lang)))


def commission_link(campaign: Campaign, lang: Lang) -> str:
    commission = campaign.commission
    return f'<a href="{escape_attr(commission.url)}">{escape(commission.title.get(lang))}</a>'


def fact_values(campaign: Campaign, lang: Lang) -> dict[str, str]:
    """The facts held once in campaign.yaml, as HTML in ``lang``'s words and formats: what
    ``{call_centre}``, ``{polls_close}``… stand for (bot.content.placeholders.FACTS)."""
    tz, centre = campaign.tz, campaign.call_centre
    values = {
        "{polls_open}": fmt_time(campaign.opens_at, lang, tz),
        "{polls_close}": fmt_time(campaign.closes_at, lang, tz),
        "{voting_date}": fmt_date(campaign.voting_day, lang),
        "{commission_site}": escape(campaign.commission.url),
        "{commission}": escape(campaign.commission.title.get(lang)),
    }
    if centre is not None:
        values["{call_centre}"] = escape(centre.phone)
        values["{call_centre_hours}"] = escape(centre.hours.get(lang))
        values["{call_centre_name}"] = escape(centre.name.get(lang))
    return values


def with_facts(text: str, campaign: Campaign, lang: Lang, *, html: bool = True) -> str:
    """A content text with its placeholders filled (FAQ answers, rumours, events, notes); ``html``:
    the text is HTML (the values escaped), else plain text."""
    if "{" not in text:
        return text
    values = fact_values(campaign, lang)
    return fill(text, values if html else {key: unescape(value) for key, value in values.items()})


def plain_facts(campaign: Campaign) -> Callable[[str, Lang], str]:
    """``with_facts`` for plain texts (a calendar file's description), as the services take it."""
    return lambda text, lang: with_facts(text, campaign, lang, html=False)


def answer_body(faq: FaqService, entry: FaqEntry, lang: Lang, now: datetime) -> str:
    """A FAQ entry's answer at ``now`` in ``lang``, its facts filled in (HTML)."""
    return with_facts(faq.answer(entry, lang, now), faq.content.campaign, lang)


def contact_line(campaign: Campaign, now: datetime, lang: Lang) -> str:
    """Where a resident gets an official answer: the call centre while the content says it operates,
    otherwise the commission's site."""
    centre = campaign.call_centre
    if centre is not None and campaign.call_centre_operates(now):
        return "☎️ " + _("Call centre {phone} ({hours}): {name}.").format(
            phone=f"<b>{escape(centre.phone)}</b>",
            hours=escape(centre.hours.get(lang)),
            name=escape(centre.name.get(lang)),
        )
    return "🌐 " + _("Official information: {commission}.").format(commission=commission_link(campaign, lang))


def results_text(campaign: Campaign, lang: Lang, *, preliminary: bool = False) -> str:
    """The result: turnout, then every option the same way (votes and share of those who voted),
    the outcome. ``preliminary``: the same figures as the preliminary results, without the outcome.
    Empty when the content has no results (or no preliminary ones when asked for them)."""
    results = campaign.results
    if results is None or (preliminary and results.preliminary is None):
        return ""
    if results.preliminary is not None and preliminary:
        heading = _("Preliminary results ({announced}):").format(
            announced=escape(results.preliminary.announced.get(lang))
        )
    else:
        heading = _("Official results ({announced}):").format(announced=escape(results.announced.get(lang)))
    lines = [
        "📊 " + heading,
        _("{eligible} eligible voters, {voted} voted ({turnout}).").format(
            eligible=fmt_number(results.eligible, lang),
            voted=fmt_number(results.voted, lang),
            turnout=fmt_share(share(results.voted, results.eligible), lang),
        ),
    ]
    for option in results.options:
        lines.append(
            "• "
            + _("«{option}»: {votes} votes ({share})").format(
                option=escape(option.title.get(lang)),
                votes=fmt_number(option.votes, lang),
                share=fmt_share(share(option.votes, results.voted), lang),
            )
        )
    if results.invalid is not None:
        lines.append(_("Invalid ballots: {count}.").format(count=fmt_number(results.invalid, lang)))
    if not preliminary:
        lines.append(results.outcome.get(lang))
    return "\n".join(lines)


def _on_its_day(campaign: Campaign, milestone_id: str, now: datetime) -> bool:
    """``now`` is on the day of ``milestone_id`` and before it counts as passed ("announced today")."""
    if not campaign.has(milestone_id) or campaign.passed(milestone_id, now):
        return False
    return campaign.milestone(milestone_id).date == now.astimezone(campaign.tz).date()


def _counting_text(campaign: Campaign, now: datetime, lang: Lang) -> str:
    """After the polls close, until the official results: the count, then the preliminary results
    (from their milestone), then when the official ones come ("today" on their own day)."""
    close, day = fmt_time(campaign.closes_at, lang, campaign.tz), fmt_date(campaign.voting_day, lang)
    text = "🗳 " + _("Polls closed at {close} on {day}.").format(close=close, day=day)
    preliminary = ""
    if campaign.passed("preliminary-results", now):
        preliminary = results_text(campaign, lang, preliminary=True)
        if not preliminary:
            text += " " + _("The Central Referendum Commission has announced the preliminary results.")
    elif _on_its_day(campaign, "preliminary-results", now):
        text += " " + _("The Central Referendum Commission announces the preliminary results today.")
    else:
        text += " " + _("The votes are being counted.")
    due = campaign.results_due
    if _on_its_day(campaign, "results", now):
        text += " " + _("The official results are announced today, {date}.").format(
            date=fmt_date(campaign.milestone("results").date, lang)
        )
    elif due is not None and not campaign.passed("results-deadline", now):
        text += " " + _("Official results are due no later than {date}.").format(date=fmt_date(due, lang))
    else:
        text += " " + _("The official results have not been announced yet.")
    return text + ("\n\n" + preliminary if preliminary else "")


def stage_line(campaign: Campaign, now: datetime, lang: Lang) -> str:
    """Where the campaign stands, in one line: the same words on every screen that names the stage
    (/reminders, /help, /operator); /start and /countdown give the full :func:`status_text`, which
    follows the same periods of :func:`status_at`."""
    status = status_at(campaign, now)
    if status.period == "before":
        return "🗓 " + _("Voting day is {day}.").format(day=fmt_date(campaign.voting_day, lang))
    if status.period == "voting_day":
        return "🗳 " + _("Today is voting day.")
    if status.period == "counting":
        if campaign.passed("preliminary-results", now):
            return "🗳 " + _("Voting is over; the preliminary results are announced.")
        return "🗳 " + _("Voting is over; the votes are being counted.")
    if status.period == "results":
        return "🗳 " + _("Voting is over; the official results are announced.")
    return "🗄 " + (_("The referendum is over.") if campaign.kind == "referendum" else _("The election is over."))


def status_text(campaign: Campaign, now: datetime, lang: Lang) -> str:
    """Where the campaign stands: countdown, voting day, counting, the outcome, or the archive; then
    the note of the last milestone passed that has one (while it holds)."""
    status = status_at(campaign, now)
    tz = campaign.tz
    opens, closes = fmt_time(campaign.opens_at, lang, tz), fmt_time(campaign.closes_at, lang, tz)
    if status.period == "before":
        lead = _("Voting day: <b>{day}</b>, polling stations are open from {open} to {close} ({local}).").format(
            day=fmt_date(campaign.voting_day, lang), open=opens, close=closes, local=local_time(campaign, lang)
        )
        if status.days_left == 1:  # hours, not "1 day", before the polls open tomorrow morning
            text = f"🗓 {lead}\n⏳ " + _("Polling stations open tomorrow at {open}.").format(open=opens)
        else:
            text = f"🗓 {lead}\n⏳ {days_left(status.days_left)}."
    elif status.period == "voting_day":
        if status.polls == "not_open":
            text = "🗳 " + _("Today is voting day. Polling stations open at {open} and close at {close}.").format(
                open=opens, close=closes
            )
        else:
            text = "🗳 " + _("Today is voting day: polls are open until {close} ({left}).").format(
                close=closes, left=time_left(status.seconds_to_close)
            )
    elif status.period == "counting":
        text = _counting_text(campaign, now, lang)
    else:  # the stage in the same words as every other screen (stage_line), then the result
        held = _("Voting day was {day}.").format(day=fmt_date(campaign.voting_day, lang))
        text = stage_line(campaign, now, lang) + " " + held
        results = results_text(campaign, lang)
        if results:
            text += "\n\n" + results
    note = note_at(campaign, now)
    if note is not None and note.note is not None:
        text += "\n\n" + with_facts(note.note.get(lang), campaign, lang)
    return text


def sources_block(sources: Sequence[Source], lang: Lang, campaign: Campaign, now: datetime) -> str:
    """The sources shown at ``now`` as links: each only from its ``published`` date (and its
    ``from`` milestone). When none is out yet, the commission's site stands for them."""
    shown = campaign.shown_sources(sources, now)
    links = [f'<a href="{escape_attr(source.url)}">{escape(source.title_in(lang))}</a>' for source in shown]
    return "📎 " + _("Sources:") + " " + ("; ".join(links) if links else commission_link(campaign, lang))
