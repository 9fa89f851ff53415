"""Fast unit tests: settings, text rules, plurals and dates, phases, storage, content errors."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiogram import Dispatcher
from aiogram.dispatcher.event.handler import CallableObject
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import ConfigError, load_settings
from bot.content import ContentError, load_content
from bot.handlers.routers import build_routers
from bot.i18n import create_i18n, fmt_date, fmt_time, ngettext
from bot.services.campaign import status_at
from bot.services.deeplinks import make_payload, parse_deep_link
from bot.storage.migrate import head_revision
from bot.storage.sql import SqlStorage
from bot.telegram_text import HtmlError, check_html, split_html, strip_html, visible_length
from bot.translations_check import check_translations
from tests.conftest import ALMATY, DATA, ROOT, almaty, sqlite_database

# --- settings -------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = load_settings({}, dotenv=None)
    assert settings.bot_token is None
    assert settings.bot_api_base == "https://api.telegram.org"
    assert settings.database.scheme == "sqlite" and settings.database.path == Path("var/voterbot.sqlite3")
    assert settings.default_language == "ru" and settings.content_dir == Path("data")  # a setting, not read
    assert settings.broadcast_rate == 25


def test_settings_parse_everything(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nexport BOT_TOKEN='42:abc_DEF-ghi'\nADMIN_IDS=1, 2,3\nLOG_LEVEL=debug\n")
    settings = load_settings({"DATABASE_URL": "sqlite:////abs/db.sqlite3", "DEFAULT_LANGUAGE": "KK"}, dotenv=dotenv)
    assert settings.require_token() == "42:abc_DEF-ghi"
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.database.path == Path("/abs/db.sqlite3")
    assert settings.default_language == "kk" and settings.log_level == "DEBUG"
    assert settings.is_admin(2) and not settings.is_admin(4) and not settings.is_admin(None)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"BOT_TOKEN": "not a token"}, "BOT_TOKEN"),
        ({"BOT_API_BASE": "ftp://x"}, "BOT_API_BASE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite://relative"}, "DATABASE_URL"),
        ({"ADMIN_IDS": "1,abc"}, "ADMIN_IDS"),
        ({"DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"BROADCAST_RATE": "31"}, "BROADCAST_RATE"),
        ({"BROADCAST_PAID": "maybe"}, "BROADCAST_PAID"),
    ],
)
def test_settings_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env, dotenv=None)
    assert error.value.variable == variable
    assert str(error.value).startswith(variable)
    assert "\n" not in str(error.value)


def test_token_is_required_to_run_only() -> None:
    settings = load_settings({}, dotenv=None)
    with pytest.raises(ConfigError, match="voterbot chat"):
        settings.require_token()


# --- Telegram text -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["<b>x", "a < b", "&nbsp;", "<div>x</div>", "<b><i>x</b></i>", "<a>x</a>"])
def test_check_html_rejects_what_telegram_rejects(bad: str) -> None:
    with pytest.raises(HtmlError):
        check_html(bad)


def test_split_html_keeps_chunks_valid_and_within_limit() -> None:
    source = "<b>" + "слово " * 1500 + "</b>\n" + "<i>line</i>\n" * 800 + "x" * 5000
    chunks = split_html(source)
    assert len(chunks) > 2
    for chunk in chunks:
        check_html(chunk)
        assert visible_length(chunk) <= 4096
    assert "".join(strip_html(c) for c in chunks).replace("\n", "").replace(" ", "") == strip_html(source).replace(
        "\n", ""
    ).replace(" ", "")


def test_visible_length_counts_utf16_units_after_entities() -> None:
    assert visible_length("<b>a&amp;b</b>") == 3
    assert visible_length("🗳") == 2


# --- languages ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def i18n():  # type: ignore[no-untyped-def]
    return create_i18n("ru")


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "Остался 1 день"),
        (2, "Осталось 2 дня"),
        (5, "Осталось 5 дней"),
        (21, "Остался 21 день"),
        (11, "Осталось 11 дней"),
        (22, "Осталось 22 дня"),
    ],
)
def test_russian_plurals(i18n, n: int, expected: str) -> None:  # type: ignore[no-untyped-def]
    with i18n.context(), i18n.use_locale("ru"):
        assert ngettext("{n} day left", "{n} days left", n).format(n=n) == expected


def test_kazakh_and_english_plurals(i18n) -> None:  # type: ignore[no-untyped-def]
    with i18n.context(), i18n.use_locale("kk"):
        assert ngettext("{n} day left", "{n} days left", 3).format(n=3) == "3 күн қалды"
        assert ngettext("{n} day left", "{n} days left", 1).format(n=1) == "1 күн қалды"
    with i18n.context(), i18n.use_locale("en"):
        assert ngettext("{n} day left", "{n} days left", 1).format(n=1) == "1 day left"
        assert ngettext("{n} day left", "{n} days left", 3).format(n=3) == "3 days left"


def test_dates_and_times_in_language_and_campaign_zone() -> None:
    # one date style per language, the one the content uses
    assert fmt_date(date(2026, 3, 15), "ru") == "15 марта 2026 года"
    assert fmt_date(date(2026, 3, 15), "kk") == "2026 жылғы 15 наурыз"
    assert fmt_date(date(2026, 3, 15), "en") == "15 March 2026"
    two_utc = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)
    assert fmt_time(two_utc, "ru", ALMATY) == "07:00"  # Almaty is UTC+5, not +6


def test_every_message_is_translated() -> None:
    assert check_translations(ROOT / "locales") == []


def test_translation_check_catches_a_missing_translation(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    po = tmp_path / "locales" / "kk" / "LC_MESSAGES" / "bot.po"
    text = po.read_text(encoding="utf-8").replace('msgstr "Мәзір"', 'msgstr ""')
    po.write_text(text, encoding="utf-8")
    problems = check_translations(tmp_path / "locales")
    assert any("'Menu'" in p and "not translated" in p and "kk" in p for p in problems)


# --- campaign phases ---------------------------------------------------------------------------


def test_the_stage_follows_almaty_time_not_utc() -> None:
    campaign = load_content(DATA).campaign
    assert status_at(campaign, almaty(2026, 3, 14, 23, 59)).period == "before"
    # 19:00 UTC on the 14th is already 00:00 on the 15th in Almaty (UTC+5)
    assert status_at(campaign, datetime(2026, 3, 14, 19, 0, tzinfo=UTC)).period == "voting_day"
    assert status_at(campaign, datetime(2026, 3, 15, 1, 59, tzinfo=UTC)).polls == "not_open"
    assert status_at(campaign, datetime(2026, 3, 15, 2, 0, tzinfo=UTC)).polls == "open"
    assert status_at(campaign, datetime(2026, 3, 15, 2, 0, tzinfo=UTC)).stage_id == "polls-open"
    assert status_at(campaign, almaty(2026, 3, 15, 20, 0)).polls == "closed"
    assert status_at(campaign, almaty(2026, 3, 15, 20, 0)).period == "counting"
    assert status_at(campaign, almaty(2026, 3, 12, 23, 0)).days_left == 3


def test_manual_clock_moves() -> None:
    clock = ManualClock(almaty(2026, 3, 1, 0, 0))
    clock.set(almaty(2026, 3, 15, 7, 0))
    assert clock.now() == datetime(2026, 3, 15, 2, 0, tzinfo=UTC)


# --- deep links --------------------------------------------------------------------------------


def test_deep_links() -> None:
    assert parse_deep_link("faq-documents").kind == "faq"
    assert parse_deep_link("event-algys-fest").value == "algys-fest"
    assert parse_deep_link("faq-../../etc").kind == ""
    assert parse_deep_link(None).kind == ""
    assert make_payload("faq", "vote-date-hours") == "faq-vote-date-hours"
    with pytest.raises(ValueError):
        make_payload("faq", "Bad Id")


# --- storage -----------------------------------------------------------------------------------


async def test_migrations_run_once_and_users_upsert(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    storage = SqlStorage(sqlite_database(path))
    await storage.connect()
    revision = await storage.schema_revision()
    assert revision == head_revision()
    first = await storage.touch_user(7, "kk", almaty(2026, 3, 1, 10, 0))
    await storage.set_language(7, "en")
    await storage.set_blocked(7, True, almaty(2026, 3, 2, 10, 0))
    assert (await storage.user_counts()).blocked == 1
    again = await storage.touch_user(7, None, almaty(2026, 3, 3, 10, 0))
    assert again.first_seen == first.first_seen and again.last_seen > first.last_seen
    assert again.language == "en" and again.telegram_language == "kk" and not again.blocked
    await storage.close()
    reopened = SqlStorage(sqlite_database(path))
    await reopened.connect()  # migrations are not applied twice
    assert await reopened.schema_revision() == revision
    versions = await reopened.run_sync(
        lambda c: c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    )
    assert list(versions) == [revision]
    assert await reopened.run_sync(lambda c: c.exec_driver_sql("PRAGMA journal_mode").scalar()) == "wal"
    await reopened.close()


# --- content -----------------------------------------------------------------------------------


def test_shipped_content_loads() -> None:
    content = load_content(DATA)
    assert content.campaign.voting_day == date(2026, 3, 15)
    assert content.campaign.call_centre is not None and content.campaign.call_centre.phone == "1308"


def _broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    text = (target / name).read_text(encoding="utf-8")
    assert old in text
    (target / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_broken_campaign_names_file_and_field(tmp_path: Path) -> None:
    target = _broken_copy(tmp_path, "campaign.yaml", "timezone: Asia/Almaty", "timezone: Asia/Nowhere")
    with pytest.raises(ContentError) as error:
        load_content(target)
    assert error.value.problems == [
        f"{target / 'campaign.yaml'}: field timezone: unknown time zone 'Asia/Nowhere' "
        "(expected an IANA name such as Asia/Almaty)"
    ]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    target = _broken_copy(tmp_path, "campaign.yaml", "kind: referendum", "kind: [referendum")
    with pytest.raises(ContentError) as error:
        load_content(target)
    assert "campaign.yaml: line" in error.value.problems[0]


def test_translation_template_is_up_to_date(tmp_path: Path) -> None:
    """Every message in the code is in locales/bot.pot (else: run `make i18n`)."""
    import subprocess
    import sys

    from babel.messages.pofile import read_po

    out = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "--no-location", "-k", "_", "-k", "__",
         "-k", "N_", "-k", "ngettext:1,2", "-o", str(out), str(ROOT / "bot")],
        check=True,
    )  # fmt: skip
    with out.open("rb") as fresh, (ROOT / "locales" / "bot.pot").open("rb") as shipped:
        fresh_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fresh) if m.id}
        shipped_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(shipped) if m.id}
    assert fresh_ids - shipped_ids == set(), "run `make i18n` and translate the new messages"


# --- routers --------------------------------------------------------------------------------


def test_no_filter_or_handler_runs_in_a_thread() -> None:
    """aiogram runs a synchronous filter or handler (a magic filter, a State) through
    asyncio.to_thread: a thread hop per check. Every check the bot's routers make is async."""
    dp = Dispatcher()
    dp.include_routers(*build_routers())
    synchronous: list[str] = []
    for router in dp.chain_tail:
        for event, observer in router.observers.items():
            checks: list[CallableObject] = [*(observer._handler.filters or [])]  # the router-level filters
            for handler in observer.handlers:
                checks.extend([handler, *(handler.filters or [])])
            synchronous.extend(f"{router.name}.{event}: {check.callback!r}" for check in checks if not check.awaitable)
    assert synchronous == []


