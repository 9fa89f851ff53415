"""Settings: read once at start-up from the environment and an optional ``.env`` file.

Every problem is reported as a :class:`ConfigError` naming the variable, so the CLI can print one
line and exit with code 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

Lang = Literal["kk", "ru", "en"]
LANGUAGES: tuple[Lang, ...] = ("kk", "ru", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # Telegram allows 1-256 of these; we want entropy


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class DatabaseConfig:
    scheme: Literal["sqlite", "postgresql"]
    url: str
    path: Path | None = None  # sqlite only; None means in-memory

    def describe(self) -> str:
        """The URL without credentials, fit for logs."""
        if self.scheme == "sqlite":
            return f"sqlite:{self.path or ':memory:'}"
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        return f"postgresql://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


@dataclass(frozen=True)
class Settings:
    bot_token: str | None
    bot_api_base: str = "https://api.telegram.org"
    database: DatabaseConfig = field(
        default_factory=lambda: DatabaseConfig("sqlite", "sqlite:///var/voterbot.sqlite3", Path("var/voterbot.sqlite3"))
    )
    admin_ids: frozenset[int] = frozenset()
    content_dir: Path = Path("data")
    default_language: Lang = "ru"
    log_level: str = "INFO"
    broadcast_rate: float = 25.0
    broadcast_paid: bool = False
    reminder_grace_seconds: int = 3600
    chat_pacing: bool = True  # per-chat pace of replies and flood budget (bot/services/pacing.py)
    unanswered_retention_days: int = 30  # texts of unanswered questions are deleted after this
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: tuple[str, int] = ("0.0.0.0", 8080)
    metrics_listen: tuple[str, int] | None = None  # /metrics on its own (private) address
    redis_url: str | None = None  # conversation state and per-user ordering shared by replicas
    startup_retry_seconds: float = 120.0  # how long start-up retries an unreachable Bot API
    operators_chat_id: int | None = None  # the operators' desk: a forum supergroup (issue 15)

    def require_webhook(self) -> tuple[str, str]:
        """The webhook's public URL and secret, both required by ``run --webhook``."""
        if not self.webhook_url:
            raise ConfigError("WEBHOOK_URL", "not set: the public https:// URL Telegram posts updates to")
        if not self.webhook_secret:
            raise ConfigError("WEBHOOK_SECRET", "not set: 16-256 characters A-Z a-z 0-9 _ - (checked on every request)")
        return self.webhook_url, self.webhook_secret

    def require_token(self) -> str:
        if not self.bot_token:
            raise ConfigError(
                "BOT_TOKEN",
                "not set. Put the token from @BotFather in BOT_TOKEN (environment or .env); "
                "to try the bot without Telegram, run `make chat` (or `.venv/bin/voterbot chat`).",
            )
        return self.bot_token

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file: KEY=VALUE lines, ``#`` comments, optional quotes and ``export``."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{path}:{number}", "expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def parse_database_url(url: str) -> DatabaseConfig:
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        if rest in ("", "/", "/:memory:"):
            return DatabaseConfig("sqlite", url, None)
        if not rest.startswith("/"):
            raise ConfigError("DATABASE_URL", f"expected sqlite:///relative/path or sqlite:////abs/path, got {url!r}")
        # As in SQLAlchemy: sqlite:///rel/path is relative, sqlite:////abs/path is absolute.
        return DatabaseConfig("sqlite", url, Path(rest[1:]))
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if not parts.hostname and not parts.path.strip("/"):
            raise ConfigError("DATABASE_URL", "a postgresql:// URL needs a host or a database name")
        return DatabaseConfig("postgresql", url, None)
    raise ConfigError("DATABASE_URL", "must start with sqlite:// or postgresql://")


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(name, f"expected true or false, got {value!r}")


def _parse_positive(name: str, value: str, *, integer: bool = False, maximum: float | None = None) -> float:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise ConfigError(name, f"expected a {'whole ' if integer else ''}number, got {value!r}") from None
    if number <= 0 or (maximum is not None and number > maximum):
        limit = f" up to {maximum:g}" if maximum is not None else ""
        raise ConfigError(name, f"expected a positive number{limit}, got {value!r}")
    return number


