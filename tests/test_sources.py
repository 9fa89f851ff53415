"""Sources follow the clock (issue 23): a source is shown only from its ``published`` date, and
``voterbot check`` reports content that would show one earlier."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from tests.conftest import ROOT
from tests.test_cli import voterbot

FIXTURE = ROOT / "tests" / "fixtures" / "campaign-b"


def test_check_reports_a_source_shown_before_its_date(tmp_path: Path) -> None:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    faq = (target / "faq.yaml").read_text(encoding="utf-8")
    faq = faq.replace(
        "        published: 2031-05-01  # fictional: the day the election was called",
        "        published: 2031-06-05\n        from: polls-open",
        1,
    )
    (target / "faq.yaml").write_text(faq, encoding="utf-8")
    campaign = (target / "campaign.yaml").read_text(encoding="utf-8")
    campaign = campaign.replace("published: 2031-06-03  # fictional: the day of the results", "published: 2031-06-20")
    (target / "campaign.yaml").write_text(campaign, encoding="utf-8")
    result = voterbot("check", env={"CONTENT_DIR": str(target)}, forked=True)
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(f"{target / 'faq.yaml'}: entry ")
        and "field sources.0: shown from 2031-06-01" in line
        and "published 2031-06-05 00:00: it would be shown before its date" in line
        for line in lines
    ), lines
    assert any(
        line.startswith(f"{target / 'campaign.yaml'}: results: field sources.0: shown from 2031-06-0")
        and "published 2031-06-20" in line
        for line in lines
    ), lines
    unchanged = voterbot("check", env={"CONTENT_DIR": str(FIXTURE)}, forked=True)
    assert unchanged.returncode == 0, unchanged.stdout


def test_check_reports_a_deadline_shown_after_its_date(tmp_path: Path) -> None:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    faq = (target / "faq.yaml").read_text(encoding="utf-8")
    faq = faq.replace(
        'a: "The Fictopolis ballot was purple; voting is over."',
        'a: "The Fictopolis ballot was purple; the results are announced no later than 5 June 2031."',
    )
    faq = faq.replace(
        'a: "Бюллетень Фиктополя фиолетовый."',
        'a: ["Бюллетень Фиктополя фиолетовый.", '
        '{text: "Списки передаются не позднее 20 мая 2031 года.", until: polls-open}]',
    )  # until a milestone after the date: still too late
    (target / "faq.yaml").write_text(faq, encoding="utf-8")
    result = voterbot("check", env={"CONTENT_DIR": str(target)}, forked=True)
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert any(
        "entry 'unicorn-ballot': field en.variants.polls-close.a: 'no later than 5 June 2031' is shown after that date"
        " (at every later moment)" in line
        for line in lines
    ), lines
    assert any(
        "entry 'unicorn-ballot': field ru.a: 'не позднее 20 мая 2031' is shown after that date (until 2031-06-01 08:30)"
        in line
        for line in lines
    ), lines


def test_check_requires_a_publication_date(tmp_path: Path) -> None:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    faq = (target / "faq.yaml").read_text(encoding="utf-8")
    faq = faq.replace("        published: 2031-05-01  # fictional: the day the election was called\n", "", 1)
    (target / "faq.yaml").write_text(faq, encoding="utf-8")
    result = voterbot("check", env={"CONTENT_DIR": str(target)}, forked=True)
    assert result.returncode == 1
    assert any("field sources.0.published: is required but missing" in line for line in result.stdout.splitlines())


# --- the property: ±1 h around every milestone, in 5-minute steps ---------------------------------
def _walk() -> list[datetime]:
    from tests.test_timeline import CAMPAIGN

    moments: set[datetime] = set()
    for milestone in CAMPAIGN.milestones:
        centre = CAMPAIGN.moment_of(milestone)
        moments.update(centre + timedelta(minutes=5 * step) for step in range(-12, 13))
    return sorted(moments)


_LEFT = {
    "en": re.compile(r"(?:(\d+) hours? )?(?:(\d+) minutes? )?left\)"),
    "ru": re.compile(r"остал\w+ (?:(\d+) час\w* ?)?(?:(\d+) минут\w*)?\)"),
    "kk": re.compile(r"(?:(\d+) сағат ?)?(?:(\d+) минут)? қалды\)"),
}


def test_no_source_before_its_date_and_no_time_left_past_the_milestone() -> None:
    from bot.handlers.reminders import countdown_screen
    from bot.handlers.texts import sources_block
    from bot.services.event_view import from_entry
    from tests.test_timeline import CAMPAIGN, CONTENT, I18N

    checked = 0
    for now in _walk():
        with I18N.context(), I18N.use_locale("en"):
            for entry in CONTENT.faq.entries:
                text = sources_block(entry.sources, "en", CAMPAIGN, now)  # the line every answer ends with
                for url in re.findall(r'href="([^"]+)"', text):
                    out = [s for s in entry.sources if s.url == url and CAMPAIGN.published_at(s) <= now]
                    assert out or url == CAMPAIGN.commission.url, (entry.id, url, now)
                    checked += 1
        passed = CAMPAIGN.passed_ids(now)
        for event in CONTENT.events:
            for source in from_entry(event, CAMPAIGN, False, passed, now).sources:
                assert CAMPAIGN.published_at(source) <= now, (event.id, source.url, now)
        left = max(0, int((CAMPAIGN.closes_at - now).total_seconds()))
        for lang in ("kk", "ru", "en"):
            with I18N.context(), I18N.use_locale(lang):
                status = countdown_screen(CAMPAIGN, now, lang).text
            if lang == "en":
                assert "1 day left" not in status, now
            match = _LEFT[lang].search(status)
            if CAMPAIGN.polls_open_at(now):
                assert (
                    match is not None
                    or "less than a minute" in status
                    or "меньше минуты" in status
                    or "аз қалды" in status
                ), (lang, status)
            if match is not None:
                said = int(match.group(1) or 0) * 3600 + int(match.group(2) or 0) * 60
                assert said <= left, (lang, now, status)
    assert checked > 1000
