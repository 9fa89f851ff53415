"""The admin dialog (``/event_add``, ``/event_edit``) as rules: the event *draft* as a typed value,
the steps and their order, an answer applied to the draft (read by :mod:`bot.services.event_input`),
an edit that keeps the duration, the organiser's kind and the id of a new event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.content.models import Campaign
from bot.services.event_input import (
    parse_description,
    parse_district,
    parse_end,
    parse_link,
    parse_location,
    parse_organiser,
    parse_start,
    parse_title,
    parse_venue,
)
from bot.services.event_view import OrganiserKind
from bot.storage.base import EventRecord

# --- steps ---------------------------------------------------------------------------------------


class Step(StrEnum):
    """A field of the dialog, in the order it is asked; also the name of its FSM state."""

    TITLE = "title"
    DESCRIPTION = "description"
    START = "start"
    END = "end"
    DISTRICT = "district"
    VENUE = "venue"
    LOCATION = "location"
    ORGANISER = "organiser"
    LINK = "link"

    @classmethod
    def named(cls, name: str) -> Step | None:
        """The step called ``name`` (a button's data, an FSM value), None for anything else."""
        return cls(name) if name in cls._value2member_map_ else None

    @classmethod
    def from_state(cls, state: str | None) -> Step | None:
        """The step of an FSM state name such as ``EventForm:title`` (None for another state)."""
        return cls.named((state or "").rsplit(":", 1)[-1])


STEPS: tuple[Step, ...] = tuple(Step)


def next_step(step: Step, draft: EventDraft) -> Step | None:
    """The step after ``step``; None: the draft is complete (the preview). No place, no map."""
    following = STEPS.index(step) + 1
    if following < len(STEPS) and STEPS[following] is Step.LOCATION and not draft.venue_name:
        following += 1
    return STEPS[following] if following < len(STEPS) else None


# --- the draft -----------------------------------------------------------------------------------


def organiser_kind(kind: str) -> OrganiserKind:
    """An admin's official date is official; every other event of an admin is a campaign's."""
    return OrganiserKind.OFFICIAL if kind == "official-date" else OrganiserKind.CAMPAIGN


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class EventDraft:
    """An event as the admin dialog builds it (a new one) or changes it (an admin's event).

    Kept between updates in the FSM storage as a JSON-ready dict (:meth:`to_data`,
    :meth:`from_data`); ``created_at`` is set only for an event that exists."""

    kind: str = ""
    title: str = ""
    description: str | None = None
    start: datetime | None = None  # aware; an all-day event: midnight of its first day
    all_day: bool = False
    end: datetime | None = None  # aware, exclusive
    district: str | None = None
    venue_name: str | None = None
    venue_address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    organiser: str = ""
    link: str | None = None
    created_by: int | None = None
    created_at: datetime | None = None

    @property
    def complete(self) -> bool:
        """Every required answer is there (a dialog state lost meanwhile leaves them empty)."""
        return bool(self.kind and self.title and self.organiser) and self.start is not None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> EventDraft:
        created_by = data.get("created_by")
        return cls(
            kind=str(data.get("kind") or ""),
            title=str(data.get("title") or ""),
            description=_text(data.get("description")),
            start=_dt(data.get("start")),
            all_day=bool(data.get("all_day")),
            end=_dt(data.get("end")),
            district=_text(data.get("district")),
            venue_name=_text(data.get("venue_name")),
            venue_address=_text(data.get("venue_address")),
            latitude=_float(data.get("latitude")),
            longitude=_float(data.get("longitude")),
            organiser=str(data.get("organiser") or ""),
            link=_text(data.get("link")),
            created_by=created_by if isinstance(created_by, int) else None,
            created_at=_dt(data.get("created_at")),
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "description": self.description,
            "start": self.start.isoformat() if self.start else None,
            "all_day": self.all_day,
            "end": self.end.isoformat() if self.end else None,
            "district": self.district,
            "venue_name": self.venue_name,
            "venue_address": self.venue_address,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "organiser": self.organiser,
            "link": self.link,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }

    @classmethod
    def from_record(cls, record: EventRecord) -> EventDraft:
        return cls(
            kind=record.kind,
            title=record.title,
            description=record.description,
            start=record.starts_at,
            all_day=record.all_day,
            end=record.ends_at,
            district=record.district,
            venue_name=record.venue_name,
            venue_address=record.venue_address,
            latitude=record.latitude,
            longitude=record.longitude,
            organiser=record.organiser,
            link=record.link,
            created_by=record.created_by,
            created_at=record.created_at,
        )

    def record(self, event_id: str, *, admin_id: int | None, now: datetime) -> EventRecord:
        """The record to save (a new event: created by ``admin_id`` at ``now``)."""
        if self.start is None:
            raise ValueError("a draft without a start is not an event")
        exists = self.created_at is not None
        return EventRecord(
            id=event_id,
            kind=self.kind,
            title=self.title,
            description=self.description,
            starts_at=self.start,
            ends_at=self.end,
            all_day=self.all_day,
            district=self.district,
            venue_name=self.venue_name,
            venue_address=self.venue_address,
            latitude=self.latitude,
            longitude=self.longitude,
            organiser=self.organiser,
            organiser_kind=organiser_kind(self.kind),
            link=self.link,
            created_by=self.created_by if exists else admin_id,
            created_at=self.created_at or now,
            updated_at=now,
        )


def edited(record: EventRecord, step: Step, answer: EventDraft) -> tuple[EventDraft, tuple[str, ...]]:
    """``record`` with the fields that ``step`` set in ``answer`` (a draft the answer was applied
    to, see :func:`apply_input`), its duration kept; and the names of those fields."""
    fields = changed_fields(step, answer)
    before = EventDraft.from_record(record)
    after = replace(before, **{name: getattr(answer, name) for name in fields})
    return keep_duration(before, after), fields


def keep_duration(before: EventDraft, after: EventDraft) -> EventDraft:
    """An edit that moves the start keeps the event's duration; a timed event made all-day lasts
    one day, an all-day event made timed has no known end."""
    if before.end is None or after.start is None or before.start is None:
        return after
    if (after.start, after.all_day) == (before.start, before.all_day):
        return after
    if after.all_day == before.all_day:
        return replace(after, end=after.start + (before.end - before.start))
    return replace(after, end=after.start + timedelta(days=1) if after.all_day else None)


def changed_fields(step: Step, draft: EventDraft) -> tuple[str, ...]:
    """The draft's fields that answering ``step`` sets (for the audit log)."""
    if step is Step.START:
        return ("all_day", "start")
    if step is Step.VENUE:
        if draft.venue_name is None:  # no place, no map
            return ("latitude", "longitude", "venue_address", "venue_name")
        return ("venue_address", "venue_name")
    if step is Step.LOCATION:
        return ("latitude", "longitude")
    return (step.value,)


def apply_input(step: Step, text: str, draft: EventDraft, campaign: Campaign, now: datetime) -> EventDraft:
    """``draft`` with the answer to ``step`` read from ``text``; raises :class:`InputError`."""
    tz = campaign.tz
    if step is Step.TITLE:
        return replace(draft, title=parse_title(text))
    if step is Step.DESCRIPTION:
        return replace(draft, description=parse_description(text))
    if step is Step.START:
        start, all_day = parse_start(text, tz, now)
        return replace(draft, start=start, all_day=all_day)
    if step is Step.END:
        if draft.start is None:
            raise ValueError("the end is asked after the start")
        # a saved event's start is in UTC: its day is the day in the campaign's zone
        return replace(draft, end=parse_end(text, draft.start.astimezone(tz), draft.all_day, tz))
    if step is Step.DISTRICT:
        return replace(draft, district=parse_district(text, campaign))
    if step is Step.VENUE:
        venue = parse_venue(text)
        if venue is None:
            return replace(draft, venue_name=None, venue_address=None, latitude=None, longitude=None)
        return replace(draft, venue_name=venue[0], venue_address=venue[1])
    if step is Step.LOCATION:
        location = parse_location(text)
        return replace(draft, latitude=location[0] if location else None, longitude=location[1] if location else None)
    if step is Step.ORGANISER:
        return replace(draft, organiser=parse_organiser(text))
    return replace(draft, link=parse_link(text))


def new_event_id(start: datetime, taken: set[str], tz: ZoneInfo) -> str:
    stem = f"ev-{start.astimezone(tz):%Y%m%d}"
    number = 1
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"
