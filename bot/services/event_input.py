"""Validation of the admin dialog's answers (``/event_add``, ``/event_edit``): every field read
from what the admin typed, or a typed :class:`InputError` (a :class:`Problem`, the handler words
it in the admin's language). Pure functions of their arguments and ``now``."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.content.events import DESCRIPTION_LIMIT, TITLE_LIMIT, VENUE_LIMIT
from bot.content.models import Campaign

ORGANISER_LIMIT = 100
LINK_LIMIT = 500
_URL_RE = re.compile(r"https?://[^\s/$.?#][^\s<>\"]*")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%dT%H:%M")
ZERO_WIDTH_JOINER = "\u200d"  # a format character, but part of emoji such as 👨‍👩‍👧: kept


# --- validation ----------------------------------------------------------------------------------


class Problem(StrEnum):
    """What is wrong with an answer; the handler says it in the admin's language."""

    EMPTY = "empty"  # subject
    TOO_LONG = "too_long"  # subject, length, limit
    TITLE_TOO_SHORT = "title_too_short"
    DATE_UNREADABLE = "date_unreadable"
    IN_THE_PAST = "in_the_past"
    TOO_FAR_AHEAD = "too_far_ahead"
    LAST_DAY_UNREADABLE = "last_day_unreadable"
    END_BEFORE_START_DAY = "end_before_start_day"
    TIME_UNREADABLE = "time_unreadable"
    END_BEFORE_START_TIME = "end_before_start_time"
    UNKNOWN_DISTRICT = "unknown_district"
    COORDINATES_UNREADABLE = "coordinates_unreadable"
    COORDINATES_OUT_OF_RANGE = "coordinates_out_of_range"
    NOT_A_LINK = "not_a_link"


class Subject(StrEnum):
    """The text an ``EMPTY`` or ``TOO_LONG`` problem is about."""

    TITLE = "title"
    DESCRIPTION = "description"
    ORGANISER = "organiser"
    PLACE_NAME = "place name"
    ADDRESS = "address"


class InputError(ValueError):
    """Input the admin must correct: :attr:`problem` says what (the handler words it)."""

    def __init__(self, problem: Problem, subject: Subject | None = None, length: int = 0, limit: int = 0) -> None:
        super().__init__(problem.value if subject is None else f"{problem.value}: {subject.value}")
        self.problem = problem
        self.subject = subject
        self.length = length
        self.limit = limit


def _skip(text: str) -> bool:
    return text.strip() in ("-", "—")


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


def _limited(text: str, limit: int, subject: Subject, *, multiline: bool = False) -> str:
    value = plain_text(text, multiline=multiline)
    if not value:
        raise InputError(Problem.EMPTY, subject)
    if len(value) > limit:
        raise InputError(Problem.TOO_LONG, subject, len(value), limit)
    return value


def parse_title(text: str) -> str:
    value = _limited(text, TITLE_LIMIT, Subject.TITLE)
    if len(value) < 3:
        raise InputError(Problem.TITLE_TOO_SHORT)
    return value


def parse_description(text: str) -> str | None:
    return None if _skip(text) else _limited(text, DESCRIPTION_LIMIT, Subject.DESCRIPTION, multiline=True)


def parse_organiser(text: str) -> str:
    return _limited(text, ORGANISER_LIMIT, Subject.ORGANISER)


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
        raise InputError(Problem.DATE_UNREADABLE)
    start, all_day = parsed
    if (all_day and start.date() < now.astimezone(tz).date()) or (not all_day and start <= now):
        raise InputError(Problem.IN_THE_PAST)
    if start > now + timedelta(days=730):
        raise InputError(Problem.TOO_FAR_AHEAD)
    return start, all_day


def parse_end(text: str, start: datetime, all_day: bool, tz: ZoneInfo) -> datetime | None:
    """``-`` (no end), ``HH:MM`` (the same day), a full date and time, or (all-day) the last date."""
    if _skip(text):
        return datetime.combine(start.date() + timedelta(days=1), time(0, 0), tz) if all_day else None
    value = " ".join(text.split())
    if all_day:
        parsed = _parse_moment(value, tz)
        if parsed is None or not parsed[1]:
            raise InputError(Problem.LAST_DAY_UNREADABLE)
        last_day = parsed[0].date()
        if last_day < start.date():
            raise InputError(Problem.END_BEFORE_START_DAY)
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
        raise InputError(Problem.TIME_UNREADABLE)
    if end <= start:
        raise InputError(Problem.END_BEFORE_START_TIME)
    return end


def parse_district(text: str, campaign: Campaign) -> str | None:
    """A district's id or its name in any language, or ``-`` for none."""
    if _skip(text):
        return None
    value = text.strip().casefold()
    for district in campaign.districts:
        if value == district.id or value in (name.casefold() for name in district.name.model_dump().values()):
            return district.id
    raise InputError(Problem.UNKNOWN_DISTRICT)


def parse_venue(text: str) -> tuple[str, str | None] | None:
    """``Name; address`` or ``Name``, or ``-`` for none."""
    if _skip(text):
        return None
    name, _sep, address = text.partition(";")
    venue = _limited(name, VENUE_LIMIT, Subject.PLACE_NAME)
    return venue, (_limited(address, VENUE_LIMIT, Subject.ADDRESS) if address.strip() else None)


def parse_location(text: str) -> tuple[float, float] | None:
    if _skip(text):
        return None
    match = re.fullmatch(r"\s*(-?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:\.\d+)?)\s*", text)
    if not match:
        raise InputError(Problem.COORDINATES_UNREADABLE)
    latitude, longitude = float(match.group(1)), float(match.group(2))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InputError(Problem.COORDINATES_OUT_OF_RANGE)
    return latitude, longitude


def parse_link(text: str) -> str | None:
    if _skip(text):
        return None
    value = text.strip()
    if len(value) > LINK_LIMIT or not _URL_RE.fullmatch(value):
        raise InputError(Problem.NOT_A_LINK)
    return value
