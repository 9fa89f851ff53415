"""Settings on pydantic-settings: secrets never shown, where values come from, one-line errors."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.config import ConfigError, DatabaseConfig, Settings, load_settings

TOKEN = "123456789:AAE-secret_part_of_the_token"
HOOK_SECRET = "hook-secret-0123456789-abcdef"
ENV = {
    "BOT_TOKEN": TOKEN,
    "WEBHOOK_URL": "https://bot.example.org/tg/webhook",
    "WEBHOOK_SECRET": HOOK_SECRET,
    "DATABASE_URL": "postgresql://voterbot:db-password-42@postgres:5432/voterbot",
    "REDIS_URL": "redis://:redis-password-42@redis:6379/0",
}
SECRETS = (TOKEN, "secret_part_of_the_token", HOOK_SECRET, "db-password-42", "redis-password-42")


def test_repr_str_dump_and_logging_show_no_secret() -> None:
    settings = load_settings(ENV, dotenv=None)
    stream = io.StringIO()
    logger = logging.getLogger("test_settings.no_secret")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        logger.warning("settings %s / %r", settings, settings)
    finally:
        logger.removeHandler(handler)
    shown = [repr(settings), str(settings), f"{settings}", stream.getvalue(), settings.model_dump_json()]
    shown.append(repr(settings.database))
    for text in shown:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
    assert "postgresql://postgres:5432/voterbot" in repr(settings)  # the database, without its credentials
    # …and the code that needs them still gets them
    assert settings.require_token() == TOKEN
    assert settings.require_webhook() == ("https://bot.example.org/tg/webhook", HOOK_SECRET)
    assert settings.redis() == ENV["REDIS_URL"] and settings.database.url == ENV["DATABASE_URL"]
    assert isinstance(settings.bot_token, SecretStr) and isinstance(settings.webhook_secret, SecretStr)


def test_environment_over_dotenv_blank_is_unset_and_values_trimmed(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_LEVEL=debug\nBROADCAST_RATE=10\nADMIN_IDS=7\nDEFAULT_LANGUAGE=kk\n")
    settings = load_settings({"BROADCAST_RATE": " 12 ", "ADMIN_IDS": "", "DEFAULT_LANGUAGE": "   "}, dotenv=dotenv)
    assert settings.log_level == "DEBUG"  # from .env
    assert settings.broadcast_rate == 12  # the environment wins, trimmed
    assert settings.admin_ids == frozenset()  # blank in the environment: unset, as before
    assert settings.default_language == "ru"
    assert load_settings({"BOT_API_BASE": "http://127.0.0.1:8081/"}, dotenv=None).bot_api_base == (
        "http://127.0.0.1:8081"
    )


def test_settings_built_in_code_ignore_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://shell:6379/0")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    built = Settings(bot_token=TOKEN, database=DatabaseConfig("sqlite", "sqlite://", None))
    assert built.redis_url is None and built.log_level == "INFO"
    assert load_settings(dotenv=None).redis() == "redis://shell:6379/0"  # load_settings reads it


def test_replace_validates_like_loading() -> None:
    settings = load_settings({}, dotenv=None)
    changed = settings.replace(webhook_secret=HOOK_SECRET, broadcast_paid=True, broadcast_rate=500)
    assert isinstance(changed.webhook_secret, SecretStr) and changed.broadcast_rate == 500
    assert settings.webhook_secret is None  # the original is unchanged (frozen)
    with pytest.raises(ValidationError):
        settings.replace(webhook_secret="short")


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"BOT_TOKEN": "nope", "DATABASE_URL": "mysql://x"},  # the first problem, in the order of the README
            "BOT_TOKEN: malformed: expected the form 123456789:ABC-def_ghi from @BotFather",
        ),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL: must start with sqlite:// or postgresql://"),
        ({"BROADCAST_RATE": "31"}, "BROADCAST_RATE: expected a positive number up to 30, got '31'"),
        ({"BROADCAST_RATE": "abc"}, "BROADCAST_RATE: expected a number, got 'abc'"),
        ({"REMINDER_GRACE_SECONDS": "1.5"}, "REMINDER_GRACE_SECONDS: expected a whole number, got '1.5'"),
        ({"WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET: expected 16-256 characters A-Z a-z 0-9 _ -"),
        ({"WEBHOOK_LISTEN": "8080"}, "WEBHOOK_LISTEN: expected host:port such as 0.0.0.0:8080, got '8080'"),
        (
            {"METRICS_LISTEN": "0.0.0.0:8080"},
            "METRICS_LISTEN: must differ from WEBHOOK_LISTEN (the point is a private port)",
        ),
        ({"METRICS_LISTEN": "x"}, "METRICS_LISTEN: expected host:port such as 127.0.0.1:9090, got 'x'"),
        ({"STARTUP_RETRY_SECONDS": "4000"}, "STARTUP_RETRY_SECONDS: expected a positive number up to 3600, got '4000'"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL: expected redis://host:6379/0, rediss://… or unix:///path/redis.sock"),
        (
            {"WEBHOOK_URL": "http://x/hook"},
            "WEBHOOK_URL: expected an https:// URL such as https://bot.example.org/webhook, got 'http://x/hook'",
        ),
    ],
)
def test_errors_are_the_same_lines_as_before(env: dict[str, str], line: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env, dotenv=None)
    assert str(error.value) == line


def test_paid_broadcasts_allow_a_higher_rate() -> None:
    assert load_settings({"BROADCAST_PAID": "yes", "BROADCAST_RATE": "1000"}, dotenv=None).broadcast_rate == 1000


ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_env_example_lists_every_setting_and_its_examples_load() -> None:
    """`.env.example` names every variable `Settings` reads, no other, and each example value loads."""
    lines = [line.removeprefix("# ").strip() for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()]
    examples = dict(line.split("=", 1) for line in lines if line and line.split("=", 1)[0].isupper() and "=" in line)
    variables = {(field.alias or name).upper() for name, field in Settings.model_fields.items()}
    assert set(examples) == variables, set(examples) ^ variables
    values = {name: value for name, value in examples.items() if value}
    settings = load_settings(values, dotenv=None)  # every example value is a valid one
    assert settings.admin_ids == frozenset() and settings.operators_chat_id == -1001234567890
    assert load_settings({}, dotenv=ENV_EXAMPLE) == load_settings({}, dotenv=None)  # all commented out