@pytest.mark.parametrize(
    ("seconds", "ru", "kk", "en"),
    [
        (59, "осталось меньше минуты", "бір минуттан аз қалды", "less than a minute left"),
        (60, "осталась 1 минута", "1 минут қалды", "1 minute left"),
        (3 * 60 + 59, "осталось 3 минуты", "3 минут қалды", "3 minutes left"),
        (21 * 60, "осталась 21 минута", "21 минут қалды", "21 minutes left"),
        (3599, "осталось 59 минут", "59 минут қалды", "59 minutes left"),
        (3600, "остался 1 час", "1 сағат қалды", "1 hour left"),
        (2 * 3600 + 5 * 60, "осталось 2 часа 5 минут", "2 сағат 5 минут қалды", "2 hours 5 minutes left"),
        (3 * 3600 + 59 * 60, "осталось 3 часа", "3 сағат қалды", "3 hours left"),  # never rounded up
    ],
)
def test_time_left_in_hours_and_minutes(i18n, seconds: int, ru: str, kk: str, en: str) -> None:  # type: ignore[no-untyped-def]
    from bot.handlers.texts import time_left

    for lang, expected in (("ru", ru), ("kk", kk), ("en", en)):
        with i18n.context(), i18n.use_locale(lang):
            assert time_left(seconds) == expected
