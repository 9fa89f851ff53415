"""Events as the bot shows them: the file's (``data/events.yaml``) and the admins' (database) in one
view model; listing with filters and pages; the moments of personal reminders. Pure functions of
their arguments and the clock's ``now`` (texts are rendered on the handler side:
``bot.handlers.event_texts``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from bot.config import LANGUAGES, Lang
from bot.content.events import EVENT_KINDS, EventEntry
from bot.content.models import Campaign, Source
from bot.services.calendar import CalendarEvent
from bot.storage.base import EventRecord

PAGE_SIZE = 5
REMINDER_HOUR = time(9, 0)  # all-day events: reminders at 09:00 the day before / on the day
WHEN_FILTERS = ("today", "week")
Offset = Literal["1h", "1d", "eve", "day"]
OFFSETS: tuple[Offset, ...] = ("1h", "1d", "eve", "day")


class OrganiserKind(StrEnum):
    """Who organises an event (the database and ``data/events.yaml`` keep these strings)."""

    OFFICIAL = "official"
    CAMPAIGN = "campaign"
    OTHER = "other"


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
    entry: EventEntry,
    campaign: Campaign,
    cancelled: bool = False,
    passed: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> EventView:
    """The file's event as worded once the milestones in ``passed`` have passed; its sources those
    out at ``now`` (all published ones when ``now`` is not given)."""
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
        sources=[
            source
            for source in entry.sources
            if (source.from_ is None or source.from_ in passed) and (now is None or campaign.shows(source, now))
        ],
        cancelled=cancelled,
        district_names=_district_names(campaign, venue.district if venue else None),
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


NO_FILTERS = Filters()


def upcoming(
    events: Sequence[EventView], now: datetime, tz: ZoneInfo, filters: Filters = NO_FILTERS
) -> list[EventView]:
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


# --- calendar files ------------------------------------------------------------------------------

PlaceText = Callable[["EventView", Lang], str]  # the location in words: "Palace of Sports, 44 Abay Ave, …"
FactsText = Callable[[str, Lang], str]  # a text with its {placeholders} of facts filled (plain text)


def _as_is(text: str, lang: Lang) -> str:
    return text


def calendar_item(
    event: EventView, lang: Lang, campaign: Campaign, place: PlaceText, facts: FactsText = _as_is
) -> CalendarEvent:
    """``event`` in a calendar file (an all-day event by its dates); ``place`` words its location,
    ``facts`` fills the description's placeholders ({polls_close}…)."""
    tz = campaign.tz
    description = event.description(lang)
    description = facts(description, lang) if description else description
    if event.sources:
        description += ("\n\n" if description else "") + "\n".join(source.url for source in event.sources)
    if event.all_day:
        start: datetime | date = event.starts_at.astimezone(tz).date()
        last = event.ends_at.astimezone(tz).date() if event.ends_at else start + timedelta(days=1)
        end: datetime | date | None = last
    else:
        start, end = event.starts_at, event.ends_at
    return CalendarEvent(
        uid=f"{event.id}@{campaign.id}.voterbot",
        summary=event.title(lang),
        start=start,
        end=end,
        description=description,
        location=place(event, lang),
        url=event.link or "",
        status="CANCELLED" if event.cancelled else "CONFIRMED",
        geo=(event.latitude, event.longitude) if event.latitude is not None and event.longitude is not None else None,
        sequence=event.sequence,
    )
