"""Events: the file's (``data/events.yaml``) and the admins' (database) in one view; listing with
filters and pages; the texts of a card and of the notices; validation of the admin dialog's input;
personal reminders (``send_due``, called by the scheduler every minute and at exact times).

Listing, filtering, paging, texts and parsing are pure functions of their arguments and the clock's
``now``; only :class:`EventService` touches the storage and sends messages."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from babel.dates import format_date

from bot.clock import Clock
from bot.config import LANGUAGES, Lang
from bot.content import ContentStore
from bot.content.events import DESCRIPTION_LIMIT, EVENT_KINDS, TITLE_LIMIT, VENUE_LIMIT, EventEntry
from bot.content.models import Campaign, Source
from bot.i18n import N_, _, fmt_date, fmt_time, normalize_language
from bot.services.calendar import CalendarEvent, build_ics
from bot.storage import Storage
from bot.storage.base import BroadcastMessage, BroadcastRecord, EventRecord, EventReminder
from bot.storage.broadcasts import MessageKind
from bot.storage.timestamps import to_ts
from bot.telegram_text import escape, escape_attr, truncate_plain

log = logging.getLogger(__name__)

PAGE_SIZE = 5
ORGANISER_LIMIT = 100
REMINDER_HOUR = time(9, 0)  # all-day events: reminders at 09:00 the day before / on the day
WHEN_FILTERS = ("today", "week")
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
Offset = Literal["1h", "1d", "eve", "day"]
OFFSETS: tuple[Offset, ...] = ("1h", "1d", "eve", "day")
_URL_RE = re.compile(r"https?://[^\s/$.?#][^\s<>\"]*")


# --- one view of an event ------------------------------------------------------------------------


@dataclass(frozen=True)
class EventView:
    """An event as the bot shows it, whether it comes from the file or from an admin."""

    id: str
    kind: str
    origin: Literal["file", "admin"]
    titles: Mapping[str, str]  # per language
    starts_at: datetime  # aware
    ends_at: datetime | None  # aware, exclusive; None: not known
    all_day: bool
    organiser_kind: str
    organisers: Mapping[str, str]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    venue_names: Mapping[str, str] = field(default_factory=dict)
    venue_addresses: Mapping[str, str] = field(default_factory=dict)
    district: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    link: str | None = None
    sources: Sequence[Source] = ()
    cancelled: bool = False
    sequence: int = 0
    district_names: Mapping[str, str] = field(default_factory=dict)  # per language, from campaign.yaml
    place_names: Mapping[str, str] = field(default_factory=dict)  # whose clock: "Almaty" (campaign.yaml)

    def title(self, lang: Lang) -> str:
        return _pick(self.titles, lang)

    def description(self, lang: Lang) -> str:
        return _pick(self.descriptions, lang)

    def venue_name(self, lang: Lang) -> str:
        return _pick(self.venue_names, lang)

    def venue_address(self, lang: Lang) -> str:
        return _pick(self.venue_addresses, lang)

    def organiser(self, lang: Lang) -> str:
        return _pick(self.organisers, lang)

    def district_name(self, lang: Lang) -> str:
        return _pick(self.district_names, lang)

    @property
    def has_map(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def listed_until(self, tz: ZoneInfo) -> datetime:
        """When the event stops being listed: its end, or without one the end of its first day."""
        if self.ends_at is not None:
            return self.ends_at
        local = self.starts_at.astimezone(tz)
        return datetime.combine(local.date() + timedelta(days=1), time(0, 0), tz)

    def is_over(self, now: datetime, tz: ZoneInfo) -> bool:
        return self.listed_until(tz) <= now


def _pick(values: Mapping[str, str], lang: Lang) -> str:
    return values.get(lang) or next((values[other] for other in LANGUAGES if values.get(other)), "")


def _same(text: str) -> dict[str, str]:
    return dict.fromkeys(LANGUAGES, text)


def _district_names(campaign: Campaign, district: str | None) -> dict[str, str]:
    names = {lang: campaign.district_name(district, lang) for lang in LANGUAGES} if district else {}
    return {lang: name for lang, name in names.items() if name}


def from_entry(
    entry: EventEntry, campaign: Campaign, cancelled: bool = False, passed: frozenset[str] = frozenset()
) -> EventView:
    """The file's event as worded once the milestones in ``passed`` have passed."""
    tz = campaign.tz
    title, description = entry.worded(passed)
    start = datetime.combine(entry.date, entry.time or time(0, 0), tz)
    last_day = entry.end_date or entry.date
    if entry.time is None:
        end: datetime | None = datetime.combine(last_day + timedelta(days=1), time(0, 0), tz)
    elif entry.end_time is not None:
        end = datetime.combine(last_day, entry.end_time, tz)
    elif entry.end_date is not None:
        end = datetime.combine(last_day + timedelta(days=1), time(0, 0), tz)
    else:
        end = None
    venue = entry.venue
    return EventView(
        id=entry.id,
        kind=entry.kind,
        origin="file",
        titles=title.model_dump(),
        starts_at=start,
        ends_at=end,
        all_day=entry.all_day,
        organiser_kind=entry.organiser.kind,
        organisers=entry.organiser.name.model_dump(),
        descriptions=description.model_dump() if description else {},
        venue_names=venue.name.model_dump() if venue else {},
        venue_addresses=venue.address.model_dump() if venue and venue.address else {},
        district=venue.district if venue else None,
        latitude=venue.latitude if venue else None,
        longitude=venue.longitude if venue else None,
        link=entry.link,
        sources=[source for source in entry.sources if source.from_ is None or source.from_ in passed],
        cancelled=cancelled,
        district_names=_district_names(campaign, venue.district if venue else None),
        place_names=campaign.place.model_dump(),
    )


