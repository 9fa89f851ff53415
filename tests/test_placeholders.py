"""Facts held once (issue 24): ``{call_centre}``, ``{polls_close}``… in FAQ answers, rumours,
events and notes are filled from campaign.yaml in the reader's language and formats, by the same
code as the reminders'; an unknown placeholder is refused when the content is loaded."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.content import ContentError, ContentStore, load_content
from bot.content.placeholders import FACTS, fill, placeholders, unknown_placeholders
from bot.handlers.faq.screens import answer_screen
from bot.handlers.reminders import ReminderRenderer
from bot.handlers.texts import fact_values, with_facts
from bot.i18n import create_i18n
from bot.services.faq import FaqService
from tests.conftest import CAMPAIGN_B, DATA

TOKYO = ZoneInfo("Asia/Tokyo")
BALLOT = 'a: "The Fictopolis ballot is purple."'


def fictopolis(tmp_path: Path, answer: str) -> Path:
    """Fictopolis with its English answer replaced by ``answer``."""
    data = tmp_path / "data"
    shutil.copytree(CAMPAIGN_B, data)
    faq = (data / "faq.yaml").read_text(encoding="utf-8")
    assert BALLOT in faq
    (data / "faq.yaml").write_text(faq.replace(BALLOT, f'a: "{answer}"', 1), encoding="utf-8")
    return data


def test_placeholders_are_found_and_filled_once() -> None:
    assert placeholders("call {call_centre} until {polls_close}; {x y} is prose") == {"{call_centre}", "{polls_close}"}
    assert unknown_placeholders("{polls_close} {poll_close}") == ["{poll_close}"]
    assert fill("{a} and {a}", {"{a}": "1"}) == "1 and 1"


def test_the_facts_in_each_language_come_from_the_campaign() -> None:
    campaign = load_content(CAMPAIGN_B).campaign
    i18n = create_i18n("ru")
    with i18n.context():
        en, ru = fact_values(campaign, "en"), fact_values(campaign, "ru")
    assert set(en) == set(FACTS)
    assert en["{call_centre}"] == "+1 555 0100" and en["{polls_open}"] == "08:30" and en["{polls_close}"] == "21:00"
    assert en["{call_centre_hours}"] == "daily, 09:15–18:45"
    assert en["{voting_date}"] == "1 June 2031" and ru["{voting_date}"].startswith("1 июня 2031")
    assert en["{commission_site}"] == "https://fictopolis.example"


async def test_an_answer_shows_the_facts_in_the_readers_language(tmp_path: Path) -> None:
    data = fictopolis(tmp_path, "Purple. Polls: {polls_open}-{polls_close} on {voting_date}; ask {call_centre}.")
    content = load_content(data)
    faq = FaqService(ContentStore(content))
    entry = faq.entry("unicorn-ballot")
    assert entry is not None
    i18n = create_i18n("ru")
    with i18n.context(), i18n.use_locale("en"):
        text = answer_screen(faq, entry, "en", datetime(2031, 5, 10, 12, 0, tzinfo=TOKYO)).text
    assert "Polls: 08:30-21:00 on 1 June 2031; ask +1 555 0100." in text
    assert "{" not in text


def test_html_and_plain_texts_are_filled_alike() -> None:
    campaign = load_content(DATA).campaign
    i18n = create_i18n("ru")
    with i18n.context():
        assert with_facts("{call_centre} ({call_centre_hours})", campaign, "ru") == "1308 (ежедневно с 08:00 до 20:00)"
        assert with_facts("{commission_site}", campaign, "kk", html=False) == campaign.commission.url
        assert with_facts("no facts here", campaign, "en") == "no facts here"


def test_reminders_use_the_same_facts() -> None:
    content = load_content(DATA)
    campaign = content.campaign
    renderer = ReminderRenderer(create_i18n("ru"), "ru")
    reminder = next(r for r in campaign.reminders if "{" in r.text.get("en"))
    moment = datetime(2026, 3, 12, 12, 0, tzinfo=campaign.tz)
    text = renderer.reminder(campaign, reminder, "en", moment)
    assert not placeholders(text), text


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("Polls close at {polls_closing}.", "unknown placeholder {polls_closing}"),
        ("Ask {phone}.", "unknown placeholder {phone}"),
    ],
)
def test_an_unknown_placeholder_is_refused_naming_entry_and_field(tmp_path: Path, answer: str, message: str) -> None:
    with pytest.raises(ContentError) as error:
        load_content(fictopolis(tmp_path, answer))
    (problem,) = [p for p in error.value.problems if "placeholder" in p]
    assert "faq.yaml: entry 'unicorn-ballot': field en.a: " + message in problem
    assert "{polls_close}" in problem  # the known ones are listed


def test_a_call_centre_fact_needs_a_call_centre(tmp_path: Path) -> None:
    data = fictopolis(tmp_path, "Ask {call_centre}.")
    campaign = (data / "campaign.yaml").read_text(encoding="utf-8")
    without = campaign[: campaign.index("\ncall_centre:")] + campaign[campaign.index("\ncommission:") :]
    (data / "campaign.yaml").write_text(without, encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_content(data)
    assert any("{call_centre} is used but the campaign has no call_centre" in p for p in error.value.problems)
