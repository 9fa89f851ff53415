"""The command line as an operator uses it: real processes, real exit codes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content import load_content
from bot.devtools.fake_api import FakeTelegram
from tests.conftest import DATA, ROOT
from tests.support.bot_process import run_bot


def voterbot(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path = ROOT, forked: bool = False
) -> subprocess.CompletedProcess[str]:
    """`python -m bot <args>` in a new interpreter, or `forked` from the preloaded fork server
    (tests/support/bot_process.py: the same `main()` without 4-5 s of importing aiogram)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "ADMIN_", "CONTENT_"))}
    base["CONTENT_DIR"] = str(DATA)  # the frozen fixture campaign, never data/
    if forked:
        return run_bot(*args, env={**base, **(env or {})}, input=stdin, cwd=cwd)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.mark.slow
def test_check_passes_on_the_frozen_campaign() -> None:
    result = voterbot("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: campaign kz-referendum-2026")


@pytest.mark.slow
def test_check_reports_every_problem_with_file_entry_and_field(tmp_path: Path) -> None:
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    faq = (target / "faq.yaml").read_text(encoding="utf-8")
    faq = faq.replace("- id: vote-abroad\n", "- id: vote-abroad\n    bogus: 1\n", 1)
    (target / "faq.yaml").write_text(faq, encoding="utf-8")
    campaign = (target / "campaign.yaml").read_text(encoding="utf-8")
    # a broken timeline: results before the polls close, a reminder naming no milestone
    campaign = campaign.replace(
        "    date: 2026-03-17\n    counts_from: day-end", "    date: 2026-03-14\n    counts_from: day-end"
    )
    campaign = campaign.replace("    milestone: in-force\n", "    milestone: in-forse\n")
    (target / "campaign.yaml").write_text(campaign, encoding="utf-8")
    result = voterbot("check", env={"CONTENT_DIR": str(target)})
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    expected = "entry 'vote-abroad': field bogus: is not a known field (check the spelling)"
    assert f"{target / 'faq.yaml'}: {expected}" in lines
    problems = [line for line in lines if line.startswith(f"{target / 'campaign.yaml'}: ")]
    assert any(
        "milestone 'results': field date: 2026-03-15 00:00 is before the milestone above it" in p for p in problems
    )
    assert any("reminder 'entry-into-force': field milestone: unknown milestone 'in-forse'" in p for p in problems)
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_check_names_unknown_milestones_in_faq_and_events(tmp_path: Path) -> None:
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    faq = (target / "faq.yaml").read_text(encoding="utf-8").replace("- from: results", "- from: result", 1)
    (target / "faq.yaml").write_text(faq, encoding="utf-8")
    events = (target / "events.yaml").read_text(encoding="utf-8")
    events = events.replace("  - id: voting-day\n", "  - id: voting-day\n    until: polls-closed\n", 1)
    (target / "events.yaml").write_text(events, encoding="utf-8")
    result = voterbot("check", env={"CONTENT_DIR": str(target)})
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(f"{target / 'faq.yaml'}: entry ") and "variants: unknown milestone 'result'" in line
        for line in lines
    ), lines
    assert any(
        line.startswith(f"{target / 'events.yaml'}: event 'voting-day': field until: unknown milestone 'polls-closed'")
        for line in lines
    ), lines


@pytest.mark.slow
def test_run_without_token_says_what_to_set() -> None:
    result = voterbot("run")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "BOT_TOKEN" in result.stderr and "make chat" in result.stderr


