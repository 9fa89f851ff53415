"""What is in data/ is the editors': it is checked by `voterbot check` and the content rules
(bot/devtools/content_rules.py), not by the engine's tests, which run on frozen fixture campaigns
(tests/fixtures/). Another campaign copied into data/ passes the same checks, and no engine test
reads data/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.config import LANGUAGES
from bot.content import load_content
from bot.content.models.faq import render_answer
from bot.devtools.content_rules import content_problems
from tests.conftest import CAMPAIGN_B, ROOT, SHIPPED
from tests.support.bot_process import run_bot

# The tests that read data/ on purpose: these content checks, and the FAQ evaluation (it measures
# the shipped content, as editors change it).
READS_DATA_ON_PURPOSE = {"test_content.py", "test_faq_search.py"}
DATA_PATH = re.compile(
    r"""SHIPPED|ROOT\s*/\s*["']data["']|Path\(\s*["']data["']\s*\)|["']data/|parents?\b.*/\s*["']data["']"""
)
NOT_READ = "# a setting, not read"  # a line naming data/ that reads nothing (e.g. a default's value)


def test_the_shipped_content_keeps_the_content_rules() -> None:
    assert content_problems(load_content(SHIPPED)) == []


def test_the_frozen_campaign_keeps_them_too() -> None:
    assert content_problems(load_content(ROOT / "tests" / "fixtures" / "almaty-2026")) == []


@pytest.mark.slow
def test_another_campaign_copied_into_data_passes_check(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(CAMPAIGN_B, data)
    assert content_problems(load_content(data)) == []
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CONTENT_DIR": "data"}  # ./data, as deployed
    result = run_bot("check", "--rules", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: campaign fictopolis-mayor-2031"), result.stdout


def test_a_link_to_a_source_not_out_yet_is_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(CAMPAIGN_B, data)
    faq = (data / "faq.yaml").read_text(encoding="utf-8")
    early = 'a: "The Fictopolis ballot is purple (<a href=\\"https://fictopolis.example/results\\">results</a>)."'
    faq = faq.replace('a: "The Fictopolis ballot is purple."', early, 1)
    (data / "faq.yaml").write_text(faq, encoding="utf-8")
    problems = content_problems(load_content(data))
    assert len(problems) == 1, problems
    assert "entry 'unicorn-ballot'" in problems[0] and "https://fictopolis.example/results" in problems[0]
    assert "before the source is out" in problems[0]


def test_the_guard_sees_the_ways_of_naming_data() -> None:
    named = ['ROOT / "data"', "SHIPPED", 'content_dir=Path("data")', 'open("data/faq.yaml")', 'parents[1] / "data"']
    for line in named:
        assert DATA_PATH.search(line), line
    for line in ['tmp_path / "data"', "DATA", 'CAMPAIGN_B / "faq.yaml"', "# see data/faq.yaml"]:
        assert not DATA_PATH.search(line), line


def test_no_engine_test_reads_data() -> None:
    """The engine's tests use tests/fixtures/ (tests.conftest.DATA is the frozen Almaty campaign,
    CAMPAIGN_B Fictopolis), so an editor's change to data/ never turns them red."""
    tests = Path(__file__).parent
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        if (path.parent == tests and path.name in READS_DATA_ON_PURPOSE) or path.name == "conftest.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DATA_PATH.search(line) and NOT_READ not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_answers_hold_no_call_centre_number_or_polling_hour_written_out() -> None:
    """The facts held once in campaign.yaml are placeholders in the answers ({call_centre},
    {polls_open}, {polls_close}, {call_centre_hours}): a change of hours or number is one edit."""
    content = load_content(SHIPPED)
    campaign = content.campaign
    written = [f"{moment.astimezone(campaign.tz):%H:%M}" for moment in (campaign.opens_at, campaign.closes_at)]
    if campaign.call_centre is not None:
        written.append(campaign.call_centre.phone)
    found = []
    for entry in content.faq.entries:
        for lang in LANGUAGES:
            for answer in entry.text(lang).answers():
                found += [f"{entry.id} {lang}: {fact}" for fact in written if fact in answer]
    for rumour in content.rumours:
        for lang in LANGUAGES:
            text = rumour.text(lang)
            for answer in [text.explanation, *(render_answer(variant.a) for variant in text.variants)]:
                found += [f"rumour {rumour.id} {lang}: {fact}" for fact in written if fact in answer]
    assert found == []
