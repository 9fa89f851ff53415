"""Sources follow the clock (issue 23): a source is shown only from its ``published`` date, and
``voterbot check`` reports content that would show one earlier."""

from __future__ import annotations

import shutil
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


def test_check_requires_a_publication_date(tmp_path: Path) -> None:
    target = tmp_path / "content"
    shutil.copytree(FIXTURE, target)
    faq = (target / "faq.yaml").read_text(encoding="utf-8")
    faq = faq.replace("        published: 2031-05-01  # fictional: the day the election was called\n", "", 1)
    (target / "faq.yaml").write_text(faq, encoding="utf-8")
    result = voterbot("check", env={"CONTENT_DIR": str(target)}, forked=True)
    assert result.returncode == 1
    assert any("field sources.0.published: is required but missing" in line for line in result.stdout.splitlines())
