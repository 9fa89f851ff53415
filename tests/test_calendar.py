"""The RFC 5545 builder: parsed back with the icalendar package; folding, escaping, zones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.services.calendar import CalendarEvent, build_ics, escape_text, fold

ALMATY = ZoneInfo("Asia/Almaty")
STAMP = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def parse(data: bytes) -> list[Any]:  # icalendar's values are loosely typed
    calendar = icalendar.Calendar.from_ical(data)
    return list(calendar.walk("VEVENT"))


def test_timed_event_in_almaty_time_with_vtimezone() -> None:
    data = build_ics(
        [
            CalendarEvent(
                uid="voting-day@test",
                summary="Voting day",
                start=datetime(2026, 3, 15, 7, 0, tzinfo=ALMATY),
                end=datetime(2026, 3, 15, 20, 0, tzinfo=ALMATY),
            )
        ],
        stamp=STAMP,
        zone=ALMATY,
    )
    text = data.decode("utf-8")
    assert "BEGIN:VTIMEZONE\r\nTZID:Asia/Almaty" in text
    assert "TZOFFSETTO:+0500" in text
    assert "DTSTART;TZID=Asia/Almaty:20260315T070000" in text
    assert "DTSTAMP:20260301T093000Z" in text
    (event,) = parse(data)
    start = event.decoded("DTSTART")
    assert start.astimezone(UTC) == datetime(2026, 3, 15, 2, 0, tzinfo=UTC)  # 07:00 Almaty = 02:00 UTC
    assert event.decoded("DTEND").astimezone(UTC) == datetime(2026, 3, 15, 15, 0, tzinfo=UTC)
    assert str(event["UID"]) == "voting-day@test"


def test_without_a_zone_times_are_utc() -> None:
    data = build_ics(
        [CalendarEvent(uid="x@test", summary="X", start=datetime(2026, 3, 15, 7, 0, tzinfo=ALMATY))], stamp=STAMP
    )
    assert b"DTSTART:20260315T020000Z" in data
    assert b"VTIMEZONE" not in data


def test_a_zone_with_daylight_saving_falls_back_to_utc() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    events = [
        CalendarEvent(uid="a@test", summary="A", start=datetime(2026, 3, 1, 10, 0, tzinfo=berlin)),
        CalendarEvent(uid="b@test", summary="B", start=datetime(2026, 4, 1, 10, 0, tzinfo=berlin)),
    ]
    data = build_ics(events, stamp=STAMP, zone=berlin)
    assert b"VTIMEZONE" not in data
    starts = [event.decoded("DTSTART") for event in parse(data)]
    assert starts == [datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2026, 4, 1, 8, 0, tzinfo=UTC)]


def test_all_day_event_has_an_exclusive_date_end() -> None:
    data = build_ics(
        [CalendarEvent(uid="silence@test", summary="Day of silence", start=date(2026, 3, 14))], stamp=STAMP, zone=ALMATY
    )
    (event,) = parse(data)
    assert event.decoded("DTSTART") == date(2026, 3, 14)
    assert event.decoded("DTEND") == date(2026, 3, 15)
    assert b"DTSTART;VALUE=DATE:20260314" in data


def test_crlf_folding_and_escaping_round_trip() -> None:
    summary = "Встреча, круглый стол; «Жаңа Конституция» \\ итоги\nвторая строка " + "ә" * 60
    description = "Line one\nLine two, with; specials\\" + " long" * 40
    data = build_ics(
        [
            CalendarEvent(
                uid="fold@test",
                summary=summary,
                start=datetime(2026, 3, 20, 18, 30, tzinfo=ALMATY),
                description=description,
                location="Almaty, Medeu district",
                geo=(43.2383, 76.945),
            )
        ],
        stamp=STAMP,
        zone=ALMATY,
    )
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in data.replace(b"\r\n", b"")
    for line in lines:
        line.decode("utf-8")  # never folded inside a UTF-8 character
    (event,) = parse(data)
    assert str(event["SUMMARY"]) == summary
    assert str(event["DESCRIPTION"]) == description
    assert event["GEO"].latitude == pytest.approx(43.2383)


def test_escape_and_fold_helpers() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    assert fold("short") == "short"
    folded = fold("X" * 200)
    assert [len(part) for part in folded.split("\r\n")] == [75, 75, 52]  # 75 + (1 + 74) + (1 + 51)
    assert folded.replace("\r\n ", "") == "X" * 200


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_ics([CalendarEvent(uid="n@test", summary="N", start=datetime(2026, 3, 1, 10, 0))], stamp=STAMP)
