"""iCalendar files (RFC 5545) for "add to calendar": generic, no Telegram and no content types.

``build_ics`` writes one VCALENDAR with a VEVENT per :class:`CalendarEvent`: CRLF line endings,
lines folded at 75 octets (never inside a UTF-8 character), text escaped (``\\ ; ,`` and newlines),
a UID and a DTSTAMP on every event. Timed events are written in the given zone with its VTIMEZONE
when the zone keeps one UTC offset over the events' span (Asia/Almaty: +05:00, no DST); otherwise,
or without a zone, in UTC. All-day events use ``VALUE=DATE`` with an exclusive DTEND.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

PRODID = "-//voterbot//events//EN"
LINE_OCTETS = 75


@dataclass(frozen=True)
class CalendarEvent:
    uid: str  # globally unique and stable, e.g. "voting-day@kz-referendum-2026.voterbot"
    summary: str
    start: datetime | date  # an aware datetime, or a date for an all-day event
    end: datetime | date | None = None  # exclusive; for an all-day event the day after the last day
    description: str = ""
    location: str = ""
    url: str = ""
    status: str = ""  # "", CONFIRMED, TENTATIVE or CANCELLED
    geo: tuple[float, float] | None = None  # latitude, longitude
    sequence: int = 0  # raise it when the event changes

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into lines of at most 75 octets (§3.1), joined by CRLF + space."""
    raw = line.encode("utf-8")
    if len(raw) <= LINE_OCTETS:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    limit = LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
            limit = LINE_OCTETS - 1  # continuation lines begin with a space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}{seconds % 3600 // 60:02d}"


def _fixed_offset(zone: tzinfo, moments: list[datetime]) -> int | None:
    """The zone's single UTC offset (seconds) over the span of ``moments``, or None if it changes."""
    if not moments:
        return None
    first, last = min(moments), max(moments)
    offsets = set()
    probe = first
    while probe <= last:  # daily probes catch any DST switch within the span
        delta = probe.astimezone(zone).utcoffset()
        offsets.add(None if delta is None else int(delta.total_seconds()))
        probe += timedelta(days=1)
    delta = last.astimezone(zone).utcoffset()
    offsets.add(None if delta is None else int(delta.total_seconds()))
    if len(offsets) != 1 or None in offsets:
        return None
    return next(iter(offsets))


def _vtimezone(zone: ZoneInfo, offset: int, since: datetime) -> list[str]:
    name = since.astimezone(zone).tzname() or _offset(offset)
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{zone.key}",
        "BEGIN:STANDARD",
        f"DTSTART:{since.astimezone(zone).strftime('%Y%m%d')}T000000",
        f"TZOFFSETFROM:{_offset(offset)}",
        f"TZOFFSETTO:{_offset(offset)}",
        f"TZNAME:{escape_text(name)}",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]


def build_ics(
    events: Iterable[CalendarEvent],
    *,
    stamp: datetime,
    zone: ZoneInfo | None = None,
    name: str = "",
    prodid: str = PRODID,
) -> bytes:
    """The iCalendar file (UTF-8 bytes) for ``events``; ``stamp`` (now, aware) is every DTSTAMP."""
    items = list(events)
    timed = [moment for event in items for moment in (event.start, event.end) if isinstance(moment, datetime)]
    for moment in timed:
        if moment.tzinfo is None:
            raise ValueError("calendar times must be timezone-aware")
    offset = _fixed_offset(zone, timed) if zone is not None else None
    use_zone = zone if offset is not None else None
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{escape_text(prodid)}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    if name:
        lines.append(f"X-WR-CALNAME:{escape_text(name)}")
    if use_zone is not None and offset is not None:
        lines.append(f"X-WR-TIMEZONE:{use_zone.key}")
        lines.extend(_vtimezone(use_zone, offset, min(timed)))
    for event in items:
        lines.extend(_vevent(event, stamp, use_zone))
    lines.append("END:VCALENDAR")
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")


def _when(prop: str, value: datetime | date, zone: ZoneInfo | None) -> str:
    if not isinstance(value, datetime):
        return f"{prop};VALUE=DATE:{value.strftime('%Y%m%d')}"
    if zone is not None:
        return f"{prop};TZID={zone.key}:{_local(value, zone)}"
    return f"{prop}:{_utc(value)}"


def _vevent(event: CalendarEvent, stamp: datetime, zone: ZoneInfo | None) -> list[str]:
    if isinstance(event.start, datetime) != isinstance(event.end, datetime) and event.end is not None:
        raise ValueError(f"event {event.uid}: start and end must both be dates or both be times")
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{_utc(stamp)}",
        _when("DTSTART", event.start, zone),
    ]
    if event.end is not None:
        lines.append(_when("DTEND", event.end, zone))
    elif event.all_day:
        lines.append(_when("DTEND", event.start + timedelta(days=1), zone))
    lines.append(f"SUMMARY:{escape_text(event.summary)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.geo is not None:
        lines.append(f"GEO:{event.geo[0]:.6f};{event.geo[1]:.6f}")
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.status:
        lines.append(f"STATUS:{event.status}")
    if event.sequence:
        lines.append(f"SEQUENCE:{event.sequence}")
    lines.append("TRANSP:TRANSPARENT" if event.all_day else "TRANSP:OPAQUE")
    lines.append("END:VEVENT")
    return lines