def from_record(record: EventRecord, campaign: Campaign, cancelled: bool = False) -> EventView:
    tz = campaign.tz
    return EventView(
        id=record.id,
        kind=record.kind,
        origin="admin",
        titles=_same(record.title),
        starts_at=record.starts_at.astimezone(tz),
        ends_at=None if record.ends_at is None else record.ends_at.astimezone(tz),
        all_day=record.all_day,
        organiser_kind=record.organiser_kind,
        organisers=_same(record.organiser),
        descriptions=_same(record.description) if record.description else {},
        venue_names=_same(record.venue_name) if record.venue_name else {},
        venue_addresses=_same(record.venue_address) if record.venue_address else {},
        district=record.district,
        latitude=record.latitude,
        longitude=record.longitude,
        link=record.link,
        cancelled=cancelled,
        sequence=max(0, int((record.updated_at - record.created_at).total_seconds())),
        district_names=_district_names(campaign, record.district),
        place_names=campaign.place.model_dump(),
    )


# --- listing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    kind: str = ""  # "" or an event kind
    district: str = ""  # "" or a district id of campaign.yaml
    when: str = ""  # "", "today" or "week"

    def valid(self, campaign: Campaign) -> bool:
        return (
            (not self.kind or self.kind in EVENT_KINDS)
            and (not self.district or campaign.is_district(self.district))
            and (not self.when or self.when in WHEN_FILTERS)
        )

    @property
    def active(self) -> bool:
        return bool(self.kind or self.district or self.when)


def upcoming(events: Sequence[EventView], now: datetime, tz: ZoneInfo, filters: Filters = Filters()) -> list[EventView]:
    """Events not over and not cancelled that match ``filters``, soonest first (ongoing ones first)."""
    local_today = now.astimezone(tz).date()
    horizon: datetime | None = None
    if filters.when == "today":
        horizon = datetime.combine(local_today + timedelta(days=1), time(0, 0), tz)
    elif filters.when == "week":  # the rest of this calendar week, Monday to Sunday
        horizon = datetime.combine(local_today + timedelta(days=7 - local_today.weekday()), time(0, 0), tz)
    chosen = [
        event
        for event in events
        if not event.cancelled
        and not event.is_over(now, tz)
        and (not filters.kind or event.kind == filters.kind)
        and (not filters.district or event.district == filters.district)
        and (horizon is None or event.starts_at < horizon)
    ]
    return sorted(chosen, key=lambda event: (event.starts_at, event.id))


