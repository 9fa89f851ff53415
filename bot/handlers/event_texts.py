"""The texts of events (HTML, in the current language: a gettext context is required): labels,
a list line, an event's card, the notices of a reminder, a cancellation and a change, and what is
wrong with an admin's input."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.config import Lang
from bot.content.events import DESCRIPTION_LIMIT
from bot.content.models import Campaign
from bot.handlers.texts import local_time, with_facts
from bot.i18n import N_, _, fmt_date, fmt_time
from bot.services.event_input import InputError, Problem, Subject
from bot.services.event_notices import EventCancelled, EventDue, EventNotice
from bot.services.event_view import EventView
from bot.storage.base import EventReminder
from bot.telegram_text import escape, escape_attr, truncate_plain

KIND_LABELS: dict[str, str] = {
    "official-date": N_("Official date"),
    "meeting": N_("Meeting"),
    "round-table": N_("Round table"),
    "lecture": N_("Lecture"),
    "public-dialogue": N_("Public dialogue"),
    "concert": N_("Concert"),
    "festival": N_("Festival"),
    "youth-action": N_("Youth action"),
}
ORGANISER_MARK = {"official": "🏛", "campaign": "📣", "other": "📌"}


def offset_label(offset: str) -> str:
    return {
        "1h": _("1 hour before"),
        "1d": _("1 day before"),
        "eve": _("the day before"),
        "day": _("on the day"),
    }.get(offset, offset)


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


def district_label(campaign: Campaign, district: str | None, lang: Lang) -> str:
    return campaign.district_name(district, lang)


def when_text(event: EventView, lang: Lang, tz: ZoneInfo) -> str:
    start = event.starts_at.astimezone(tz)
    if event.all_day:
        end_day = (event.ends_at.astimezone(tz).date() - timedelta(days=1)) if event.ends_at else start.date()
        if end_day > start.date():
            return f"{fmt_date(start.date(), lang)} – {fmt_date(end_day, lang)}"
        return fmt_date(start.date(), lang)
    day = fmt_date(start.date(), lang)
    if event.ends_at is None:
        return _("{date}, from {time}").format(date=day, time=fmt_time(start, lang, tz))
    end = event.ends_at.astimezone(tz)
    if end.date() == start.date():
        return f"{day}, {fmt_time(start, lang, tz)}–{fmt_time(end, lang, tz)}"
    return f"{day}, {fmt_time(start, lang, tz)} – {fmt_date(end.date(), lang)}, {fmt_time(end, lang, tz)}"


def short_date(event: EventView, lang: Lang, tz: ZoneInfo) -> str:
    start = event.starts_at.astimezone(tz)
    text = format_date(start.date(), "d MMM", locale=lang)
    return text if event.all_day else f"{text} {fmt_time(start, lang, tz)}"


def place_text(event: EventView, lang: Lang) -> str:
    parts = [part for part in (event.venue_name(lang), event.venue_address(lang)) if part]
    district = event.district_name(lang)
    if district:
        parts.append(_("{district} district").format(district=district))
    return ", ".join(parts)


def organiser_line(event: EventView, lang: Lang) -> str:
    name = escape(event.organiser(lang))
    if event.organiser_kind == "campaign":
        return (
            "📣 "
            + _("Campaign event, organised by the campaign: {name}.").format(name=name)
            + " "
            + _("Listed for information; the bot takes no side.")
        )
    mark = ORGANISER_MARK.get(event.organiser_kind, "📌")
    return f"{mark} " + _("Organiser: {name}").format(name=name)


def list_line(event: EventView, lang: Lang, tz: ZoneInfo) -> str:
    mark = ORGANISER_MARK.get(event.organiser_kind, "📌")
    return f"{mark} <b>{escape(when_text(event, lang, tz))}</b> — {escape(event.title(lang))}"


def card_text(
    event: EventView, lang: Lang, campaign: Campaign, now: datetime, reminder: EventReminder | None = None
) -> str:
    tz = campaign.tz
    lines = [f"📅 <b>{escape(event.title(lang))}</b>", f"🏷 {escape(kind_label(event.kind))}"]
    if event.cancelled:
        lines.append("❌ <b>" + _("This event is cancelled.") + "</b>")
    elif event.is_over(now, tz):
        lines.append("⌛️ " + _("This event is over."))
    lines.append(f"🗓 {escape(when_text(event, lang, tz))} ({local_time(campaign, lang)})")
    place = place_text(event, lang)
    if place:
        lines.append(f"📍 {escape(place)}")
    lines.append(organiser_line(event, lang))
    description = event.description(lang)
    if description:
        lines.append("")
        description = with_facts(description, campaign, lang, html=False)  # {call_centre}… as plain text
        lines.append(escape(truncate_plain(description, DESCRIPTION_LIMIT)))
    if event.link:
        lines.append("")
        lines.append(f'🔗 <a href="{escape_attr(event.link)}">' + _("More information") + "</a>")
    if event.sources:
        links = [f'<a href="{escape_attr(source.url)}">{escape(source.title_in(lang))}</a>' for source in event.sources]
        lines.append("")
        lines.append("📎 " + _("Sources:") + " " + "; ".join(links))
    elif event.origin == "admin":
        lines.append("")
        lines.append("ℹ️ " + _("Added by the bot's team."))
    if reminder is not None and not reminder.cancelled and reminder.sent_at is None and not event.cancelled:
        lines.append("")
        lines.append(
            "🔔 "
            + _("I will remind you on {moment}.").format(
                moment=f"{fmt_date(reminder.remind_at, lang, tz)}, {fmt_time(reminder.remind_at, lang, tz)}"
            )
        )
    return "\n".join(lines)


def reminder_text(event: EventView, lang: Lang, tz: ZoneInfo) -> str:
    lines = ["🔔 " + _("Reminder: {title}").format(title=f"<b>{escape(event.title(lang))}</b>")]
    lines.append(f"🗓 {escape(when_text(event, lang, tz))}")
    place = place_text(event, lang)
    if place:
        lines.append(f"📍 {escape(place)}")
    lines.append(organiser_line(event, lang))
    lines.append("")
    lines.append(_("All events: /events"))
    return "\n".join(lines)


def cancelled_text(event: EventView, lang: Lang, tz: ZoneInfo) -> str:
    return (
        "❌ "
        + _("The event {title} ({when}) is cancelled. Your reminder of it is cancelled too.").format(
            title=f"<b>{escape(event.title(lang))}</b>", when=escape(when_text(event, lang, tz))
        )
        + "\n\n"
        + _("All events: /events")
    )


def changed_text(event: EventView, lang: Lang, tz: ZoneInfo, moment: datetime | None) -> str:
    lines = [
        "✏️ " + _("The event {title} has changed.").format(title=f"<b>{escape(event.title(lang))}</b>"),
        f"🗓 {escape(when_text(event, lang, tz))}",
    ]
    place = place_text(event, lang)
    if place:
        lines.append(f"📍 {escape(place)}")
    if moment is not None:
        lines.append(
            "🔔 "
            + _("I will remind you on {moment}.").format(
                moment=f"{fmt_date(moment, lang, tz)}, {fmt_time(moment, lang, tz)}"
            )
        )
    else:
        lines.append("🔕 " + _("The new time is too close for your reminder, so it is cancelled."))
    return "\n".join(lines)


def notice_text(notice: EventNotice, lang: Lang, campaign: Campaign) -> str:
    """What a resident with a reminder of the event is told."""
    if isinstance(notice, EventDue):
        return reminder_text(notice.event, lang, campaign.tz)
    if isinstance(notice, EventCancelled):
        return cancelled_text(notice.event, lang, campaign.tz)
    return changed_text(notice.event, lang, campaign.tz, notice.moment)


# --- the admin dialog's input --------------------------------------------------------------------


def _subject(subject: Subject | None) -> str:
    return (
        {
            Subject.TITLE: _("title"),
            Subject.DESCRIPTION: _("description"),
            Subject.ORGANISER: _("organiser"),
            Subject.PLACE_NAME: _("place name"),
            Subject.ADDRESS: _("address"),
        }.get(subject, "")
        if subject is not None
        else ""
    )


def input_error_text(error: InputError, campaign: Campaign, lang: Lang) -> str:
    """What the admin must correct (plain text)."""
    problem = error.problem
    if problem is Problem.EMPTY:
        return _("The {what} must not be empty.").format(what=_subject(error.subject))
    if problem is Problem.TOO_LONG:
        return _("The {what} is {n} characters long; the limit is {limit}.").format(
            what=_subject(error.subject), n=error.length, limit=error.limit
        )
    if problem is Problem.UNKNOWN_DISTRICT:
        return _("Unknown district. Choose one of: {names}; or - for none.").format(
            names=", ".join(district.name.get(lang) for district in campaign.districts)
        )
    return {
        Problem.TITLE_TOO_SHORT: _("The title is too short: write at least 3 characters."),
        Problem.DATE_UNREADABLE: _(
            "I could not read this date. Write it as 2026-03-20 18:30, or 2026-03-20 for an all-day event."
        ),
        Problem.IN_THE_PAST: _("This moment is in the past. Give a future date."),
        Problem.TOO_FAR_AHEAD: _("This date is more than two years ahead. Check the year."),
        Problem.LAST_DAY_UNREADABLE: _("Write the last day as 2026-03-21, or - if the event lasts one day."),
        Problem.END_BEFORE_START_DAY: _("The end is before the start. Give a later date."),
        Problem.TIME_UNREADABLE: _("I could not read this time. Write 20:00, or 2026-03-21 20:00, or - for no end."),
        Problem.END_BEFORE_START_TIME: _("The end is before the start. Give a later time."),
        Problem.COORDINATES_UNREADABLE: _(
            "Write the coordinates as 43.2383, 76.9450 (latitude, longitude), or - for none."
        ),
        Problem.COORDINATES_OUT_OF_RANGE: _(
            "These coordinates are out of range (latitude −90…90, longitude −180…180)."
        ),
        Problem.NOT_A_LINK: _("This is not a web link. Write a link starting with https://, or - for none."),
    }[problem]
