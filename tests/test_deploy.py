"""docker-compose.yml and deploy/Caddyfile, checked without Docker (which this machine cannot run):
the bot replicas' environment, with a sample .env substituted as Compose would, is a valid webhook
configuration on PostgreSQL and Redis, and the proxy, health checks and ports agree with it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config import load_settings
from tests.conftest import ROOT

SAMPLE_ENV = {
    "BOT_TOKEN": "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678",
    "DOMAIN": "bot.example.org",
    "WEBHOOK_SECRET": "a-long-Webhook_secret-0123456789",
    "POSTGRES_PASSWORD": "pg-password",
    "ADMIN_IDS": "1001,1002",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} (the forms the file uses)."""

    def replace(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"{name}: {rest}")
        return rest or ""

    return _VARIABLE.sub(replace, value)


def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_the_replicas_environment_is_a_valid_webhook_configuration() -> None:
    services = compose()["services"]
    assert set(services) == {"bot", "postgres", "redis", "caddy"}
    bot = services["bot"]
    env = {key: interpolate(str(value), SAMPLE_ENV) for key, value in bot["environment"].items()}
    settings = load_settings(env, dotenv=None)  # raises ConfigError (naming the variable) if invalid
    assert settings.database.scheme == "postgresql" and settings.redis() == "redis://redis:6379/0"
    assert settings.webhook_url == "https://bot.example.org/tg/webhook"
    assert settings.admin_ids == frozenset({1001, 1002})
    assert bot["command"] == ["voterbot", "run", "--webhook"] and bot["deploy"]["replicas"] >= 2
    port = settings.webhook_listen[1]
    assert bot["expose"] == [str(port)] and f"127.0.0.1:{port}/readyz" in " ".join(bot["healthcheck"]["test"])
    for required in ("BOT_TOKEN", "DOMAIN", "WEBHOOK_SECRET", "POSTGRES_PASSWORD"):  # a missing one stops Compose
        missing = {k: v for k, v in SAMPLE_ENV.items() if k != required}
        try:
            [interpolate(str(v), missing) for v in bot["environment"].values()]
            interpolate(str(services["caddy"]["environment"]["DOMAIN"]), missing)
            interpolate(str(services["postgres"]["environment"]["POSTGRES_PASSWORD"]), missing)
        except KeyError as error:
            assert required in str(error)
        else:
            raise AssertionError(f"{required} is not required")


def test_the_proxy_serves_only_the_webhook_path_over_every_replica() -> None:
    services = compose()["services"]
    settings = load_settings(
        {key: interpolate(str(v), SAMPLE_ENV) for key, v in services["bot"]["environment"].items()}, dotenv=None
    )
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert services["caddy"]["ports"] == ["80:80", "443:443"]  # the only service published
    assert all("ports" not in service for name, service in services.items() if name != "caddy")
    path = urlsplit(settings.webhook_url or "").path
    assert f"handle {path} {{" in caddyfile
    assert re.search(rf"name bot\s+port {settings.webhook_listen[1]}\b", caddyfile)
    assert "unhealthy_status 503" in caddyfile  # a replica shutting down answers 503 and is skipped
    assert re.search(r"handle \{\s+respond 404\s+\}", caddyfile)  # /healthz, /readyz, /metrics stay inside
    stop = services["bot"]["stop_grace_period"]
    assert int(stop.rstrip("s")) >= 30  # SIGTERM: updates in flight and the last batch finish first