def parse_listen(value: str, variable: str = "WEBHOOK_LISTEN", example: str = "0.0.0.0:8080") -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(variable, f"expected host:port such as {example}, got {value!r}")
    return host, int(port)


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Build the settings from ``environ`` (default: ``os.environ``) over the values of ``dotenv``."""
    env: dict[str, str] = {}
    if dotenv is not None:
        env.update(read_dotenv(dotenv))
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    token = get("BOT_TOKEN")
    if token is not None and not _TOKEN_RE.fullmatch(token):
        raise ConfigError("BOT_TOKEN", "malformed: expected the form 123456789:ABC-def_ghi from @BotFather")

    api_base = (get("BOT_API_BASE") or "https://api.telegram.org").rstrip("/")
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("BOT_API_BASE", f"expected an http(s) URL such as https://api.telegram.org, got {api_base!r}")

    database = parse_database_url(get("DATABASE_URL") or "sqlite:///var/voterbot.sqlite3")

    admin_ids: set[int] = set()
    for item in (get("ADMIN_IDS") or "").split(","):
        item = item.strip()
        if not item:
            continue
        if not re.fullmatch(r"-?\d{1,20}", item):
            raise ConfigError("ADMIN_IDS", f"expected comma-separated Telegram user ids, got {item!r}")
        admin_ids.add(int(item))

    language = (get("DEFAULT_LANGUAGE") or "ru").lower()
    if language not in LANGUAGES:
        raise ConfigError("DEFAULT_LANGUAGE", f"expected one of kk, ru, en, got {language!r}")

    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    paid = _parse_bool("BROADCAST_PAID", get("BROADCAST_PAID") or "false")
    rate = _parse_positive("BROADCAST_RATE", get("BROADCAST_RATE") or "25", maximum=1000 if paid else 30)
    grace = int(_parse_positive("REMINDER_GRACE_SECONDS", get("REMINDER_GRACE_SECONDS") or "3600", integer=True))
    chat_pacing = _parse_bool("CHAT_PACING", get("CHAT_PACING") or "true")
    retention = int(
        _parse_positive("UNANSWERED_RETENTION_DAYS", get("UNANSWERED_RETENTION_DAYS") or "30", integer=True)
    )

    webhook_url = get("WEBHOOK_URL")
    if webhook_url is not None:
        hook = urlsplit(webhook_url)
        if hook.scheme != "https" or not hook.netloc or hook.fragment:
            raise ConfigError(
                "WEBHOOK_URL", f"expected an https:// URL such as https://bot.example.org/webhook, got {webhook_url!r}"
            )
    webhook_secret = get("WEBHOOK_SECRET")
    if webhook_secret is not None and not _SECRET_RE.fullmatch(webhook_secret):
        raise ConfigError("WEBHOOK_SECRET", "expected 16-256 characters A-Z a-z 0-9 _ -")
    webhook_listen = parse_listen(get("WEBHOOK_LISTEN") or "0.0.0.0:8080")
    metrics_value = get("METRICS_LISTEN")
    metrics_listen = parse_listen(metrics_value, "METRICS_LISTEN", "127.0.0.1:9090") if metrics_value else None
    if metrics_listen is not None and metrics_listen == webhook_listen:
        raise ConfigError("METRICS_LISTEN", "must differ from WEBHOOK_LISTEN (the point is a private port)")
    startup_retry = _parse_positive("STARTUP_RETRY_SECONDS", get("STARTUP_RETRY_SECONDS") or "120", maximum=3600)
    redis_url = get("REDIS_URL")
    if redis_url is not None:
        redis_parts = urlsplit(redis_url)
        if redis_parts.scheme not in ("redis", "rediss", "unix") or not (redis_parts.netloc or redis_parts.path):
            raise ConfigError("REDIS_URL", "expected redis://host:6379/0, rediss://… or unix:///path/redis.sock")

    operators = get("OPERATORS_CHAT_ID")
    operators_chat_id: int | None = None
    if operators is not None:
        if not re.fullmatch(r"-100\d{5,16}", operators):
            raise ConfigError(
                "OPERATORS_CHAT_ID",
                f"expected the id of a forum supergroup, such as -1001234567890, got {operators!r}",
            )
        operators_chat_id = int(operators)

    return Settings(
        bot_token=token,
        bot_api_base=api_base,
        database=database,
        admin_ids=frozenset(admin_ids),
        content_dir=Path(get("CONTENT_DIR") or "data"),
        default_language=language,  # narrowed by the check against LANGUAGES above
        log_level=log_level,
        broadcast_rate=rate,
        broadcast_paid=paid,
        reminder_grace_seconds=grace,
        chat_pacing=chat_pacing,
        unanswered_retention_days=retention,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_listen=webhook_listen,
        metrics_listen=metrics_listen,
        redis_url=redis_url,
        startup_retry_seconds=startup_retry,
        operators_chat_id=operators_chat_id,
    )
