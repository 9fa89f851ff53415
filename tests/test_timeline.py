"""The bot is right at every moment: the rules of the timeline (issue 11), checked in kk, ru and en
just before and just after every milestone of the frozen campaign (``tests/fixtures/almaty-2026``), on
the screens a resident sees (greeting, /countdown, /reminders, /help, the no-answer screen) and on every FAQ answer.

These are fast: the screens are built by the same functions the handlers send, in the language's
gettext context; the end-to-end journeys through the fake Bot API are in test_reminders.py,
test_events.py and test_campaign_b.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiogram.types import InlineKeyboardMarkup

from bot.config import LANGUAGES, Lang
from bot.content import Content, ContentStore, load_content
from bot.handlers.faq import answer_text, no_answer_screen
from bot.handlers.reminders import countdown_screen, settings_view
from bot.handlers.screens import help_screen, home_screen
from bot.handlers.subscriptions import reminders_screen
from bot.i18n import I18n, create_i18n
from bot.services.campaign import status_at
from bot.services.event_view import from_entry, upcoming
from bot.services.faq import FaqService
from bot.services.reminders import reminder_plan
from bot.storage.base import ReminderPrefs
from bot.telegram.callbacks import ReminderCb
from bot.telegram.ui import Screen
from bot.telegram_text import strip_html
from tests.conftest import DATA

MINUTE = timedelta(minutes=1)
CONTENT = load_content(DATA)
CAMPAIGN = CONTENT.campaign
I18N: I18n = create_i18n("ru")
FAQ = FaqService(ContentStore(CONTENT))

# Words that present the outcome as known (the options' own titles, "Да, принимаю", are not among them).
ADOPTED = {
    "en": re.compile(r"\b(was|has been) adopted\b|\bthe adopted\b|entered into force|in force since", re.I),
    "ru": re.compile(r"Конституция принята|была принята|принятая|вступила в силу|действует с", re.I),
    "kk": re.compile(r"қабылданды|күшіне енді|күшінде", re.I),
}
FIGURES = re.compile(r"87[.,]15|7[ \u00a0,]?954[ \u00a0,]?667|898[ \u00a0,]?099|73[.,]12")


def moments() -> Iterator[tuple[str, datetime]]:
    """Just before and just after every milestone."""
    for milestone in CAMPAIGN.milestones:
        moment = CAMPAIGN.moment_of(milestone)
        yield f"before {milestone.id}", moment - MINUTE
        yield f"after {milestone.id}", moment + MINUTE


MOMENTS = list(moments())


def _buttons(screen: Screen) -> list[tuple[str, str]]:
    if not isinstance(screen.markup, InlineKeyboardMarkup):
        return []
    return [(b.text, b.callback_data or "") for row in screen.markup.inline_keyboard for b in row]


def _screens(content: Content, now: datetime, lang: Lang) -> dict[str, Screen]:
    campaign = content.campaign
    return {
        "start": home_screen(content, now, lang),
        "countdown": countdown_screen(campaign, now, lang),
        "reminders": settings_view(campaign, now, ReminderPrefs(1), lang),
        "subscribe": reminders_screen(None, campaign, now, lang),
        "help": help_screen(content, now, lang),
        "no-answer": no_answer_screen(FAQ, lang, now),
    }


@pytest.fixture(params=LANGUAGES)
def lang(request: pytest.FixtureRequest) -> Iterator[Lang]:
    language: Lang = request.param
    with I18N.context(), I18N.use_locale(language):
        yield language


@pytest.mark.parametrize(("label", "now"), MOMENTS, ids=[label for label, _ in MOMENTS])
def test_screens_follow_the_timeline(label: str, now: datetime, lang: Lang) -> None:
    status = status_at(CAMPAIGN, now)
    screens = _screens(CONTENT, now, lang)
    plain = {name: strip_html(screen.text) for name, screen in screens.items()}
    every = "\n".join(plain.values())
    known = CAMPAIGN.passed("results", now)
    # no result figure before the preliminary results, no "adopted" before the official ones
    assert bool(FIGURES.search(every)) == CAMPAIGN.passed("preliminary-results", now), (label, lang)
    if not known:
        assert not ADOPTED[lang].search(every), (label, lang, ADOPTED[lang].search(every))
    # "polls are open" only while they are
    open_words = {"en": "polls are open until", "ru": "участки открыты до", "kk": "ашық"}
    status_line = plain["countdown"]
    if lang != "kk":
        assert (open_words[lang] in status_line.lower()) == status.polls_open, (label, status_line)
    # "I voted" only while the polls are open
    voted = [data for _, data in _buttons(screens["countdown"]) if data == ReminderCb(action="voted").pack()]
    assert bool(voted) == CAMPAIGN.polls_open_at(now), label
    # vote-time choices only before the polls close, only within the polling hours, only still ahead
    times = [data for _, data in _buttons(screens["reminders"]) if data.startswith("rm:time:") and "off" not in data]
    if not CAMPAIGN.passed("polls-close", now):
        hours = [CAMPAIGN.opens_at, CAMPAIGN.closes_at]
        for data in times:
            hhmm = data.rsplit(":", 1)[1]
            moment = CAMPAIGN.opens_at.replace(hour=int(hhmm[:2]), minute=int(hhmm[2:]))
            assert hours[0] <= moment < hours[1] and moment - timedelta(minutes=30) > now, (label, data)
    else:
        assert times == [], label
    # no promise of voting-day reminders once voting day's reminders are over
    plan = reminder_plan(CAMPAIGN, now)
    voting_day_words = {"en": "on voting day (", "ru": "в день голосования (", "kk": "дауыс беру күні ("}
    for name in ("reminders", "subscribe"):
        assert (voting_day_words[lang] in plain[name]) == plan.voting_day, (label, name)
    if CAMPAIGN.passed("polls-close", now):
        assert not plan.voting_day and not plan.countdown_days
    # the call centre with its hours only while the content says it operates
    centre = CAMPAIGN.call_centre
    assert centre is not None
    operates = CAMPAIGN.call_centre_operates(now)
    for name in ("help", "no-answer"):
        assert (centre.hours.get(lang) in plain[name]) == operates, (label, name)
        assert CAMPAIGN.commission.url in screens[name].text or operates
    # archive: nothing offers voting reminders; the greeting says it is over and gives the result
    if status.period == "archive":
        assert not plan.anything and not any("rm:" in data for _, data in _buttons(screens["countdown"])[:-1])
        over = {"en": "The referendum is over.", "ru": "Референдум завершён.", "kk": "Референдум аяқталды."}
        assert over[lang] in plain["start"] and FIGURES.search(plain["start"])


@pytest.mark.parametrize(("label", "now"), MOMENTS, ids=[label for label, _ in MOMENTS])
def test_faq_answers_follow_the_timeline(label: str, now: datetime, lang: Lang) -> None:
    known = CAMPAIGN.passed("results", now)
    closed = CAMPAIGN.passed("polls-close", now)
    preliminary = CAMPAIGN.passed("preliminary-results", now)
    under_way = {"en": "voting is under way", "ru": "идёт голосование", "kk": "дауыс беру жүріп жатыр"}
    counted = {"en": "being counted", "ru": "идёт подсчёт", "kk": "саналып жатыр"}
    for entry in CONTENT.faq.entries:
        answer = strip_html(answer_text(FAQ, entry, lang, now))  # the sources' titles included
        if not preliminary:
            assert not FIGURES.search(answer), (label, entry.id, lang)
        else:  # the count is over once the preliminary results are out
            assert counted[lang] not in answer, (label, entry.id, lang)
        if not known:
            assert not ADOPTED[lang].search(answer), (label, entry.id, lang, ADOPTED[lang].search(answer))
        if closed:
            assert under_way[lang] not in answer.lower(), (label, entry.id, lang)


def test_tense_right_after_entry_into_force() -> None:
    now = CAMPAIGN.at("in-force") + MINUTE
    texts = {"en": "has been in force since 1 July 2026", "ru": "действует с 1 июля 2026 года", "kk": "күшінде"}
    for language in LANGUAGES:
        with I18N.context(), I18N.use_locale(language):
            text = strip_html(home_screen(CONTENT, now, language).text)
        assert texts[language] in text, (language, text)
        assert "enters into force" not in text and "вступает в силу" not in text


def test_yes_and_no_are_shown_alike() -> None:
    now = CAMPAIGN.at("results") + MINUTE
    with I18N.context(), I18N.use_locale("en"):
        text = strip_html(countdown_screen(CAMPAIGN, now, "en").text)
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert lines == ["• «Yes, I accept»: 7,954,667 votes (87.15%)", "• «No, I do not accept»: 898,099 votes (9.84%)"]


def test_results_known_only_from_the_results_milestone() -> None:
    # announced during 17 March (hour unknown): the bot says so from the next day on, and the
    # official-date events agree with the status line at every moment
    for moment, known in [
        (CAMPAIGN.at("polls-close") + MINUTE, False),
        (datetime(2026, 3, 17, 12, 0, tzinfo=CAMPAIGN.tz), False),
        (datetime(2026, 3, 18, 0, 1, tzinfo=CAMPAIGN.tz), True),
    ]:
        assert status_at(CAMPAIGN, moment).results_known == known
        passed = CAMPAIGN.passed_ids(moment)
        views = [from_entry(e, CAMPAIGN, False, passed) for e in CONTENT.events if e.listed(passed)]
        titles = [view.title("en") for view in upcoming(views, moment, CAMPAIGN.tz)]
        assert ("Official results announced" in " ".join(titles)) != known or not known, (moment, titles)


def test_a_milestone_without_a_time_counts_from_its_day_end_when_told() -> None:
    results = CAMPAIGN.milestone("results")
    assert results.counts_from == "day-end"
    assert CAMPAIGN.moment_of(results) == datetime(2026, 3, 18, 0, 0, tzinfo=CAMPAIGN.tz)
    assert CAMPAIGN.at("in-force") == datetime(2026, 7, 1, 0, 0, tzinfo=CAMPAIGN.tz)


def test_vote_times_follow_the_polling_hours() -> None:
    raw: dict[str, Any] = CAMPAIGN.model_dump(by_alias=True)
    for milestone in raw["milestones"]:
        if milestone["id"] == "polls-open":
            milestone["time"] = "08:30"
    for reminder in raw["reminders"]:
        if reminder["id"] == "day-open":
            reminder["at"] = "08:30"  # a voting-day reminder before the polls open is refused
    other = type(CAMPAIGN).model_validate(raw)
    assert [t.strftime("%H:%M") for t in other.vote_times()][:3] == ["08:30", "09:00", "10:00"]
    assert other.vote_times()[-1].strftime("%H:%M") == "19:00"


def test_a_source_whose_title_tells_the_outcome_waits_for_its_milestone() -> None:
    from bot.content.models import Source
    from bot.handlers.texts import sources_block

    sources = [
        Source.model_validate(
            {"title": "Polling hours", "url": "https://example.org/hours", "published": "2026-02-11"}
        ),
        Source.model_validate(
            {
                "title": "Constitution in force",
                "url": "https://example.org/x",
                "from": "results",
                "published": "2026-03-16",
            }
        ),
    ]
    with I18N.context(), I18N.use_locale("en"):
        before = sources_block(sources, "en", CAMPAIGN, CAMPAIGN.at("polls-close") + MINUTE)
        after = sources_block(sources, "en", CAMPAIGN, CAMPAIGN.at("results") + MINUTE)
    assert "Polling hours" in before and "Constitution in force" not in before
    assert "Constitution in force" in after


def test_a_source_is_shown_from_its_publication_on() -> None:
    from bot.content.models import Source
    from bot.handlers.texts import sources_block

    turnout = Source.model_validate(
        {"title": "Turnout at 18:00", "url": "https://example.org/t", "published": "2026-03-15 18:00"}
    )
    results = Source.model_validate({"title": "Results", "url": "https://example.org/r", "published": "2026-03-17"})
    day = datetime(2026, 3, 15, tzinfo=CAMPAIGN.tz)
    with I18N.context(), I18N.use_locale("en"):
        at = {hour: sources_block([turnout, results], "en", CAMPAIGN, day + timedelta(hours=hour)) for hour in (17, 18)}
        on_17 = sources_block([turnout, results], "en", CAMPAIGN, day + timedelta(days=2))
        early = sources_block([results], "en", CAMPAIGN, day)
    assert "Turnout" not in at[17] and "Turnout" in at[18] and "Results" not in at[18]
    assert "Results" in on_17
    assert CAMPAIGN.commission.url in early  # none out yet: the commission's site stands for them