@dataclass(frozen=True)
class FilterChoices:
    """The filters that would filter something in the list as it stands: kinds and districts that
    have listed events (under the other filters), and whether "today" / "this week" narrow it."""

    kinds: list[str]
    districts: list[str]
    when: list[str]

    def offers(self, what: str, filters: Filters) -> bool:
        if what == "kind":
            return bool(filters.kind) or len(self.kinds) > 1
        if what == "district":
            return bool(filters.district) or bool(self.districts)
        return what in self.when or filters.when == what


def filter_choices(
    events: Sequence[EventView], now: datetime, tz: ZoneInfo, filters: Filters, campaign: Campaign
) -> FilterChoices:
    by_kind = upcoming(events, now, tz, replace(filters, kind=""))
    kinds = {event.kind for event in by_kind}
    by_district = upcoming(events, now, tz, replace(filters, district=""))
    districts = {event.district for event in by_district}
    # choosing a district narrows the list only when some listed event is elsewhere or has none
    offered = [d.id for d in campaign.districts if d.id in districts] if len(districts) > 1 else []
    by_when = upcoming(events, now, tz, replace(filters, when=""))
    when = [
        choice
        for choice in WHEN_FILTERS
        if 0 < len(upcoming(events, now, tz, replace(filters, when=choice))) < len(by_when)
    ]
    return FilterChoices([kind for kind in EVENT_KINDS if kind in kinds], offered, when)


def key_dates(events: Sequence[EventView]) -> list[EventView]:
    return sorted(
        (event for event in events if event.kind == "official-date" and not event.cancelled),
        key=lambda event: (event.starts_at, event.id),
    )


@dataclass(frozen=True)
class Page:
    items: list[EventView]
    page: int  # 0-based, clamped
    pages: int  # at least 1