@pytest.mark.slow
def test_bad_configuration_is_one_line_and_exit_code_2() -> None:
    for env, name in [
        ({"BOT_TOKEN": "123:abc", "DATABASE_URL": "oracle://x"}, "DATABASE_URL"),
        ({"BOT_TOKEN": "nope"}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "123:abc", "ADMIN_IDS": "me"}, "ADMIN_IDS"),
        ({"BOT_TOKEN": "123:abc", "CONTENT_DIR": "/nonexistent"}, "CONTENT_DIR"),
    ]:
        result = voterbot("run", env=env)
        assert result.returncode == 2, (env, result.stderr)
        assert result.stderr.count("\n") == 1 and name in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_chat_is_an_offline_conversation() -> None:
    result = voterbot("chat", "--lang", "en", stdin="/help\n1\n:sticker\n9\n:quit\n", forked=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Hello, Resident!" in out  # /start is sent for you
    assert "[1]" in out and "Questions" in out  # buttons are numbered
    assert "/language" in out  # /help
    assert "I understand text" in out  # the sticker
    assert "(choose a button from 1 to" in out


@pytest.mark.slow
def test_chat_at_a_moment_in_kazakh() -> None:
    result = voterbot("chat", "--lang", "kk", "--at", "2026-03-15T10:00", stdin="", forked=True)
    assert result.returncode == 0, result.stderr
    assert "Бүгін — дауыс беру күні" in result.stdout
    bad = voterbot("chat", "--at", "tomorrow", stdin="")
    assert bad.returncode == 2 and "--at" in bad.stderr


@pytest.mark.slow
def test_chat_first_contact_and_saved_pictures(tmp_path: Path) -> None:
    first = voterbot("chat", "--lang", "en", "--first-contact", stdin=":quit\n", forked=True)
    assert first.returncode == 0, first.stderr
    assert "(first contact: no language chosen yet)" in first.stdout
    assert "Choose your language" in first.stdout and "Hello, Resident!" not in first.stdout
    folder = tmp_path / "files"
    saved = voterbot(
        "chat", "--lang", "en", "--at", "2026-04-01T10:00", "--save-files", str(folder), stdin="/countdown\n:quit\n",
        forked=True,
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    pictures = list(folder.glob("*.png"))
    assert len(pictures) == 1 and pictures[0].read_bytes().startswith(b"\x89PNG"), saved.stdout
    assert f"(saved: {pictures[0]})" in saved.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_chat_passes_args_and_says_where_it_stands_first() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "ADMIN_", "CONTENT_"))}
    base["CONTENT_DIR"] = str(DATA)  # the frozen fixture campaign, never data/
    result = subprocess.run(
        ["make", "--no-print-directory", "chat", "ARGS=--lang kk --at 2026-03-15T10:00"],
        env=base,
        input=":quit\n",
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    banner = out.index("voterbot chat: an offline conversation")
    assert "writing in Kazakh (kk)" in out and "stands at 2026-03-15 10:00 in the campaign's time zone" in out
    assert banner < out.index("Ready.") < out.index("Бүгін — дауыс беру күні")  # the banner before the slow start
    assert out.count("Сәлеметсіз бе, Resident!") == 1  # the language chosen for you, one greeting in it


@pytest.mark.slow
async def test_run_polls_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    fake = FakeTelegram()
    await fake.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "ADMIN_"))}
        env.update(
            BOT_TOKEN=fake.token,
            BOT_API_BASE=fake.base_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
            LOG_LEVEL="DEBUG",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await fake.wait_polling(timeout=60)
        user = fake.user(2001, language_code="en")
        await user.send("/help", timeout=30)  # returns once the bot has taken the update
        await fake.wait_for(lambda: bool(user.bot_messages()), timeout=30)
        assert "/language" in user.bot_messages()[-1].content
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()
        log = stderr.decode()
        assert "Polling stopped" in log
        assert fake.token not in log and fake.token.split(":")[1] not in log
        assert (tmp_path / "run.sqlite3").is_file()
    finally:
        await fake.stop()


@pytest.mark.slow
def test_ask_prints_ranked_matches_and_json() -> None:
    import json

    text = voterbot("ask", "--lang", "en", "где мой участок")
    assert text.returncode == 0
    assert text.stdout.startswith("decision: answer")
    assert "find-polling-station" in text.stdout and "Where is my polling station?" in text.stdout
    data = json.loads(voterbot("ask", "--json", "погода на завтра").stdout)
    assert data["decision"] == "fallback"
    assert all(set(m) == {"id", "score"} for m in data["matches"])


@pytest.mark.slow
def test_preview_shows_the_bot_at_every_milestone() -> None:
    result = voterbot("preview", "--lang", "en", forked=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for milestone in load_content(DATA).campaign.milestones:
        assert f"after '{milestone.id}'" in out
    assert out.count("--- /start") == out.count("--- /countdown") == out.count("--- /reminders") > 10
    assert "--- » Who won?" in out  # a question from data/preview.yaml
    assert "The referendum is over." in out and "7,954,667" in out


@pytest.mark.slow
def test_check_and_ask_do_not_import_aiogram() -> None:
    # `voterbot check` and `ask` read content only: importing aiogram costs seconds of CPU
    code = (
        "import sys, contextlib, io\n"
        "from bot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check']); main(['ask', 'когда выборы'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiogram', 'aiohttp')))\n"
    )
    env = {**os.environ, "CONTENT_DIR": str(DATA)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
