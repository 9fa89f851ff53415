"""Typed events (``data/events.yaml``): official key dates and, where a source dates them, campaign
events. Times are local to the campaign's time zone (``campaign.yaml``); the services turn them into
moments. Every model forbids unknown fields, like the rest of the content."""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from typing import Literal, get_args

from pydantic import Field, model_validator

from bot.content.models import Identifier, Localized, Model, Source, Url

EventKind = Literal[
    "official-date",
    "meeting",
    "round-table",
    "lecture",
    "public-dialogue",
    "concert",
    "festival",
    "youth-action",
]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
OrganiserKind = Literal["official", "campaign", "other"]

TITLE_LIMIT = 100
DESCRIPTION_LIMIT = 1000
VENUE_LIMIT = 200


def _limit(value: Localized, limit: int, name: str) -> None:
    for lang in ("kk", "ru", "en"):
        text = getattr(value, lang)
        if len(text) > limit:
            raise ValueError(f"{name}.{lang} is {len(text)} characters; the limit is {limit}")


class Venue(Model):
    name: Localized
    address: Localized | None = None  # never invented: leave it out when no source gives it
    district: Identifier | None = None  # one of campaign.yaml's districts (checked on loading)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> Venue:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        _limit(self.name, VENUE_LIMIT, "name")
        if self.address is not None:
            _limit(self.address, VENUE_LIMIT, "address")
        return self


class Organiser(Model):
    kind: OrganiserKind  # campaign events are labelled as organised by the campaign
    name: Localized


class EventVariant(Model):
    """The card's wording from a milestone on (``campaign.yaml``); what it leaves out stays."""

    from_: Identifier = Field(alias="from")
    title: Localized | None = None
    description: Localized | None = None


class EventEntry(Model):
    """One event. Without ``time`` it lasts the whole day (or days, up to ``end_date``). ``from`` and
    ``until`` name milestones between which it is listed; ``variants`` change its wording."""

    id: Identifier
    from_: Identifier | None = Field(default=None, alias="from")
    until: Identifier | None = None
    variants: list[EventVariant] = []
    kind: EventKind
    title: Localized
    description: Localized | None = None
    date: dt.date
    time: dt.time | None = None
    end_date: dt.date | None = None
    end_time: dt.time | None = None
    venue: Venue | None = None
    organiser: Organiser
    link: Url | None = None
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> EventEntry:
        _limit(self.title, TITLE_LIMIT, "title")
        for variant in self.variants:
            if variant.title is not None:
                _limit(variant.title, TITLE_LIMIT, f"variants.{variant.from_}.title")
            if variant.description is not None:
                _limit(variant.description, DESCRIPTION_LIMIT, f"variants.{variant.from_}.description")
        if self.description is not None:
            _limit(self.description, DESCRIPTION_LIMIT, "description")
        if self.end_time is not None and self.time is None:
            raise ValueError("end_time needs a start time (an all-day event has none)")
        end_day = self.end_date or self.date
        if end_day < self.date:
            raise ValueError("end_date is before date")
        if self.time is not None and self.end_time is not None and end_day == self.date and self.end_time <= self.time:
            raise ValueError("end_time must be after time")
        if self.kind == "official-date" and self.organiser.kind != "official":
            raise ValueError("an official date must have an official organiser")
        return self

    @property
    def all_day(self) -> bool:
        return self.time is None

    def milestones(self) -> list[tuple[str, str]]:
        """(field, milestone id) for every milestone this event names, to check against the campaign."""
        named = [("from", self.from_), ("until", self.until)]
        named += [(f"variants.{index}.from", variant.from_) for index, variant in enumerate(self.variants)]
        named += [(f"sources.{index}.from", source.from_) for index, source in enumerate(self.sources)]
        return [(where, milestone) for where, milestone in named if milestone is not None]

    def listed(self, passed: Container[str]) -> bool:
        return (self.from_ is None or self.from_ in passed) and (self.until is None or self.until not in passed)

    def worded(self, passed: Container[str]) -> tuple[Localized, Localized | None]:
        """Title and description once the milestones in ``passed`` have passed."""
        title, description = self.title, self.description
        for variant in self.variants:
            if variant.from_ in passed:
                title = variant.title or title
                description = variant.description or description
        return title, description


class EventsFile(Model):
    events: list[EventEntry] = []

    @model_validator(mode="after")
    def _unique(self) -> EventsFile:
        seen: set[str] = set()
        for event in self.events:
            if event.id in seen:
                raise ValueError(f"event id {event.id!r} is used twice")
            seen.add(event.id)
        return self


__all__ = [
    "DESCRIPTION_LIMIT",
    "EVENT_KINDS",
    "TITLE_LIMIT",
    "VENUE_LIMIT",
    "EventEntry",
    "EventKind",
    "EventVariant",
    "EventsFile",
    "Organiser",
    "OrganiserKind",
    "Venue",
]