def paginate(items: Sequence[EventView], page: int, size: int = PAGE_SIZE) -> Page:
    pages = max(1, (len(items) + size - 1) // size)
    page = min(max(page, 0), pages - 1)
    return Page(list(items[page * size : (page + 1) * size]), page, pages)


# --- reminders -----------------------------------------------------------------------------------


def remind_at(event: EventView, offset: str, tz: ZoneInfo) -> datetime | None:
    """The moment of a reminder ``offset`` before ``event`` (None when the offset does not apply)."""
    if event.all_day:
        day = event.starts_at.astimezone(tz).date()
        if offset == "eve":
            return datetime.combine(day - timedelta(days=1), REMINDER_HOUR, tz)
        if offset == "day":
            return datetime.combine(day, REMINDER_HOUR, tz)
        return None
    if offset == "1h":
        return event.starts_at - timedelta(hours=1)
    if offset == "1d":
        return event.starts_at - timedelta(days=1)
    return None


def reminder_options(event: EventView, now: datetime, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """The offsets still possible at ``now``, with their moments."""
    if event.cancelled:
        return []
    offsets = ("eve", "day") if event.all_day else ("1d", "1h")
    options = []
    for offset in offsets:
        moment = remind_at(event, offset, tz)
        if moment is not None and moment > now:
            options.append((offset, moment))
    return options


def offset_label(offset: str) -> str:
    return {
        "1h": _("1 hour before"),
        "1d": _("1 day before"),
        "eve": _("the day before"),
        "day": _("on the day"),
    }.get(offset, offset)


# --- texts (in the current language: a gettext context is required) -----------------------------


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


def district_label(campaign: Campaign, district: str | None, lang: Lang) -> str:
    return campaign.district_name(district, lang)


def _local_time(event: EventView, lang: Lang) -> str:
    """Whose clock the event's times are on: "Almaty time"."""
    return _("{place} time").format(place=_pick(event.place_names, lang))


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


def card_text(event: EventView, lang: Lang, tz: ZoneInfo, now: datetime, reminder: EventReminder | None = None) -> str:
    lines = [f"📅 <b>{escape(event.title(lang))}</b>", f"🏷 {escape(kind_label(event.kind))}"]
    if event.cancelled:
        lines.append("❌ <b>" + _("This event is cancelled.") + "</b>")
    elif event.is_over(now, tz):
        lines.append("⌛️ " + _("This event is over."))
    lines.append(f"🗓 {escape(when_text(event, lang, tz))} ({escape(_local_time(event, lang))})")
    place = place_text(event, lang)
    if place:
        lines.append(f"📍 {escape(place)}")
    lines.append(organiser_line(event, lang))
    description = event.description(lang)
    if description:
        lines.append("")
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


# --- the admin dialog's input --------------------------------------------------------------------


class InputError(ValueError):
    """Input the admin must correct; the message (translated) says how."""


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%dT%H:%M")


def _skip(text: str) -> bool:
    return text.strip() in ("-", "—")


ZERO_WIDTH_JOINER = "\u200d"  # a format character, but part of emoji such as 👨‍👩‍👧: kept


def plain_text(text: str, *, multiline: bool = False) -> str:
    """Text as an admin typed it, minus what could hide or reorder it in others' chats: control
    characters (CR, LF unless ``multiline``, tabs, NUL…) become a space, format characters (bidi
    overrides such as U+202E, zero-width spaces, BOM…) are removed; runs of spaces become one."""
    kept: list[str] = []
    for char in text:
        if char == "\n" and multiline:
            kept.append(char)
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            kept.append(" ")
        elif category != "Cf" or char == ZERO_WIDTH_JOINER:
            kept.append(char)
    value = "".join(kept)
    if multiline:
        return "\n".join(" ".join(line.split()) for line in value.split("\n")).strip()
    return " ".join(value.split())


def _limited(text: str, limit: int, what: str, *, multiline: bool = False) -> str:
    value = plain_text(text, multiline=multiline)
    if not value:
        raise InputError(_("The {what} must not be empty.").format(what=what))
    if len(value) > limit:
        raise InputError(
            _("The {what} is {n} characters long; the limit is {limit}.").format(what=what, n=len(value), limit=limit)
        )
    return value


def parse_title(text: str) -> str:
    value = _limited(text, TITLE_LIMIT, _("title"))
    if len(value) < 3:
        raise InputError(_("The title is too short: write at least 3 characters."))
    return value


def parse_description(text: str) -> str | None:
    return None if _skip(text) else _limited(text, DESCRIPTION_LIMIT, _("description"), multiline=True)


def parse_organiser(text: str) -> str:
    return _limited(text, ORGANISER_LIMIT, _("organiser"))


def _parse_moment(text: str, tz: ZoneInfo) -> tuple[datetime, bool] | None:
    value = " ".join(text.split())
    for pattern in _DATETIME_FORMATS:
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=tz), False
        except ValueError:
            pass
    for pattern in _DATE_FORMATS:
        try:
            day = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        return datetime.combine(day, time(0, 0), tz), True
    return None


def parse_start(text: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, bool]:
    """``YYYY-MM-DD HH:MM`` (or ``DD.MM.YYYY HH:MM``), or a date alone for an all-day event."""
    parsed = _parse_moment(text, tz)
    if parsed is None:
        raise InputError(
            _("I could not read this date. Write it as 2026-03-20 18:30, or 2026-03-20 for an all-day event.")
        )
    start, all_day = parsed
    if (all_day and start.date() < now.astimezone(tz).date()) or (not all_day and start <= now):
        raise InputError(_("This moment is in the past. Give a future date."))
    if start > now + timedelta(days=730):
        raise InputError(_("This date is more than two years ahead. Check the year."))
    return start, all_day


def parse_end(text: str, start: datetime, all_day: bool, tz: ZoneInfo) -> datetime | None:
    """``-`` (no end), ``HH:MM`` (the same day), a full date and time, or (all-day) the last date."""
    if _skip(text):
        return datetime.combine(start.date() + timedelta(days=1), time(0, 0), tz) if all_day else None
    value = " ".join(text.split())
    if all_day:
        parsed = _parse_moment(value, tz)
        if parsed is None or not parsed[1]:
            raise InputError(_("Write the last day as 2026-03-21, or - if the event lasts one day."))
        last_day = parsed[0].date()
        if last_day < start.date():
            raise InputError(_("The end is before the start. Give a later date."))
        return datetime.combine(last_day + timedelta(days=1), time(0, 0), tz)
    end: datetime | None = None
    if re.fullmatch(r"\d{1,2}:\d{2}", value):
        try:
            end = datetime.combine(start.date(), time.fromisoformat(value.zfill(5)), tz)
        except ValueError:
            end = None
    else:
        parsed = _parse_moment(value, tz)
        if parsed is not None and not parsed[1]:
            end = parsed[0]
    if end is None:
        raise InputError(_("I could not read this time. Write 20:00, or 2026-03-21 20:00, or - for no end."))
    if end <= start:
        raise InputError(_("The end is before the start. Give a later time."))
    return end


def parse_district(text: str, campaign: Campaign, lang: Lang) -> str | None:
    if _skip(text):
        return None
    value = text.strip().casefold()
    for district in campaign.districts:
        if value == district.id or value in (name.casefold() for name in district.name.model_dump().values()):
            return district.id
    raise InputError(
        _("Unknown district. Choose one of: {names}; or - for none.").format(
            names=", ".join(district.name.get(lang) for district in campaign.districts)
        )
    )


def parse_venue(text: str) -> tuple[str, str | None] | None:
    """``Name; address`` or ``Name``, or ``-`` for none."""
    if _skip(text):
        return None
    name, _sep, address = text.partition(";")
    venue = _limited(name, VENUE_LIMIT, _("place name"))
    return venue, (_limited(address, VENUE_LIMIT, _("address")) if address.strip() else None)


def parse_location(text: str) -> tuple[float, float] | None:
    if _skip(text):
        return None
    match = re.fullmatch(r"\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*", text)
    if not match:
        raise InputError(_("Write the coordinates as 43.2383, 76.9450 (latitude, longitude), or - for none."))
    latitude, longitude = float(match.group(1)), float(match.group(2))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InputError(_("These coordinates are out of range (latitude −90…90, longitude −180…180)."))
    return latitude, longitude


def parse_link(text: str) -> str | None:
    if _skip(text):
        return None
    value = text.strip()
    if len(value) > 500 or not _URL_RE.fullmatch(value):
        raise InputError(_("This is not a web link. Write a link starting with https://, or - for none."))
    return value


def new_event_id(start: datetime, taken: set[str], tz: ZoneInfo) -> str:
    stem = f"ev-{start.astimezone(tz):%Y%m%d}"
    number = 1
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"


# --- the service ---------------------------------------------------------------------------------


class Notices(Protocol):
    """Queues one message for a fixed list of recipients (the delivery engine: persistent,
    paced, resumed after a crash); the same ``key`` never queues twice."""

    async def create_notice(
        self, message: BroadcastMessage, recipients: Sequence[int], *, key: str, label: str, created_by: int | None
    ) -> BroadcastRecord: ...


class EventService:
    """Events for handlers and the scheduler. ``send_due`` is safe to call often and concurrently
    with handlers: each reminder is claimed in the database before it is sent, so it goes out at
    most once, even across restarts."""

    def __init__(
        self,
        content: ContentStore,
        storage: Storage,
        clock: Clock,
        bot: Bot,
        i18n: I18n,
        *,
        default_language: Lang,
        grace: timedelta = timedelta(hours=1),
        notices: Notices | None = None,
    ) -> None:
        self.notices = notices  # without it (tests of the service alone), notices are sent directly
        self.content = content
        self.storage = storage
        self.clock = clock
        self.bot = bot
        self.i18n = i18n
        self.default_language = default_language
        self.grace = grace

    @property
    def tz(self) -> ZoneInfo:
        return self.content.current.campaign.tz

    @property
    def campaign(self) -> Campaign:
        return self.content.current.campaign

    async def all_events(self) -> list[EventView]:
        """Every event as worded now; the file's events only between their ``from`` and ``until``."""
        cancelled = await self.storage.cancelled_event_ids()
        campaign = self.campaign
        passed = campaign.passed_ids(self.clock.now())
        events = [
            from_entry(entry, campaign, entry.id in cancelled, passed)
            for entry in self.content.current.events
            if entry.listed(passed)
        ]
        known = {entry.id for entry in self.content.current.events}
        events += [
            from_record(record, campaign, record.id in cancelled)
            for record in await self.storage.list_events()
            if record.id not in known
        ]
        return events

    async def get(self, event_id: str) -> EventView | None:
        campaign = self.campaign
        for entry in self.content.current.events:
            if entry.id == event_id:
                passed = campaign.passed_ids(self.clock.now())
                if entry.from_ is not None and entry.from_ not in passed:
                    return None  # not announced yet: its wording may presume what is not known
                cancelled = event_id in await self.storage.cancelled_event_ids()
                return from_entry(entry, campaign, cancelled, passed)
        record = await self.storage.get_event(event_id)
        if record is None:
            return None
        return from_record(record, campaign, event_id in await self.storage.cancelled_event_ids())

    async def upcoming(self, now: datetime, filters: Filters = Filters()) -> list[EventView]:
        return upcoming(await self.all_events(), now, self.tz, filters)

    async def filter_choices(self, now: datetime, filters: Filters = Filters()) -> FilterChoices:
        return filter_choices(await self.all_events(), now, self.tz, filters, self.campaign)

    async def key_dates(self) -> list[EventView]:
        return key_dates(await self.all_events())

    def _calendar_item(self, event: EventView, lang: Lang) -> CalendarEvent:
        campaign = self.content.current.campaign
        description = event.description(lang)
        if event.sources:
            description += ("\n\n" if description else "") + "\n".join(source.url for source in event.sources)
        if event.all_day:
            start: datetime | date = event.starts_at.astimezone(self.tz).date()
            end: datetime | date | None = (
                event.ends_at.astimezone(self.tz).date() if event.ends_at else start + timedelta(days=1)
            )
        else:
            start, end = event.starts_at, event.ends_at
        return CalendarEvent(
            uid=f"{event.id}@{campaign.id}.voterbot",
            summary=event.title(lang),
            start=start,
            end=end,
            description=description,
            location=place_text(event, lang),
            url=event.link or "",
            status="CANCELLED" if event.cancelled else "CONFIRMED",
            geo=(event.latitude, event.longitude)
            if event.latitude is not None and event.longitude is not None
            else None,
            sequence=event.sequence,
        )

    def ics(self, event: EventView, lang: Lang, now: datetime) -> bytes:
        return build_ics([self._calendar_item(event, lang)], stamp=now, zone=self.tz, name=event.title(lang))

    async def key_dates_ics(self, lang: Lang, now: datetime) -> bytes:
        """Voting day and the other key dates of the campaign, in one calendar file."""
        items = [self._calendar_item(event, lang) for event in await self.key_dates()]
        name = self.content.current.campaign.title.get(lang)
        return build_ics(items, stamp=now, zone=self.tz, name=name)

    # personal reminders ------------------------------------------------------------------------
    async def set_reminder(self, user_id: int, event: EventView, offset: str, now: datetime) -> EventReminder | None:
        """Remember to remind ``user_id``; None when that reminder is no longer possible."""
        moment = dict(reminder_options(event, now, self.tz)).get(offset)
        if moment is None:
            return None
        return await self.storage.set_event_reminder(user_id, event.id, offset, moment, now)

    async def reminder_of(self, user_id: int, event_id: str) -> EventReminder | None:
        reminder = await self.storage.get_event_reminder(user_id, event_id)
        if reminder is None or reminder.cancelled or reminder.sent_at is not None:
            return None
        return reminder

    async def cancel_reminder(self, user_id: int, event_id: str) -> bool:
        return await self.storage.cancel_event_reminder(user_id, event_id)

    def _lang(self, stored: str | None) -> Lang:
        return normalize_language(stored) or self.default_language

    async def _send(self, user_id: int, text: str) -> bool:
        try:
            await self.bot.send_message(user_id, text)
        except TelegramAPIError as error:
            log.warning("event message to %s failed: %s", user_id, error)
            return False
        return True

    async def send_due(self, now: datetime) -> int:
        """Send every due reminder once; skip (and log) those more than ``grace`` late or whose
        event is gone. Returns the number sent. First, finish any cancellation or edit that was
        interrupted before its notices were queued."""
        await self.resume_cancellations()
        await self.resume_edits(now)
        sent = 0
        events: dict[str, EventView | None] = {}
        while True:
            due = await self.storage.due_event_reminders(now, limit=200)
            if not due:
                return sent
            for reminder in due:
                if reminder.event_id not in events:
                    events[reminder.event_id] = await self.get(reminder.event_id)
                event = events[reminder.event_id]
                late = now - reminder.remind_at
                if event is None or event.cancelled or event.is_over(now, self.tz):
                    outcome = "gone"
                elif late > self.grace:
                    outcome = "late"
                else:
                    outcome = "sent"
                if not await self.storage.claim_event_reminder(
                    reminder.user_id, reminder.event_id, reminder.remind_at, outcome, now
                ):
                    continue  # claimed meanwhile (another run) or cancelled: not ours to send
                if outcome == "late":
                    log.warning(
                        "event reminder of %s for %s was due at %s, %s ago (grace %s): skipped",
                        reminder.event_id,
                        reminder.user_id,
                        reminder.remind_at.isoformat(),
                        late,
                        self.grace,
                    )
                    continue
                if outcome == "gone" or event is None:
                    log.info("event reminder of %s for %s: the event is gone", reminder.event_id, reminder.user_id)
                    continue
                lang = self._lang(reminder.language)
                with self.i18n.context(), self.i18n.use_locale(lang):
                    text = reminder_text(event, lang, self.tz)
                if await self._send(reminder.user_id, text):
                    sent += 1
                else:
                    await self.storage.set_event_reminder_outcome(reminder.user_id, reminder.event_id, "failed")

    # admin -------------------------------------------------------------------------------------
    async def taken_ids(self) -> set[str]:
        return {entry.id for entry in self.content.current.events} | {r.id for r in await self.storage.list_events()}

    async def add_event(self, record: EventRecord) -> EventView:
        await self.storage.save_event(record)
        return from_record(record, self.campaign)

    async def update_event(self, record: EventRecord, now: datetime, admin_id: int | None = None) -> int:
        """Save an edited admin event; move the reminders and tell their users (through the
        delivery engine: one notice per language and new reminder moment, keyed by the event's
        version, queued before the reminders move). Returns how many people are told. Interrupted
        after saving, the scheduler's next tick (:meth:`resume_edits`) finds reminders whose moment
        no longer matches the event and completes the change for them."""
        await self.storage.save_event(record)
        pending = await self.storage.pending_event_reminders(record.id)
        return await self._notify_changed(record, pending, now, admin_id)

    def _moment(self, event: EventView, reminder: EventReminder) -> datetime | None:
        """Where ``reminder`` belongs for ``event`` as it is now (its offset, or the nearest one)."""
        moment = remind_at(event, reminder.offset, self.tz)
        if moment is None and reminder.offset in OFFSETS:
            moment = remind_at(event, "eve" if event.all_day else "1h", self.tz)
        return moment

    async def _notify_changed(
        self, record: EventRecord, reminders: list[EventReminder], now: datetime, admin_id: int | None
    ) -> int:
        event = from_record(record, self.campaign)
        plan: list[tuple[EventReminder, datetime | None]] = []
        for reminder in reminders:
            moment = self._moment(event, reminder)
            plan.append((reminder, moment if moment is not None and moment > now else None))
        groups: dict[tuple[Lang, datetime | None], list[int]] = {}
        for reminder, moment in plan:
            groups.setdefault((self._lang(reminder.language), moment), []).append(reminder.user_id)
        version = to_ts(record.updated_at)
        for (lang, moment), users in groups.items():
            with self.i18n.context(), self.i18n.use_locale(lang):
                text = changed_text(event, lang, self.tz, moment)
            at = to_ts(moment) if moment is not None else "none"
            await self._notify(text, users, f"event-edit:{record.id}:{version}:{lang}:{at}", admin_id)
        for reminder, moment in plan:
            if moment is not None:
                await self.storage.move_event_reminder(reminder.user_id, record.id, moment)
            else:
                await self.storage.cancel_event_reminder(reminder.user_id, record.id)
        return len(plan)

    async def resume_edits(self, now: datetime) -> int:
        """Complete edits interrupted between saving the event and moving its reminders: pending
        reminders whose moment differs from the one the saved event gives them. (An interrupted
        edit that moved no reminder, a new title say, is not told again.)"""
        told = 0
        cancelled = await self.storage.cancelled_event_ids()
        for record in await self.storage.list_events():
            if record.id in cancelled:
                continue
            event = from_record(record, self.campaign)
            stale = [
                reminder
                for reminder in await self.storage.pending_event_reminders(record.id)
                if self._moment(event, reminder) != reminder.remind_at
            ]
            if stale:
                log.warning("event %s: resuming its interrupted edit for %d reminder(s)", record.id, len(stale))
                told += await self._notify_changed(record, stale, now, None)
        return told

    async def cancel_event(self, event: EventView, admin_id: int | None, now: datetime) -> int | None:
        """Cancel ``event``; tell everyone with a pending reminder. None if it was cancelled before.

        Crash-safe in three steps: the event is marked cancelled; the notices are queued in the
        delivery engine (one broadcast per language, keyed by event and language); then the
        reminders are stopped. Interrupted after the first or second step, the scheduler's next
        tick (:meth:`resume_cancellations`) finds reminders of a cancelled event still pending and
        completes the rest; the engine resumes the notices like any broadcast."""
        if not await self.storage.cancel_event(event.id, admin_id, now):
            return None
        return await self._notify_cancelled(replace(event, cancelled=True), admin_id)

    async def _notify_cancelled(self, event: EventView, admin_id: int | None) -> int:
        pending = await self.storage.pending_event_reminders(event.id)
        groups: dict[Lang, list[int]] = {}
        for reminder in pending:
            groups.setdefault(self._lang(reminder.language), []).append(reminder.user_id)
        for lang, users in groups.items():
            with self.i18n.context(), self.i18n.use_locale(lang):
                text = cancelled_text(event, lang, self.tz)
            await self._notify(text, users, f"event-cancel:{event.id}:{lang}", admin_id)
        await self.storage.cancel_event_reminders(event.id)
        return len(pending)

    async def resume_cancellations(self) -> int:
        """Complete cancellations interrupted before their reminders were stopped (see
        :meth:`cancel_event`). Returns how many people it queued notices for."""
        told = 0
        for event_id in await self.storage.cancelled_events_with_pending_reminders():
            event = await self.get(event_id)
            if event is None:  # an admin event deleted meanwhile: nothing to describe
                await self.storage.cancel_event_reminders(event_id)
                continue
            log.warning("event %s: resuming its interrupted cancellation", event_id)
            told += await self._notify_cancelled(replace(event, cancelled=True), None)
        return told

    async def _notify(self, text: str, users: list[int], key: str, admin_id: int | None) -> None:
        if self.notices is None:
            for user_id in users:
                await self._send(user_id, text)
            return
        message = BroadcastMessage(kind=MessageKind.TEXT, text=text)
        await self.notices.create_notice(message, users, key=key, label=key, created_by=admin_id)
