"""Typed events (``data/events.yaml``): official key dates and, where a source dates them, campaign
events. Times are local to the campaign's time zone (``campaign.yaml``); the services turn them into
moments. Every model forbids unknown fields, like the rest of the content."""

from __future__ import annotations

import datetime as dt
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
# Almaty's districts; the same ids as bot.services.subscriptions.DISTRICTS.
District = Literal["alatau", "almaly", "auezov", "bostandyk", "zhetysu", "medeu", "nauryzbay", "turksib"]

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
    district: District | None = None
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


class EventEntry(Model):
    """One event. Without ``time`` it lasts the whole day (or days, up to ``end_date``)."""

    id: Identifier
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
    "District",
    "EventEntry",
    "EventKind",
    "EventsFile",
    "Organiser",
    "OrganiserKind",
    "Venue",
]
