"""Settings: read once at start-up from the environment and an optional ``.env`` file.

:class:`Settings` is a pydantic-settings model. Each field comes from the variable of the same name
in capitals (``database`` from ``DATABASE_URL``); :func:`load_settings` reads the environment over
the ``.env`` file, blank values count as unset. The secrets (the token, the webhook secret, the
Redis URL, which may carry a password) are ``SecretStr`` and the database URL is shown without its
credentials, so neither ``repr`` nor a log line of the settings reveals one. ``Settings(...)`` built
in code (tests, bench) holds the values given and the defaults, nothing from the environment.

Every problem is reported as a :class:`ConfigError` naming the variable, so the CLI can print one
line and exit with code 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_serializer, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

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
        self.problem = problem


@dataclass(frozen=True)
class DatabaseConfig:
    scheme: Literal["sqlite", "postgresql"]
    url: str = field(repr=False)  # may carry a password: repr shows describe() instead
    path: Path | None = None  # sqlite only; None means in-memory

    def describe(self) -> str:
        """The URL without credentials, fit for logs."""
        if self.scheme == "sqlite":
            return f"sqlite:{self.path or ':memory:'}"
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        return f"postgresql://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"

    def __repr__(self) -> str:
        return f"DatabaseConfig({self.describe()!r})"


DEFAULT_DATABASE = "sqlite:///var/voterbot.sqlite3"


class Settings(BaseSettings):
    """The validated configuration; the field validators below give each variable's one-line error."""

    model_config = SettingsConfigDict(
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        enable_decoding=False,  # ADMIN_IDS=1,2 and host:port are parsed below, not as JSON
        extra="ignore",
        arbitrary_types_allowed=False,
    )

    # In the order they are checked: with several problems, the first one is reported.
    bot_token: SecretStr | None = None
    bot_api_base: str = "https://api.telegram.org"
    database: DatabaseConfig = Field(default_factory=lambda: parse_database_url(DEFAULT_DATABASE), alias="DATABASE_URL")
    admin_ids: frozenset[int] = frozenset()
    default_language: Lang = "ru"
    log_level: str = "INFO"
    broadcast_paid: bool = False
    broadcast_rate: float = 25.0  # checked after broadcast_paid: its maximum depends on it
    reminder_grace_seconds: int = 3600
    chat_pacing: bool = True  # per-chat pace of replies and flood budget (bot/services/pacing.py)
    unanswered_retention_days: int = 30  # texts of unanswered questions are deleted after this
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: tuple[str, int] = ("0.0.0.0", 8080)
    metrics_listen: tuple[str, int] | None = None  # /metrics on its own (private) address
    startup_retry_seconds: float = 120.0  # how long start-up retries an unreachable Bot API
    redis_url: SecretStr | None = None  # conversation state and per-user ordering shared by replicas
    operators_chat_id: int | None = None  # the operators' desk: a forum supergroup (issue 15)
    content_dir: Path = Path("data")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: :func:`load_settings` gives those of the environment (see
        :class:`Variables`); a ``Settings(...)`` built in a test is never changed by the shell's."""
        return (init_settings,)

    # --- validators: text from the environment is parsed; typed values (from code) pass through ---
    @field_validator("bot_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if isinstance(value, str) and not _TOKEN_RE.fullmatch(value.strip()):
            raise ValueError("malformed: expected the form 123456789:ABC-def_ghi from @BotFather")
        return value.strip() if isinstance(value, str) else value

    @field_validator("bot_api_base", mode="before")
    @classmethod
    def _api_base(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        api_base = value.strip().rstrip("/")
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s) URL such as https://api.telegram.org, got {api_base!r}")
        return api_base

    @field_validator("database", mode="before")
    @classmethod
    def _database(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse_database_url(value.strip())
        except ConfigError as error:
            raise ValueError(error.problem) from None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        admin_ids: set[int] = set()
        for item in (item.strip() for item in value.split(",")):
            if not item:
                continue
            if not re.fullmatch(r"-?\d{1,20}", item):
                raise ValueError(f"expected comma-separated Telegram user ids, got {item!r}")
            admin_ids.add(int(item))
        return frozenset(admin_ids)

    @field_validator("default_language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        language = str(value).strip().lower()
        if language not in LANGUAGES:
            raise ValueError(f"expected one of kk, ru, en, got {language!r}")
        return language

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        log_level = str(value).strip().upper()
        if log_level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
        return log_level

    @field_validator("broadcast_paid", "chat_pacing", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        return _parse_bool(value) if isinstance(value, str) else value

    @field_validator("broadcast_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        return _parse_positive(value, maximum=1000 if info.data.get("broadcast_paid") else 30)

    @field_validator("reminder_grace_seconds", "unanswered_retention_days", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        return int(_parse_positive(value, integer=True)) if isinstance(value, str) else value

    @field_validator("startup_retry_seconds", mode="before")
    @classmethod
    def _retry(cls, value: Any) -> Any:
        return _parse_positive(value, maximum=3600) if isinstance(value, str) else value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            hook = urlsplit(value.strip())
            if hook.scheme != "https" or not hook.netloc or hook.fragment:
                raise ValueError(f"expected an https:// URL such as https://bot.example.org/webhook, got {value!r}")
            return value.strip()
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: Any) -> Any:
        if isinstance(value, str) and not _SECRET_RE.fullmatch(value.strip()):
            raise ValueError("expected 16-256 characters A-Z a-z 0-9 _ -")
        return value.strip() if isinstance(value, str) else value

    @field_validator("webhook_listen", mode="before")
    @classmethod
    def _webhook_listen(cls, value: Any) -> Any:
        return _parse_listen(value, "0.0.0.0:8080") if isinstance(value, str) else value

    @field_validator("metrics_listen", mode="before")
    @classmethod
    def _metrics_listen(cls, value: Any, info: ValidationInfo) -> Any:
        listen = _parse_listen(value, "127.0.0.1:9090") if isinstance(value, str) else value
        if listen is not None and tuple(listen) == info.data.get("webhook_listen"):
            raise ValueError("must differ from WEBHOOK_LISTEN (the point is a private port)")
        return listen

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = urlsplit(value.strip())
            if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
                raise ValueError("expected redis://host:6379/0, rediss://… or unix:///path/redis.sock")
            return value.strip()
        return value

    @field_validator("operators_chat_id", mode="before")
    @classmethod
    def _operators(cls, value: Any) -> Any:
        if isinstance(value, str):
            chat_id = value.strip()
            if not re.fullmatch(r"-100\d{5,16}", chat_id):
                raise ValueError(f"expected the id of a forum supergroup, such as -1001234567890, got {chat_id!r}")
            return int(chat_id)
        return value

    @field_serializer("database")
    def _database_shown(self, database: DatabaseConfig) -> str:
        return database.describe()  # a dump (JSON, logs) shows no password

    # --- use ---------------------------------------------------------------------------------------
    def require_webhook(self) -> tuple[str, str]:
        """The webhook's public URL and secret, both required by ``run --webhook``."""
        if not self.webhook_url:
            raise ConfigError("WEBHOOK_URL", "not set: the public https:// URL Telegram posts updates to")
        if self.webhook_secret is None:
            raise ConfigError("WEBHOOK_SECRET", "not set: 16-256 characters A-Z a-z 0-9 _ - (checked on every request)")
        return self.webhook_url, self.webhook_secret.get_secret_value()

    def require_token(self) -> str:
        if self.bot_token is None:
            raise ConfigError(
                "BOT_TOKEN",
                "not set. Put the token from @BotFather in BOT_TOKEN (environment or .env); "
                "to try the bot without Telegram, run `make chat` (or `.venv/bin/voterbot chat`).",
            )
        return self.bot_token.get_secret_value()

    def redis(self) -> str | None:
        """``REDIS_URL`` in clear, for the Redis client (None without it)."""
        return self.redis_url.get_secret_value() if self.redis_url is not None else None

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like the rest (``dataclasses.replace`` for settings)."""
        return type(self)(**{**dict(self), **changes})

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


def variable_of(name: str, info: FieldInfo) -> str:
    """The environment variable a field is read from."""
    return info.alias or name.upper()


class Variables(PydanticBaseSettingsSource):
    """A settings source over one mapping of environment variables: each field from its variable
    (see :func:`variable_of`), whitespace trimmed, a blank value the same as none."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = variable_of(field_name, field)
        value = self.environ.get(variable)
        return (value.strip() if value is not None and value.strip() else None), variable, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(info, name)
            if value is not None:
                values[name] = value
        return values


def read_dotenv(path: Path) -> dict[str, str]:
    """A ``.env`` file's values, read by python-dotenv as pydantic-settings reads them (KEY=VALUE lines,
    ``#`` comments, quotes, ``export``); a key without a value counts as unset."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path, encoding="utf-8").items() if value is not None}


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


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _parse_positive(value: str, *, integer: bool = False, maximum: float | None = None) -> float:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise ValueError(f"expected a {'whole ' if integer else ''}number, got {value!r}") from None
    if number <= 0 or (maximum is not None and number > maximum):
        limit = f" up to {maximum:g}" if maximum is not None else ""
        raise ValueError(f"expected a positive number{limit}, got {value!r}")
    return number


def _parse_listen(value: str, example: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port such as {example}, got {value!r}")
    return host, int(port)


def config_error(error: ValidationError) -> ConfigError:
    """The first problem of a validation, as one line naming its variable."""
    first = error.errors(include_url=False)[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    info = Settings.model_fields.get(name)
    variable = variable_of(name, info) if info is not None else name.upper()
    cause = first.get("ctx", {}).get("error")
    problem = str(cause) if isinstance(cause, ValueError) else str(first["msg"])
    return ConfigError(variable, problem.replace("\n", " "))


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Build the settings from ``environ`` (default: ``os.environ``) over the values of ``dotenv``."""
    env: dict[str, str] = {}
    if dotenv is not None:
        env.update(read_dotenv(dotenv))
    env.update(os.environ if environ is None else environ)
    try:
        return Settings(**Variables(Settings, env)())
    except ValidationError as error:
        raise config_error(error) from None
