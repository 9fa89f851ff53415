"""The campaign (``campaign.yaml``): its milestones, districts, call centre, polling-station lookup,
results and reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bot.config import Lang
from bot.content.models.base import Identifier, Link, Localized, LocalizedHtml, Model, Source
from bot.content.models.operators import Operators
from bot.content.placeholders import (
    CALL_CENTRE_FACTS,
    FACTS,
    REMINDER_ONLY,
    known_list,
    placeholders,
    unknown_placeholders,
)


class CallCentre(Model):
    """A phone line for residents. ``until``: the milestone from which it is no longer presented as
    operating (its hours are then not shown; the commission's site is given instead)."""

    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{3,20}$")]
    hours: Localized  # e.g. "daily, 08:00–20:00", in each language
    name: Localized
    until: Identifier | None = None
    sources: list[Source] = Field(min_length=1)


class StationLookup(Model):
    """How a resident finds their polling station (the bot answers a shared location with it);
    ``until``: the milestone from which it is no longer offered."""

    text: LocalizedHtml
    until: Identifier | None = None
    sources: list[Source] = Field(min_length=1)


class District(Model):
    id: Identifier
    name: Localized


class Note(LocalizedHtml):
    """A milestone's note; ``until``: the milestone from which it is no longer shown."""

    until: Identifier | None = None


class Milestone(Model):
    """A named moment of the campaign. Without ``time`` it counts from the start of its day; with
    ``counts_from: day-end`` from the end of its day (a thing known to happen that day, hour unknown)."""

    id: Identifier
    date: dt.date
    time: dt.time | None = None
    counts_from: Literal["day-start", "day-end"] = "day-start"
    title: Localized
    note: Note | None = None  # added to the status line from this milestone on (until the next note, or its until)
    sources: list[Source] = []

    @model_validator(mode="after")
    def _time_or_day_end(self) -> Milestone:
        if self.time is not None and self.counts_from == "day-end":
            raise ValueError("counts_from: day-end is for a milestone without a time")
        return self


class ResultOption(Model):
    title: Localized
    votes: Annotated[int, Field(ge=0)]


class Preliminary(Model):
    """The same figures announced earlier as preliminary results (from the ``preliminary-results``
    milestone): who announced them and when, and the sources."""

    announced: Localized
    sources: list[Source] = Field(min_length=1)


class Results(Model):
    """The official result, shown from the ``results`` milestone on. Every option is shown the same
    way (votes and share of those who voted)."""

    eligible: Annotated[int, Field(gt=0)]
    voted: Annotated[int, Field(gt=0)]
    invalid: Annotated[int, Field(ge=0)] | None = None
    options: list[ResultOption] = Field(min_length=2)
    outcome: LocalizedHtml  # e.g. "declared valid; the new Constitution adopted"
    announced: Localized  # who announced them and when, e.g. "Central Referendum Commission, 17 March 2026"
    preliminary: Preliminary | None = None
    sources: list[Source] = Field(min_length=1)
    faq: list[Identifier] = []  # FAQ answers sent with the results picture (ids in faq.yaml)

    @model_validator(mode="after")
    def _counts(self) -> Results:
        if self.voted > self.eligible:
            raise ValueError("voted is larger than eligible")
        if sum(option.votes for option in self.options) > self.voted:
            raise ValueError("the options' votes add up to more than voted")
        return self


REMINDER_PLACEHOLDERS = {**REMINDER_ONLY, **FACTS}  # the facts, {countdown} and the older {date} {open} {close}


class Reminder(Model):
    """A scheduled message: ``days_before`` voting day at ``at`` (campaign time), or on the day a
    ``milestone`` takes effect at ``at`` (never before the milestone itself).

    ``scope``: ``countdown`` goes to subscribers who want all reminders; ``voting_day`` also to those
    who want only voting-day ones (and not to those who pressed "I voted" that day); ``after`` is a
    post-vote message for subscribers who want all reminders."""

    id: Identifier
    days_before: Annotated[int, Field(ge=0, le=60)] | None = None
    milestone: Identifier | None = None
    at: time
    from_: Identifier | None = Field(default=None, alias="from")  # neither promised nor sent before this milestone
    title: Localized | None = None  # how the settings screen names it (default: its milestone's title)
    scope: Literal["countdown", "voting_day", "after"]
    text: LocalizedHtml
    with_status: bool = True  # append the same status text that /countdown shows

    @model_validator(mode="after")
    def _one_moment(self) -> Reminder:
        if (self.days_before is None) == (self.milestone is None):
            raise ValueError("give exactly one of days_before or milestone")
        for lang in ("kk", "ru", "en"):
            unknown = unknown_placeholders(getattr(self.text, lang), REMINDER_PLACEHOLDERS)
            if unknown:
                raise ValueError(
                    f"text.{lang}: unknown placeholder {unknown[0]} (known: {known_list(REMINDER_PLACEHOLDERS)})"
                )
        return self


# Milestones the code relies on (the rest are the editors' own): the stage at a moment is the last
# milestone passed, and these name the moments that change what the bot may say.
REQUIRED_MILESTONES = ("polls-open", "polls-close", "results", "end")


class Campaign(Model):
    id: Identifier
    kind: Literal["referendum", "election"]
    title: Localized
    place: Localized  # whose clock the times are on: "Almaty" in "Almaty time"
    timezone: str
    milestones: list[Milestone] = Field(min_length=len(REQUIRED_MILESTONES))
    districts: list[District] = []
    call_centre: CallCentre | None = None
    station_lookup: StationLookup | None = None
    commission: Link
    links: list[Link] = []
    results: Results | None = None
    reminders: list[Reminder] = []
    sources: list[Source] = Field(min_length=1)
    operators: Operators | None = None  # the operators' desk's hours (used with OPERATORS_CHAT_ID)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as Asia/Almaty)") from None
        return value

    @model_validator(mode="after")
    def _timeline(self) -> Campaign:
        problems = self.timeline_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def timeline_problems(self) -> list[str]:
        problems: list[str] = []
        ids = [milestone.id for milestone in self.milestones]
        seen: set[str] = set()
        for milestone_id in ids:
            if milestone_id in seen:
                problems.append(f"milestone {milestone_id!r}: field id: used twice")
            seen.add(milestone_id)
        for required in REQUIRED_MILESTONES:
            if required not in seen:
                problems.append(f"milestones: the milestone {required!r} is required")
        for earlier, later in zip(self.milestones, self.milestones[1:], strict=False):
            if self.moment_of(later) < self.moment_of(earlier):
                problems.append(
                    f"milestone {later.id!r}: field date: {self.moment_of(later):%Y-%m-%d %H:%M} is before the "
                    f"milestone above it ({earlier.id!r}, {self.moment_of(earlier):%Y-%m-%d %H:%M}): keep them in order"
                )
        for required in ("polls-open", "polls-close"):
            milestone = self._by_id(required)
            if milestone is not None and milestone.time is None:
                problems.append(f"milestone {required!r}: field time: is required (the hour polls open or close)")
        opening, closing = self._by_id("polls-open"), self._by_id("polls-close")
        if opening is not None and closing is not None and opening.date != closing.date:
            problems.append("milestone 'polls-close': field date: must be the same day as 'polls-open'")
        for milestone in self.milestones:
            until = milestone.note.until if milestone.note is not None else None
            if until is not None and until not in seen:
                problems.append(f"milestone {milestone.id!r}: field note.until: unknown milestone {until!r}")
            elif until is not None and self.at(until) <= self.moment_of(milestone):
                problems.append(f"milestone {milestone.id!r}: field note.until: {until!r} is not after this milestone")
        desk = self.operators
        named: list[tuple[str, str | None]] = [("until", desk.until)] if desk else []
        named += [(f"periods.{index}.from", period.from_) for index, period in enumerate(desk.periods if desk else [])]
        for name, ref in named:
            if ref is not None and ref not in seen:
                problems.append(f"operators: field {name}: unknown milestone {ref!r}")
        if self.call_centre is not None and self.call_centre.until is not None and self.call_centre.until not in seen:
            problems.append(f"call_centre: field until: unknown milestone {self.call_centre.until!r}")
        lookup = self.station_lookup
        if lookup is not None and lookup.until is not None and lookup.until not in seen:
            problems.append(f"station_lookup: field until: unknown milestone {lookup.until!r}")
        reminder_ids: set[str] = set()
        for reminder in self.reminders:
            if reminder.id in reminder_ids:
                problems.append(f"reminder {reminder.id!r}: field id: used twice")
            reminder_ids.add(reminder.id)
            if reminder.from_ is not None and reminder.from_ not in seen:
                problems.append(f"reminder {reminder.id!r}: field from: unknown milestone {reminder.from_!r}")
            if reminder.milestone is not None and reminder.milestone not in seen:
                problems.append(f"reminder {reminder.id!r}: field milestone: unknown milestone {reminder.milestone!r}")
            if reminder.days_before is not None and reminder.scope == "after":
                problems.append(
                    f"reminder {reminder.id!r}: field scope: 'after' goes with a milestone, not days_before"
                )
            hours = (opening.time, closing.time) if opening and closing else (None, None)
            if reminder.days_before == 0 and hours[0] and hours[1] and not hours[0] <= reminder.at < hours[1]:
                problems.append(f"reminder {reminder.id!r}: field at: on voting day it must be within polling hours")
        if self.call_centre is None and any(
            placeholders(r.text.get(lang)) & set(CALL_CENTRE_FACTS)
            for r in self.reminders
            for lang in ("kk", "ru", "en")
        ):
            problems.append("reminders: field text: {call_centre} is used but the campaign has no call_centre")
        districts = [district.id for district in self.districts]
        if len(districts) != len(set(districts)):
            problems.append("districts: field id: a district id is used twice")
        return problems

    # --- the timeline --------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _by_id(self, milestone_id: str) -> Milestone | None:
        return next((milestone for milestone in self.milestones if milestone.id == milestone_id), None)

    def milestone(self, milestone_id: str) -> Milestone:
        found = self._by_id(milestone_id)
        if found is None:
            raise KeyError(milestone_id)
        return found

    def has(self, milestone_id: str) -> bool:
        return self._by_id(milestone_id) is not None

    def moment_of(self, milestone: Milestone) -> datetime:
        """When ``milestone`` counts as passed, timezone-aware in the campaign's zone."""
        if milestone.counts_from == "day-end":
            return datetime.combine(milestone.date + timedelta(days=1), time(0, 0), self.tz)
        return datetime.combine(milestone.date, milestone.time or time(0, 0), self.tz)

    def at(self, milestone_id: str) -> datetime:
        return self.moment_of(self.milestone(milestone_id))

    def stage_at(self, moment: datetime) -> Milestone | None:
        """The last milestone passed at ``moment`` (None before the first)."""
        stage = None
        for milestone in self.milestones:
            if self.moment_of(milestone) <= moment:
                stage = milestone
        return stage

    def passed(self, milestone_id: str, moment: datetime) -> bool:
        """Whether ``milestone_id`` has passed at ``moment`` (an unknown id never has)."""
        milestone = self._by_id(milestone_id)
        return milestone is not None and self.moment_of(milestone) <= moment

    def passed_ids(self, moment: datetime) -> frozenset[str]:
        return frozenset(m.id for m in self.milestones if self.moment_of(m) <= moment)

    def upcoming(self, moment: datetime) -> list[Milestone]:
        return [milestone for milestone in self.milestones if self.moment_of(milestone) > moment]

    # --- sources ------------------------------------------------------------------------------
    def published_at(self, source: Source) -> datetime:
        """When ``source`` was published, on the campaign's clock (a day counts from its start)."""
        value = source.published
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=self.tz)
        return datetime.combine(value, time(0, 0), self.tz)

    def shows(self, source: Source, moment: datetime) -> bool:
        """Whether ``source`` may be shown at ``moment``: published by then, and its ``from``
        milestone (if any) passed."""
        return self.published_at(source) <= moment and (source.from_ is None or self.passed(source.from_, moment))

    def shown_sources(self, sources: Sequence[Source], moment: datetime) -> list[Source]:
        return [source for source in sources if self.shows(source, moment)]

    # --- voting day --------------------------------------------------------------------------
    @property
    def voting_day(self) -> date:
        return self.milestone("polls-open").date

    @property
    def opens_at(self) -> datetime:
        return self.at("polls-open")

    @property
    def closes_at(self) -> datetime:
        return self.at("polls-close")

    @property
    def results_due(self) -> date | None:
        deadline = self._by_id("results-deadline")
        return deadline.date if deadline else None

    def polls_open_at(self, moment: datetime) -> bool:
        return self.opens_at <= moment < self.closes_at

    def vote_times(self) -> list[time]:
        """The times a resident may say they plan to vote at: polls opening, then each full hour
        while the polls are open."""
        opening, closing = self.opens_at.timetz().replace(tzinfo=None), self.closes_at.timetz().replace(tzinfo=None)
        times = [opening]
        hour = opening.hour + 1
        while hour < 24 and time(hour) < closing:
            times.append(time(hour))
            hour += 1
        return times

    def call_centre_operates(self, moment: datetime) -> bool:
        centre = self.call_centre
        return centre is not None and (centre.until is None or not self.passed(centre.until, moment))

    def district_name(self, district_id: str | None, lang: Lang) -> str:
        found = next((district for district in self.districts if district.id == district_id), None)
        return found.name.get(lang) if found else ""

    def is_district(self, district_id: str | None) -> bool:
        return district_id is not None and any(district.id == district_id for district in self.districts)

    # --- reminders ---------------------------------------------------------------------------
    def reminder_moment(self, reminder: Reminder) -> datetime:
        """When ``reminder`` is due, timezone-aware in the campaign's zone."""
        if reminder.milestone is not None:
            milestone = self.at(reminder.milestone)
            return max(milestone, datetime.combine(milestone.date(), reminder.at, self.tz))
        day = self.voting_day - timedelta(days=reminder.days_before or 0)
        return datetime.combine(day, reminder.at, self.tz)
