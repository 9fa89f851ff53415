"""Unit tests of the admin dialog's rules (no bot): validation with typed problems, the steps,
the draft and its round trips, an edit that keeps the duration, and the new event's id."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Lang
from bot.content import load_content
from bot.handlers.event_texts import input_error_text
from bot.i18n import create_i18n
from bot.services.event_form import (
    STEPS,
    EventDraft,
    Step,
    apply_input,
    changed_fields,
    edited,
    keep_duration,
    new_event_id,
    next_step,
    organiser_kind,
)
from bot.services.event_input import (
    InputError,
    Problem,
    Subject,
    parse_district,
    parse_end,
    parse_link,
    parse_location,
    parse_start,
    parse_title,
    parse_venue,
    plain_text,
)
from bot.services.event_view import OrganiserKind
from tests.conftest import BEFORE, DATA, almaty

CAMPAIGN = load_content(DATA).campaign
TZ = CAMPAIGN.tz
NOW = BEFORE  # 2026-03-12 12:00 Almaty


def problem_of(call: object, *args: object) -> InputError:
    assert callable(call)
    with pytest.raises(InputError) as caught:
        call(*args)
    return caught.value


def test_problems_are_typed_with_what_they_are_about() -> None:
    error = problem_of(parse_title, "  ")
    assert (error.problem, error.subject) == (Problem.EMPTY, Subject.TITLE)
    error = problem_of(parse_title, "x" * 101)
    assert (error.problem, error.subject, error.length, error.limit) == (Problem.TOO_LONG, Subject.TITLE, 101, 100)
    assert problem_of(parse_title, "ab").problem is Problem.TITLE_TOO_SHORT
    assert problem_of(parse_start, "tomorrow", TZ, NOW).problem is Problem.DATE_UNREADABLE
    assert problem_of(parse_start, "2026-03-12 11:59", TZ, NOW).problem is Problem.IN_THE_PAST
    assert problem_of(parse_start, "2029-01-01", TZ, NOW).problem is Problem.TOO_FAR_AHEAD
    assert problem_of(parse_district, "Atlantis", CAMPAIGN).problem is Problem.UNKNOWN_DISTRICT
    assert (
        problem_of(
            parse_location,
            "north",
        ).problem
        is Problem.COORDINATES_UNREADABLE
    )
    assert problem_of(parse_location, "95, 10").problem is Problem.COORDINATES_OUT_OF_RANGE
    assert problem_of(parse_link, "example.org").problem is Problem.NOT_A_LINK
    error = problem_of(parse_venue, "Hall; " + "a" * 201)
    assert (error.problem, error.subject) == (Problem.TOO_LONG, Subject.ADDRESS)


def test_dates_times_and_places_are_read() -> None:
    assert parse_start("20.03.2026 18:30", TZ, NOW) == (almaty(2026, 3, 20, 18, 30), False)
    assert parse_start("2026-03-12", TZ, NOW) == (almaty(2026, 3, 12), True)  # today, all day
    start = almaty(2026, 3, 20, 18, 30)
    assert parse_end("20:00", start, False, TZ) == almaty(2026, 3, 20, 20, 0)
    assert parse_end("-", start, False, TZ) is None
    assert problem_of(parse_end, "18:00", start, False, TZ).problem is Problem.END_BEFORE_START_TIME
    assert problem_of(parse_end, "25:99", start, False, TZ).problem is Problem.TIME_UNREADABLE
    day = almaty(2026, 3, 20)
    assert parse_end("-", day, True, TZ) == almaty(2026, 3, 21)
    assert parse_end("2026-03-22", day, True, TZ) == almaty(2026, 3, 23)
    assert problem_of(parse_end, "2026-03-19", day, True, TZ).problem is Problem.END_BEFORE_START_DAY
    assert problem_of(parse_end, "2026-03-22 10:00", day, True, TZ).problem is Problem.LAST_DAY_UNREADABLE
    assert parse_district("almaly", CAMPAIGN) == "almaly"
    assert parse_district("  Алмалинский ", CAMPAIGN) == "almaly"
    assert parse_district("—", CAMPAIGN) is None
    assert parse_venue("Palace of Sports; 44 Abay Ave") == ("Palace of Sports", "44 Abay Ave")
    assert parse_location("43.2383; 76.9450") == (43.2383, 76.945)
    assert plain_text("a\u202eb\tc\u200bd 👨\u200d👩") == "ab cd 👨\u200d👩"


def meeting() -> EventDraft:
    draft = EventDraft(kind="meeting")
    for step, text in (
        (Step.TITLE, "Meeting with residents"),
        (Step.DESCRIPTION, "-"),
        (Step.START, "2026-03-13 18:00"),
        (Step.END, "20:00"),
        (Step.DISTRICT, "almaly"),
        (Step.VENUE, "Test hall; 1 Abay Ave"),
        (Step.LOCATION, "43.25, 76.94"),
        (Step.ORGANISER, "Initiative group"),
        (Step.LINK, "https://example.org/meeting"),
    ):
        assert not draft.complete or step is not Step.TITLE
        draft = apply_input(step, text, draft, CAMPAIGN, NOW)
    return draft


def test_the_steps_fill_a_draft_that_survives_the_fsm_storage() -> None:
    draft = meeting()
    assert draft.complete
    assert (draft.start, draft.end, draft.all_day) == (almaty(2026, 3, 13, 18), almaty(2026, 3, 13, 20), False)
    assert (draft.district, draft.venue_name, draft.latitude) == ("almaly", "Test hall", 43.25)
    assert EventDraft.from_data(draft.to_data()) == draft
    assert EventDraft.from_data({}) == EventDraft()  # a lost dialog: an empty, incomplete draft
    assert not EventDraft.from_data({"kind": "meeting", "title": "Meeting"}).complete
    record = draft.record("ev-20260313-1", admin_id=7, now=NOW)
    assert (record.created_by, record.created_at, record.updated_at) == (7, NOW, NOW)
    assert record.organiser_kind == "campaign"  # OrganiserKind.CAMPAIGN: the database keeps the string
    again = EventDraft.from_record(record)
    later = NOW + timedelta(hours=1)
    assert again.record(record.id, admin_id=8, now=later) == replace(record, updated_at=later)  # creator kept


def test_next_step_skips_the_map_without_a_place() -> None:
    assert [next_step(step, meeting()) for step in STEPS] == [*STEPS[1:], None]
    no_place = apply_input(Step.VENUE, "-", meeting(), CAMPAIGN, NOW)
    assert (no_place.venue_name, no_place.latitude, no_place.longitude) == (None, None, None)
    assert next_step(Step.VENUE, no_place) is Step.ORGANISER
    assert Step.from_state("EventForm:venue") is Step.VENUE
    assert Step.from_state("EventForm:preview") is None and Step.from_state(None) is None
    assert Step.named("link") is Step.LINK and Step.named("created_by") is None


def test_organiser_kind_follows_the_kind() -> None:
    assert organiser_kind("official-date") is OrganiserKind.OFFICIAL
    assert organiser_kind("concert") is OrganiserKind.CAMPAIGN


def test_an_edit_changes_one_field_and_keeps_the_duration() -> None:
    record = meeting().record("ev-20260313-1", admin_id=7, now=NOW)
    moved = apply_input(Step.START, "2026-03-14 10:00", EventDraft.from_record(record), CAMPAIGN, NOW)
    draft, fields = edited(record, Step.START, moved)
    assert fields == ("all_day", "start")
    assert (draft.start, draft.end) == (almaty(2026, 3, 14, 10), almaty(2026, 3, 14, 12))  # two hours still
    all_day = apply_input(Step.START, "2026-03-14", EventDraft.from_record(record), CAMPAIGN, NOW)
    draft, _fields = edited(record, Step.START, all_day)
    assert (draft.all_day, draft.end) == (True, almaty(2026, 3, 15))  # one day
    timed = keep_duration(draft, replace(draft, start=almaty(2026, 3, 16, 9), all_day=False))
    assert timed.end is None  # an all-day event made timed: no known end
    # only the step's fields are taken from the answer
    draft, fields = edited(record, Step.DISTRICT, EventDraft(district="medeu"))
    assert (fields, draft.district, draft.title) == (("district",), "medeu", "Meeting with residents")
    assert changed_fields(Step.VENUE, EventDraft()) == ("latitude", "longitude", "venue_address", "venue_name")
    assert changed_fields(Step.VENUE, EventDraft(venue_name="Hall")) == ("venue_address", "venue_name")


def test_the_end_of_a_saved_event_is_read_on_its_local_day() -> None:
    """Storage gives the start in UTC; an all-day event on 20 March starts at 19:00 UTC on the 19th."""
    saved = EventDraft(kind="meeting", start=almaty(2026, 3, 20).astimezone(UTC), all_day=True)
    assert apply_input(Step.END, "-", saved, CAMPAIGN, NOW).end == almaty(2026, 3, 21)
    early = EventDraft(kind="meeting", start=almaty(2026, 3, 20, 3, 0).astimezone(UTC))
    assert apply_input(Step.END, "04:00", early, CAMPAIGN, NOW).end == almaty(2026, 3, 20, 4, 0)


def test_new_ids_count_up_by_day_in_the_campaigns_zone() -> None:
    start = datetime(2026, 3, 19, 20, 0, tzinfo=UTC)  # 20 March in Almaty
    assert new_event_id(start, set(), TZ) == "ev-20260320-1"
    assert new_event_id(start, {"ev-20260320-1", "ev-20260320-2"}, TZ) == "ev-20260320-3"


I18N = create_i18n("en")


def worded(lang: Lang) -> dict[Problem, str]:
    with I18N.context(), I18N.use_locale(lang):
        return {
            problem: input_error_text(InputError(problem, Subject.TITLE, 101, 100), CAMPAIGN, lang)
            for problem in Problem
        }


def test_every_problem_is_worded_in_every_language() -> None:
    english = worded("en")
    assert english[Problem.TOO_LONG] == "The title is 101 characters long; the limit is 100."
    assert english[Problem.UNKNOWN_DISTRICT].startswith("Unknown district. Choose one of: Alatau, Almaly,")
    for lang in ("kk", "ru"):
        texts = worded(lang)
        assert len(set(texts.values())) == len(Problem)  # one text each
        assert all(texts[problem] != english[problem] for problem in Problem)  # translated
