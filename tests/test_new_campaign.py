"""`voterbot new-campaign DIR` (issue 24): a campaign from nothing, every field commented, that
passes `voterbot check --rules` and answers in `voterbot chat`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.content import load_content
from bot.devtools.content_rules import content_problems
from bot.devtools.new_campaign import write_campaign
from tests.support.bot_process import run_bot


def test_the_example_campaign_loads_and_keeps_the_content_rules(tmp_path: Path) -> None:
    write_campaign(tmp_path / "next", today=date(2027, 1, 10), timezone="Europe/Moscow")
    content = load_content(tmp_path / "next")
    assert content.campaign.voting_day == date(2027, 3, 7)  # eight weeks on
    assert [m.id for m in content.campaign.milestones] == ["called", "polls-open", "polls-close", "results", "end"]
    assert len(content.faq.entries) == 1 and len(content.events) == 1
    assert content_problems(content) == []
    text = (tmp_path / "next" / "campaign.yaml").read_text(encoding="utf-8")
    assert text.count("\n#") >= 5 and "EXAMPLE" in text  # explained, and plainly an example


def test_a_folder_with_content_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_campaign(tmp_path, today=date(2027, 1, 10))
    assert (tmp_path / "faq.yaml").read_text(encoding="utf-8") == "mine"


@pytest.mark.slow
def test_new_campaign_passes_check_and_answers_in_chat(tmp_path: Path) -> None:
    folder = tmp_path / "next"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    made = run_bot("new-campaign", str(folder), "--timezone", "Asia/Almaty", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert f"wrote {folder / 'campaign.yaml'}" in made.stdout
    again = run_bot("new-campaign", str(folder), env=env, cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr
    bad_zone = run_bot("new-campaign", str(tmp_path / "other"), "--timezone", "Mars/Olympus", env=env, cwd=tmp_path)
    assert bad_zone.returncode == 2 and "--timezone" in bad_zone.stderr
    content = {**env, "CONTENT_DIR": str(folder)}
    checked = run_bot("check", "--rules", env=content, cwd=tmp_path)
    assert checked.returncode == 0 and checked.stdout.startswith("ok: campaign example-campaign-"), checked.stdout
    chat = run_bot("chat", "--lang", "en", env=content, cwd=tmp_path, input="When is voting day?\n:quit\n")
    assert chat.returncode == 0, chat.stderr
    assert "Voting day is " in chat.stdout and "polling stations are open 08:00–20:00" in chat.stdout
    assert "+1 555 0100" in chat.stdout and "{" not in chat.stdout.split("When is voting day?", 1)[1]
