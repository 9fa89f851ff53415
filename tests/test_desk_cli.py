"""The desk on the command line: the `chat` tool simulates it, `voterbot drafts` prints the operators'
FAQ drafts, and a malformed OPERATORS_CHAT_ID is one line and exit 2."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, load_settings, parse_database_url
from bot.storage import open_storage
from tests.test_cli import voterbot


@pytest.mark.slow
def test_chat_simulates_both_sides_of_the_desk() -> None:
    script = "/operator\nWhere do I vote?\n:op Your polling station is on eGov.\n:op /close\n:quit\n"
    result = voterbot("chat", "--lang", "en", "--at", "2026-03-12T12:00", stdin=script, forked=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[operators · #1 · EN · Where do I vote?]" in out  # the topic, its first post and the question
    assert "Ticket #1" in out and "Your question is with the operators (ticket #1)" in out
    assert "Reply from the operators (ticket #1):" in out and "Your polling station is on eGov." in out
    assert "closed this conversation (ticket #1)" in out


@pytest.mark.slow
def test_drafts_are_printed_for_the_editors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"

    async def seed() -> None:
        storage = open_storage(parse_database_url(url))
        await storage.connect()
        ticket, _ = await storage.open_ticket(1, "question", "ru", "Можно ли голосовать досрочно?", datetime.now(UTC))
        await storage.add_faq_draft(ticket.id, "ru", ticket.question, "Нет, только 15 марта.", 900, datetime.now(UTC))
        await storage.close()

    asyncio.run(seed())
    result = voterbot("drafts", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "--- draft 1 (ticket #1, ru," in result.stdout
    assert "q: Можно ли голосовать досрочно?\na: Нет, только 15 марта." in result.stdout
    pasted = voterbot("drafts", "--yaml", env={"DATABASE_URL": url})
    assert pasted.returncode == 0, pasted.stderr
    (entry,) = yaml.safe_load(pasted.stdout)  # ready to paste under `entries:` in data/faq.yaml
    assert entry["id"] == "draft-1" and entry["ru"]["q"] == "Можно ли голосовать досрочно?"
    assert entry["ru"]["a"] == "Нет, только 15 марта." and entry["kk"]["q"] == "TODO"


@pytest.mark.parametrize("value", ["12345", "-12345", "@operators", "-100abc"])
def test_a_malformed_operators_chat_id_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError, match="OPERATORS_CHAT_ID: expected the id of a forum supergroup"):
        load_settings({"OPERATORS_CHAT_ID": value}, dotenv=None)
    assert load_settings({"OPERATORS_CHAT_ID": "-1001234567890"}, dotenv=None).operators_chat_id == -1001234567890
    assert load_settings({}, dotenv=None).operators_chat_id is None


@pytest.mark.slow
def test_a_malformed_operators_chat_id_stops_run_with_one_line() -> None:
    result = voterbot("run", env={"BOT_TOKEN": "123456:TEST-TOKEN", "OPERATORS_CHAT_ID": "operators"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "voterbot: OPERATORS_CHAT_ID: expected the id of a forum supergroup, such as -1001234567890, got 'operators'"
    ]
